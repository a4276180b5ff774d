// Loads the spikeDE / float64-reference goldens (test/fixtures/goldens, copied from shared/goldens).
import * as fs from 'fs';
import * as path from 'path';
import { nn, LIFNeuron, IFNeuron, SNNWrapper, Tensor, tensor, Device, ops } from '../../lib';
import type { FractionalMethod } from '../../lib/fractional/kernel';
import { FractionalHistory, fractionalNeuron } from '../../lib/fractional/op';

export interface GoldenLayer { type: 'linear' | 'lif' | 'if'; name: string; in?: number; out?: number; tau?: number; threshold?: number; surrogate?: string; scale?: number }
export interface GoldenBlock { output: number[][][]; loss: number; grads: Record<string, number[] | number[][]>; alpha_grad: (number[] | null)[] | null; coefficient_grad: (number[] | null)[] | null }
export interface GoldenCase {
  name: string;
  spec: { layers: GoldenLayer[]; T: number; B: number; h: number; method: FractionalMethod; alpha: number | number[] | number[][]; alpha_mode?: string;
    multi_coefficient?: number[] | number[][]; learn_alpha?: boolean; learn_coefficient?: boolean; memory?: number };
  params: Record<string, number[] | number[][]>;
  alpha: number[][];
  coefficient: number[][];
  x: number[][][];
  x_time: number[];
  readout: number[][][];
  spikede?: GoldenBlock;
  reference: GoldenBlock;
}

/**
 * The cases of a goldens file: goldens_public.json (l1 / gl nets) or goldens_methods_public.json (the
 * methods 'pred' and 'trap', same format).
 */
export function loadGoldens(file = 'goldens_public.json'): GoldenCase[] {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'goldens', file), 'utf8')).cases as GoldenCase[];
}

export const flat = (a: unknown): number[] => (Array.isArray(a) ? (a as unknown[]).flatMap(flat) : [a as number]);

/**
 * Tolerances of the golden comparisons (max-norm relative, see relErr), at about 5-10 times the largest
 * error measured over all public cases on the CPU (loss <= 2e-7, weight gradients <= 3e-6, alpha
 * gradients <= 1e-5, coefficient gradients <= 1.3e-5). Spikes are compared exactly.
 */
export const GOLDEN_TOL = { loss: 1e-6, weightGrad: 2e-5, alphaGrad: 1e-4, coefficientGrad: 1e-4 } as const;

/**
 * The loss error relative to the size of its terms, max(|loss|, sum |output * R|): with the spikes equal
 * (checked first), the loss differs only by R's float32 rounding. In pred_per_layer the loss (0.117) is
 * 260 times smaller than its terms (30.7): R rounded to float32 alone moves it by 2.8e-6 of itself
 * (float64 sums of the golden spikes with R and with float32(R)), so |loss| would measure R's rounding.
 */
export function goldenLossErr(loss: number, ref: number, spikes: number[], R: number[]): number {
  let terms = 0;
  for (let i = 0; i < spikes.length; i++) terms += Math.abs(spikes[i] * R[i]);
  return Math.abs(loss - ref) / Math.max(Math.abs(ref), terms);
}

/** |a - b| / |b| of two scalars. */
export const relErrScalar = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** max |a - b| / max(|b|) (max-norm relative error). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

/** spikeDE's surrogate names to ours. */
export const surrogateName = (s: string | undefined) => (s ?? 'arctan_surrogate').replace(/_surrogate$/, '') as 'arctan' | 'sigmoid';

/**
 * A golden case built with the public API as a user writes it: its layers in an nn.Sequential (linear
 * layers renamed to their index), params loaded with loadStateDict, wrapped as the case says.
 * nameOf maps the case's parameter names ('fc1.weight') to the model's ('0.weight').
 */
export function buildGoldenNet(c: GoldenCase, device: Device = 'cpu'): { net: SNNWrapper; model: nn.Sequential; nameOf: Record<string, string>; x: Tensor; forward: () => Tensor } {
  const { T, B } = c.spec;
  const layers = c.spec.layers.map((l) => {
    if (l.type === 'linear') return new nn.Linear(l.in!, l.out!);
    const opts = { tau: l.tau, threshold: l.threshold, surrogate: surrogateName(l.surrogate), surrogateScale: l.scale };
    return l.type === 'lif' ? new LIFNeuron(opts) : new IFNeuron(opts);
  });
  const model = new nn.Sequential(...layers);
  const dict: Record<string, Float32Array> = {};
  const nameOf: Record<string, string> = {};
  c.spec.layers.forEach((l, i) => {
    if (l.type !== 'linear') return;
    dict[`${i}.weight`] = Float32Array.from(flat(c.params[`${l.name}.weight`]));
    dict[`${i}.bias`] = Float32Array.from(flat(c.params[`${l.name}.bias`]));
    nameOf[`${l.name}.weight`] = `${i}.weight`;
    nameOf[`${l.name}.bias`] = `${i}.bias`;
  });
  model.loadStateDict(dict);
  const net = new SNNWrapper(model, {
    integrator: 'fdeint',
    alpha: c.spec.alpha,
    alphaMode: c.spec.alpha_mode as 'per_layer' | 'multiterm' | undefined,
    multiCoefficient: c.spec.multi_coefficient,
    learnAlpha: c.spec.learn_alpha ?? false,
    learnCoefficient: c.spec.learn_coefficient ?? false,
  }).to(device);
  const x = tensor(flat(c.x), [T, B, c.spec.layers[0].in!], { device });
  return { net, model, nameOf, x, forward: () => net.forward(x, c.x_time, { method: c.spec.method, memory: c.spec.memory }) };
}

/**
 * Runs a case layer by layer through the fractional op and a plain linear map (no wrapper): spikes out,
 * loss = sum(out * readout), and every gradient (orders and term weights require grad).
 */
export function runGoldenThroughOp(c: GoldenCase, history?: FractionalHistory) {
  const { T, B, h } = c.spec;
  const params: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.params)) {
    const shape = Array.isArray(v[0]) ? [v.length, (v[0] as number[]).length] : [v.length];
    params[k] = tensor(flat(v), shape, { requiresGrad: true });
  }
  const alphas = c.alpha.map((a) => tensor(a, [a.length], { requiresGrad: true }));
  const coefs = c.coefficient.map((w) => tensor(w, [w.length], { requiresGrad: true }));
  let x = tensor(flat(c.x), [T, B, c.spec.layers[0].in!]);
  let neuron = 0;
  for (const layer of c.spec.layers) {
    if (layer.type === 'linear') {
      x = ops.linear(x, params[`${layer.name}.weight`], params[`${layer.name}.bias`]);
    } else {
      x = fractionalNeuron(x, alphas[neuron], coefs[neuron], {
        kind: layer.type, tau: layer.tau, threshold: layer.threshold, surrogate: surrogateName(layer.surrogate),
        scale: layer.scale, method: c.spec.method, h, memory: c.spec.memory, history,
      }).spikes;
      neuron++;
    }
  }
  const loss = x.mul(tensor(flat(c.readout), x.shape.slice())).sum();
  loss.backward();
  const grads: Record<string, Float32Array> = {};
  for (const k of Object.keys(params)) grads[k] = params[k].grad!.toFloat32Array();
  return {
    output: Array.from(x.toFloat32Array()),
    loss: loss.item(),
    grads,
    alphaGrad: alphas.map((a) => a.grad!.toFloat32Array()),
    coefGrad: coefs.map((w) => w.grad!.toFloat32Array()),
  };
}
