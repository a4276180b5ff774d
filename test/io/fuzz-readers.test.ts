// Seeded, bounded fuzzing of the readers a user points at files: 2,000 cases of random bytes and
// random mutations of valid files against the safetensors reader, the IDX reader (plain and gzip)
// and loadModel. The driver (test/helpers/fuzz-readers.ts) runs in a child process so that a crash
// shows as a signal, a hang as the timeout, and memory as the child's RSS growth and the rise of its peak RSS during the cases.
import { spawnSync } from 'child_process';
import * as path from 'path';

test('2,000 fuzz cases: each ends in success or an Error with our message; no crash, hang or > 256 MB', () => {
  const driver = path.join(__dirname, '..', 'helpers', 'fuzz-readers.ts');
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', driver, '20261129', '2000'],
    { encoding: 'utf8', timeout: 180000, cwd: path.join(__dirname, '..', '..') });
  expect(r.signal).toBeNull(); // a crash (SIGSEGV/SIGABRT) or the timeout (SIGTERM) would show here
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(out.counts.safetensors + out.counts.idx + out.counts.loadModel).toBe(2000);
  expect(out.failures).toEqual([]);
  // Memory the cases took: RSS sampled every 10 cases over its value at the start, and how far the
  // process's lifetime peak rose above its peak before the first case (catches short spikes between samples).
  expect(out.rssGrowthMB).toBeLessThan(256);
  expect(out.peakRiseMB).toBeLessThan(256);
});
