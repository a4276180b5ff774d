#!/usr/bin/env node
// npm run test:cuda-emu [-- --asan] [-- <jest args>] — the CUDA backend's suites on the CPU emulator:
//   1. builds the addon with FSNN_CUDA=EMU into build-emu/ (build-emu-asan/ with --asan); an existing
//      build is brought up to date by ninja (only changed sources recompile);
//   2. runs, with FSNN_ADDON pointing at that addon:
//        the smoke test (scripts/cuda-smoke.js) with the caching allocator and with FSNN_CUDA_ALLOC=exact,poison,
//        the parity tests (test/cuda/parity.test.ts) with FSNN_CUDA_ALLOC=poison,
//        the planted-bug test (test/cuda/emulator-planted-bugs.test.ts; not under --asan),
//        the whole jest suite with FSNN_DEVICE=cuda (cuda is the default device of every test);
//   3. prints each step's time and exits non-zero if any step failed.
// --asan builds with AddressSanitizer and runs node with libasan preloaded (leak checks off: node
// itself does not free everything at exit). Extra arguments go to the full-suite jest run.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const asan = args.includes('--asan');
const jestArgs = args.filter((a) => a !== '--asan');
const buildName = asan ? 'build-emu-asan' : 'build-emu';
const buildDir = path.join(root, buildName);
const addon = path.join(buildDir, 'Release', 'fsnn.node');

function sh(cmd, cmdArgs, env) {
  return spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
}

const results = [];
function step(name, fn) {
  const t0 = Date.now();
  let ok = false;
  try {
    ok = fn();
  } catch (e) {
    console.error(`${name}: ${e.message}`);
  }
  const s = (Date.now() - t0) / 1000;
  results.push({ name, ok, s });
  console.log(`\n== ${ok ? 'PASS' : 'FAIL'} ${name} (${s.toFixed(1)} s)\n`);
  return ok;
}

// ---- 1. build ----
const built = step(`build ${buildName}`, () => {
  const parallel = { CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL || '2' };
  if (fs.existsSync(path.join(buildDir, 'build.ninja')) || fs.existsSync(path.join(buildDir, 'Makefile'))) {
    // Configured before: cmake --build re-runs the configure step itself when CMakeLists.txt changed.
    const r = sh('cmake', ['--build', buildDir, '--config', 'Release'], parallel);
    if (r.status === 0 && fs.existsSync(addon)) return true;
    console.log('incremental build failed; configuring afresh');
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const defs = ['--CDFSNN_CUDA=EMU'];
  if (asan) defs.push('--CDFSNN_EMU_ASAN=ON', '--CDCMAKE_BUILD_TYPE=RelWithDebInfo');
  const r = sh(process.execPath, [cmakeJs, 'compile', '--out', buildName, ...defs], parallel);
  return r.status === 0 && fs.existsSync(addon);
});
if (!built) {
  console.error(`FAILED: the emulator build (${buildName}) did not produce ${addon}`);
  process.exit(1);
}

// ---- 2. suites ----
const env = { FSNN_ADDON: addon, FSNN_NO_PREBUILD: '1' };
if (asan) {
  const lib = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
  env.LD_PRELOAD = lib;
  env.ASAN_OPTIONS = 'detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0';
}
const jestBin = require.resolve('jest/bin/jest');
const node = process.execPath;
const smokeScript = path.join(root, 'scripts', 'cuda-smoke.js');
const smokeOk = (r) => r.status === 0;

step('smoke (caching allocator)', () => smokeOk(sh(node, [smokeScript], env)));
step('smoke (FSNN_CUDA_ALLOC=exact,poison)', () => smokeOk(sh(node, [smokeScript], { ...env, FSNN_CUDA_ALLOC: 'exact,poison' })));
step('parity (FSNN_CUDA_ALLOC=poison)', () =>
  sh(node, [jestBin, 'test/cuda/parity.test.ts'], { ...env, FSNN_CUDA_ALLOC: 'poison' }).status === 0);
if (!asan)
  step('planted bugs', () =>
    sh(node, [jestBin, 'test/cuda/emulator-planted-bugs.test.ts'], { ...env, FSNN_EMU_BUILD_DIR: buildName }).status === 0);
step('jest suite with FSNN_DEVICE=cuda', () =>
  sh(node, [jestBin, ...jestArgs, '--testPathIgnorePatterns', 'test/cuda/parity.test.ts', 'test/cuda/emulator-planted-bugs.test.ts'],
    { ...env, FSNN_DEVICE: 'cuda' }).status === 0);

// ---- 3. summary ----
console.log('\nCUDA emulator suites:');
for (const r of results) console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.s.toFixed(1).padStart(7)} s  ${r.name}`);
const total = results.reduce((a, r) => a + r.s, 0);
console.log(`  total ${total.toFixed(1)} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
