#!/usr/bin/env node
// prebuildify drives node-gyp (`node-gyp rebuild --target=... --release`); this addon builds with
// cmake-js. npm run prebuild points PREBUILD_NODE_GYP here, and this runs the cmake-js build into
// build/Release, where prebuildify picks up the .node file and copies it to prebuilds/<platform>-<arch>/.
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
if (args[0] !== 'rebuild') {
  console.error(`cmake-js-as-node-gyp: only 'rebuild' is supported (got ${args.join(' ')})`);
  process.exit(1);
}
const debug = args.includes('--debug');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build', ...(debug ? ['--debug'] : [])], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
