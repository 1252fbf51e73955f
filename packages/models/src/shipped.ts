import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Flow } from '@bijective/core';
import { FLOW_FILE, loadCheckpoint, type CheckpointMeta } from '@bijective/core/node';

/**
 * Trained checkpoints shipped inside the package (`packages/models/checkpoints/<preset>/`),
 * so the bench and the examples run offline without training. They are produced by
 * `scripts/train-shipped.sh` (each `flow.json` records the exact command and its test metrics).
 */
export const SHIPPED_PRESETS = ['nice-2d', 'realnvp-2d', 'maf-2d', 'iaf-2d', 'nsf-2d', 'gf-2d', 'glow-fmnist-small', 'glow-fmnist-cond-small', 'mintnet-fmnist-small'] as const;

/** `checkpoints/` beside `src/` and `dist/` (this file lives in one of them). */
export const SHIPPED_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'checkpoints');

export class ShippedCheckpointError extends Error {
  override name = 'ShippedCheckpointError';
}

/** Names of the shipped checkpoints present in this installation. */
export function listShippedCheckpoints(): string[] {
  if (!existsSync(SHIPPED_ROOT)) return [];
  return readdirSync(SHIPPED_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(SHIPPED_ROOT, e.name, FLOW_FILE)))
    .map((e) => e.name)
    .sort();
}

/** The folder of the shipped checkpoint `name`; an error says which exist and how to make the missing one. */
export function shippedCheckpointDir(name: string): string {
  const dir = join(SHIPPED_ROOT, name);
  if (existsSync(join(dir, FLOW_FILE))) return dir;
  const present = listShippedCheckpoints();
  const known = (SHIPPED_PRESETS as readonly string[]).includes(name);
  throw new ShippedCheckpointError(
    `no shipped checkpoint '${name}' in ${SHIPPED_ROOT}` +
      (known ? ' (it is produced by packages/models/scripts/train-shipped.sh, not yet run here)' : `; shipped presets are ${SHIPPED_PRESETS.join(', ')}`) +
      (present.length ? `; present: ${present.join(', ')}` : '; none are present'),
  );
}

/** Loads the shipped checkpoint `name` (the trained flow and its `flow.json` meta). */
export async function shippedCheckpoint(name: string): Promise<{ flow: Flow; meta: CheckpointMeta; dir: string }> {
  const dir = shippedCheckpointDir(name);
  return { ...(await loadCheckpoint(dir)), dir };
}
