#!/usr/bin/env node
// After `changeset version`: copy @bijective/core's package.json version into src/version.ts.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(`${root}packages/core/package.json`, 'utf8'));
const file = `${root}packages/core/src/version.ts`;
const src = readFileSync(file, 'utf8').replace(/VERSION = '[^']*'/, `VERSION = '${version}'`);
writeFileSync(file, src);
console.log(`@bijective/core VERSION = ${version}`);
