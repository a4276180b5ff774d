#!/usr/bin/env node
// npm install / npm ci / npm rebuild: make sure an addon loads here, building it only when needed.
//  1. A source build already configured in build/ (a clone): rebuild it incrementally so it matches the sources.
//  2. Otherwise, unless FSNN_BUILD_FROM_SOURCE=1: if the addon native/loader.js finds (FSNN_ADDON, or the
//     prebuild in prebuilds/<platform>-<arch>/) loads in a child process, use it: nothing is compiled.
//  3. Otherwise build from source with cmake-js (FSNN_CUDA / FSNN_BLAS from the environment), then check it loads.
// It never compiles TypeScript: the package ships dist/ (in a clone, `prepare` builds dist/).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { build } = require('./cmake-build');

const root = path.join(__dirname, '..');
const tag = 'fractional-snn:';

/** Loads the addon the way the package will, in a child process (a crash there cannot kill the install). */
function probe() {
  const code = `const r = require(${JSON.stringify(path.join(root, 'native', 'loader.js'))}).loadAddon(${JSON.stringify(root)});` +
    'process.stdout.write(JSON.stringify({ file: r.file, how: r.how, cuda: r.addon.cudaCompiled() }));';
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status === 0) return { ok: true, ...JSON.parse(r.stdout) };
  const why = (r.stderr || '').split('\n').find((l) => l.includes('fractional-snn:')) ||
    (r.stderr || '').trim().split('\n').pop() || `exit ${r.status}${r.signal ? `, ${r.signal}` : ''}`;
  return { ok: false, why: why.replace(/^\s*(Uncaught )?Error: /, '').replace(/^fractional-snn: /, '') };
}

function buildOrExit() {
  let status;
  try {
    status = build('build');
  } catch (e) {
    console.error(`${tag} ${e.message}`);
    process.exit(1);
  }
  if (status !== 0) {
    console.error(`${tag} the build from source failed (exit ${status}); it needs cmake >= 3.18 and a C++17 compiler ` +
      '(FSNN_CUDA=OFF skips the CUDA backend).');
    process.exit(status);
  }
  const p = probe();
  if (!p.ok) {
    console.error(`${tag} the addon was built but does not load: ${p.why}`);
    process.exit(1);
  }
  console.log(`${tag} built ${path.relative(root, p.file)} from source (CUDA ${p.cuda ? 'compiled in' : 'not compiled in'})`);
}

if (fs.existsSync(path.join(root, 'build', 'CMakeCache.txt'))) {
  buildOrExit();
} else if (process.env.FSNN_BUILD_FROM_SOURCE && process.env.FSNN_BUILD_FROM_SOURCE !== '0') {
  console.log(`${tag} FSNN_BUILD_FROM_SOURCE is set: building from source`);
  buildOrExit();
} else {
  const p = probe();
  if (p.ok) {
    console.log(`${tag} using the ${p.how} ${path.relative(root, p.file) || p.file} (CUDA ${p.cuda ? 'compiled in' : 'not compiled in'}); nothing to compile`);
  } else {
    console.log(`${tag} no usable prebuilt addon (${p.why}); building from source`);
    buildOrExit();
  }
}
