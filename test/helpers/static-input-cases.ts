// The models and the comparison of test/snn/static-input.test.ts (and of its child process, which runs
// them with the built-in sgemm): one forward and backward with the static input x [B, ...] and with
// x repeated over T steps, summarised as what is equal bit for bit and the relative differences.
import { nn, tensor, LIFNeuron, IFNeuron, SNNWrapper, Tensor } from '../../lib';
import { randomData } from './gradcheck';

export const T = 6, B = 5, F = 12, H = 9, C = 2, S = 6;

/** max |a - b| / max |b| (the absolute difference when b is all zeros). */
export function relDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let d = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

const equal = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/** x [B, ...] repeated T times: [T, B, ...]. */
export function repeated(x: number[], shape: number[]): Tensor {
  const out = new Float32Array(T * x.length);
  for (let t = 0; t < T; t++) out.set(x, t * x.length);
  return tensor(out, [T, ...shape]);
}

/** The gradient of a repeated input summed over its T steps ([B, ...]). */
export function sumOverT(g: Float32Array): Float32Array {
  const n = g.length / T, out = new Float32Array(n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) out[i] += g[t * n + i];
  return out;
}

export interface Run {
  out: Float32Array;
  traces: Float32Array[];
  grads: Map<string, Float32Array>;
  gx: Float32Array;
}

/** One forward (with traces) and backward of loss = sum(out * fixed weights), static or repeated. */
export function run(net: SNNWrapper, x: number[], shape: number[], staticInput: boolean, xTime?: number[]): Run {
  for (const p of net.parameters()) p.zeroGrad();
  const input = (staticInput ? tensor(x, shape) : repeated(x, shape)).requiresGrad_();
  const out = staticInput
    ? net.forward(input, xTime, { staticInput: true, steps: xTime ? undefined : T, recordTraces: true })
    : net.forward(input, xTime, { recordTraces: true });
  const w = tensor(randomData(out.numel, 77, 0.5, 1.5), out.shape.slice());
  out.mul(w).sum().backward();
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of net.namedParameters()) if (p.grad) grads.set(name, p.grad.toFloat32Array());
  return { out: out.toFloat32Array(), traces: net.traces().map((v) => v!.toFloat32Array()), grads, gx: input.grad!.toFloat32Array() };
}

/** Static against repeated: what is equal bit for bit, and the relative differences. */
export interface Comparison {
  spikes: number;
  outputEqual: boolean;
  tracesEqual: boolean[];
  traceRel: number[];
  gradsEqual: Record<string, boolean>;
  gradRel: Record<string, number>;
  /** x's gradient against the repeated input's gradient summed over T. */
  gxRel: number;
}

export function compare(a: Run, b: Run): Comparison {
  const gradsEqual: Record<string, boolean> = {}, gradRel: Record<string, number> = {};
  for (const [name, g] of b.grads) {
    const s = a.grads.get(name);
    gradsEqual[name] = !!s && equal(s, g);
    gradRel[name] = s ? relDiff(s, g) : Infinity;
  }
  return {
    spikes: b.out.reduce((n, v) => n + v, 0),
    outputEqual: equal(a.out, b.out),
    tracesEqual: a.traces.map((tr, i) => equal(tr, b.traces[i])),
    traceRel: a.traces.map((tr, i) => relDiff(tr, b.traces[i])),
    gradsEqual, gradRel, gxRel: relDiff(a.gx, sumOverT(b.gx)),
  };
}

export const xMlp = randomData(B * F, 5, 0, 1.5);
export const xConv = randomData(B * C * S * S, 8, 0, 1);

/** Linear -> LIF -> Linear -> IF, learnable orders and term weights. */
export const mlp = () => new SNNWrapper(
  new nn.Sequential(new nn.Linear(F, H), new LIFNeuron({ tau: 2, threshold: 0.4 }), new nn.Linear(H, 4), new IFNeuron({ threshold: 0.3 })),
  { alpha: [0.5, 0.7], alphaMode: 'per_layer', learnAlpha: true, learnCoefficient: true },
);

/** Conv2d -> MaxPool2d -> LIF -> Flatten -> Linear -> LIF. */
export const convNet = () => new SNNWrapper(new nn.Sequential(
  new nn.Conv2d(C, 3, 3, { padding: 1 }), new nn.MaxPool2d(2), new LIFNeuron({ tau: 2, threshold: 0.2 }),
  new nn.Flatten(), new nn.Linear(3 * 3 * 3, 4), new LIFNeuron({ tau: 2, threshold: 0.2 }),
), { alpha: [0.6, 0.8], alphaMode: 'per_layer', learnAlpha: true });

/** Linear -> BatchNorm1d -> LIF -> Linear -> LIF. */
export const bnNet = () => new SNNWrapper(new nn.Sequential(
  new nn.Linear(F, H), new nn.BatchNorm1d(H), new LIFNeuron({ tau: 2, threshold: 0.5 }), new nn.Linear(H, 4), new LIFNeuron({ tau: 2, threshold: 0.3 }),
), { alpha: [0.5, 0.7], alphaMode: 'per_layer' });
