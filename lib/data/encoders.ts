/**
 * Input encoders: turn a batch of static inputs x ([B, F], sample-major) into a time-major
 * sequence [T, B, F'] for a spiking network.
 *
 * - 'direct':     data[t, b, f] = x[b, f] for every step t; shape [T, B, F]. The same image at every
 *                 step: with { staticInput: true } the result is the one step x itself (the same array,
 *                 not a copy), shape [B, F]
 *                 (staticInput true, steps T), for SNNWrapper.forward(x, xTime, { staticInput: true,
 *                 steps: T }), which runs the layers before the first neuron layer once instead of T times.
 * - 'poisson':    data[t, b, f] = 1 if u < x[b, f] else 0, where u is element
 *                 offset + (t*B + b)*F + f of the uniform stream of Philox(seed) (so the result
 *                 equals new Philox(seed, offset).bernoulli(x tiled T times)); x must lie in [0, 1].
 *                 shape [T, B, F].
 * - 'sequential': mode 'rows' (default): step t shows row t of each image:
 *                 data[t, b, c] = x[b, t*cols + c]; shape [rows, B, cols], T must equal rows.
 *                 mode 'pixels': step t shows pixel t: data[t, b, 0] = x[b, t]; shape
 *                 [rows*cols, B, 1], T must equal rows*cols.
 *                 rows/cols default to the square root of F when F is a perfect square.
 */
import { bernoulliSteps, tensor } from '../creation';
import type { Device, Tensor } from '../tensor';
import { Philox } from '../random/philox';

/**
 * How images become spike-network input over time: 'direct' (the value at every step), 'poisson' (Bernoulli spikes with p = value), 'sequential' (one row or pixel per step).
 */
export type EncoderKind = 'direct' | 'poisson' | 'sequential';

/** Options of encode(); which apply depends on the encoder. */
export interface EncodeOptions {
  /** Poisson: generator seed, integer in [0, 2^53) (default 0). */
  seed?: number;
  /** Poisson: stream offset of the first draw (default 0). */
  offset?: number;
  /** Sequential: image rows (default sqrt(features)). */
  rows?: number;
  /** Sequential: image columns (default features / rows). */
  cols?: number;
  /** Sequential: one row per step ('rows', default) or one pixel per step ('pixels'). */
  mode?: 'rows' | 'pixels';
  /**
   * Direct: return the one step [B, F] that every step repeats instead of T copies (see Encoded.staticInput).
   * Only 'direct' is time-invariant: the other encoders refuse it.
   */
  staticInput?: boolean;
}

/** An encoded batch: time-major values [T, n, features per step], or one step [n, features] for a static input. */
export interface Encoded {
  /** The values, row-major in `shape` (for a static input, the array x that was passed in). */
  data: Float32Array;
  /** [T, B, F'], or [B, F] when staticInput. */
  shape: number[];
  /** The number of time steps T the data stands for. */
  steps: number;
  /**
   * Whether data is one step [B, F] that holds at every one of the `steps` steps ('direct' with the
   * staticInput option): run it with net.forward(x, xTime, { staticInput: true, steps }).
   */
  staticInput: boolean;
}

function posInt(v: number, name: string, hint: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`encode: ${name} must be a positive integer, got ${String(v)}; ${hint}`);
  }
}

/**
 * Poisson coding as a tensor on `device`: the spikes [T, batch, features] of encode('poisson') (same
 * checks, same stream), drawn there by the kernel bernoulliSteps. encode() reads them back. @internal
 */
export function poissonSpikes(x: Float32Array, batch: number, features: number, T: number,
  opts: { seed?: number; offset?: number } = {}, device: Device = 'cpu'): Tensor {
  const BF = batch * features;
  for (let i = 0; i < BF; i++) {
    const v = x[i];
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(
        `encode('poisson'): x[${i}] (sample ${Math.floor(i / features)}, feature ${i % features}) is ${v}, ` +
          `but spike probabilities must lie in [0, 1]; rescale the input (e.g. divide raw pixels by 255) or clamp it.`,
      );
    }
  }
  const gen = new Philox(opts.seed ?? 0, opts.offset ?? 0); // checks seed and offset
  const probs = tensor(x.subarray(0, BF), [batch, features], { device });
  const spikes = bernoulliSteps(probs, T, { seed: gen.seed, offset: gen.offset });
  probs.dispose();
  return spikes;
}

/** Poisson-encoding draws consumed for a given shape (offset advance for the next batch). */
export function poissonDraws(batch: number, features: number, T: number): number {
  return T * batch * features;
}

/**
 * Encodes n samples of `features` values (sample-major, as batches() yields them) into the time-major input
 * [T, n, ...] that SNNWrapper.forward takes. See EncoderKind for the encoders.
 */
export function encode(
  kind: EncoderKind,
  x: Float32Array,
  batch: number,
  features: number,
  T: number,
  opts: EncodeOptions = {},
): Encoded {
  posInt(batch, 'batch', 'pass the number of samples in x.');
  posInt(features, 'features', 'pass the number of values per sample.');
  posInt(T, 'T', 'pass the number of time steps.');
  if (x.length !== batch * features) {
    throw new RangeError(
      `encode: x has ${x.length} values but batch * features = ${batch} * ${features} = ${batch * features}; ` +
        `pass x as [batch, features] sample-major with matching sizes.`,
    );
  }
  if (opts.staticInput && kind !== 'direct')
    throw new RangeError(`encode('${String(kind)}'): staticInput is for the 'direct' encoder, whose steps all hold the same values; ` +
      `'${String(kind)}' differs from step to step, so leave staticInput out`);
  const BF = batch * features;
  switch (kind) {
    case 'direct': {
      if (opts.staticInput) return { data: x, shape: [batch, features], steps: T, staticInput: true }; // x itself, not a copy
      const data = new Float32Array(T * BF);
      for (let t = 0; t < T; t++) data.set(x, t * BF);
      return { data, shape: [T, batch, features], steps: T, staticInput: false };
    }
    case 'poisson': {
      // The draws in native code (the same stream, about 30x faster than a loop here), read back.
      const spikes = poissonSpikes(x, batch, features, T, opts);
      const data = spikes.toFloat32Array();
      spikes.dispose();
      return { data, shape: [T, batch, features], steps: T, staticInput: false };
    }
    case 'sequential': {
      let rows = opts.rows;
      let cols = opts.cols;
      if (rows === undefined && cols === undefined) {
        const r = Math.round(Math.sqrt(features));
        if (r * r !== features) {
          throw new RangeError(
            `encode('sequential'): features = ${features} is not a perfect square, so the image size is unknown; pass opts.rows and opts.cols.`,
          );
        }
        rows = r;
        cols = r;
      } else if (rows === undefined) {
        rows = features / cols!;
      } else if (cols === undefined) {
        cols = features / rows;
      }
      posInt(rows, 'rows', 'pass opts.rows with rows * cols = features.');
      posInt(cols!, 'cols', 'pass opts.cols with rows * cols = features.');
      const C = cols!;
      if (rows * C !== features) {
        throw new RangeError(
          `encode('sequential'): rows * cols = ${rows} * ${C} = ${rows * C} but features = ${features}; pass rows and cols that multiply to features.`,
        );
      }
      const mode = opts.mode ?? 'rows';
      if (mode === 'rows') {
        if (T !== rows) {
          throw new RangeError(
            `encode('sequential', mode 'rows'): T = ${T} but the image has ${rows} rows and one row is fed per step; set T = ${rows}.`,
          );
        }
        const data = new Float32Array(rows * batch * C);
        for (let t = 0; t < rows; t++) {
          for (let b = 0; b < batch; b++) {
            data.set(x.subarray(b * features + t * C, b * features + (t + 1) * C), (t * batch + b) * C);
          }
        }
        return { data, shape: [rows, batch, C], steps: rows, staticInput: false };
      }
      if (mode === 'pixels') {
        if (T !== features) {
          throw new RangeError(
            `encode('sequential', mode 'pixels'): T = ${T} but the image has ${rows} * ${C} = ${features} pixels and one pixel is fed per step; set T = ${features}.`,
          );
        }
        const data = new Float32Array(features * batch);
        for (let t = 0; t < features; t++) {
          for (let b = 0; b < batch; b++) data[t * batch + b] = x[b * features + t];
        }
        return { data, shape: [features, batch, 1], steps: features, staticInput: false };
      }
      throw new RangeError(`encode('sequential'): mode must be 'rows' or 'pixels', got ${String(mode)}.`);
    }
    default:
      throw new RangeError(`encode: unknown encoder '${String(kind)}'; use 'direct', 'poisson' or 'sequential'.`);
  }
}
