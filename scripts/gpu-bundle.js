#!/usr/bin/env node
// npm run gpu:bundle — packs everything a bare GPU machine (driver + CUDA 13 image, no node, no npm, no
// network) needs to give the whole GPU verdict with one command, `bash .gpu-bundle/run.sh`:
//   .gpu-bundle/run.sh        the step runner (a copy of scripts/gpu-run.sh)
//   .gpu-bundle/node.xz       this machine's node, stripped of debug info, xz-compressed
//   .gpu-bundle/app.tar.xz    pkg/: the CUDA addon (build/Release/fsnn.node, -lineinfo, static cudart,
//                             cuBLAS by dlopen, no OpenBLAS), the compiled library (pkg/lib = dist/),
//                             the tests, benchmarks, cuda-smoke.js and nccl-check.js as JavaScript, jest,
//                             bindings and commander with their runtime dependencies, a jest config
//                             for the compiled tests
//   .gpu-bundle/MANIFEST.txt  sha256 of every source packed, the git commit, node/nvcc versions
// The addon is built in build-gpu/ (incremental); the compressed node is cached there too.
//   FSNN_BUNDLE_XZ_LEVEL=1   faster, ~4 MB larger node.xz (default 9)
//   FSNN_BUNDLE_OUT=dir      another output folder (default .gpu-bundle)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const BUILD = path.join(ROOT, 'build-gpu');
const LIMIT_BYTES = 40 * 1000 * 1000;  // the "under 40 MB"

// Everything whose change makes a bundle stale: the sources compiled or copied into it and the
// scripts that make and run it.
const SOURCE_DIRS = ['lib', 'native', 'cuda', 'test', 'benchmarks', 'types'];
const SOURCE_FILES = ['CMakeLists.txt', 'tsconfig.json', 'package.json', 'scripts/cuda-smoke.js', 'scripts/nccl-check.js',
  'scripts/gpu-run.sh', 'scripts/gpu-bundle.js'];
const SKIP_DIRS = new Set(['node_modules', 'build', 'build-gpu', 'build-emu', 'dist', '.git']);

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(p, out);
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** [relative path, sha256] of every source the bundle is made from, sorted. */
function sourceHashes(root = ROOT) {
  const files = [];
  for (const d of SOURCE_DIRS) walk(path.join(root, d), files);
  for (const f of SOURCE_FILES) if (fs.existsSync(path.join(root, f))) files.push(path.join(root, f));
  return files.map((f) => path.relative(root, f))
    .filter((f) => f !== path.join('test', 'cuda', 'gpu-bundle.test.ts'))  // the rehearsal is not packed
    .map((f) => [f, sha256(path.join(root, f))]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** One digest over the sources and the node binary that would be packed: equal digests, same bundle. */
function sourcesDigest(root = ROOT, nodeBinary = process.execPath) {
  const h = crypto.createHash('sha256');
  for (const [f, s] of sourceHashes(root)) h.update(`${f} ${s}\n`);
  h.update(`node ${sha256(nodeBinary)}\n`);
  return h.digest('hex');
}

/** The digest a built bundle records, or null when there is no bundle (or no manifest). */
function bundleDigest(dir) {
  const m = path.join(dir, 'MANIFEST.txt');
  if (!fs.existsSync(m)) return null;
  const line = fs.readFileSync(m, 'utf8').split('\n').find((l) => l.startsWith('sources-digest: '));
  return line ? line.slice('sources-digest: '.length).trim() : null;
}

function run(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  return execFileSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
}

function capture(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The packages jest and the library need at run time: each one's dependency closure, node resolution. */
function runtimeModules(roots) {
  const nm = path.join(ROOT, 'node_modules');
  const seen = new Set();
  const resolveFrom = (from, name) => {
    for (let d = from; ; d = path.dirname(d)) {
      const c = path.join(d, 'node_modules', name);
      if (fs.existsSync(path.join(c, 'package.json'))) return c;
      if (path.dirname(d) === d) return null;
    }
  };
  const visit = (dir) => {
    const real = fs.realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
    const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const optional = pj.optionalDependencies || {};
    for (const n of Object.keys({ ...pj.dependencies, ...optional })) {
      const r = resolveFrom(dir, n);
      if (r) visit(r);
      else if (!optional[n]) throw new Error(`gpu:bundle: ${n} (needed by ${pj.name}) is not in node_modules; run npm ci`);
    }
  };
  for (const r of roots) {
    const d = path.join(nm, r);
    if (!fs.existsSync(path.join(d, 'package.json'))) throw new Error(`gpu:bundle: node_modules/${r} is missing; run npm ci`);
    visit(d);
  }
  const realNm = fs.realpathSync(nm);
  // Paths relative to node_modules; a nested package is copied with its parent.
  const rel = [...seen].map((s) => path.relative(realNm, s)).sort();
  return rel.filter((p, i) => !rel.slice(0, i).some((q) => p.startsWith(q + path.sep)));
}

/** Copies a package tree without what nothing runs: type declarations, source maps, docs, @types. */
function copyPackage(src, dst) {
  fs.cpSync(src, dst, {
    recursive: true,
    dereference: true,
    filter: (p) => {
      const b = path.basename(p);
      if (b === '@types' || b === '.bin') return false;
      return !/\.(d\.ts|d\.mts|d\.cts|map|md|markdown)$/i.test(b) || /^license/i.test(b);
    },
  });
}

/** Compiles one TypeScript file to CommonJS JavaScript with the project's compiler options. */
function transpileTree(ts, srcDir, dstDir, options, exclude) {
  for (const f of walk(srcDir, [])) {
    const rel = path.relative(srcDir, f);
    if (exclude.some((x) => rel === x)) continue;
    const out = path.join(dstDir, rel);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    if (f.endsWith('.ts') && !f.endsWith('.d.ts')) {
      const r = ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions: options, fileName: f, reportDiagnostics: false });
      fs.writeFileSync(out.replace(/\.ts$/, '.js'), r.outputText);
    } else if (!f.endsWith('.ts') && !f.endsWith('.py')) {
      fs.copyFileSync(f, out);  // fixtures and data the tests read
    }
  }
}

function buildAddon() {
  // Its own build folder; CUDA required; the built-in sgemm (the GPU image may lack libopenblas);
  // -lineinfo so compute-sanitizer reports source lines.
  run(process.execPath, [require.resolve('cmake-js/bin/cmake-js', { paths: [ROOT] }), 'compile', '--out', 'build-gpu',
    '--CDFSNN_CUDA=ON', '--CDFSNN_BLAS=OFF', '--CDCMAKE_CUDA_FLAGS=-lineinfo'],
  { env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL || String(Math.max(1, os.cpus().length)) } });
  const addon = path.join(BUILD, 'Release', 'fsnn.node');
  const deps = capture('ldd', [addon]) || '';
  if (/libopenblas|libcudart\.so|libcublas/.test(deps)) {
    throw new Error(`gpu:bundle: ${addon} links a library the GPU image may not have:\n${deps}`);
  }
  return addon;
}

/** node stripped of debug info and xz-compressed, cached in build-gpu/ by the binary's hash. */
function compressedNode() {
  const level = process.env.FSNN_BUNDLE_XZ_LEVEL || '9';
  const cached = path.join(BUILD, `node-${process.version}-${sha256(process.execPath).slice(0, 16)}-xz${level}.xz`);
  if (fs.existsSync(cached)) return cached;
  const tmp = path.join(BUILD, 'node.stripped');
  fs.mkdirSync(BUILD, { recursive: true });
  if (capture('strip', ['--version']) !== null) run('strip', ['-o', tmp, process.execPath]);
  else fs.copyFileSync(process.execPath, tmp);
  run('xz', [`-${level}`, '-T0', '-f', '-k', tmp]);
  fs.renameSync(`${tmp}.xz`, cached);
  fs.rmSync(tmp);
  return cached;
}

function main() {
  const t0 = Date.now();
  const out = path.resolve(ROOT, process.env.FSNN_BUNDLE_OUT || '.gpu-bundle');
  const stage = path.join(BUILD, 'stage');
  const pkg = path.join(stage, 'pkg');
  const digest = sourcesDigest();
  const hashes = sourceHashes();

  const addon = buildAddon();
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(addon, path.join(pkg, 'build', 'Release', 'fsnn.node'));

  // The library exactly as `npm run build:ts` makes dist/ (type-checked), placed at pkg/lib so that the
  // compiled tests' '../../lib' imports find it.
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  run(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', path.join(pkg, 'lib'), '--declaration', 'false', '--sourceMap', 'false', '--inlineSources', 'false']);
  const ts = require(require.resolve('typescript', { paths: [ROOT] }));
  const options = { ...ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} }).options };
  delete options.outDir;
  delete options.rootDir;
  options.sourceMap = false;
  options.inlineSources = false;
  options.declaration = false;
  // The tests and the benchmarks, less those that need the repository: this bundle's own rehearsal test,
  // and the SOE check, which compiles native/fractional_soe.cc with g++ (a CPU-only table, no CUDA in it).
  transpileTree(ts, path.join(ROOT, 'test'), path.join(pkg, 'test'), options,
    [path.join('cuda', 'gpu-bundle.test.ts'), path.join('fractional', 'soe.test.ts')]);
  transpileTree(ts, path.join(ROOT, 'benchmarks'), path.join(pkg, 'benchmarks'), options, []);
  // The addon loader that lib/native.js and the tests' child processes require (native/loader.js).
  fs.mkdirSync(path.join(pkg, 'native'));
  fs.copyFileSync(path.join(ROOT, 'native', 'loader.js'), path.join(pkg, 'native', 'loader.js'));
  fs.mkdirSync(path.join(pkg, 'scripts'));
  for (const f of ['cuda-smoke.js', 'nccl-check.js']) fs.copyFileSync(path.join(ROOT, 'scripts', f), path.join(pkg, 'scripts', f));
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'fractional-snn-gpu-bundle', private: true }, null, 2));
  fs.writeFileSync(path.join(pkg, 'jest.config.js'), [
    '// The compiled tests run as plain JavaScript: no transform, no TypeScript at run time.',
    'module.exports = {',
    "  rootDir: __dirname,",
    "  testEnvironment: 'node',",
    "  roots: ['<rootDir>/test'],",
    "  testMatch: ['**/*.test.js'],",
    '  transform: {},',
    '  testTimeout: 120000,',
    "  setupFilesAfterEnv: ['<rootDir>/test/setup/device.js'],",
    '};',
    ''].join('\n'));
  const modules = runtimeModules(['jest', 'bindings', 'node-gyp-build', 'commander']);
  const nm = fs.realpathSync(path.join(ROOT, 'node_modules'));
  for (const m of modules) copyPackage(path.join(nm, m), path.join(pkg, 'node_modules', m));

  const nodeXz = compressedNode();

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  run('tar', ['-C', stage, '-cf', path.join(out, 'app.tar'), 'pkg']);
  run('xz', ['-9', '-T0', path.join(out, 'app.tar')]);
  fs.copyFileSync(nodeXz, path.join(out, 'node.xz'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'gpu-run.sh'), path.join(out, 'run.sh'));
  fs.chmodSync(path.join(out, 'run.sh'), 0o755);

  const git = capture('git', ['rev-parse', 'HEAD']);
  const dirty = capture('git', ['status', '--porcelain', '--untracked-files=no', '--', ...SOURCE_DIRS, ...SOURCE_FILES]);
  const nvcc = (capture('nvcc', ['--version']) || 'nvcc not found').split('\n').filter((l) => /release/.test(l)).join(' ');
  fs.writeFileSync(path.join(out, 'MANIFEST.txt'), [
    `sources-digest: ${digest}`,
    `git: ${git ?? 'not a git checkout'}${dirty ? ' + uncommitted changes' : ''}`,
    `built: ${new Date().toISOString()} on ${os.hostname()} (${os.cpus()[0]?.model ?? '?'})`,
    `node: ${process.version} (${process.execPath}, sha256 ${sha256(process.execPath)})`,
    `nvcc: ${nvcc}`,
    `addon: FSNN_CUDA=ON FSNN_BLAS=OFF CMAKE_CUDA_FLAGS=-lineinfo, sha256 ${sha256(addon)}`,
    `node_modules: jest, bindings, node-gyp-build and commander (the CLI, which tests load) with their runtime dependencies, ${modules.length} package folders`,
    '',
    '# sha256  source',
    ...hashes.map(([f, s]) => `${s}  ${f}`),
    ''].join('\n'));

  const sizes = fs.readdirSync(out).map((f) => [f, fs.statSync(path.join(out, f)).size]);
  const total = sizes.reduce((a, [, s]) => a + s, 0);
  const stageSize = (d) => walk(d, []).reduce((a, f) => a + fs.statSync(f).size, 0);
  console.log(`\n${path.relative(ROOT, out)}/ (${((Date.now() - t0) / 1000).toFixed(0)} s):`);
  for (const [f, s] of sizes) console.log(`  ${f.padEnd(14)} ${(s / 1e6).toFixed(2).padStart(7)} MB`);
  console.log(`  ${'total'.padEnd(14)} ${(total / 1e6).toFixed(2).padStart(7)} MB (limit ${LIMIT_BYTES / 1e6} MB)`);
  console.log('  unpacked pkg/: ' + ['build', 'lib', 'test', 'benchmarks', 'node_modules']
    .map((d) => `${d} ${(stageSize(path.join(pkg, d)) / 1e6).toFixed(2)} MB`).join(', '));
  if (total >= LIMIT_BYTES) throw new Error(`gpu:bundle: ${total} bytes is over the ${LIMIT_BYTES}-byte limit`);
}

module.exports = { sourcesDigest, bundleDigest, sourceHashes };

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
