#!/usr/bin/env node
// Makes the prebuilt addon that ships in the package (prebuildify's layout, read by node-gyp-build):
//   prebuilds/<platform>-<arch>/node.napi.glibc.node   (Linux; node.napi.node elsewhere)
// Run by `prepack` (so `npm pack` / `npm publish` always include it) and by `npm run prebuilds`.
// Linux build: CUDA compiled in (FSNN_CUDA=ON by default: sm_80, sm_90 and PTX, static cudart, cuBLAS by
// dlopen), the built-in sgemm (FSNN_BLAS=OFF: no OpenBLAS link), libstdc++/libgcc linked statically, symbols
// stripped; so it needs neither a compiler, nor a GPU, nor a driver, nor OpenBLAS on the user's machine.
// Checks before shipping: the file loads (in a child, through FSNN_ADDON), CUDA is compiled in when asked,
// and it needs no shared library beyond libc/libm/libdl/libpthread/librt.
// Options: --if-stale (reuse the prebuild when it was made from the same sources and options: a hash in
// build-prebuild/prebuild-stamp.json); FSNN_PACK_PREBUILD=0 skips this step (prepack only warns).
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { cmakeJsArgs } = require('./cmake-build');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'build-prebuild');
const isLinux = process.platform === 'linux';
const targetDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const target = path.join(targetDir, isLinux ? 'node.napi.glibc.node' : 'node.napi.node');
const stampFile = path.join(outDir, 'prebuild-stamp.json');
const tag = 'make-prebuild:';

function fail(msg) {
  console.error(`${tag} ${msg}`);
  process.exit(1);
}

if (process.env.FSNN_PACK_PREBUILD === '0') {
  const have = fs.existsSync(target);
  console.warn(`${tag} FSNN_PACK_PREBUILD=0: not building the prebuild; ` +
    (have ? `the existing ${path.relative(root, target)} will be packed as it is` : 'the package will have no prebuild for this platform'));
  process.exit(0);
}

// The release options, set in the environment read by scripts/cmake-build.js (the caller's FSNN_CUDA wins).
process.env.FSNN_CUDA = process.env.FSNN_CUDA || (isLinux ? 'ON' : 'OFF');
const linkFlags = isLinux ? ['--CDCMAKE_SHARED_LINKER_FLAGS=-static-libstdc++ -static-libgcc'] : [];
const extra = ['--CDFSNN_BLAS=OFF', ...linkFlags];

function listSources() {
  const files = ['CMakeLists.txt', 'package.json'];
  for (const dir of ['native', 'cuda']) {
    const walk = (d) => {
      for (const e of fs.readdirSync(path.join(root, d), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const rel = path.join(d, e.name);
        if (e.isDirectory()) walk(rel);
        else if (!rel.endsWith('.js')) files.push(rel);
      }
    };
    walk(dir);
  }
  return files;
}

function sourceHash() {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ cuda: process.env.FSNN_CUDA, blas: 'OFF', extra: linkFlags, napi: require('node-addon-api/package.json').version }));
  for (const f of listSources()) h.update(f).update('\0').update(fs.readFileSync(path.join(root, f)));
  return h.digest('hex');
}

const hash = sourceHash();
if (process.argv.includes('--if-stale') && fs.existsSync(target) && fs.existsSync(stampFile)) {
  const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  if (stamp.hash === hash && stamp.size === fs.statSync(target).size) {
    console.log(`${tag} ${path.relative(root, target)} is up to date with the sources (${stamp.when}); not rebuilding`);
    process.exit(0);
  }
}

const t0 = Date.now();
console.log(`${tag} building the release addon (FSNN_CUDA=${process.env.FSNN_CUDA}, FSNN_BLAS=OFF) into build-prebuild/`);
const r = spawnSync(process.execPath, cmakeJsArgs('build-prebuild', extra), { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(`the cmake-js build failed (exit ${r.status}); FSNN_CUDA=OFF makes a CPU-only prebuild when nvcc is absent.`);
const built = path.join(outDir, 'Release', 'fsnn.node');
if (!fs.existsSync(built)) fail(`the build did not produce ${built}`);

fs.mkdirSync(targetDir, { recursive: true });
const tmp = `${target}.tmp`;
fs.copyFileSync(built, tmp);
if (isLinux) {
  const s = spawnSync('strip', ['--strip-unneeded', tmp], { stdio: 'inherit' });
  if (s.status !== 0) fail('strip failed');
  const ldd = spawnSync('ldd', [tmp], { encoding: 'utf8' });
  const libs = (ldd.stdout || '').split('\n').map((l) => l.trim().split(/\s/)[0]).filter((l) => l && !l.startsWith('linux-vdso'));
  const allowed = /^(libc|libm|libdl|libpthread|librt)\.so|^\/lib64\/ld-linux|ld-linux/;
  const extraLibs = libs.filter((l) => !allowed.test(path.basename(l)));
  if (extraLibs.length) fail(`the prebuild needs shared libraries a user may lack: ${extraLibs.join(', ')}`);
}
// Load it as the package will, through FSNN_ADDON (which wants a path ending in .node).
const check = `${target}.check.node`;
fs.copyFileSync(tmp, check);
const p = spawnSync(process.execPath, ['-e',
  `const r = require(${JSON.stringify(path.join(root, 'native', 'loader.js'))}).loadAddon(${JSON.stringify(root)});` +
  'process.stdout.write(JSON.stringify({ cuda: r.addon.cudaCompiled(), blas: r.addon.info().blas }))'],
{ encoding: 'utf8', env: { ...process.env, FSNN_ADDON: check }, cwd: root });
fs.rmSync(check);
if (p.status !== 0) fail(`the prebuild does not load: ${p.stderr.trim()}`);
const info = JSON.parse(p.stdout);
if (process.env.FSNN_CUDA === 'ON' && !info.cuda) fail('FSNN_CUDA=ON but the prebuild reports no CUDA backend compiled in');
fs.renameSync(tmp, target);
// The Gloo plugin (fsnn.distributed on CPU tensors), when libgloo-dev was found: the addon opens it from
// its own folder at the first initProcessGroup({ backend: 'gloo' }); it needs the system's libgloo0.
const plugin = path.join(outDir, 'Release', 'fsnn_gloo.so');
const pluginTarget = path.join(targetDir, 'fsnn_gloo.so');
if (fs.existsSync(plugin)) {
  fs.copyFileSync(plugin, pluginTarget);
  if (isLinux && spawnSync('strip', ['--strip-unneeded', pluginTarget], { stdio: 'inherit' }).status !== 0) fail('strip of the Gloo plugin failed');
} else if (fs.existsSync(pluginTarget)) fs.rmSync(pluginTarget);
const size = fs.statSync(target).size;
fs.writeFileSync(stampFile, JSON.stringify({ hash, size, when: new Date().toISOString(), cuda: info.cuda, blas: info.blas }, null, 1));
console.log(`${tag} wrote ${path.relative(root, target)} (${(size / 1e6).toFixed(1)} MB, CUDA ${info.cuda ? 'compiled in' : 'not compiled in'}, ` +
  `CPU matmul ${info.blas}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
