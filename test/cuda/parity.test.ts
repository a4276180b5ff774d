// GPU against CPU: every op of the CUDA op table on random inputs (both devices, compared), the
// fractional op over T, memory windows and multi-term kernels, the goldens on cuda, the RNG, the
// caching allocator and out-of-memory survival. Where CUDA is unavailable the whole file is skipped
// with a visible SKIPPED line.
import { tensor, nn, LIFNeuron, IFNeuron, SNNWrapper, Tensor, tidy, optim, ops, cuda } from '../../lib';
import { fractionalNeuron } from '../../lib/fractional';
import { native } from '../../lib/native';
import type { NativeHandle, FractionalNativeParams, Conv2dAttrs, AvgPool2dAttrs, UnaryOp, BinaryOp, ReduceOp, RandomKind } from '../../types/native';
import { KERNEL_ENUMS } from '../../lib/kernel-names';

const K = native.runKernel;
import { buildGoldenNet, flat, loadGoldens, relErr as goldenRelErr } from '../helpers/goldens';
import { fractionalForwardRaw } from '../../lib/fractional/op';
import type { FractionalMethod } from '../../lib/fractional/kernel';

const available = cuda.isAvailable();
if (!available) {
  // eslint-disable-next-line no-console
  console.log(`SKIPPED: CUDA parity tests (test/cuda/parity.test.ts): ${cuda.unavailableReason()}`);
}
const describeGpu = available ? describe : describe.skip;

// ---- helpers -------------------------------------------------------------------------------------
let seed = 20240601;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
function data(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rnd();
  return a;
}
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
type Pair = [NativeHandle, NativeHandle];  // [cpu, cuda]
function pair(d: Float32Array, shape: number[]): Pair {
  return [native.fromFloat32(d, shape, 'cpu'), native.fromFloat32(d, shape, 'cuda')];
}
function rand(shape: number[], lo = -1, hi = 1): Pair {
  return pair(data(numel(shape), lo, hi), shape);
}
function values(h: NativeHandle): Float32Array | Int32Array {
  return h.dtype === 'int32' ? h.toInt32Array() : h.toFloat32Array();
}
/** max |a - b| / max |b| over the finite entries; NaN positions must agree. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
    if (Number.isNaN(b[i]) || a[i] === b[i]) {
      if (Number.isFinite(b[i])) den = Math.max(den, Math.abs(b[i]));
      continue;
    }
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}
/** Compares a cuda result with the cpu one: tol 0 means bit for bit (NaN == NaN). */
function expectClose(gpu: NativeHandle, cpu: NativeHandle, tol: number, what: string): void {
  expect(gpu.device).toBe('cuda');
  expect(cpu.device).toBe('cpu');
  expect(gpu.shape).toEqual(cpu.shape);
  expect(gpu.dtype).toBe(cpu.dtype);
  const g = values(gpu), c = values(cpu);
  if (tol === 0) {
    let bad = -1;
    for (let i = 0; i < c.length && bad < 0; i++) if (!(Object.is(g[i], c[i]) || g[i] === c[i] || (Number.isNaN(g[i]) && Number.isNaN(c[i])))) bad = i;
    if (bad >= 0) throw new Error(`${what}: element ${bad} differs: cuda ${g[bad]} vs cpu ${c[bad]}`);
  } else {
    const e = relErr(g, c);
    if (!(e <= tol)) throw new Error(`${what}: relative error ${e} exceeds ${tol}`);
  }
}
/** Runs fn on both devices' operands and compares the results. */
function both(ops2: (h: NativeHandle[]) => NativeHandle, inputs: Pair[], tol: number, what: string): void {
  const c = ops2(inputs.map((p) => p[0]));
  const g = ops2(inputs.map((p) => p[1]));
  expectClose(g, c, tol, what);
}

const UNARY: readonly UnaryOp[] = KERNEL_ENUMS.UnaryOp;
const BINARY: readonly BinaryOp[] = KERNEL_ENUMS.BinaryOp;
const REDUCE: readonly ReduceOp[] = KERNEL_ENUMS.ReduceOp;

// ---- ops -----------------------------------------------------------------------------------------
describeGpu('cuda op table against the cpu backend', () => {
  afterAll(() => cuda.setMatmulPrecision('highest'));

  test('memory: copies, clone, to, copy_, fill, full, readAsync', async () => {
    const d = data(1000);
    const [c, g] = pair(d, [10, 100]);
    expectClose(g, c, 0, 'upload/download');
    expectClose(K('clone', [g]), c, 0, 'clone');
    expect(Array.from(K('to', [g], { device: 'cpu' }).toFloat32Array())).toEqual(Array.from(d));
    const g2 = K('full', [], { shape: [10, 100], value: 0, device: 'cuda' });
    K('copy', [g2, c]);  // cpu -> cuda
    expectClose(g2, c, 0, 'copy_ across devices');
    const c2 = K('full', [], { shape: [10, 100], value: 0, device: 'cpu' });
    K('copy', [c2, g]);  // cuda -> cpu
    expect(Array.from(c2.toFloat32Array())).toEqual(Array.from(d));
    for (const v of [0, -0, 3.5, NaN]) {
      const gf = K('full', [], { shape: [7, 33], value: 1, device: 'cuda' });
      K('fill', [gf], { value: v });
      expectClose(gf, K('full', [], { shape: [7, 33], value: v, device: 'cpu' }), 0, `fill ${v}`);
    }
    expect(Array.from((await g.readAsync()) as Float32Array)).toEqual(Array.from(d));
    const empty = native.fromFloat32(new Float32Array(0), [0, 5], 'cuda');
    expect(empty.toFloat32Array().length).toBe(0);
  });

  test('unary ops (all 15) incl. NaN, +-0, +-inf', () => {
    const d = data(5000, -4, 4);
    d.set([NaN, 0, -0, Infinity, -Infinity, 1e-30, -1e-30, 88, -88, 2, 0.5, -2]);
    const pos = data(3000, 1e-3, 30);
    const params: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [2.5, 0], [-1, 0.5], [-0.5, 0.5], [0, 0], [1.7, -0.3], [0, 0], [0, 0]];
    UNARY.forEach((name, op) => {
      const src = ['log', 'sqrt', 'pow'].includes(name) ? pos : d;
      const shape = [src.length];
      // Transcendentals differ from glibc by an ulp or two; everything else is exact.
      const tol = ['exp', 'log', 'sigmoid', 'tanh', 'pow'].includes(name) ? 4e-7 : 0;
      both(([x]) => K('unary', [x], { op: name, p0: params[op][0], p1: params[op][1] }), [pair(src, shape)], tol, `unary ${name}`);
    });
    both(([x]) => K('unary', [x], { op: 'pow', p0: 2 }), [pair(d, [d.length])], 0, 'pow 2');
  });

  test('binary ops with broadcasting (BroadcastPlan strides), where, axpy', () => {
    const shapes: [number[], number[]][] = [
      [[4, 5, 6], [4, 5, 6]], [[4, 5, 6], [6]], [[4, 1, 6], [5, 1]], [[3, 1], [1, 7]], [[2, 3, 4, 5], []],
      [[1], [9, 8]], [[2, 1, 3, 1, 5], [1, 4, 1, 6, 1]], [[300, 257], [257]],
    ];
    for (const [sa, sb] of shapes) {
      const a = rand(sa, -2, 2), b = rand(sb, -2, 2);
      BINARY.forEach((name) => both(([x, y]) => K('binary', [x, y], { op: name }), [a, b], 0, `binary ${name} ${JSON.stringify([sa, sb])}`));
    }
    const cd = data(60).map((v) => (v > 0 ? 1 : 0));
    both(([c, a, b]) => K('where', [c, a, b]), [pair(cd, [3, 1, 20]), rand([4, 20]), rand([3, 4, 1])], 0, 'where');
    const [o0, o1] = rand([37, 41]);
    const [x0, x1] = rand([37, 41]);
    K('axpy', [o0, x0], { alpha: -0.37 });
    K('axpy', [o1, x1], { alpha: -0.37 });
    expectClose(o1, o0, 0, 'axpy');
  });

  test('reductions: sum/mean in double, max/min with int32 indices, ties and NaN', () => {
    const cases: [number[], number[]][] = [
      [[6, 70, 9], [1]], [[6, 70, 9], [0, 2]], [[6, 70, 9], []], [[6, 70, 9], [2]], [[6, 70, 9], [0]],
      [[3, 5000], [1]], [[2, 100000], [1]], [[100000, 3], [0]], [[5, 1, 7], [1]], [[1000, 10], [1]],
      // long reductions over few outputs (split into fixed chunks over many blocks): whole tensors,
      // bias-gradient column sums
      [[300, 400], []], [[4096, 10], [0]], [[2, 3000, 40], [1]], [[64, 50, 33], [0, 1]],
    ];
    for (const [shape, dims] of cases) {
      const d = data(numel(shape), -3, 3).map((v) => Math.round(v * 4) / 4);  // many ties
      const p = pair(d, shape);
      REDUCE.forEach((name, op) => {
        for (const keepdim of [false, true]) {
          if (op >= 2) {
            if (dims.length !== 1) continue;
            const [vc, ic] = K('reduceWithIndices', [p[0]], { op: name, dims, keepdim });
            const [vg, ig] = K('reduceWithIndices', [p[1]], { op: name, dims, keepdim });
            expectClose(vg, vc, 0, `${name} ${shape} ${dims}`);
            expectClose(ig, ic, 0, `${name} indices ${shape} ${dims}`);
          } else {
            both(([x]) => K('reduce', [x], { op: name, dims, keepdim }), [p], 1e-6, `${name} ${shape} ${dims}`);
          }
        }
      });
    }
    // Sums are deterministic: the same bits on a second run.
    for (const [shape, dims] of [[[300, 400], []], [[4096, 10], [0]], [[2, 100000], [1]]] as [number[], number[]][]) {
      const g = native.fromFloat32(data(numel(shape)), shape, 'cuda');
      const a = K('reduce', [g], { op: 'sum', dims }), b = K('reduce', [g], { op: 'sum', dims });
      expect(Array.from(a.toFloat32Array())).toEqual(Array.from(b.toFloat32Array()));
    }
    // NaN propagates and the first NaN's index wins.
    const d = data(64);
    d[10] = NaN;
    d[40] = NaN;
    const p = pair(d, [2, 32]);
    for (const op of ['max', 'min'] as const) {
      const [vc, ic] = K('reduceWithIndices', [p[0]], { op, dims: [1] });
      const [vg, ig] = K('reduceWithIndices', [p[1]], { op, dims: [1] });
      expectClose(vg, vc, 0, 'NaN max/min');
      expectClose(ig, ic, 0, 'NaN max/min index');
    }
  });

  test('matmul through cuBLAS: transposes, batches (strided and broadcast), tf32 switch', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[17, 33], [33, 9], false, false], [[33, 17], [33, 9], true, false], [[17, 33], [9, 33], false, true],
      [[33, 17], [9, 33], true, true], [[3, 17, 33], [33, 9], false, false], [[33, 9], [4, 9, 21], false, false],
      [[2, 1, 5, 7], [3, 7, 4], false, false], [[6, 5, 7], [6, 4, 7], false, true],
      [[256, 784], [512, 784], false, true], [[1, 1], [1, 1], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases)
      both(([a, b]) => K('matmul', [a, b], { transA: ta, transB: tb }), [rand(sa), rand(sb)], 2e-6 * Math.sqrt(sa[sa.length - 1]) + 1e-6, `matmul ${sa} ${sb} ${ta} ${tb}`);
    both(([a, b]) => K('matmul', [a, b]), [rand([4, 0]), rand([0, 5])], 0, 'matmul K = 0');
    expect(cuda.getMatmulPrecision()).toBe('highest');
    cuda.setMatmulPrecision('tf32');
    expect(cuda.getMatmulPrecision()).toBe('tf32');
    both(([a, b]) => K('matmul', [a, b], { transB: true }), [rand([256, 784]), rand([512, 784])], 2e-2, 'matmul tf32');
    cuda.setMatmulPrecision('highest');
    expect(() => cuda.setMatmulPrecision('fp16' as 'tf32')).toThrow(/highest|tf32/);
  });

  test('matmul with a long K and a small product (a weight gradient over many rows): split along K, matches the cpu', () => {
    // K >= 2^16 and M N <= 2^16: cuda_blas.cu computes K in chunks (one strided-batched call, plus the
    // rows left over) and adds the partial products in order. Each transpose layout; K with and without a tail.
    const cases: [number[], number[], boolean, boolean][] = [
      [[70001, 10], [70001, 37], true, false], [[10, 81920], [81920, 3], false, false],
      [[5, 65536], [7, 65536], false, true], [[65537, 1], [256, 65537], true, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const Kd = ta ? sa[0] : sa[1];
      both(([a, b]) => K('matmul', [a, b], { transA: ta, transB: tb }), [rand(sa), rand(sb)], 2e-6 * Math.sqrt(Kd) + 1e-6, `matmul ${sa} ${sb} ${ta} ${tb}`);
    }
  });

  test('layout: permute (incl. transposes), slice / sliceBackward, concat, indexSelect / indexAdd, gather / scatterAdd', () => {
    const x = rand([4, 6, 5, 3]);
    for (const perm of [[1, 0, 2, 3], [0, 1, 3, 2], [3, 2, 1, 0], [0, 2, 1, 3], [2, 3, 0, 1], [0, 1, 2, 3], [1, 2, 3, 0]])
      both(([t]) => K('permute', [t], { perm }), [x], 0, `permute ${perm}`);
    both(([t]) => K('permute', [t], { perm: [1, 0] }), [rand([70, 45])], 0, 'transpose 2-D');
    both(([t]) => K('permute', [t], { perm: [0, 2, 1] }), [rand([3, 1, 45])], 0, 'permute with a size-1 dim');
    for (const [dim, start, end, step] of [[1, 1, 6, 2], [0, 0, 4, 3], [3, 1, 3, 1], [2, -3, 5, 1]]) {
      both(([t]) => K('slice', [t], { dim, start, end, step }), [x], 0, `slice ${[dim, start, end, step]}`);
      const sl = K('slice', [x[0]], { dim, start, end, step });
      const g = rand(sl.shape);
      both(([t]) => K('sliceBackward', [t], { inputShape: [4, 6, 5, 3], dim, start, end, step }), [g], 0, `sliceBackward ${[dim, start, end, step]}`);
    }
    both(([a, b, c]) => K('concat', [a, b, c], { dim: 1 }), [rand([4, 2, 5]), rand([4, 7, 5]), rand([4, 1, 5])], 0, 'concat dim 1');
    both(([a, b]) => K('concat', [a, b], { dim: 0 }), [rand([3, 5]), rand([2, 5])], 0, 'concat dim 0');
    const idx = Int32Array.from([5, 0, 2, 2, 5, 1]);
    both(([t]) => K('indexSelect', [t], { dim: 1, index: idx }), [x], 0, 'indexSelect');
    both(([t]) => K('indexAdd', [t], { shape: [4, 6, 5, 3], dim: 1, index: idx }), [rand([4, 6, 5, 3])], 1e-6, 'indexAdd (repeated indices)');
    const gi = new Int32Array(4 * 2 * 5 * 3).map(() => Math.floor(rnd() * 6));
    both(([t]) => K('gather', [t], { dim: 1, index: gi, indexShape: [4, 2, 5, 3] }), [x], 0, 'gather');
    both(([t]) => K('scatterAdd', [t], { shape: [4, 6, 5, 3], dim: 1, index: gi, indexShape: [4, 2, 5, 3] }), [rand([4, 2, 5, 3])], 1e-6, 'scatterAdd');
    const labels = new Int32Array(256).map(() => Math.floor(rnd() * 10));
    both(([t]) => K('gather', [t], { dim: 1, index: labels, indexShape: [256, 1] }), [rand([256, 10])], 0, 'gather labels (cross-entropy)');
  });

  test('softmax / log-softmax over any dim', () => {
    for (const [shape, dim] of [[[5, 10, 4], 1], [[5, 10, 4], 2], [[256, 10], 1], [[7, 3000], 1], [[3000, 7], 0]] as [number[], number][])
      for (const log of [false, true]) both(([t]) => K('softmax', [t], { dim, log }), [rand(shape, -8, 8)], 1e-6, `softmax ${shape} ${dim} ${log}`);
  });

  test('conv2d forward / backward (stride, padding, dilation, groups)', () => {
    const cfgs: [number[], number[], Conv2dAttrs][] = [
      [[2, 3, 9, 8], [4, 3, 3, 3], { strideH: 1, strideW: 1, padH: 1, padW: 1, dilH: 1, dilW: 1, groups: 1 }],
      [[2, 4, 9, 8], [6, 2, 3, 3], { strideH: 2, strideW: 1, padH: 1, padW: 2, dilH: 1, dilW: 2, groups: 2 }],
      [[3, 1, 28, 28], [8, 1, 5, 5], { strideH: 1, strideW: 1, padH: 2, padW: 2, dilH: 1, dilW: 1, groups: 1 }],
      [[1, 6, 7, 7], [6, 1, 3, 3], { strideH: 2, strideW: 2, padH: 0, padW: 0, dilH: 1, dilW: 1, groups: 6 }],
    ];
    for (const [xs, ws, args] of cfgs) {
      const x = rand(xs), w = rand(ws);
      const out = K('conv2d', [x[0], w[0]], args);
      both(([a, b]) => K('conv2d', [a, b], args), [x, w], 1e-5, `conv2d ${xs} ${ws}`);
      const g = rand(out.shape);
      both(([a, b]) => K('conv2dBackwardInput', [a, b], { ...args, inputShape: xs }), [g, w], 1e-5, `conv2d dx ${xs} ${ws}`);
      both(([a, b]) => K('conv2dBackwardWeight', [a, b], { ...args, weightShape: ws }), [g, x], 1e-5, `conv2d dw ${xs} ${ws}`);
    }
  });

  test('max / avg pooling forward and backward (overlap, padding, ceil mode, count_include_pad)', () => {
    const cfgs: AvgPool2dAttrs[] = [
      { kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
      { kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, countIncludePad: true },
      { kH: 3, kW: 2, strideH: 2, strideW: 1, padH: 1, padW: 1, countIncludePad: false, ceilMode: true },
      { kH: 4, kW: 4, strideH: 3, strideW: 3, padH: 2, padW: 0, ceilMode: true },
    ];
    for (const a of cfgs) {
      const xs = [2, 3, 11, 10];
      const d = data(numel(xs), -2, 2).map((v) => Math.round(v * 8) / 8);  // ties
      const x = pair(d, xs);
      const [vc, ic] = K('maxPool2d', [x[0]], a);
      const [vg, ig] = K('maxPool2d', [x[1]], a);
      expectClose(vg, vc, 0, `maxPool2d ${JSON.stringify(a)}`);
      expectClose(ig, ic, 0, `maxPool2d indices ${JSON.stringify(a)}`);
      const g = rand(vc.shape);
      expectClose(K('maxPool2dBackward', [g[1], ig], { ...a, inputShape: xs }), K('maxPool2dBackward', [g[0], ic], { ...a, inputShape: xs }), 0, 'maxPool2d backward');
      both(([t]) => K('avgPool2d', [t], a), [x], 1e-7, `avgPool2d ${JSON.stringify(a)}`);
      both(([t]) => K('avgPool2dBackward', [t], { ...a, inputShape: xs }), [g], 0, `avgPool2d backward ${JSON.stringify(a)}`);
    }
  });

  test('random: Philox uniform and bernoulli bit for bit, normal to rounding, at any offset', () => {
    for (const [s, off] of [[1, 0], [42, 7], [2 ** 40 + 3, 1e9 + 1]]) {
      for (const [kind, tol] of [['uniform', 0], ['bernoulli', 0], ['normal', 1e-6]] as [RandomKind, number][]) {
        const c = K('random', [], { kind, shape: [4099], seed: s, offset: off, p: 0.37, device: 'cpu' });
        const g = K('random', [], { kind, shape: [4099], seed: s, offset: off, p: 0.37, device: 'cuda' });
        expectClose(g, c, tol, `random kind ${kind} seed ${s} offset ${off}`);
      }
    }
  });

  test('fused optimizer steps: Adam, AdamW, amsgrad, maximize, SGD with momentum / nesterov', () => {
    const n = 10007;
    const adams = [
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false, step: 1 },
      { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false, amsgrad: true, maximize: true, step: 5 },
      { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: false, maximize: false, step: 17 },
    ];
    for (const a of adams) {
      const p = rand([n]), g = rand([n]), m = rand([n]), v = rand([n], 0, 1), vm = rand([n], 0, 1);
      for (const i of [0, 1]) K('adamStep', [p[i], g[i], m[i], v[i], a.amsgrad ? vm[i] : null], a);
      expectClose(p[1], p[0], 0, `adam p ${JSON.stringify(a)}`);
      expectClose(m[1], m[0], 0, 'adam m');
      expectClose(v[1], v[0], 0, 'adam v');
      if (a.amsgrad) expectClose(vm[1], vm[0], 0, 'adam vmax');
    }
    for (const s of [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: true, maximize: false },
      { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false, firstStep: true, maximize: false },
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true, firstStep: false, maximize: true },
    ]) {
      const p = rand([n]), g = rand([n]), b = rand([n]);
      for (const i of [0, 1]) K('sgdStep', [p[i], g[i], s.momentum ? b[i] : null], s);
      expectClose(p[1], p[0], 0, `sgd p ${JSON.stringify(s)}`);
      if (s.momentum) expectClose(b[1], b[0], 0, 'sgd buf');
    }
  });
});

// ---- the fractional op ---------------------------------------------------------------------------
/** dK / dtau as the op returns them ([2, n] or [2] float32 hi/lo pairs) -> float64 hi + lo. */
/** The backward's dK and dtau as float32 pairs (native fractionalBackward with pairs). */
const pairs = { alpha: false, weight: false, pairs: true };
type FracSpec = readonly [FractionalMethod, Float64Array, Float64Array, number];
/**
 * The layer's forward (with and without the trace) and backward on the CPU and on CUDA from the same
 * random current and output gradients: spikes equal, v within 1e-5, dI within 1e-4; returns both backwards.
 */
function forwardBackwardOnBoth(spec: FracSpec, params: FractionalNativeParams, shape: number[], withGV: boolean) {
  const I = rand(shape, 0, 2.5);
  const fc = fractionalForwardRaw(I[0], ...spec, params, true);
  const fg = fractionalForwardRaw(I[1], ...spec, params, true);
  expectClose(fg.spikes, fc.spikes, 0, 'spikes');
  expectClose(fg.v!, fc.v!, 1e-5, 'v');
  // Inference (no trace): the same spikes.
  expectClose(fractionalForwardRaw(I[1], ...spec, params, false).spikes, fc.spikes, 0, 'spikes without trace');
  const gS = rand(shape), gV = rand(shape, -0.2, 0.2);
  const bc = native.fractionalBackward(I[0], fc.v!, fc.spikes, gS[0], withGV ? gV[0] : null, ...spec, params, pairs);
  const bg = native.fractionalBackward(I[1], fg.v!, fg.spikes, gS[1], withGV ? gV[1] : null, ...spec, params, pairs);
  expectClose(bg.gI, bc.gI, 1e-4, 'dI');
  return { bc, bg };
}
function hiLo(h: NativeHandle): Float64Array {
  const v = h.toFloat32Array();
  const n = v.length / 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = v[i] + v[n + i];
  return out;
}
describeGpu('fractional neuron op on cuda against the cpu backend', () => {
  interface Case { T: number; B: number; F: number; memory?: number; kind: 'lif' | 'if'; surrogate: FractionalNativeParams['surrogate']; method: 'l1' | 'gl' | 'pred'; alphas: number[]; weights: number[]; gV: boolean; tau: number }
  const cases: Case[] = [];
  // T < 512: tiles of S = 8; T >= 512: S = 16 (the K table in shared memory; the global-memory path is
  // tested below, in a child process).
  for (const T of [1, 7, 64, 300, 1000]) {
    cases.push({ T, B: 4, F: 33, kind: 'lif', surrogate: 'arctan', method: 'l1', alphas: [0.6], weights: [1], gV: true, tau: 2 });
    cases.push({ T, B: 3, F: 70, memory: 5, kind: 'lif', surrogate: 'sigmoid', method: 'gl', alphas: [0.3, 0.5, 0.7], weights: [1, 0.5, 0.2], gV: false, tau: 2 });
    cases.push({ T, B: 2, F: 65, memory: Math.max(2, Math.floor(T / 3)), kind: 'if', surrogate: 'piecewise_linear', method: 'l1', alphas: [0.4, 0.8], weights: [1, 0.3], gV: true, tau: 1.5 });
    cases.push({ T, B: 5, F: 31, memory: 1, kind: 'lif', surrogate: 'gaussian', method: 'l1', alphas: [0.5], weights: [1], gV: false, tau: 4 });
    // the predictor (cuda/cuda_fractional_pred.cu runs the CPU's per-neuron body): full history, a window, M = 1
    cases.push({ T, B: 4, F: 33, kind: 'lif', surrogate: 'arctan', method: 'pred', alphas: [0.6], weights: [1], gV: true, tau: 2 });
    cases.push({ T, B: 3, F: 70, memory: Math.max(2, Math.floor(T / 3)), kind: 'if', surrogate: 'sigmoid', method: 'pred', alphas: [0.85], weights: [1.3], gV: false, tau: 1.5 });
    cases.push({ T, B: 2, F: 65, memory: 1, kind: 'lif', surrogate: 'piecewise_linear', method: 'pred', alphas: [0.3], weights: [1], gV: true, tau: 2 });
  }
  cases.push({ T: 2100, B: 2, F: 20, kind: 'lif', surrogate: 'gaussian', method: 'l1', alphas: [0.5], weights: [1], gV: true, tau: 2 });
  test.each(cases.map((c) => [`T=${c.T} (S=${c.T >= 512 ? 16 : 8}) M=${c.memory ?? 'full'} ${c.kind} ${c.surrogate} ${c.method} terms=${c.alphas.length}${c.gV ? ' gV' : ''}`, c] as [string, Case]))(
    '%s',
    (_name, c) => {
      const spec = [c.method, Float64Array.from(c.alphas), Float64Array.from(c.weights), 1] as const;
      const params: FractionalNativeParams = { kind: c.kind, tau: c.tau, threshold: 1, surrogate: c.surrogate, scale: 5, memory: c.memory ?? c.T + 1, history: 'exact' };  // the exact kernels (fast: below)
      const { bc, bg } = forwardBackwardOnBoth(spec, params, [c.T, c.B, c.F], c.gV);
      // dK and dtau: both backends sum in the order of native/fractional_op.h, so they agree to float64
      // rounding (the float32 partial sums are equal bit for bit).
      expect(bg.gK!.device).toBe('cuda');
      expect(bg.gK!.shape).toEqual([2, c.T + 1]);
      const gkG = hiLo(bg.gK!), gkC = hiLo(bc.gK!);
      expect(relErr(gkG, gkC)).toBeLessThan(1e-9);
      const tG = hiLo(bg.gTauPair!)[0], tC = hiLo(bc.gTauPair!)[0];
      expect(Math.abs(tG - tC) / Math.max(1e-12, Math.abs(tC))).toBeLessThan(1e-9);
    },
  );

  // The fast (sum-of-exponentials) history (native/cpu/fractional_fast_cpu.h, cuda/cuda_fractional_fast.cu):
  // the same recurrence per neuron in float32; the CPU's vector code may fuse multiply-adds that the GPU
  // build rounds apart, so the sums agree to float32 rounding rather than bit for bit.
  test.each([
    [7, 'l1', [0.6], [1], 'lif', 'arctan', true],
    [300, 'gl', [0.3, 0.7], [1, 0.5], 'if', 'sigmoid', false],
    [1000, 'l1', [0.3, 0.8], [1, 0.5], 'lif', 'gaussian', true],
    // pred: both backends run native/fractional_pred_fast_neuron.h per neuron
    [600, 'pred', [0.6], [1.2], 'lif', 'arctan', true],
    [3, 'pred', [0.35], [1], 'if', 'sigmoid', false],
  ] as Array<[number, 'l1' | 'gl' | 'pred', number[], number[], 'lif' | 'if', FractionalNativeParams['surrogate'], boolean]>)(
    "history 'fast': T=%p %s alphas %p on cuda matches the cpu", (T, method, alphas, weights, kind, surrogate, withGV) => {
      const spec = [method, Float64Array.from(alphas), Float64Array.from(weights), 1] as const;
      const params: FractionalNativeParams = { kind, tau: 2, threshold: 1, surrogate, scale: 5, memory: T + 1, history: 'fast' };
      const { bc, bg } = forwardBackwardOnBoth(spec, params, [T, 3, 37], withGV);
      const W = native.fractionalFastInfo(method, spec[1], spec[2], 1, T);
      if (method !== 'pred') {  // within the register kernels' reach (cuda_fractional_fast.cu: Q <= 64, L0 <= 8)
        expect(W.Q).toBeLessThanOrEqual(64);
        expect(W.L0).toBeLessThanOrEqual(8);
      }
      expect(bg.gK!.shape).toEqual([2, W.L0 + W.Q]);
      expect(bc.gK!.shape).toEqual([2, W.L0 + W.Q]);
      expect(relErr(hiLo(bg.gK!), hiLo(bc.gK!))).toBeLessThan(1e-5);
      const tG = hiLo(bg.gTauPair!)[0], tC = hiLo(bc.gTauPair!)[0];
      expect(Math.abs(tG - tC) / Math.max(1e-12, Math.abs(tC))).toBeLessThan(1e-5);
    });

  test("history 'auto' on cuda runs the exact history (its crossover is measured on the cpu only)", () => {
    const T = 600, shape = [T, 1, 8];
    const spec = ['l1', Float64Array.from([0.5]), Float64Array.from([1]), 1] as const;
    const base: FractionalNativeParams = { kind: 'lif', tau: 2, threshold: 1, surrogate: 'arctan', scale: 5, memory: T + 1 };
    const I = rand(shape, 0, 2.5);
    const auto = fractionalForwardRaw(I[1], ...spec, { ...base, history: 'auto' }, true);
    const exact = fractionalForwardRaw(I[1], ...spec, { ...base, history: 'exact' }, true);
    expect(Array.from(auto.v!.toFloat32Array())).toEqual(Array.from(exact.v!.toFloat32Array()));
  });

  test.each([['l1', [0.4, 0.7], [1, 0.6]], ['pred', [0.55], [1.1]]] as const)('gradients of alpha, the term weights and a learnable tau (chained on the device) match the cpu: %s', (method, alphas, weights) => {
    const T = 40, N = 90;
    const I = data(T * N, 0, 2.5), gS = data(T * N, -1, 1);
    const run = (device: 'cpu' | 'cuda') => {
      const alpha = tensor(alphas.slice(), [alphas.length], { device, requiresGrad: true });
      const w = tensor(weights.slice(), [weights.length], { device, requiresGrad: true });
      const theta = tensor([0.3], [1], { device, requiresGrad: true });
      const x = tensor(I, [T, N], { device });
      const r = fractionalNeuron(x, alpha, w, { method, tauTheta: theta, tau0: 0.5 });
      r.spikes.mul(tensor(gS, [T, N], { device })).sum().backward();
      expect(alpha.grad!.device).toBe(device);
      return [alpha.grad!, w.grad!, theta.grad!].map((g) => g.toFloat32Array());
    };
    const c = run('cpu'), g = run('cuda');
    ['alpha', 'weight', 'theta'].forEach((name, i) => {
      const e = relErr(g[i], c[i]);
      if (!(e <= 1e-6)) throw new Error(`d/d${name}: cuda ${Array.from(g[i])} vs cpu ${Array.from(c[i])} (relative error ${e})`);
    });
  });

  // The global-memory K table, forced by FSNN_CUDA_FRAC_GLOBAL_K=1, and the fast history's
  // thread-local-memory kernels, forced by FSNN_CUDA_FAST_GENERIC=1 (the tests above run the register
  // kernels: their Q and L0 fit, as checked there). Native code reads the real environment, which
  // jest's per-file copy of process.env does not change: a child process runs the comparison
  // (test/cuda/forced-kernels.child.ts) with the variables set.
  test('forced kernels: global-memory K table (S = 8 and 16) and the generic fast history, same agreement', () => {
    // In the GPU bundle the tests are compiled to JavaScript and there is no ts-node: run the .js child there.
    const compiled = __filename.endsWith('.js');
    const child = require('path').join(__dirname, compiled ? 'forced-kernels.child.js' : 'forced-kernels.child.ts');
    const stdout: string = require('child_process').execFileSync(process.execPath, [...(compiled ? [] : ['-r', 'ts-node/register/transpile-only']), child], {
      env: { ...process.env, FSNN_CUDA_FRAC_GLOBAL_K: '1', FSNN_CUDA_FAST_GENERIC: '1' }, encoding: 'utf8', timeout: 600000,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { env: string; fastEnv: string; cuda: boolean; cases: { name: string; fast: boolean; spikeDiffs: number; v: number; gI: number; gK: number; gTau: number }[] };
    expect(r.env).toBe('1');
    expect(r.fastEnv).toBe('1');
    expect(r.cuda).toBe(true);
    expect(r.cases.length).toBe(6);
    for (const c of r.cases) {
      const sums = c.fast ? 1e-5 : 1e-9;  // the fast history agrees to float32 rounding (see above)
      if (!(c.spikeDiffs === 0 && c.v <= 1e-5 && c.gI <= 1e-4 && c.gK < sums && c.gTau < sums))
        throw new Error(`forced kernel, ${c.name}: spikes differing ${c.spikeDiffs}, v ${c.v}, dI ${c.gI}, dK ${c.gK}, dtau ${c.gTau}`);
    }
  });

  // The fast-history kernels load their inputs AHEAD steps before use (cuda_fractional_fast.cu: 8 in the
  // forward, 4 in the adjoint unless FSNN_CUDA_FAST_AHEAD picks 1, 4 or 8). Only the time of the loads may
  // change with the depth: every output's bits must be the same at each depth; another value is an error.
  test('fast history: the same bits at every load depth (FSNN_CUDA_FAST_AHEAD), and a clear error for an unbuilt one', () => {
    const compiled = __filename.endsWith('.js');
    const child = require('path').join(__dirname, compiled ? 'fast-ahead.child.js' : 'fast-ahead.child.ts');
    const run = (ahead: string | undefined) => {
      const env = { ...process.env };
      if (ahead === undefined) delete env.FSNN_CUDA_FAST_AHEAD;
      else env.FSNN_CUDA_FAST_AHEAD = ahead;
      const stdout: string = require('child_process').execFileSync(process.execPath, [...(compiled ? [] : ['-r', 'ts-node/register/transpile-only']), child], { env, encoding: 'utf8', timeout: 600000 });
      return JSON.parse(stdout.trim().split('\n').pop()!) as { ahead: string | null; cuda: boolean; cases: { T: number; digests?: string[]; error?: string }[] };
    };
    const base = run(undefined);
    expect(base.cuda).toBe(true);
    expect(base.cases.map((c) => c.T)).toEqual([1, 3, 8, 13, 203]);
    for (const c of base.cases) expect(c.digests).toHaveLength(5);
    for (const ahead of ['1', '4', '8']) {
      const r = run(ahead);
      expect(r.ahead).toBe(ahead);
      expect(r.cases).toEqual(base.cases);
    }
    const bad = run('5');
    expect(bad.cases[0].error).toMatch(/FSNN_CUDA_FAST_AHEAD=5 .*use 1, 4 or 8/);
  });
});

// ---- goldens on cuda -----------------------------------------------------------------------------
// Registered on every machine (reading the fixture needs no GPU): without CUDA they show as skipped,
// with the SKIPPED line above giving the reason.
describeGpu('the goldens on cuda (nn.Sequential + SNNWrapper, net.to("cuda"))', () => {
  for (const c of [...loadGoldens(), ...loadGoldens('goldens_methods_public.json')]) {
    test(c.name, () => {
      const run = (device: 'cpu' | 'cuda') => {
        const { net, model, nameOf, forward } = buildGoldenNet(c, device);
        const out = forward();
        expect(out.device).toBe(device);
        const loss = out.mul(tensor(flat(c.readout), out.shape.slice(), { device })).sum();
        loss.backward();
        const params = Object.fromEntries(model.namedParameters()) as Record<string, Tensor>;
        const grads: Record<string, Float32Array> = {};
        for (const k of Object.keys(c.reference.grads)) grads[k] = params[nameOf[k]].grad!.toFloat32Array();
        return {
          out: Array.from(out.toFloat32Array()), loss: loss.item(), grads,
          alphaGrad: net.getPerLayerAlpha().map((a) => (a.grad ? a.grad.toFloat32Array() : null)),
          coefGrad: net.getPerLayerCoefficient().map((w) => (w.grad ? w.grad.toFloat32Array() : null)),
        };
      };
      const cpu = run('cpu');
      const gpu = run('cuda');
      expect(gpu.out).toEqual(cpu.out);                 // spikes element for element
      expect(gpu.out).toEqual(flat(c.reference.output));
      expect(Math.abs(gpu.loss - cpu.loss) / Math.max(1e-12, Math.abs(cpu.loss))).toBeLessThan(1e-5);
      for (const k of Object.keys(cpu.grads)) {
        expect(relErr(gpu.grads[k], cpu.grads[k])).toBeLessThan(1e-4);
        expect(goldenRelErr(gpu.grads[k], flat(c.reference.grads[k]))).toBeLessThan(1e-3);
      }
      // A gradient the CPU has must exist on the GPU too (and none that the CPU lacks).
      expect(gpu.alphaGrad.map((g) => g !== null)).toEqual(cpu.alphaGrad.map((g) => g !== null));
      expect(gpu.coefGrad.map((g) => g !== null)).toEqual(cpu.coefGrad.map((g) => g !== null));
      expect(cpu.alphaGrad.some((g) => g !== null)).toBe(true);
      gpu.alphaGrad.forEach((g, i) => {
        if (cpu.alphaGrad[i]) expect(relErr(g!, cpu.alphaGrad[i]!)).toBeLessThan(1e-3);
      });
      gpu.coefGrad.forEach((g, i) => {
        if (cpu.coefGrad[i]) expect(relErr(g!, cpu.coefGrad[i]!)).toBeLessThan(1e-3);
      });
    });
  }
});

// ---- allocator, errors ---------------------------------------------------------------------------
describeGpu('cuda caching allocator and errors', () => {
  // FSNN_CUDA_ALLOC=exact (the GPU run's memcheck pass) never caches, by design: there every block of a
  // warm step is a fresh cudaMalloc and is freed again, so the step's contract is the opposite one.
  const exactAlloc = (process.env.FSNN_CUDA_ALLOC ?? '').split(',').includes('exact');
  test(exactAlloc ? 'exact allocator: a warm training step allocates afresh and caches nothing'
    : 'a warm training step makes no cudaMalloc (numAllocs stable over 10 steps)', () => {
    const model = new nn.Sequential(new nn.Linear(20, 64), new LIFNeuron({ tau: 2 }), new nn.Linear(64, 10), new LIFNeuron({ tau: 2 }));
    const net = new SNNWrapper(model, { alpha: [0.3, 0.8], learnAlpha: true }).to('cuda');
    const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
    const T = 16, B = 32;
    const x = tensor(data(T * B * 20, 0, 1), [T, B, 20], { device: 'cuda' });
    const labels = new Int32Array(B).map(() => Math.floor(rnd() * 10));
    const step = () => {
      opt.zeroGrad();
      tidy(() => {
        const out = net.forward(x, undefined, { method: 'l1' });
        const loss = ops.crossEntropy(out.mean(0), labels);
        loss.backward();
      });
      opt.step();
    };
    for (let i = 0; i < 3; i++) step();
    cuda.synchronize();
    const warm = cuda.memoryStats();
    for (let i = 0; i < 10; i++) step();
    cuda.synchronize();
    const after = cuda.memoryStats();
    if (exactAlloc) {
      expect(after.numAllocs).toBeGreaterThan(warm.numAllocs);
      expect(after.numCacheHits).toBe(warm.numCacheHits);
      expect(after.cachedBytes).toBe(0);
      expect(after.reservedBytes).toBe(after.allocatedBytes);
      return;
    }
    expect(after.numAllocs).toBe(warm.numAllocs);
    expect(after.numCacheHits).toBeGreaterThan(warm.numCacheHits);
    expect(after.allocatedBytes).toBeLessThanOrEqual(warm.allocatedBytes);
    expect(after.reservedBytes).toBe(warm.reservedBytes);
    expect(after.peakAllocatedBytes).toBeGreaterThan(0);
    for (const k of ['allocatedBytes', 'reservedBytes', 'cachedBytes', 'numAllocs', 'numCacheHits', 'peakAllocatedBytes'] as const)
      expect(typeof after[k]).toBe('number');
    expect(after.cachedBytes).toBe(after.reservedBytes - after.allocatedBytes);
  });

  test('emptyCache returns the cached blocks; peak can be reset', () => {
    for (let i = 0; i < 5; i++) K('full', [], { shape: [1 << 20], value: i, device: 'cuda' }).dispose();
    cuda.emptyCache();
    const s = cuda.memoryStats();
    expect(s.cachedBytes).toBe(0);
    expect(s.reservedBytes).toBe(s.allocatedBytes);
    // Between two reads a garbage collection may release a tensor an earlier test left undisposed (Node
    // runs N-API finalizers during GC): allocated can only drop, and the peak never does.
    const beforeReset = cuda.memoryStats().allocatedBytes;
    cuda.resetPeakMemoryStats();
    const after = cuda.memoryStats();
    expect(after.peakAllocatedBytes).toBeLessThanOrEqual(beforeReset);
    expect(after.peakAllocatedBytes).toBeGreaterThanOrEqual(after.allocatedBytes);
  });

  test('out of memory: a clear error, and the process (and the GPU) keeps working', () => {
    const before = cuda.memoryStats();
    let msg = '';
    try {
      K('full', [], { shape: [2 ** 40 / 4 * 64], device: 'cuda' });  // 64 TiB
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/CUDA out of memory/);
    expect(msg).toMatch(/dispose\(\)|tidy\(\)/);
    expect(msg).toMatch(/MiB/);
    expect(cuda.memoryStats().numOomRetries).toBe(before.numOomRetries + 1);
    const a = K('full', [], { shape: [1000], value: 2, device: 'cuda' });
    expect(Array.from(K('unary', [a], { op: 'neg' }).toFloat32Array().slice(0, 3))).toEqual([-2, -2, -2]);
  });

  test('mixing devices is an error naming both', () => {
    const [c, g] = rand([3, 4]);
    expect(() => K('binary', [c, g], { op: 'add' })).toThrow(/different devices/);
  });

  test('info names the device and the allocator', () => {
    expect(cuda.deviceCount()).toBeGreaterThan(0);
    expect(cuda.selfTest()).toMatch(/^ok/);
    expect(cuda.deviceName(0).length).toBeGreaterThan(0);
  });
});
