#!/usr/bin/env node
// The packaging test: what a user gets from `npm install @bijective/models`.
//
//   node scripts/pack-test.mjs [--keep] [--with-ort-node]
//
// --keep leaves the temporary folder; --with-ort-node also installs onnxruntime-node (113 MB
// tarball, ~400 MB on disk, its CUDA download skipped) and runs the ort-node-cpu engine.
//
// 1. Builds every publishable package with its own tsconfig.build.json, into a staging copy of
//    the package (tsc --outDir), so the repo's working tree is never written to: other projects'
//    tests, which resolve each package's exports, keep seeing the repo's manifests while this runs.
// 2. `npm pack`s each staged package. Its `prepack`/`postpack` scripts (scripts/pack-manifest.mjs,
//    staged beside it at the same relative path) strip the `@bijective/source` export condition
//    and restore the manifest; both are checked, as is every file the manifest points at.
// 3. Installs the four tarballs plus onnxruntime-web (the optional peer a browser/Node user adds)
//    into a fresh folder, offline: `npm ci --offline` from a lockfile written here from the repo's
//    package-lock.json (the same versions, checked against each tarball's declared ranges, with
//    tarball URLs and integrities, so only the tarballs an `npm ci` of the repo cached are read).
//    Not `npm install --offline <names>`: npm 11 resolves names from the full registry metadata,
//    which the cache need not hold (here it lacked onnxruntime-web's and onnx-proto's).
//    onnxruntime-node is deliberately left out: the CLI must run without it.
// 4. Runs the installed CLI (`npx bijective --help`, `presets`, `engines`, `info`, `eval` on the
//    shipped nice-2d checkpoint with tfjs-wasm and with the float64 reference, which must agree).
// 5. Imports every public entry from Node in that folder and uses a real export of each.
// 6. Vite-builds a page importing @bijective/models, @bijective/core and
//    @bijective/backend-onnx/web, and checks the bundle has no Node built-in left in it.
//
// Prints one line per step with its time; the last line is JSON: { ok, steps, seconds }.
// Exit status 0 when every check passed; 1 with the failing step's output otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const requireRepo = createRequire(join(root, 'package.json'));
const semver = requireRepo('semver');
const PACKAGES = ['core', 'backend-tfjs', 'backend-onnx', 'models'];
const keep = process.argv.includes('--keep');
const withOrtNode = process.argv.includes('--with-ort-node');
const started = Date.now();
const steps = [];

class CheckError extends Error {}
function check(cond, message) {
  if (!cond) throw new CheckError(message);
}

// The environment of a user's shell: run under `npm test` / `npm run`, this process inherits
// npm_config_* and npm_package_* of the repo (its .npmrc, the workspace, the local prefix), which
// the npm commands below must not see. Only the cache location and registry carry over.
const KEEP_NPM = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || KEEP_NPM.has(k.toLowerCase())));
Object.assign(userEnv, { npm_config_update_notifier: 'false', NODE_OPTIONS: '' });

function run(cmd, args, cwd, options = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...userEnv, ...options.env },
    timeout: options.timeout ?? 300_000,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new CheckError(`'${cmd} ${args.join(' ')}' in ${cwd} exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}:\n${output.slice(-6000)}`);
  return options.stderr ? output : r.stdout;
}

async function step(name, fn) {
  const t0 = Date.now();
  const detail = await fn();
  const seconds = (Date.now() - t0) / 1000;
  steps.push({ name, seconds, ...(detail ? { detail } : {}) });
  console.log(`ok  ${name} (${seconds.toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
}

const work = mkdtempSync(join(tmpdir(), 'bijective-pack-'));
const stage = join(work, 'stage');
const tarDir = join(work, 'tarballs');
const app = join(work, 'app');
const manifests = {};
const tarballs = {};

function npmAvailable() {
  try {
    return execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** Every path an `exports` map (or `bin`) points at. */
function targets(node, out = []) {
  if (typeof node === 'string') out.push(node);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) targets(v, out);
  return out;
}

async function main() {
  const npmVersion = npmAvailable();
  if (npmVersion === undefined) {
    console.log('SKIP: npm is not on PATH; the packaging test needs npm pack and npm ci');
    console.log(JSON.stringify({ ok: true, skipped: 'npm is not on PATH', steps: [], seconds: 0 }));
    return 0;
  }

  await step('build (tsc, tsconfig.build.json of each package, into a staging copy)', async () => {
    const tsc = requireRepo.resolve('typescript/bin/tsc');
    const skip = new Set(['node_modules', 'dist', 'test-results', 'coverage', '.nx']);
    for (const p of PACKAGES) {
      const from = join(root, 'packages', p);
      const to = join(stage, 'packages', p);
      cpSync(from, to, { recursive: true, filter: (src) => !skip.has(basename(src)) || src === from });
    }
    mkdirSync(join(stage, 'scripts'), { recursive: true });
    cpSync(join(root, 'scripts', 'pack-manifest.mjs'), join(stage, 'scripts', 'pack-manifest.mjs'));
    // Two compilers at a time: the packages compile from each other's sources (the
    // `@bijective/source` condition), so none waits for another's dist.
    const jobs = PACKAGES.map((p) => () => new Promise((resolve, reject) => {
      import('node:child_process').then(({ execFile }) => {
        execFile(process.execPath, [tsc, '-p', join(root, 'packages', p, 'tsconfig.build.json'), '--outDir', join(stage, 'packages', p, 'dist')], { cwd: root, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
          if (err) reject(new CheckError(`tsc for packages/${p} failed:\n${stdout}${stderr}`));
          else resolve();
        });
      });
    }));
    const running = [];
    for (const job of jobs) {
      running.push(job());
      if (running.length % 2 === 0) await Promise.all(running.slice(-2));
    }
    await Promise.all(running);
    for (const p of PACKAGES) {
      const dist = join(stage, 'packages', p, 'dist');
      check(existsSync(join(dist, 'index.js')), `build of packages/${p} wrote no dist/index.js`);
      // tsc wrote each map's `sources` relative to the staging dist; make them what `npm run build`
      // writes in the package (relative to packages/<p>/dist), so the tarball is the one a release packs.
      for (const map of listFiles(dist).filter((f) => f.endsWith('.map'))) {
        const m = JSON.parse(readFileSync(map, 'utf8'));
        const repoDir = dirname(join(root, 'packages', p, relative(join(stage, 'packages', p), map)));
        m.sources = m.sources.map((src) => relative(repoDir, resolve(dirname(map), src)).split(sep).join('/'));
        writeFileSync(map, JSON.stringify(m));
      }
    }
    return PACKAGES.join(', ');
  });

  await step('npm pack (prepack strips @bijective/source, postpack restores)', async () => {
    mkdirSync(tarDir, { recursive: true });
    const sizes = [];
    for (const p of PACKAGES) {
      const dir = join(stage, 'packages', p);
      const before = readFileSync(join(dir, 'package.json'), 'utf8');
      let info;
      try {
        info = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tarDir], dir))[0];
      } finally {
        check(readFileSync(join(dir, 'package.json'), 'utf8') === before, `packages/${p}: package.json differs after npm pack (postpack did not restore it)`);
        check(!existsSync(join(dir, 'package.json.repo')), `packages/${p}: package.json.repo left behind by npm pack`);
      }
      const files = new Set(info.files.map((f) => f.path));
      const tarball = join(tarDir, info.filename);
      const packed = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
      check(!JSON.stringify([packed.exports, packed.main, packed.types, packed.imports]).includes('@bijective/source'), `${packed.name}: the packed package.json's exports still carry the @bijective/source condition`);
      check(packed.scripts?.prepack === undefined && packed.scripts?.postpack === undefined, `${packed.name}: the packed package.json still has prepack/postpack (they call ../../scripts, absent in an install)`);
      for (const t of [...targets(packed.exports), ...targets(packed.bin ?? {})]) {
        const path = t.replace(/^\.\//, '');
        check(files.has(path), `${packed.name}: manifest points at ${t}, which is not in the tarball`);
        if (t.endsWith('.js')) check(files.has(path.replace(/\.js$/, '.d.ts')) || !path.startsWith('dist/'), `${packed.name}: ${t} has no .d.ts beside it`);
      }
      for (const f of ['README.md', 'LICENSE', 'package.json']) check(files.has(f), `${packed.name}: ${f} is not in the tarball`);
      // A source map must stand alone: each source inlined (sourcesContent) or shipped, and none
      // outside the package (a bundler reading it, e.g. Vite's dev server, warns of missing sources).
      for (const f of [...files].filter((x) => x.endsWith('.map'))) {
        const m = JSON.parse(readFileSync(join(dir, f), 'utf8'));
        m.sources.forEach((src, i) => {
          const inPackage = relative(dir, resolve(dirname(join(dir, f)), src)).split(sep).join('/');
          check(!inPackage.startsWith('..'), `${packed.name}: ${f} names a source outside the package: ${src}`);
          check(typeof m.sourcesContent?.[i] === 'string' || files.has(inPackage), `${packed.name}: ${f} names ${src}, which is neither inlined nor in the tarball`);
        });
      }
      const strays = [...files].filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.includes('.test.') || f.endsWith('.tsbuildinfo'));
      check(strays.length === 0, `${packed.name}: sources or tests in the tarball: ${strays.slice(0, 5).join(', ')}`);
      if (packed.name === '@bijective/models') {
        // Every shipped checkpoint (a folder of the repo's checkpoints/ tree holding a flow.json,
        // e.g. checkpoints/nice-2d or checkpoints/distilled/iaf-2d) travels whole: spec and weights.
        const checkpointDirs = (rel) => {
          if (existsSync(join(dir, rel, 'flow.json'))) return [rel];
          return readdirSync(join(dir, rel), { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => checkpointDirs(`${rel}/${e.name}`));
        };
        const shipped = checkpointDirs('checkpoints');
        check(shipped.includes('checkpoints/nice-2d') && shipped.includes('checkpoints/distilled/iaf-2d'), `@bijective/models: the checkpoint folders found are ${shipped.join(', ')}`);
        for (const c of shipped) {
          check(files.has(`${c}/flow.json`), `@bijective/models: ${c}/flow.json is not in the tarball`);
          check([...files].some((f) => f.startsWith(`${c}/weights`) && f.endsWith('.safetensors')), `@bijective/models: ${c} has no weights .safetensors in the tarball`);
        }
      }
      for (const [dep, range] of Object.entries(packed.dependencies ?? {})) {
        if (dep.startsWith('@bijective/')) check(range === packed.version, `${packed.name}: depends on ${dep}@${range}, expected the same version ${packed.version}`);
      }
      manifests[packed.name] = packed;
      tarballs[packed.name] = tarball;
      sizes.push(`${info.filename} ${(info.size / 1024).toFixed(0)} kB, ${info.entryCount} files`);
    }
    return sizes.join('; ');
  });

  await step('npm ci --offline of the tarballs + onnxruntime-web into a fresh folder', async () => {
    const { lock, pkg, count } = userLockfile();
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    // An empty user config: neither the repo's .npmrc nor workspace settings apply here.
    writeFileSync(join(app, '.npmrc'), '');
    try {
      run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], app, { env: { npm_config_onnxruntime_node_install: 'skip' } });
    } catch (e) {
      const missing = /request to (\S+) failed: cache mode is 'only-if-cached'/.exec(String(e.message));
      if (missing) throw new CheckError(`the npm cache lacks ${missing[1]}: run \`npm ci\` in the repo (it caches every tarball of the lockfile), then this again\n${e.message}`);
      throw e;
    }
    for (const name of Object.keys(pkg.dependencies)) check(existsSync(join(app, 'node_modules', name, 'package.json')), `${name} is not in node_modules after npm ci`);
    if (!withOrtNode) check(!existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'onnxruntime-node was installed, though nothing but an optional peer names it');
    return `${count} packages${withOrtNode ? ', onnxruntime-node among them (install script: skip)' : ''}`;
  });

  await step('CLI: npx bijective --help, presets, engines, info, eval', async () => {
    const cli = (...args) => run('npx', ['--offline', '--no-install', 'bijective', ...args], app);
    const help = cli('--help');
    for (const c of ['train', 'sample', 'eval', 'info', 'presets', 'engines', 'export']) check(new RegExp(`^\\s+${c}\\b`, 'm').test(help), `bijective --help lists no '${c}' command:\n${help}`);
    const presets = cli('presets');
    for (const p of ['nice-2d', 'glow-fmnist-small']) check(new RegExp(`^${p}\\s`, 'm').test(presets), `bijective presets lists no ${p}:\n${presets}`);
    const engines = cli('engines');
    const line = (e) => engines.split('\n').find((l) => l.startsWith(`${e} `)) ?? '';
    check(/\savailable\s/.test(line('tfjs-wasm')), `engines: tfjs-wasm is not available from the install:\n${engines}`);
    check(/\savailable\s/.test(line('ort-web-wasm')), `engines: ort-web-wasm is not available with onnxruntime-web installed:\n${engines}`);
    if (withOrtNode) check(/\savailable\s/.test(line('ort-node-cpu')), `engines: ort-node-cpu is not available with onnxruntime-node installed:\n${engines}`);
    else check(/unavailable/.test(line('ort-node-cpu')) && line('ort-node-cpu').includes('npm install onnxruntime-node'), `engines: ort-node-cpu should be unavailable and name its install command (onnxruntime-node is not installed):\n${engines}`);
    const ckpt = join(app, 'node_modules', '@bijective', 'models', 'checkpoints', 'nice-2d');
    const info = JSON.parse(cli('info', '--checkpoint', ckpt, '--json'));
    check(info.parameters > 0 && info.event?.[0] === 2, `info on the shipped nice-2d: expected a 2-D flow with parameters, got ${JSON.stringify(info).slice(0, 300)}`);
    const evalOf = (engine) => JSON.parse(cli('eval', '--checkpoint', ckpt, '--engine', engine, '--limit', '2000'));
    const wasm = evalOf('tfjs-wasm');
    const ref = evalOf('reference');
    check(wasm.n === 2000 && ref.n === 2000, `eval --limit 2000 evaluated ${wasm.n} / ${ref.n} examples`);
    // float32 (tfjs-wasm) against the float64 interpreter on the same 2000 test points.
    check(Math.abs(wasm.nll - ref.nll) < 1e-4, `eval nll on tfjs-wasm ${wasm.nll} vs reference ${ref.nll}: differ by more than 1e-4`);
    let native = '';
    if (withOrtNode) {
      const ortNode = evalOf('ort-node-cpu');
      check(Math.abs(ortNode.nll - ref.nll) < 1e-4, `eval nll on ort-node-cpu ${ortNode.nll} vs reference ${ref.nll}: differ by more than 1e-4`);
      native = `, ${ortNode.nll.toFixed(6)} (ort-node-cpu)`;
    }
    // The shipped eval.json is the full 10 000-point test split; 2000 of them agree within a few standard errors.
    const shipped = JSON.parse(readFileSync(join(ckpt, 'eval.json'), 'utf8'));
    check(Math.abs(ref.nll - shipped.nll) < 5 * Math.max(ref.nllStdErr, shipped.nllStdErr) * Math.sqrt(10000 / 2000), `eval nll ${ref.nll} ± ${ref.nllStdErr} is far from the shipped eval.json's ${shipped.nll}`);
    return `nice-2d nll ${wasm.nll.toFixed(6)} (tfjs-wasm)${native} vs ${ref.nll.toFixed(6)} (reference), shipped ${shipped.nll.toFixed(4)}`;
  });

  await step('Node: import every public entry and use it', async () => {
    writeFileSync(join(app, 'check-node.mjs'), NODE_CHECK);
    return run(process.execPath, ['check-node.mjs'], app, { env: { WITH_ORT_NODE: withOrtNode ? '1' : '' } }).trim().split('\n').pop();
  });

  await step('TypeScript: a user file type-checks against the installed .d.ts (NodeNext, strict)', async () => {
    writeFileSync(join(app, 'check-types.ts'), TYPES_CHECK);
    writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2023', 'DOM'], types: [] }, files: ['check-types.ts'] }, null, 2)}\n`);
    run(process.execPath, [requireRepo.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    return '8 entries typed (a deliberate type error is reported)';
  });

  await step('Vite build of a page importing @bijective/models, core, backend-onnx/web', async () => {
    writeFileSync(join(app, 'index.html'), '<!doctype html>\n<html><body><pre id="out"></pre><script type="module" src="./main.js"></script></body></html>\n');
    writeFileSync(join(app, 'main.js'), BROWSER_MAIN);
    writeFileSync(join(app, 'vite-build.mjs'), VITE_BUILD(pathToFileURL(requireRepo.resolve('vite')).href));
    const out = run(process.execPath, ['vite-build.mjs'], app, { stderr: true });
    const dist = join(app, 'dist');
    const js = listFiles(dist).filter((f) => f.endsWith('.js'));
    check(js.length > 0, `vite build wrote no JavaScript:\n${out}`);
    const text = js.map((f) => readFileSync(f, 'utf8')).join('\n');
    const nodeImport = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](node:[\w/]+|fs|path|zlib|child_process|module|url|os|crypto)["']/.exec(text);
    check(nodeImport === null, `the browser bundle imports the Node built-in '${nodeImport?.[1]}'`);
    // Vite replaces a Node built-in with an empty stub (warning 'externalized for browser
    // compatibility'); rolldown names it __vite_browser_external, rollup __vite-browser-external.
    const externalized = /Module "([^"]+)" has been externalized for browser compatibility, imported by "([^"]+)"/.exec(out);
    check(externalized === null, `vite: the Node built-in '${externalized?.[1]}' was externalized for the browser, imported by ${externalized?.[2]}`);
    check(!/__vite[-_]browser[-_]external/.test(text), 'the browser bundle has a __vite_browser_external stub (a Node built-in Vite replaced)');
    // The page really contains the three packages: names only they define survive minification as strings.
    check(text.includes('nice-2d') && text.includes('ort-web-wasm'), 'the bundle lacks the preset registry or the ORT web engines');
    const wasm = listFiles(dist).filter((f) => f.endsWith('.wasm'));
    const kb = js.reduce((s, f) => s + readFileSync(f).length, 0) / 1024;
    return `${js.length} js files ${kb.toFixed(0)} kB, ${wasm.length} wasm file(s)`;
  });
  return 0;
}

function listFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

/**
 * The user's package.json and a lockfile for it: the tarballs (file:) and onnxruntime-web, with
 * every registry package they need at the version, resolved URL and integrity of the repo's
 * package-lock.json. Each dependency edge is resolved the way Node resolves it in that layout and
 * checked against the range the depending package declares (the packed manifest for ours), so a
 * tarball whose dependencies the repo does not satisfy fails here rather than installing quietly.
 */
function userLockfile() {
  const repoLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
  const ortWeb = repoLock['node_modules/onnxruntime-web'];
  check(ortWeb?.version, "the repo's package-lock.json has no onnxruntime-web");
  const deps = {};
  for (const [name, file] of Object.entries(tarballs)) deps[name] = `file:${relative(app, file)}`;
  deps['onnxruntime-web'] = ortWeb.version;
  const ortNode = repoLock['node_modules/onnxruntime-node'];
  if (withOrtNode) {
    check(ortNode?.version, "the repo's package-lock.json has no onnxruntime-node");
    deps['onnxruntime-node'] = ortNode.version;
  }
  const pkg = { name: 'bijective-pack-test-app', version: '1.0.0', private: true, type: 'module', dependencies: deps };

  const packages = { '': { name: pkg.name, version: pkg.version, dependencies: deps } };
  const repoPathOf = (name) => `packages/${name.slice('@bijective/'.length)}`;
  const seen = new Set();
  const queue = [];
  // Our packages: the packed manifest; their nested node_modules in the repo become nested here.
  for (const [name, file] of Object.entries(tarballs)) {
    const m = manifests[name];
    const entry = { version: m.version, resolved: deps[name], integrity: `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`, license: m.license };
    for (const k of ['dependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines']) if (m[k]) entry[k] = m[k];
    packages[`node_modules/${name}`] = entry;
    queue.push({ repoPath: repoPathOf(name), appPath: `node_modules/${name}`, manifest: m });
  }
  packages['node_modules/onnxruntime-web'] = lockEntry(ortWeb, 'onnxruntime-web');
  queue.push({ repoPath: 'node_modules/onnxruntime-web', appPath: 'node_modules/onnxruntime-web', manifest: ortWeb });
  if (withOrtNode) {
    packages['node_modules/onnxruntime-node'] = lockEntry(ortNode, 'onnxruntime-node');
    queue.push({ repoPath: 'node_modules/onnxruntime-node', appPath: 'node_modules/onnxruntime-node', manifest: ortNode });
  }
  const rootDeps = new Set(Object.keys(deps));
  while (queue.length) {
    const { repoPath, appPath, manifest } = queue.shift();
    if (seen.has(appPath)) continue;
    seen.add(appPath);
    const optionalPeers = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, v]) => v.optional).map(([k]) => k));
    const edges = [
      ...Object.entries(manifest.dependencies ?? {}),
      ...Object.entries(manifest.optionalDependencies ?? {}),
      // npm installs a required peer; an optional one only when something else brings it.
      ...Object.entries(manifest.peerDependencies ?? {}).filter(([d]) => !optionalPeers.has(d) || rootDeps.has(d)),
    ];
    for (const [dep, range] of edges) {
      if (dep.startsWith('@bijective/')) {
        check(tarballs[dep], `${repoPath} depends on ${dep}, which is not one of the packed packages`);
        continue;
      }
      // Node's lookup: <here>/node_modules/dep, then each parent's node_modules.
      const candidates = [];
      for (let at = repoPath; ; ) {
        candidates.push(`${at}/node_modules/${dep}`);
        const i = at.lastIndexOf('/node_modules/');
        if (i < 0) break;
        at = at.slice(0, i);
      }
      candidates.push(`node_modules/${dep}`);
      const found = candidates.find((c) => repoLock[c] && !repoLock[c].link);
      const optionalEdge = manifest.optionalDependencies?.[dep] !== undefined;
      if (found === undefined) {
        if (optionalEdge) continue;
        throw new CheckError(`${repoPath} needs ${dep}@${range}, which the repo's package-lock.json does not hold`);
      }
      const entry = repoLock[found];
      if (entry.os && !entry.os.includes(process.platform)) continue;
      if (entry.cpu && !entry.cpu.includes(process.arch)) continue;
      check(semver.satisfies(entry.version, range, { includePrerelease: true }) || range.startsWith('npm:') || !semver.validRange(range), `${repoPath} declares ${dep}@${range}; the lockfile's ${found} is ${entry.version}`);
      // The repo's workspace folders map to where npm puts our packages.
      const appFound = found.replace(/^packages\/([^/]+)\//, (_, p) => `node_modules/@bijective/${p}/`);
      packages[appFound] ??= lockEntry(entry, dep);
      queue.push({ repoPath: found, appPath: appFound, manifest: entry });
    }
  }
  return { pkg, lock: { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages }, count: Object.keys(packages).length - 1 };
}

let registry;
/**
 * A repo lock entry as the user's lock holds it: without the repo's dev/peer flags (npm recomputes
 * them), and with its tarball URL. The repo's lock omits `resolved` (npm then looks each package
 * up in the registry metadata); with the URL and the integrity, `npm ci` reads the tarball straight
 * from the cache and needs no metadata at all.
 */
function lockEntry(entry, name) {
  registry ??= run('npm', ['config', 'get', 'registry'], tmpdir()).trim().replace(/\/?$/, '/');
  const out = { ...entry };
  for (const k of ['dev', 'devOptional', 'peer', 'extraneous']) delete out[k];
  if (out.resolved === undefined && out.version && !out.link && !out.inBundle) out.resolved = `${registry}${name}/-/${name.split('/').pop()}-${out.version}.tgz`;
  return out;
}

const NODE_CHECK = `// Written by scripts/pack-test.mjs: every public entry, imported as a user would.
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
const core = await import('@bijective/core');
const coreNode = await import('@bijective/core/node');
const coreTesting = await import('@bijective/core/testing').catch((e) => e);
const tfjs = await import('@bijective/backend-tfjs');
const tfjsNode = await import('@bijective/backend-tfjs/node');
const onnx = await import('@bijective/backend-onnx');
const onnxNode = await import('@bijective/backend-onnx/node');
const onnxWeb = await import('@bijective/backend-onnx/web');
const models = await import('@bijective/models');
const modelsNode = await import('@bijective/models/node');

// @bijective/core/testing needs vitest, an optional peer this folder lacks: it must say so, not load half.
assert.ok(coreTesting instanceof Error && /vitest/.test(String(coreTesting.message)), '@bijective/core/testing without vitest: ' + String(coreTesting?.message ?? Object.keys(coreTesting)));

// @bijective/models: the preset registry, browser entry.
assert.equal(models.getPreset('nice-2d').name, 'nice-2d');
assert.ok(modelsNode.SHIPPED_PRESETS.includes('nice-2d'));
// @bijective/models/node: the shipped checkpoint inside the installed package.
const { flow, dir } = await modelsNode.shippedCheckpoint('nice-2d');
assert.match(dir, /node_modules[\\\\/]@bijective[\\\\/]models[\\\\/]checkpoints[\\\\/]nice-2d$/);
// @bijective/core/node: the same checkpoint through the core loader.
const loaded = await coreNode.loadCheckpoint(dir);
assert.deepEqual(loaded.flow.spec, flow.spec);

// @bijective/core: the float64 reference interpreter.
const x = { data: Float64Array.from([0, 0, 1, -1, 2, 0.5, -1.5, 1]), shape: [4, 2] };
const ref = await core.referenceRuntime(flow).logProb(x);
assert.ok(ref.every(Number.isFinite));

// @bijective/backend-tfjs (+ /node, which registers the Node engines): the same density on tfjs-wasm.
assert.equal(typeof tfjsNode, 'object');
const tf = await tfjs.tfjsRuntime(flow, { engine: 'tfjs-wasm' });
const lpTf = await tf.logProb(x);
await tf.dispose();
for (let i = 0; i < 4; i++) assert.ok(Math.abs(lpTf[i] - ref[i]) < 1e-4, 'tfjs-wasm ' + lpTf[i] + ' vs reference ' + ref[i]);

// @bijective/backend-onnx: export, inspect; /web: run it on onnxruntime-web (wasm) in Node.
const exported = onnx.exportOnnx(flow);
const meta = onnx.inspectModel(exported.logProb);
assert.ok(meta, 'inspectModel returned nothing');
const web = await onnxWeb.ortRuntime(exported, { engine: 'ort-web-wasm' });
const lpWeb = await web.logProb(x);
await web.dispose();
for (let i = 0; i < 4; i++) assert.ok(Math.abs(lpWeb[i] - ref[i]) < 1e-4, 'ort-web-wasm ' + lpWeb[i] + ' vs reference ' + ref[i]);

// @bijective/backend-onnx/node: without onnxruntime-node the engine says so with the command;
// with it (--with-ort-node) the native engine gives the same density.
assert.equal(onnxNode.ortNotInstalled('onnxruntime-web'), undefined);
const status = await onnxNode.engineStatus('ort-node-cpu');
if (process.env.WITH_ORT_NODE) {
  assert.equal(status.available, true, JSON.stringify(status));
  const native = await onnxNode.ortRuntime(exported, { engine: 'ort-node-cpu' });
  const lpNative = await native.logProb(x);
  await native.dispose();
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(lpNative[i] - ref[i]) < 1e-4, 'ort-node-cpu ' + lpNative[i] + ' vs reference ' + ref[i]);
} else {
  assert.match(String(onnxNode.ortNotInstalled('onnxruntime-node')), /npm install onnxruntime-node/);
  assert.equal(status.available, false);
}

let maxErr = 0;
for (let i = 0; i < 4; i++) maxErr = Math.max(maxErr, Math.abs(lpTf[i] - ref[i]), Math.abs(lpWeb[i] - ref[i]));
console.log('10 entries imported; nice-2d logProb on tfjs-wasm and ort-web-wasm within ' + maxErr.toExponential(1) + ' of the float64 reference');
`;

const TYPES_CHECK = `// Written by scripts/pack-test.mjs: the types a TypeScript user compiles against.
import { createFlow, referenceRuntime, type FlowSpec, type Tensor } from '@bijective/core';
import { loadCheckpoint } from '@bijective/core/node';
import { tfjsRuntime } from '@bijective/backend-tfjs';
import { exportOnnx, type OnnxExport } from '@bijective/backend-onnx';
import { ortNotInstalled } from '@bijective/backend-onnx/node';
import { ortRuntime } from '@bijective/backend-onnx/web';
import { getPreset } from '@bijective/models';
import { shippedCheckpoint } from '@bijective/models/node';

const spec: FlowSpec = getPreset('nice-2d').spec();
const flow = createFlow(spec, { seed: 0 });
const x: Tensor = { data: new Float64Array(2), shape: [1, 2] };
export const lp: Promise<Float32Array | Float64Array> = referenceRuntime(flow).logProb(x);
export const onnx: OnnxExport = exportOnnx(flow);
export const bytes: number = onnx.logProb.byteLength;
export const why: string | undefined = ortNotInstalled('onnxruntime-node');
export const loaders = [loadCheckpoint, tfjsRuntime, ortRuntime, shippedCheckpoint] as const;
// The types are real, not any: a number is no flow spec.
// @ts-expect-error
createFlow(42);
`;

const BROWSER_MAIN = `// Written by scripts/pack-test.mjs: the browser entries a web app imports.
import { getPreset, presets } from '@bijective/models';
import { createFlow } from '@bijective/core';
import { ortRuntime, listEngines } from '@bijective/backend-onnx/web';

const flow = createFlow(getPreset('nice-2d').spec());
const out = document.getElementById('out');
out.textContent = Object.keys(presets).join(' ') + ' ' + flow.spec.layers.length;
listEngines().then((engines) => (out.textContent += ' ' + engines.map((e) => e.engine).join(',')));
window.run = () => ortRuntime(flow, { engine: 'ort-web-wasm' });
`;

const VITE_BUILD = (viteUrl) => `// Written by scripts/pack-test.mjs.
const { build } = await import(${JSON.stringify(viteUrl)});
await build({ root: process.cwd(), logLevel: 'warn', configFile: false, build: { outDir: 'dist', emptyOutDir: true, minify: false, reportCompressedSize: false, chunkSizeWarningLimit: 100000 } });
console.log('vite build done');
`;

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`FAIL ${e instanceof CheckError ? e.message : (e?.stack ?? e)}`);
  code = 1;
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
const seconds = (Date.now() - started) / 1000;
console.log(JSON.stringify({ ok: code === 0, steps, seconds }));
process.exit(code);
