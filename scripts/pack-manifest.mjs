#!/usr/bin/env node
// Publish manifests without the in-repo source condition.
//
// In the repo every package's `exports` carries a `@bijective/source` condition pointing at
// `src/*.ts`, so tests, tsx and Vite run the TypeScript directly. A published tarball has no
// `src`, so that condition must not ship (a consumer's bundler that was told about it would
// resolve to missing files). npm runs `prepack` before it reads the files it packs and
// `postpack` after, so:
//   node ../../scripts/pack-manifest.mjs strip    (prepack: package.json -> without the condition,
//                                                  the original kept as package.json.repo)
//   node ../../scripts/pack-manifest.mjs restore  (postpack: the original back)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const CONDITION = '@bijective/source';
const MANIFEST = 'package.json';
const BACKUP = 'package.json.repo';

function stripCondition(node) {
  if (Array.isArray(node)) return node.map(stripCondition);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) if (k !== CONDITION) out[k] = stripCondition(v);
  return out;
}

const mode = process.argv[2];
if (mode === 'strip') {
  if (existsSync(BACKUP)) throw new Error(`pack-manifest: ${BACKUP} exists (an earlier pack did not finish); restore it with 'node scripts/pack-manifest.mjs restore' first`);
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  const published = { ...manifest, exports: stripCondition(manifest.exports) };
  delete published.scripts?.['prepack'];
  delete published.scripts?.['postpack'];
  writeFileSync(BACKUP, text);
  writeFileSync(`${MANIFEST}.tmp`, `${JSON.stringify(published, null, 2)}\n`);
  renameSync(`${MANIFEST}.tmp`, MANIFEST);
} else if (mode === 'restore') {
  if (!existsSync(BACKUP)) throw new Error(`pack-manifest: no ${BACKUP} to restore`);
  renameSync(BACKUP, MANIFEST);
} else {
  throw new Error(`pack-manifest: expected 'strip' or 'restore', got '${mode ?? ''}'`);
}
