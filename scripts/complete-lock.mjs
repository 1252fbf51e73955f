#!/usr/bin/env node
// Adds lock-file entries for nx's platform binaries that the npm registry mirror of our
// CI machines does not serve (darwin, freebsd, musl, arm, win32). `npm install` there skips
// them silently, and then `npm ci` refuses the lock ("Missing: @nx/nx-darwin-arm64@ from lock
// file") everywhere. The entries carry os/cpu/libc, so npm never fetches them on other
// platforms; on their own platform npm fetches them by name and version. Run after
// `npm install` changes the lock file: `node scripts/complete-lock.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const nx = lock.packages['node_modules/nx'];
const platforms = {
  'nx-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'nx-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'nx-freebsd-x64': { os: ['freebsd'], cpu: ['x64'] },
  'nx-linux-arm-gnueabihf': { os: ['linux'], cpu: ['arm'] },
  'nx-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'nx-linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'nx-linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'nx-linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'nx-win32-arm64-msvc': { os: ['win32'], cpu: ['arm64'] },
  'nx-win32-x64-msvc': { os: ['win32'], cpu: ['x64'] },
};
let added = 0;
for (const [name, version] of Object.entries(nx.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const platform = platforms[name.replace('@nx/', '')];
  if (!platform) throw new Error(`complete-lock: no platform data for ${name}`);
  lock.packages[key] = { version, dev: true, license: 'MIT', optional: true, ...platform };
  added++;
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lock: added ${added} nx platform entries`);
