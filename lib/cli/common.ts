// What training and inference share: the model builder, input encodings, the readout, devices, and
// the metadata keys a checkpoint carries besides its architecture.
import '../ops/methods';
import * as cuda from '../cuda';
import { tensor } from '../creation';
import { encode, poissonSpikes } from '../data/encoders';
import { FractionalMethod } from '../fractional/kernel';
import { Linear, Sequential } from '../nn/layers';
import { Module } from '../nn/module';
import { LIFNeuron } from '../snn/neurons';
import { ModelSpec } from '../snn/spec';
import { SNNWrapper } from '../snn/wrapper';
import { Device, Tensor } from '../tensor';
import { Encoding, ENCODINGS, UsageError } from './config';

export { ENCODINGS, UsageError } from './config';
export type { Encoding } from './config';

/** Checkpoint metadata: how the network's output becomes class scores (JSON of Readout). */
export const READOUT_KEY = 'fsnn.readout';
/** Checkpoint metadata: a summary of the training run (JSON: test accuracy, data, config). */
export const TRAINING_KEY = 'fsnn.training';


/**
 * Class scores from the last layer's output [T, B, C]: the mean over time (the spike rate of each
 * output neuron) times `scale` (the rate in [0, 1] becomes a logit range the cross-entropy can use).
 */
export interface Readout {
  kind: 'mean-over-time';
  scale: number;
}


/** The device to run on; 'cuda' needs a GPU this build can use (the error says why not). */
export function resolveDevice(device: string): Device {
  if (device === 'cpu') return 'cpu';
  if (device === 'cuda' || device === 'gpu') {
    if (!cuda.isAvailable()) {
      const why = cuda.unavailableReason() || 'no CUDA device found';
      throw new Error(`--device cuda: CUDA is not available here (${why}). Run with --device cpu, or on a machine with an NVIDIA GPU ` +
        'and a build of the addon with CUDA (nvcc present when `npm install` compiled it).');
    }
    return 'cuda';
  }
  throw new UsageError(`--device '${device}' is unknown; use 'cpu' or 'cuda'`);
}

/** Time steps and per-step features an encoding gives for an input of `features` values. */
export function encodedShape(encoding: Encoding, features: number, T: number): { T: number; stepFeatures: number } {
  switch (encoding) {
    case 'direct':
    case 'poisson':
      return { T, stepFeatures: features };
    case 'sequential-rows': {
      const r = Math.round(Math.sqrt(features));
      if (r * r !== features) throw new UsageError(`encoding 'sequential-rows' needs square images; ${features} features are not a square`);
      return { T: r, stepFeatures: r };
    }
    case 'sequential-pixels':
      return { T: features, stepFeatures: 1 };
    default:
      throw new UsageError(`encoding '${String(encoding)}' is unknown; use ${ENCODINGS.join(', ')}`);
  }
}

/**
 * A batch as the network takes it: the time-major input [T, n, stepFeatures], or for direct coding the one
 * step [n, features] that holds at all `steps` steps (a static input: the layers before the first neuron
 * layer run once instead of T times; the same result as the repeated input).
 */
export interface EncodedBatch {
  x: Tensor;
  /** The number of time steps when x is a static input [n, features]; undefined when x is [T, n, ...]. */
  staticSteps?: number;
}

/** Encodes a batch x [n, features] on `device`: direct coding as a static input, the others time-major. */
export function encodeBatch(x: Float32Array, n: number, features: number, T: number, encoding: Encoding, device: Device,
  poisson: { seed: number; offset: number } = { seed: 0, offset: 0 }): EncodedBatch {
  let enc;
  // Poisson spikes are drawn on the device itself (encode('poisson') reads the same draws back).
  if (encoding === 'poisson') return { x: poissonSpikes(x, n, features, T, poisson, device) };
  if (encoding === 'direct') enc = encode('direct', x, n, features, T, { staticInput: true });
  else enc = encode('sequential', x, n, features, T, { mode: encoding === 'sequential-rows' ? 'rows' : 'pixels' });
  const t = tensor(enc.data, enc.shape, { device });
  return enc.staticInput ? { x: t, staticSteps: enc.steps } : { x: t };
}

export interface MlpOptions {
  inputs: number;
  hidden: number[];
  classes: number;
  tau: number;
  threshold?: number;
}

/** Linear -> LIF for each hidden size, then Linear -> LIF to the classes (a spiking output layer). */
export function buildMlp(o: MlpOptions): Sequential {
  const layers: Module[] = [];
  let width = o.inputs;
  for (const h of [...o.hidden, o.classes]) {
    layers.push(new Linear(width, h), new LIFNeuron({ tau: o.tau, threshold: o.threshold ?? 1 }));
    width = h;
  }
  return new Sequential(...layers);
}

/** xTime for T steps of size h (undefined for h = 1, the wrapper's default). */
export function stepTimes(T: number, h: number): number[] | undefined {
  return h === 1 ? undefined : Array.from({ length: T }, (_, k) => k * h);
}

/** Runs the network on an encoded batch and applies the readout: scores [B, C]. */
export function forwardScores(net: SNNWrapper, batch: EncodedBatch, input: NonNullable<ModelSpec['input']>, readout: Readout): Tensor {
  const st = batch.staticSteps;
  const T = st ?? batch.x.shape[0];
  const out = net.forward(batch.x, stepTimes(T, input.h ?? 1), {
    method: input.method as FractionalMethod | undefined, memory: input.memory, history: input.history, ...(st === undefined ? {} : { staticInput: true, steps: st }),
  });
  if (out.ndim !== 3) throw new Error(`readout: the network's output is [${out.shape}], expected [T, B, classes]`);
  return out.mean(0).mul(readout.scale);
}

/** The index of each row's largest score (the first one on ties, as metrics.accuracy). */
export function argmaxRows(scores: Float32Array, C: number): Int32Array {
  const N = scores.length / C;
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (scores[i * C + c] > scores[i * C + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Shifts each 28x28-style image (rows x cols) by a random whole number of pixels in [-k, k] (in place). */
export function randomShift(x: Float32Array, n: number, rows: number, cols: number, k: number, u: Float32Array): void {
  const D = rows * cols;
  const tmp = new Float32Array(D);
  for (let i = 0; i < n; i++) {
    const dx = Math.min(k, Math.floor(u[2 * i] * (2 * k + 1)) - k);
    const dy = Math.min(k, Math.floor(u[2 * i + 1] * (2 * k + 1)) - k);
    if (dx === 0 && dy === 0) continue;
    const base = i * D;
    tmp.fill(0);
    // out[r, c] = img[r - dy, c - dx] over the rows and columns where that pixel exists (no test per pixel)
    const c0 = Math.max(0, dx), c1 = Math.min(cols, cols + dx), r1 = Math.min(rows, rows + dy);
    for (let r = Math.max(0, dy); r < r1; r++) {
      const o = r * cols, s = base + o - dy * cols - dx;
      for (let c = c0; c < c1; c++) tmp[o + c] = x[s + c];
    }
    x.set(tmp, base);
  }
}

export function fmtPct(v: number, digits = 2): string {
  return `${(100 * v).toFixed(digits)}%`;
}

/** Alphas as a short string: [0.712, 0.734] or [[0.3, 0.8], [0.5]] for multi-term layers. */
export function fmtAlphas(alphas: number[][], digits = 3): string {
  const r = (v: number) => v.toFixed(digits);
  if (alphas.every((a) => a.length === 1)) return `[${alphas.map((a) => r(a[0])).join(', ')}]`;
  return `[${alphas.map((a) => `[${a.map(r).join(', ')}]`).join(', ')}]`;
}

export function tensorsToLists(ts: readonly Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.toFloat32Array()));
}
