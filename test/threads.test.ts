// setNumThreads / getNumThreads: the CPU pool is resized from code, ops keep working and give the
// same results (the pool splits work into contiguous chunks; elementwise results do not depend on it),
// and bad counts are refused with the reason.
import * as os from 'os';
import { getNumThreads, setNumThreads, tensor, randn, manualSeed } from '../lib';

const initial = getNumThreads();
afterAll(() => setNumThreads(initial));

test('the count at load is FSNN_NUM_THREADS or the hardware threads', () => {
  const env = Number(process.env.FSNN_NUM_THREADS);
  expect(initial).toBe(env > 0 ? env : os.cpus().length);
});

test('set and get; ops agree across counts', () => {
  manualSeed(5);
  const a = randn([300, 200]), b = randn([200, 100]);
  const results: Float32Array[] = [];
  for (const n of [1, 3, 8, 2]) {
    expect(setNumThreads(n)).toBe(n);
    expect(getNumThreads()).toBe(n);
    results.push(a.mul(2).add(1).exp().toFloat32Array());
    const m = a.matmul(b).toFloat32Array();
    expect(m.length).toBe(300 * 100);
  }
  for (const r of results) expect(Buffer.from(r.buffer).equals(Buffer.from(results[0].buffer))).toBe(true);
});

test('bad counts are refused; the pool keeps its size', () => {
  setNumThreads(2);
  expect(() => setNumThreads(0)).toThrow(/n = 0 must be a positive integer/);
  expect(() => setNumThreads(1.5)).toThrow(/must be a positive integer/);
  expect(() => setNumThreads(100000)).toThrow(/setNumThreads\(100000\): the thread count must be between 1 and \d+/);
  expect(getNumThreads()).toBe(2);
  expect(Array.from(tensor([1, 2]).add(1).toFloat32Array())).toEqual([2, 3]);
});

// FSNN_SPIN_US (read at load) sets how long idle pool threads poll before they sleep: 0, the default and
// a malformed value (ignored) all give the same results, in a child process each.
test('the pool gives the same results whatever FSNN_SPIN_US says', () => {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const path = require('path') as typeof import('path');
  const script = `
const { tensor, setNumThreads } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
setNumThreads(2);
const a = tensor(Float32Array.from({ length: 1 << 18 }, (_, i) => Math.sin(i)), [512, 512]);
let sum = 0;
for (let i = 0; i < 20; i++) sum += a.matmul(a).exp().mean().item();
console.log(sum.toPrecision(9));
`;
  const outputs = ['0', '2000', 'soon'].map((spin) => {
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      env: { ...process.env, FSNN_SPIN_US: spin }, encoding: 'utf8', timeout: 120000,
    });
    if (r.status !== 0) throw new Error(`FSNN_SPIN_US=${spin}: ${r.stderr}`);
    return r.stdout.trim();
  });
  expect(Number.isFinite(Number(outputs[0]))).toBe(true);
  expect(outputs[1]).toBe(outputs[0]);
  expect(outputs[2]).toBe(outputs[0]);
});

// Chunks are claimed from a counter: with more pool threads than cores, most workers wake after the
// caller (and the others) ran their chunks and the region closed; they must run nothing then, and every
// region must still finish all its chunks. Thousands of short regions on 8 threads (this machine has
// fewer cores) give the same bits as one thread (elementwise chains and reductions, whose sums have one
// order whatever the threads; a matmul split into panels may round differently).
test('many short regions on more threads than cores: every chunk runs once, late workers run none', () => {
  manualSeed(9);
  const a = randn([64, 1024]);
  const serial: Float32Array[] = [];
  const pooled: Float32Array[] = [];
  for (const [n, out] of [[1, serial], [8, pooled]] as const) {
    setNumThreads(n);
    let x = a;
    for (let i = 0; i < 1500; i++) {
      const y = x.mul(0.999).add(0.001).tanh();
      if (x !== a) x.dispose();
      x = y;
      if (i % 300 === 299) out.push(x.sum(0).toFloat32Array(), x.sum(1).toFloat32Array()); // fixed-order sums
    }
    out.push(x.toFloat32Array());
  }
  setNumThreads(initial);
  expect(pooled.length).toBe(serial.length);
  pooled.forEach((p, i) => expect(Buffer.from(p.buffer).equals(Buffer.from(serial[i].buffer))).toBe(true));
});
