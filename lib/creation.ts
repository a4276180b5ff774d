// Creating tensors: from data, constants, ranges and seeded random numbers.
import { shapeNumel } from './shape';
import { native } from './native';
import { runKernel } from './kernels/run-kernel';
import type { RandomKind } from '../types/native';
import { checkDevice, Device, getDefaultDevice, NestedArray, Tensor } from './tensor';
import { reserve } from './random/generator';
import { isFloat32Array, isInt32Array } from './typed-arrays';

/** Where a new tensor lives and whether it is a leaf that requires gradients. */
export interface CreateOptions {
  /** Device of the new tensor (default: getDefaultDevice(), 'cpu' unless changed). */
  device?: Device;
  /** Make the new tensor a leaf that accumulates .grad in backward() (default false). */
  requiresGrad?: boolean;
}

/** Flattens data into out, checking it against shape (inferred from the first entries): no ragged rows. */
function flattenNested(data: NestedArray, shape: number[], out: number[], depth: number): void {
  if (typeof data === 'number') {
    if (depth !== shape.length) throw new Error(`tensor: ragged nested array: a number at depth ${depth}, expected depth ${shape.length}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data)) throw new TypeError(`tensor: nested arrays may hold only numbers, got ${typeof data}`);
  if (depth >= shape.length) throw new Error(`tensor: ragged nested array: an array at depth ${depth}, expected a number`);
  if (shape[depth] !== data.length)
    throw new Error(`tensor: ragged nested array: length ${data.length} at depth ${depth}, expected ${shape[depth]}`);
  for (const d of data) flattenNested(d, shape, out, depth + 1);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    if (d.length === 0) break;
    d = d[0];
  }
  return shape;
}

function checkShape(shape: unknown, op: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= Number.MAX_SAFE_INTEGER))
    throw new Error(`${op}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  return shape as number[];
}

/**
 * tensor(data, shape?, options): data is a nested array, a Float32Array or a number[] (then give the shape),
 * or a single number (a 0-d tensor).
 */
export function tensor(data: NestedArray | Float32Array | number[] | ArrayLike<number>, shape?: number[], opts: CreateOptions = {}): Tensor {
  const device = checkDevice(opts.device ?? getDefaultDevice(), 'tensor');
  let values: Float32Array;
  let dims: number[];
  if (typeof data === 'number') {
    values = new Float32Array([data]);
    dims = shape ?? [];
  } else if (isFloat32Array(data)) {
    values = data;
    dims = shape ?? [data.length];
  } else if (Array.isArray(data) && shape && data.every((v) => typeof v === 'number')) {
    values = Float32Array.from(data as number[]);
    dims = shape;
  } else if (Array.isArray(data)) {
    const flat: number[] = [];
    const inferred = inferShape(data as NestedArray);
    flattenNested(data as NestedArray, inferred, flat, 0);
    values = Float32Array.from(flat);
    dims = shape ?? inferred;
  } else if (data && typeof data === 'object' && typeof (data as ArrayLike<number>).length === 'number') {
    values = Float32Array.from(data as ArrayLike<number>);
    dims = shape ?? [values.length];
  } else {
    throw new TypeError('tensor: data must be a number, a nested array, a number[] or a Float32Array');
  }
  checkShape(dims, 'tensor');
  const t = new Tensor(native.fromFloat32(values, dims, device));
  t.requiresGrad = !!opts.requiresGrad;
  return t;
}

/** An int32 tensor (class labels, indices). */
export function intTensor(data: Int32Array | number[], shape?: number[], opts: CreateOptions = {}): Tensor {
  const values = isInt32Array(data) ? data : Int32Array.from(data);
  return new Tensor(native.fromInt32(values, shape ?? [values.length], checkDevice(opts.device ?? getDefaultDevice(), 'intTensor')));
}

/** A tensor of `shape` with every element equal to `value`. */
export function full(shape: number[], value: number, opts: CreateOptions = {}): Tensor {
  const t = new Tensor(runKernel('full', [], { shape: checkShape(shape, 'full'), value, device: checkDevice(opts.device ?? getDefaultDevice(), 'full') }));
  t.requiresGrad = !!opts.requiresGrad;
  return t;
}
/** A tensor of zeros. */
export const zeros = (shape: number[], opts: CreateOptions = {}) => full(shape, 0, opts);
/** A tensor of ones. */
export const ones = (shape: number[], opts: CreateOptions = {}) => full(shape, 1, opts);
/** A tensor of zeros with `t`'s shape, on `t`'s device unless `opts.device` says otherwise. */
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape.slice(), 0, { device: t.device, ...opts });
/** A tensor of ones with `t`'s shape, on `t`'s device unless `opts.device` says otherwise. */
export const onesLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape.slice(), 1, { device: t.device, ...opts });

/** start, start+step, ... < end. arange(n) is 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  for (const [name, v] of [['start', start], ['end', end], ['step', step]] as [string, number][])
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`arange: ${name} = ${v} must be a finite number; arange(start, end, step) makes ceil((end - start) / step) values, ` +
        'so every bound must be finite (e.g. arange(0, 10))');
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (n > 2 ** 31)
    throw new Error(`arange: ${n} values from ${start} to ${end} by ${step} is too many (more than 2^31); use a larger step or a shorter range`);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return tensor(values, [n], opts);
}

function draw(kind: RandomKind, shape: number[], p: number, opts: CreateOptions): Tensor {
  checkShape(shape, 'random');
  const n = shapeNumel(shape, 'random');
  const { seed, offset } = reserve(kind === 'normal' ? n + (n % 2) : n);
  const t = new Tensor(runKernel('random', [], { kind, shape, seed, offset, p, device: checkDevice(opts.device ?? getDefaultDevice(), 'random') }));
  t.requiresGrad = !!opts.requiresGrad;
  return t;
}

/** Uniform numbers in [0, 1) from the global seeded generator (manualSeed). */
export const rand = (shape: number[], opts: CreateOptions = {}) => draw('uniform', shape, 0, opts);
/** Standard normal numbers from the global seeded generator. */
export const randn = (shape: number[], opts: CreateOptions = {}) => draw('normal', shape, 0, opts);
/** 1 with probability p, else 0. */
export function bernoulli(shape: number[], p: number, opts: CreateOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`bernoulli: probability ${p} is outside [0, 1]`);
  return draw('bernoulli', shape, p, opts);
}
/**
 * Rate (Poisson) coding: [steps, ...probs.shape] spikes; element k is 1 when the uniform at stream index
 * offset + k of Philox(seed) is below its probability probs[k mod n] (n = probs.numel), else 0: the draws
 * of new Philox(seed, offset).bernoulli(probs tiled `steps` times). Without opts.seed the numbers come
 * from the global seeded generator (manualSeed), as rand's do. probs must lie in [0, 1]. On probs' device.
 */
export function bernoulliSteps(probs: Tensor, steps: number, opts: { seed?: number; offset?: number } = {}): Tensor {
  if (!probs || !probs.__isTensor) throw new TypeError('bernoulliSteps: probs must be a Tensor of probabilities in [0, 1]');
  if (!Number.isSafeInteger(steps) || steps < 1) throw new Error(`bernoulliSteps: steps = ${steps} must be a positive integer`);
  const at = opts.seed === undefined ? reserve(steps * probs.numel) : { seed: opts.seed, offset: opts.offset ?? 0 };
  for (const [name, v] of [['seed', at.seed], ['offset', at.offset]] as [string, number][])
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`bernoulliSteps: ${name} = ${v} must be an integer with 0 <= ${name} < 2^53`);
  return new Tensor(runKernel('bernoulliSteps', [probs.handle], { steps, seed: at.seed, offset: at.offset }));
}

/** Uniform numbers in [low, high). */
export function uniform(shape: number[], low = 0, high = 1, opts: CreateOptions = {}): Tensor {
  const u = rand(shape, { device: opts.device });
  const t = new Tensor(runKernel('unary', [u.handle], { op: 'affine', p0: high - low, p1: low }));
  u.dispose();
  t.requiresGrad = !!opts.requiresGrad;
  return t;
}
