import { CheckpointError, decodeSafetensors, flowFromParams, type Flow } from '@bijective/core';

/**
 * A shipped checkpoint fetched over HTTP: `flow.json` (spec, meta and the weights file's name,
 * byte count and SHA-256), then the weights it names, checked against both and decoded with
 * core's bytes-level safetensors reader — the browser half of `loadCheckpoint`, which reads
 * the same folder from disk in Node.
 */
export interface FetchedCheckpoint {
  name: string;
  flow: Flow;
  meta: Record<string, unknown>;
  /** Whether the SHA-256 was checked (WebCrypto exists only in secure contexts: https, localhost). */
  verified: boolean;
}

interface FlowFile {
  format?: string;
  spec?: Record<string, unknown>;
  meta?: Record<string, unknown>;
  weights?: { file?: string; bytes?: number; sha256?: string };
}

async function fetchOk(url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new CheckpointError(`${what}: fetching ${url} failed (${(e as Error).message})`);
  }
  if (!res.ok) throw new CheckpointError(`${what}: ${url} answered HTTP ${res.status} ${res.statusText}`);
  return res;
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Fetches and checks `<root>/<name>/flow.json` and its weights; `root` is a URL ending in `/`. */
export async function fetchCheckpoint(root: string, name: string): Promise<FetchedCheckpoint> {
  const dir = new URL(`${encodeURIComponent(name)}/`, root);
  const flowUrl = new URL('flow.json', dir).href;
  let file: FlowFile;
  try {
    file = (await (await fetchOk(flowUrl, `checkpoint '${name}'`)).json()) as FlowFile;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`checkpoint '${name}': ${flowUrl} is not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== 'bijective.checkpoint') throw new CheckpointError(`checkpoint '${name}': ${flowUrl} is not a Bijective checkpoint (format ${JSON.stringify(file.format)})`);
  const ref = file.weights;
  if (!ref?.file || !/^[A-Za-z0-9_.-]+$/.test(ref.file) || typeof ref.bytes !== 'number' || typeof ref.sha256 !== 'string') {
    throw new CheckpointError(`checkpoint '${name}': ${flowUrl} has no valid weights entry {file, bytes, sha256}`);
  }
  const weightsUrl = new URL(ref.file, dir).href;
  const bytes = new Uint8Array(await (await fetchOk(weightsUrl, `checkpoint '${name}' weights`)).arrayBuffer());
  if (bytes.length !== ref.bytes) throw new CheckpointError(`checkpoint '${name}': ${weightsUrl} has ${bytes.length} bytes; flow.json expects ${ref.bytes} (truncated, or from another save)`);
  const subtle = globalThis.crypto?.subtle;
  if (subtle) {
    const sha = hex(await subtle.digest('SHA-256', bytes));
    if (sha !== ref.sha256) throw new CheckpointError(`checkpoint '${name}': ${weightsUrl} has SHA-256 ${sha.slice(0, 12)}…; flow.json expects ${ref.sha256.slice(0, 12)}…`);
  }
  const { tensors } = decodeSafetensors(bytes, weightsUrl);
  let flow: Flow;
  try {
    flow = flowFromParams(file.spec ?? {}, tensors);
  } catch (e) {
    throw new CheckpointError(`checkpoint '${name}' is inconsistent: ${(e as Error).message}`);
  }
  return { name, flow, meta: file.meta ?? {}, verified: subtle !== undefined };
}
