// The GPU benchmarks' training configs (A-F from issue 9, Ffast and G from issue 11) and the model and
// training step each one builds: SNN sizes[0]-sizes[1]-sizes[2] of LIF neurons, learnable alpha, Adam,
// cross-entropy on the time-averaged output, a spike-encoded random input. Used by gpu-train-step.ts and
// gpu-step-profile.ts.
import { cuda, nn, LIFNeuron, SNNWrapper, optim, ops, tensor, tidy } from '../lib';
import { median } from './common';
import type { FractionalHistory } from '../lib/fractional/op';

export interface Config {
  name: string;
  T: number;
  B: number;
  sizes: [number, number, number];
  alpha: number[] | number[][];
  coefficient?: number[][];
  method: 'l1' | 'gl';
  anchor: number | null;  // spikeDE seconds per step on an H200, quoted from issue 9 (not measured here)
  target: number;         // ms per step
  cpu: boolean;
  history?: FractionalHistory;  // this config's own history (else FSNN_BENCH_HISTORY)
}

export const CONFIGS: Config[] = [
  { name: 'A', T: 16, B: 256, sizes: [784, 512, 10], alpha: [0.3, 0.8], method: 'l1', anchor: 0.119, target: 2, cpu: true },
  { name: 'B', T: 64, B: 256, sizes: [784, 512, 10], alpha: [0.3, 0.8], method: 'l1', anchor: 0.773, target: 5, cpu: true },
  { name: 'C', T: 64, B: 256, sizes: [784, 512, 10], alpha: [[0.3, 0.5, 0.7], [0.4, 0.6, 0.8]], coefficient: [[1, 0.5, 0.2], [1, 0.3, 0.1]], method: 'gl', anchor: 0.648, target: 5, cpu: true },
  { name: 'D', T: 256, B: 256, sizes: [784, 512, 10], alpha: [0.3, 0.8], method: 'l1', anchor: 9.15, target: 15, cpu: true },
  { name: 'E', T: 512, B: 64, sizes: [1, 256, 10], alpha: [0.3, 0.8], method: 'l1', anchor: 31.9, target: 10, cpu: true },
  { name: 'F', T: 4096, B: 64, sizes: [1, 256, 10], alpha: [0.3, 0.8], method: 'l1', anchor: null, target: 200, cpu: false },
  // Issue 11's GPU targets for the fast (sum-of-exponentials) history: F in 'fast', and T = 65,536.
  { name: 'Ffast', T: 4096, B: 64, sizes: [1, 256, 10], alpha: [0.3, 0.8], method: 'l1', anchor: null, target: 20, cpu: false, history: 'fast' },
  { name: 'G', T: 65536, B: 64, sizes: [1, 256, 10], alpha: [0.3, 0.8], method: 'l1', anchor: null, target: 250, cpu: false, history: 'fast' },
];

let seed = 7;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

/** The config's model on `device`, its one training step, and a dispose for the input. The fractional
 *  history is the config's own, else `history`. */
export function build(c: Config, device: 'cpu' | 'cuda', history: FractionalHistory = 'auto') {
  const [i, h, o] = c.sizes;
  const model = new nn.Sequential(new nn.Linear(i, h), new LIFNeuron({ tau: 2 }), new nn.Linear(h, o), new LIFNeuron({ tau: 2 }));
  const net = new SNNWrapper(model, {
    alpha: c.alpha,
    alphaMode: c.coefficient ? undefined : 'per_layer',
    multiCoefficient: c.coefficient,
    learnAlpha: true,
    learnCoefficient: !!c.coefficient,
  }).to(device);
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  const xd = new Float32Array(c.T * c.B * i);
  for (let k = 0; k < xd.length; k++) xd[k] = rnd() < 0.3 ? 1 : 0;  // spike-encoded input
  const x = tensor(xd, [c.T, c.B, i], { device });
  const labels = new Int32Array(c.B).map(() => Math.floor(rnd() * o));
  const step = () => {
    opt.zeroGrad();
    tidy(() => {
      const out = net.forward(x, undefined, { method: c.method, history: c.history ?? history });
      const loss = ops.crossEntropy(out.mean(0), labels);
      loss.backward();
    });
    opt.step();
  };
  return { step, dispose: () => x.dispose() };
}


/** Median ms of `reps` runs of fn after `warm` runs, each run followed (and the warm-up runs too) by
 *  cuda.synchronize() on 'cuda', so a run's time is the GPU's, host overhead included. */
export function timeSynced(fn: () => void, reps = 5, warm = 1, device: 'cpu' | 'cuda' = 'cuda'): number {
  const sync = () => (device === 'cuda' ? cuda.synchronize() : undefined);
  for (let k = 0; k < warm; k++) fn();
  sync();
  const ts: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t0 = process.hrtime.bigint();
    fn();
    sync();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}
