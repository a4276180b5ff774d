// Finds and loads the compiled addon. The one place that decides which .node file is used: lib/native.ts,
// scripts/install.js and tests' child processes all call loadAddon(packageRoot).
//
// Order: FSNN_ADDON (an absolute path to a .node file) when set; otherwise node-gyp-build's search in the
// package root: build/Release/*.node (a build from source), build/Debug/*.node, then the prebuild in
// prebuilds/<platform>-<arch>/ whose tags (napi, glibc/musl) match this machine (prebuildify's layout).
// A failure names the file tried and the loader's real error (for example a missing shared library).
'use strict';
const path = require('path');

const FIX =
  'Reinstall to rebuild it from source: `npm rebuild fractional-snn` (needs cmake >= 3.18 and a C++17 compiler; ' +
  'FSNN_CUDA=OFF skips the CUDA backend), or in a clone `npm run build:native`.';

/** The .node file to load and why it was chosen: { file, how }. Throws when none is found. */
function resolveAddon(root) {
  const override = process.env.FSNN_ADDON;
  if (override) {
    if (!path.isAbsolute(override) || !override.endsWith('.node')) {
      throw new Error(`fractional-snn: FSNN_ADDON must be an absolute path to a .node file, got '${override}'; ` +
        'set it to e.g. /abs/path/build/Release/fsnn.node, or unset it to use the package\'s own addon.');
    }
    return { file: override, how: 'FSNN_ADDON' };
  }
  let file;
  try {
    file = require('node-gyp-build').resolve(root);
  } catch (e) {
    const err = new Error(`fractional-snn: no native addon for ${process.platform}-${process.arch} in ${root}: ` +
      `no build/Release/*.node and no matching prebuilds/${process.platform}-${process.arch}/*.node ` +
      `(node-gyp-build: ${String(e.message).trim()}). ${FIX}`);
    err.cause = e;
    throw err;
  }
  const rel = path.relative(root, file);
  return { file, how: rel.startsWith('prebuilds') ? 'prebuild' : 'build from source' };
}

/** Loads the addon: { addon, file, how }. The error of a failed load names the file and the cause. */
function loadAddon(root) {
  const { file, how } = resolveAddon(root);
  try {
    return { addon: require(file), file, how };
  } catch (e) {
    const err = new Error(`fractional-snn: could not load the native addon ${file} (${how}): ${e.message}. ` +
      (how === 'FSNN_ADDON' ? 'Check the FSNN_ADDON path, or unset it.' : FIX));
    err.cause = e;
    throw err;
  }
}

module.exports = { loadAddon, resolveAddon };
