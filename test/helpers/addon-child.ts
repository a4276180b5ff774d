// Runs a script against the raw native addon in a child process, with its own environment (the addon reads
// FSNN_CPU_NO_AVX512, FSNN_CPU_NO_AVX2, FSNN_BLAS and the like once per process). In the script, `n` is the
// addon and `input` the JSON-parsed input given here; it writes its result to stdout as JSON, which is
// returned parsed. The child must exit cleanly and print nothing to stderr.
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');

export function runAddonChild<T>(script: string, input: unknown, env: Record<string, string> = {}): T {
  const prologue = `
    const n = require(${JSON.stringify(path.join(root, 'native', 'loader.js'))}).loadAddon(${JSON.stringify(root)}).addon;
    const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));`;
  const r = spawnSync(process.execPath, ['-e', prologue + script], {
    cwd: root, input: JSON.stringify(input), env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 << 20,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}
