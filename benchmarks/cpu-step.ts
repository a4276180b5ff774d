// npm run bench:cpu-step — the time of one CPU training step (encode, forward, cross-entropy, backward,
// Adam, projection: what `npm run train` runs per batch) for three direct-coded MLPs, with the input
// repeated over T steps and as a static input ([B, 784] once: the first layer runs once), against the
// dense-matmul floor measured in the same run: the forward and backward GEMMs of the same shapes alone,
// through the library's matmul. Then inference samples/s of the main-job model (eval, no graph, batch
// 256 as `fsnn infer`). Every row is measured in FSNN_BENCH_ROUNDS rounds (default 3; each the median
// of its steps): the table gives the median round and the range. The machine may be shared: the load
// average is printed before and after, and the CPU time per step (user + system of the process over the
// timed steps, all threads) is printed too: on a loaded machine it moves far less than the wall time
// (run with FSNN_NUM_THREADS=1 for the work of one thread without any waiting for a second one).
//   FSNN_BENCH_BREAKDOWN=1  also times every native call during the steps and prints, per config and
//                            mode, matmul / fractional / elementwise and copies / optimizer / transfers /
//                            JavaScript (the rest: ops' bookkeeping, tape, tidy, allocation of handles).
//   FSNN_BENCH_CONFIGS=main,t16,t64   the configs to run (default all).
import * as os from 'os';
import { noGrad } from '../lib/autograd/grad-mode';
import { tensor } from '../lib/creation';
import { encode } from '../lib/data/encoders';
import { tidy } from '../lib/memory';
import { native } from '../lib/native';
import { Linear, Sequential } from '../lib/nn/layers';
import { matmul } from '../lib/ops/linalg';
import '../lib/ops/methods';
import { crossEntropy } from '../lib/ops/nn';
import { Adam } from '../lib/optim/adam';
import { manualSeed } from '../lib/random/generator';
import { LIFNeuron } from '../lib/snn/neurons';
import { SNNWrapper } from '../lib/snn/wrapper';
import { Tensor } from '../lib/tensor';
import { machine, median, table } from './common';

interface Config { name: string; T: number; B: number; hidden: number; steps: number }
const CONFIGS: Config[] = [
  { name: 'main', T: 8, B: 64, hidden: 256, steps: 60 },
  { name: 't16', T: 16, B: 256, hidden: 512, steps: 12 },
  { name: 't64', T: 64, B: 256, hidden: 512, steps: 5 },
];
const F = 784, CLASSES = 10;
const rounds = Number(process.env.FSNN_BENCH_ROUNDS ?? 3);
const breakdown = process.env.FSNN_BENCH_BREAKDOWN === '1';
const wanted = (process.env.FSNN_BENCH_CONFIGS ?? CONFIGS.map((c) => c.name).join(',')).split(',');
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

// ---- timing of native calls (FSNN_BENCH_BREAKDOWN) ------------------------------------------------
type Category = 'matmul' | 'fractional' | 'elementwise+copies' | 'optimizer' | 'transfers' | 'views+alloc';
const CATEGORIES: Category[] = ['matmul', 'fractional', 'elementwise+copies', 'optimizer', 'transfers', 'views+alloc'];
/** The category of a native call, by its name (or the kernel name of runKernel(name, ...)). */
function categoryOf(name: string): Category {
  if (/matmul|gemm/i.test(name)) return 'matmul';
  if (/fractional/i.test(name)) return 'fractional';
  if (/adam|sgd|optim/i.test(name)) return 'optimizer';
  if (/^(fromFloat32|fromInt32|to)$/.test(name)) return 'transfers';
  if (/^(reshape|permute|empty|full)$/.test(name)) return 'views+alloc';
  return 'elementwise+copies';
}
const nativeMs = new Map<Category, number>();
let timing = false;
if (breakdown) {
  const addon = native as unknown as Record<string, unknown>;
  for (const key of Object.keys(addon)) {
    const fn = addon[key];
    if (typeof fn !== 'function' || key === 'TensorHandle' || /Async$/.test(key)) continue;
    addon[key] = function (this: unknown, ...args: unknown[]) {
      if (!timing) return (fn as (...a: unknown[]) => unknown).apply(this, args);
      const t0 = process.hrtime.bigint();
      try {
        return (fn as (...a: unknown[]) => unknown).apply(this, args);
      } finally {
        const c = categoryOf(key === 'runKernel' ? String(args[0]) : key);
        nativeMs.set(c, (nativeMs.get(c) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
  }
}

// ---- the model and one step ---------------------------------------------------------------------
function buildNet(hidden: number): SNNWrapper {
  // The `npm run train` recipe: Linear -> LIF (tau 2, threshold 1) -> Linear -> LIF, alpha [0.5, 0.5] learned.
  const model = new Sequential(new Linear(F, hidden), new LIFNeuron({ tau: 2, threshold: 1 }), new Linear(hidden, CLASSES), new LIFNeuron({ tau: 2, threshold: 1 }));
  return new SNNWrapper(model, { alpha: [0.5, 0.5], alphaMode: 'per_layer', learnAlpha: true });
}

function randomImages(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n * F }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / (1 << 24) < 0.8 ? 0 : (s & 255) / 255;  // MNIST-like: mostly 0, some grey levels
  });
}

/** The encoded input and the forward options of a batch: T copies, or the static one step. */
function encoded(x: Float32Array, B: number, T: number, staticInput: boolean): { input: Tensor; opts: { staticInput?: boolean; steps?: number } } {
  const e = encode('direct', x, B, F, T, { staticInput });
  return { input: tensor(e.data, e.shape), opts: e.staticInput ? { staticInput: true, steps: e.steps } : {} };
}

/** CPU ms (user + system, all threads of the process) spent by fn. */
function cpuMs(fn: () => void): number {
  const u = process.cpuUsage();
  fn();
  const d = process.cpuUsage(u);
  return (d.user + d.system) / 1000;
}

/** Median ms of `steps` training steps (after 2 warm-up steps), the mean CPU ms, and with breakdown the per-step native ms. */
function trainStepMs(c: Config, staticInput: boolean): { ms: number; cpu: number; parts: Map<Category, number> | null } {
  manualSeed(0);
  const net = buildNet(c.hidden);
  const opt = new Adam(net.parameters(), { lr: 2e-3 });
  const x = randomImages(c.B, 1);
  const y = Int32Array.from({ length: c.B }, (_, i) => i % CLASSES);
  const step = () => {
    tidy(() => {
      const { input, opts } = encoded(x, c.B, c.T, staticInput);
      const scores = net.forward(input, undefined, opts).mean(0).mul(10);
      const loss = crossEntropy(scores, y);
      loss.item();  // fit() reads the loss to check it is finite
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    net.projectParameters();
  };
  step();
  step();
  const times: number[] = [];
  nativeMs.clear();
  timing = breakdown;
  const cpu = cpuMs(() => {
    for (let i = 0; i < c.steps; i++) {
      const t0 = process.hrtime.bigint();
      step();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }) / c.steps;
  timing = false;
  const parts = breakdown ? new Map([...nativeMs].map(([k, v]) => [k, v / c.steps])) : null;
  return { ms: median(times), cpu, parts };
}

/**
 * The dense-matmul floor of a step: the GEMMs of the forward (x W1^T, s1 W2^T) and backward (dW2 = g2^T s1,
 * dS1 = g2 W2, dW1 = g1^T x) of the same shapes, through the library's matmul (no grad, no other work).
 * rows: T·B for the repeated input; for the static input the first layer's two GEMMs have B rows.
 */
function floorMs(c: Config, staticInput: boolean): { ms: number; cpu: number } {
  const rows = c.T * c.B, rows1 = staticInput ? c.B : rows;
  const r = (shape: number[]) => tensor(Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => Math.sin(i)), shape);
  const x = r([rows1, F]), w1 = r([c.hidden, F]), s1 = r([rows, c.hidden]), w2 = r([CLASSES, c.hidden]);
  const g2 = r([rows, CLASSES]), g1 = r([rows1, c.hidden]);
  const gemms = () => noGrad(() => tidy(() => {
    matmul(x, w1, { transB: true });
    matmul(s1, w2, { transB: true });
    matmul(g2, s1, { transA: true });
    matmul(g2, w2);
    matmul(g1, x, { transA: true });
  }));
  gemms();
  const times: number[] = [], reps = Math.max(5, c.steps);
  const cpu = cpuMs(() => {
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      gemms();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }) / reps;
  for (const t of [x, w1, s1, w2, g2, g1]) t.dispose();
  return { ms: median(times), cpu };
}

/** Inference samples/s of the main-job model: encode + forward + readout + read back, eval, no graph, batch 256. */
function inferSamplesPerSec(staticInput: boolean): number {
  manualSeed(0);
  const net = buildNet(256);
  net.eval();
  const B = 256, T = 8, batches = 8;
  const x = randomImages(B * batches, 3);
  const run = () => {
    for (let b = 0; b < batches; b++)
      noGrad(() => tidy(() => {
        const { input, opts } = encoded(x.subarray(b * B * F, (b + 1) * B * F), B, T, staticInput);
        return net.forward(input, undefined, opts).mean(0).mul(10).toFloat32Array();
      }));
  };
  run();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return (B * batches) / median(times);
}

// ---- the run ------------------------------------------------------------------------------------
const info = native.info();
console.log(`machine: ${machine()}; addon: ${info.cpu}; ${info.threads} threads, sgemm ${info.blas}; load average ${load()}`);
const configs = CONFIGS.filter((c) => wanted.includes(c.name));
const modes: [string, boolean][] = [['repeated', false], ['static', true]];
const results = new Map<string, { step: number[]; floor: number[]; stepCpu: number[]; floorCpu: number[]; parts: Map<Category, number>[] }>();
const inference = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const c of configs)
    for (const [mode, st] of modes) {
      const key = `${c.name} ${mode}`;
      const e = results.get(key) ?? { step: [], floor: [], stepCpu: [], floorCpu: [], parts: [] };
      const s = trainStepMs(c, st);
      e.step.push(s.ms);
      e.stepCpu.push(s.cpu);
      if (s.parts) e.parts.push(s.parts);
      const f = floorMs(c, st);
      e.floor.push(f.ms);
      e.floorCpu.push(f.cpu);
      results.set(key, e);
    }
  if (wanted.includes('main'))
    for (const [mode, st] of modes) inference.set(mode, [...(inference.get(mode) ?? []), inferSamplesPerSec(st)]);
}

const range = (xs: number[], digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
const rows: (string | number)[][] = [['config', 'input', 'step ms (median round)', 'range', 'dense-matmul floor ms', 'step / floor', 'step / repeated floor']];
for (const c of configs)
  for (const [mode] of modes) {
    const e = results.get(`${c.name} ${mode}`)!;
    const step = median(e.step), floor = median(e.floor), repeatedFloor = median(results.get(`${c.name} repeated`)!.floor);
    rows.push([`${c.name}: T=${c.T} B=${c.B} ${F}-${c.hidden}-${CLASSES}`, mode, step.toFixed(2), range(e.step, 2), floor.toFixed(2),
      (step / floor).toFixed(2), (step / repeatedFloor).toFixed(2)]);
  }
console.log(`\ntraining step (encode, forward, cross-entropy, backward, Adam, projection; direct coding), ${rounds} rounds:`);
console.log(table(rows));
const crows: (string | number)[][] = [['config', 'input', 'step CPU ms (median round)', 'range', 'floor CPU ms', 'step / floor']];
for (const c of configs)
  for (const [mode] of modes) {
    const e = results.get(`${c.name} ${mode}`)!;
    crows.push([c.name, mode, median(e.stepCpu).toFixed(2), range(e.stepCpu, 2), median(e.floorCpu).toFixed(2), (median(e.stepCpu) / median(e.floorCpu)).toFixed(2)]);
  }
console.log(`\nCPU time per step (user + system, all ${info.threads} threads; less sensitive to other processes than the wall time):`);
console.log(table(crows));
if (inference.size) {
  const r = [...inference].map(([mode, v]) => `${mode} ${Math.round(median(v))} samples/s (range ${range(v, 0)})`).join('; ');
  console.log(`\ninference, main-job model (T=8, 784-256-10, eval, batch 256): ${r}`);
}
if (breakdown) {
  const brows: (string | number)[][] = [['config', 'input', 'step ms', ...CATEGORIES, 'JavaScript (rest)']];
  for (const c of configs)
    for (const [mode] of modes) {
      const e = results.get(`${c.name} ${mode}`)!;
      const step = median(e.step);
      const part = (k: Category) => median(e.parts.map((p) => p.get(k) ?? 0));
      const nat = CATEGORIES.reduce((s, k) => s + part(k), 0);
      brows.push([c.name, mode, step.toFixed(2), ...CATEGORIES.map((k) => part(k).toFixed(2)), (step - nat).toFixed(2)]);
    }
  console.log('\nbreakdown per step (ms; native calls timed one by one, the median round; JavaScript = step - native):');
  console.log(table(brows));
}
console.log(`\nload average at the end ${load()}`);
