#!/usr/bin/env node
// npm install / npm ci: use a matching prebuilt addon (prebuilds/<platform>-<arch>/) when one loads here;
// otherwise build the addon from source with cmake-js. Then compile the TypeScript when the sources are
// present (a clone or a source package). FSNN_BUILD_FROM_SOURCE=1 always builds.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

function usablePrebuild() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return null;
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
    try {
      require(path.join(dir, f));
      return f;
    } catch {
      // not loadable on this machine: try the next one, then build from source
    }
  }
  return null;
}

const prebuild = process.env.FSNN_BUILD_FROM_SOURCE ? null : usablePrebuild();
if (prebuild) console.log(`fractional-snn: using the prebuilt addon prebuilds/${process.platform}-${process.arch}/${prebuild}`);
else run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', 'build']);

if (fs.existsSync(path.join(root, 'tsconfig.json')) && fs.existsSync(path.join(root, 'lib', 'index.ts')))
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
