#!/usr/bin/env node
// npm run test:gpu — the whole jest suite with the default device set to 'cuda', plus the GPU parity
// tests, on a machine with a GPU, node and this checkout's node_modules. Where no usable GPU (or no CUDA
// op table) is present it says so and skips. For a bare GPU machine (no node, no network) use the
// bundle instead: `npm run gpu:bundle` here, then `OUT=<dir> bash .gpu-bundle/run.sh` there.
const { spawnSync } = require('child_process');
const path = require('path');

const { cuda } = require(path.join(__dirname, '..', 'dist'));
if (!cuda.isAvailable()) {
  console.log(`SKIPPED: GPU test suite: ${cuda.unavailableReason()}`);
  console.log(`(CUDA plumbing compiled: ${cuda.isCompiled()}, devices: ${cuda.deviceCount()})`);
  process.exit(0);
}
const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, FSNN_DEVICE: 'cuda' },
});
process.exit(r.status ?? 1);
