import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, loadavg, platform, release, totalmem, type as osType, availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from '../results.js';

/** The machine the numbers come from. */
export function machineInfo(): MachineInfo {
  const cpu = cpus()[0];
  return {
    cpuModel: cpu?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    os: `${osType()} ${release()}${prettyLinux()}`,
    platform: platform(),
    arch: arch(),
    node: process.versions.node,
    v8: process.versions.v8,
    loadAverage: { start: loadavg()[0]!, end: loadavg()[0]! },
  };
}

/** The 1-minute load average now. */
export function loadAverageNow(): number {
  return loadavg()[0]!;
}

function prettyLinux(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m ? ` (${m[1]})` : '';
  } catch {
    return '';
  }
}

/** The nearest package.json at or above `file` with the given name. */
function findPackageJson(file: string, name: string): string | undefined {
  let dir = dirname(file);
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === name) return p;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * The installed version of `name` as seen from the package `from` (a bare specifier the
 * bench can import), without relying on `name` exporting its package.json.
 */
export function installedVersion(name: string, from: string): string | undefined {
  try {
    const base = fileURLToPath(import.meta.resolve(from));
    const entry = createRequire(base).resolve(name);
    const pkg = findPackageJson(entry, name);
    return pkg ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : undefined;
  } catch {
    return undefined;
  }
}

/** Versions behind each engine family. */
export function engineVersions(engine: string, host: 'node' | 'chromium'): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, from: string) => {
    const v = installedVersion(name, from);
    if (v) out[name] = v;
  };
  if (engine.startsWith('tfjs-')) {
    add('@tensorflow/tfjs-core', '@bijective/backend-tfjs');
    const backend = { 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm', 'tfjs-webgl': 'webgl', 'tfjs-webgpu': 'webgpu' }[engine];
    if (backend) add(`@tensorflow/tfjs-backend-${backend}`, '@bijective/backend-tfjs');
    if (engine === 'tfjs-node') add('@tensorflow/tfjs-node', '@bijective/backend-tfjs');
    if (engine === 'tfjs-node-gpu') add('@tensorflow/tfjs-node-gpu', '@bijective/backend-tfjs');
  } else if (engine.startsWith('ort-node-')) {
    add('onnxruntime-node', '@bijective/backend-onnx/node');
  } else if (engine.startsWith('ort-web-')) {
    add('onnxruntime-web', host === 'node' ? '@bijective/backend-onnx/node' : '@bijective/backend-onnx/web');
  }
  return out;
}
