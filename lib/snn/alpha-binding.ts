// Where a neuron's fractional orders and term weights live, fixed once: in the neuron itself (given as
// options) or in its SNNWrapper's registry (perLayerAlpha.<i>, perLayerCoefficient.<i>). Learnable values
// are projected into range before a forward (alpha into [alphaMin, 1], weights into [0, inf), NaN to the
// lower bound) and copied to the host once, from which the neuron builds its kernel.
import { noGrad } from '../autograd/grad-mode';
import { tidy } from '../memory';
import { clamp, eq, where } from '../ops/elementwise';
import { concat, reshape } from '../ops/layout';
import '../ops/methods';  // Tensor.copy_
import { Tensor } from '../tensor';

/** A neuron's orders and term weights: the tensors themselves (shared with their owner), and how they are learned. */
export interface AlphaBinding {
  /** Orders [terms] in (0, 1]: a Parameter when learned, else a buffer. */
  readonly alpha: Tensor;
  /** Term weights [terms]: a Parameter when learned, else a buffer. */
  readonly coefficient: Tensor;
  /** The orders are learned (projected into [alphaMin, 1] before a forward). */
  readonly learnAlpha: boolean;
  /** The weights are learned (projected into [0, inf) before a forward). */
  readonly learnCoefficient: boolean;
  /** Lower bound of learned orders. */
  readonly alphaMin: number;
  /** Who holds the values, as messages name it: "SNNWrapper: neuron layer 0 (1)" or "LIFNeuron". */
  readonly owner: string;
  /** The SNNWrapper holding the values, or null when the neuron holds its own. */
  readonly wrapper: object | null;
}

/** x <- x clamped to [lo, hi], NaN -> lo, in place on x's device (no grad, no host read). */
function projectInPlace(x: Tensor, lo: number, hi: number): void {
  tidy(() => {
    x.copy_(where(eq(x, x) /* 0 where NaN */, clamp(x, lo, hi), lo));
  });
}

/** Projects the learned orders and weights of `bindings` into their ranges, in place. */
export function projectBindings(bindings: readonly AlphaBinding[]): void {
  noGrad(() => {
    for (const b of bindings) {
      if (b.learnAlpha) projectInPlace(b.alpha, b.alphaMin, 1);
      if (b.learnCoefficient) projectInPlace(b.coefficient, 0, Infinity);
    }
  });
}

/**
 * The values of each tensor on the host: one device -> host read per device (the tensors of a device
 * are flattened and concatenated there first, under noGrad; the temporaries are freed at once).
 */
export function readHostValues(tensors: readonly Tensor[]): Map<Tensor, Float64Array> {
  const out = new Map<Tensor, Float64Array>();
  const byDevice = new Map<string, Tensor[]>();
  for (const t of new Set(tensors)) byDevice.set(t.device, [...(byDevice.get(t.device) ?? []), t]);
  for (const ts of byDevice.values()) {
    const all = ts.length === 1 ? ts[0].toFloat32Array()
      : noGrad(() => tidy(() => concat(ts.map((t) => (t.ndim === 1 ? t : reshape(t, [t.numel]))), 0).toFloat32Array()));
    let o = 0;
    for (const t of ts) {
      out.set(t, Float64Array.from(all.subarray(o, o + t.numel)));
      o += t.numel;
    }
  }
  return out;
}

/** Throws unless one of a binding's term weights is positive (K_0 > 0 needs it). */
export function checkPositiveCoefficient(b: AlphaBinding, values: ArrayLike<number>): void {
  if (!Array.prototype.some.call(values, (x: number) => x > 0))
    throw new Error(`${b.owner} has no positive coefficient (${Array.from(values)}); ` +
      'the fractional operator needs K_0 > 0: give at least one positive coefficient');
}

/**
 * Whether host copies of a tensor's values lie in [lo, hi] (NaN does not), as the device's float32
 * projection sees the bounds; values outside are set to what the projection gives them (NaN -> lo).
 */
function projectHostCopy(values: Float64Array, lo: number, hi: number): boolean {
  const flo = Math.fround(lo), fhi = Math.fround(hi);
  let inside = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v >= flo && v <= fhi) continue;
    inside = false;
    values[i] = v > fhi ? fhi : flo;
  }
  return inside;
}

/**
 * The host values a forward builds its kernels from: reads the bindings' values and the `extra` tensors
 * (learnable tau theta) in one read per device, projects learned values that left their range (unless
 * `project` is false: in place on the device, as projectBindings, and in the host copy alike; values in
 * range are what the projection would leave, so nothing runs on the device for them), and checks that
 * every binding keeps a positive weight.
 */
export function refreshHostValues(bindings: readonly AlphaBinding[], extra: readonly Tensor[] = [], project = true): Map<Tensor, Float64Array> {
  const host = readHostValues([...bindings.flatMap((b) => [b.alpha, b.coefficient]), ...extra]);
  if (project)
    noGrad(() => {
      for (const b of bindings) {
        if (b.learnAlpha && !projectHostCopy(host.get(b.alpha)!, b.alphaMin, 1)) projectInPlace(b.alpha, b.alphaMin, 1);
        if (b.learnCoefficient && !projectHostCopy(host.get(b.coefficient)!, 0, Infinity)) projectInPlace(b.coefficient, 0, Infinity);
      }
    });
  for (const b of bindings) checkPositiveCoefficient(b, host.get(b.coefficient)!);
  return host;
}
