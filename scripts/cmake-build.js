#!/usr/bin/env node
// Builds the addon from source with cmake-js: `cmake-js compile --out <dir>` with the CMake options taken
// from the environment, so they work at `npm install` time (npm does not pass arbitrary flags to scripts):
//   FSNN_CUDA=OFF|ON|AUTO   -> -DFSNN_CUDA (OFF skips cuda/; ON fails without nvcc; AUTO, the default, uses nvcc when found)
// (FSNN_BLAS is not read here: at run time FSNN_BLAS=builtin selects the built-in sgemm; the CMake option
// FSNN_BLAS=OFF is passed explicitly where wanted, as scripts/make-prebuild.js does.)
// cmake-js takes the Node-API headers from the node-api-headers package (package.json has
// binary.napi_versions), so a build needs no download. Used by scripts/install.js, `npm run build:native`
// and scripts/make-prebuild.js. Run directly: node scripts/cmake-build.js [--out DIR] [-- extra cmake-js args].
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');

function cmakeOption(name, allowed) {
  const v = process.env[name];
  if (v === undefined || v === '') return [];
  const up = v.toUpperCase();
  if (!allowed.includes(up)) {
    throw new Error(`fractional-snn: ${name}=${v} is not one of ${allowed.join(', ')}; e.g. ${name}=${allowed[0]}.`);
  }
  return [`--CD${name}=${up}`];
}

/** The cmake-js command line (without the node executable) for a build into outDir. */
function cmakeJsArgs(outDir, extra = []) {
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    throw new Error('fractional-snn: building the addon from source needs cmake-js, which is not installed ' +
      '(it is an optional dependency: do not install with --omit=optional on a machine that has no matching prebuild).');
  }
  return [cmakeJs, 'compile', '--out', outDir, ...cmakeOption('FSNN_CUDA', ['OFF', 'ON', 'AUTO']), ...extra];
}

/** Runs the build; returns the exit status. */
function build(outDir = 'build', extra = []) {
  const args = cmakeJsArgs(outDir, extra);
  console.log(`fractional-snn: building the addon from source: cmake-js ${args.slice(1).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

module.exports = { build, cmakeJsArgs };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const extra = dash < 0 ? [] : argv.slice(dash + 1);
  const o = own.indexOf('--out');
  try {
    process.exit(build(o >= 0 ? own[o + 1] : 'build', extra));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
