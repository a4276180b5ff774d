// The spike-sparse product (kernel spikeMatmul and its weight gradient spikeMatmulWeightGrad) against a
// float64 triple loop, with each path forced (FSNN_SPIKE_MATMUL=sparse|dense) and chosen by the firing
// rate (auto), at rates from 0 % to 100 %; the spike marks that route linear() to it; the goldens'
// spikes and gradients with either path forced; InferenceRunner's recorded program; bad input.
import { getDefaultDevice, InferenceRunner, LIFNeuron, manualSeed, nn, noGrad, ops, randn, SNNWrapper, tensor, Tensor } from '../../lib';
import * as kernels from '../../lib/kernels/run-kernel';
import { spikeMatmul, spikeMatmulPath } from '../../lib/ops/linalg';
import { isSpikes, markSpikes } from '../../lib/ops/spike-marks';
import { native } from '../../lib/native';
import { runAddonChild } from '../helpers/addon-child';
import { buildGoldenNet, flat, GOLDEN_TOL, loadGoldens, relErr } from '../helpers/goldens';

const PATHS = ['sparse', 'dense', 'auto'] as const;
const saved = process.env.FSNN_SPIKE_MATMUL;
function withPath<T>(path: string | undefined, fn: () => T): T {
  if (path === undefined) delete process.env.FSNN_SPIKE_MATMUL;
  else process.env.FSNN_SPIKE_MATMUL = path;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.FSNN_SPIKE_MATMUL;
    else process.env.FSNN_SPIKE_MATMUL = saved;
  }
}

/** A deterministic pseudo-random generator in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** [M, K] spikes firing at `rate` (each entry 1 with that probability). */
function spikes(M: number, K: number, rate: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: M * K }, () => (r() < rate ? 1 : 0));
}
function uniform(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}
/** out [M, N] = x [M, K] · w [N, K]^T in float64. */
function xwT(x: Float32Array, w: Float32Array, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      out[m * N + n] = s;
    }
  return out;
}
/** gw [N, K] = g [M, N]^T · x [M, K] in float64. */
function gTx(g: Float32Array, x: Float32Array, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(N * K);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] += g[m * N + n] * x[m * K + k];
  return out;
}
const run = (name: 'spikeMatmul' | 'spikeMatmulWeightGrad', a: Tensor, b: Tensor) =>
  new Tensor(kernels.runKernel(name, [a.handle, b.handle], { path: spikeMatmulPath() })).toFloat32Array();

// N covers each accumulator layout of the AVX2 bodies (Np = 8, 16, 24, 32 in registers; wider outputs
// in 64-column chunks, with a narrower last chunk for Np = 40, 72, 304); K not a multiple of 8 covers
// the scalar tail of the index lists and of the 8x8 transposes, and K > 64 several column blocks of the
// weight gradient. [64, 784, 256] is the main job's first layer on a static image.
const SHAPES: [number, number, number][] = [[1, 1, 1], [512, 256, 10], [16, 13, 20], [8, 64, 32], [37, 100, 33], [64, 300, 128], [5, 3, 70],
  [20, 130, 300], [64, 784, 256], [3, 9, 65]];
const RATES = [0, 0.02, 0.27, 0.6, 1];
// 1e-6 of the largest output up to K = 256 terms per sum, then growing with K as float32 summation error
// does: at K = 784 and rate 1 (outputs 100x smaller than the sum of |terms|) the dense sgemm itself is
// 2.1e-6 off the float64 product, the sparse path 2.4e-6.
const tolerance = (K: number) => 1e-6 * Math.max(1, K / 256);

describe('spikeMatmul against the float64 product', () => {
  for (const [M, K, N] of SHAPES)
    for (const rate of RATES)
      test(`[${M}, ${K}] x [${N}, ${K}]^T at rate ${rate}: every path within ${tolerance(K)} relative, sparse vs dense too`, () => {
        const tol = tolerance(K);
        const xs = spikes(M, K, rate, M * 7 + K), ws = uniform(N * K, N + 3), gs = uniform(M * N, M + 11);
        const x = tensor(xs, [M, K]), w = tensor(ws, [N, K]), g = tensor(gs, [M, N]);
        const want = xwT(xs, ws, M, K, N), wantGw = gTx(gs, xs, M, K, N);
        const got: Record<string, Float32Array> = {}, gotGw: Record<string, Float32Array> = {};
        for (const p of PATHS) {
          got[p] = withPath(p, () => run('spikeMatmul', x, w));
          gotGw[p] = withPath(p, () => run('spikeMatmulWeightGrad', g, x));
          expect(got[p].length).toBe(M * N);
          expect(gotGw[p].length).toBe(N * K);
          if (rate === 0) {
            expect(Array.from(got[p]).every((v) => v === 0)).toBe(true);
            expect(Array.from(gotGw[p]).every((v) => v === 0)).toBe(true);
          } else {
            expect(relErr(got[p], want)).toBeLessThan(tol);
            expect(relErr(gotGw[p], wantGw)).toBeLessThan(tol);
          }
        }
        if (rate > 0) {
          expect(relErr(got.sparse, got.dense)).toBeLessThan(tol);
          expect(relErr(gotGw.sparse, gotGw.dense)).toBeLessThan(tol);
        }
      });

  test('the dense path is the dense matmul bit for bit (x w^T and g^T x)', () => {
    const [M, K, N] = [40, 50, 12];
    const x = tensor(spikes(M, K, 0.3, 5), [M, K]), w = tensor(uniform(N * K, 6), [N, K]), g = tensor(uniform(M * N, 7), [M, N]);
    withPath('dense', () => {
      expect(Array.from(run('spikeMatmul', x, w))).toEqual(Array.from(ops.matmul(x, w, { transB: true }).toFloat32Array()));
      expect(Array.from(run('spikeMatmulWeightGrad', g, x))).toEqual(Array.from(ops.matmul(g, x, { transA: true }).toFloat32Array()));
    });
  });

  // [2048, 256] (524,288 entries) is past the 2^18 that active_rate counts whole: its rate comes from every
  // third row.
  test.each([[512, 256, 10], [512, 256, 256], [2048, 256, 10]])('auto takes the sparse path at a low firing rate and the dense one at 100 %% ([%i, %i] x [%i]; bit for bit; the CPU chooses)', (M, K, N) => {
    const w = tensor(uniform(N * K, 1), [N, K], { device: 'cpu' }), g = tensor(uniform(M * N, 2), [M, N], { device: 'cpu' });
    let told = 0; // products whose two paths differ in the last bits, so that auto's choice shows
    for (const [rate, expected] of [[0.05, 'sparse'], [1, 'dense']] as const) {
      const x = tensor(spikes(M, K, rate, 17), [M, K], { device: 'cpu' });
      for (const [name, a, b] of [['spikeMatmul', x, w], ['spikeMatmulWeightGrad', g, x]] as const) {
        const r = Object.fromEntries(PATHS.map((p) => [p, Array.from(withPath(p, () => run(name, a, b)))]));
        if (JSON.stringify(r.sparse) === JSON.stringify(r.dense)) continue;
        told++;
        expect(r.auto).toEqual(r[expected]);
      }
    }
    expect(told).toBeGreaterThanOrEqual(2);
  });

  test.each([[9, 40, 17], [21, 90, 100]])('any values, not only 0/1: the sparse path multiplies by the stored value ([%i, %i] x [%i])', (M, K, N) => {
    const r = rng(3);
    const xs = Float32Array.from({ length: M * K }, () => (r() < 0.3 ? 4 * r() - 2 : 0));
    const ws = uniform(N * K, 4), gs = uniform(M * N, 8);
    withPath('sparse', () => {
      expect(relErr(run('spikeMatmul', tensor(xs, [M, K]), tensor(ws, [N, K])), xwT(xs, ws, M, K, N))).toBeLessThan(1e-6);
      expect(relErr(run('spikeMatmulWeightGrad', tensor(gs, [M, N]), tensor(xs, [M, K])), gTx(gs, xs, M, K, N))).toBeLessThan(1e-6);
    });
  });

  test('empty operands: zero rows, zero inputs, zero outputs', () => {
    for (const p of PATHS)
      withPath(p, () => {
        expect(new Tensor(kernels.runKernel('spikeMatmul', [tensor(new Float32Array(0), [0, 4]).handle, randn([3, 4]).handle], {})).shape).toEqual([0, 3]);
        expect(Array.from(run('spikeMatmul', tensor(new Float32Array(0), [2, 0]), tensor(new Float32Array(0), [3, 0])))).toEqual([0, 0, 0, 0, 0, 0]);
        expect(Array.from(run('spikeMatmulWeightGrad', tensor(new Float32Array(0), [0, 2]), tensor(new Float32Array(0), [0, 3])))).toEqual([0, 0, 0, 0, 0, 0]);
        expect(new Tensor(kernels.runKernel('spikeMatmul', [randn([2, 4]).handle, tensor(new Float32Array(0), [0, 4]).handle], {})).shape).toEqual([2, 0]);
      });
  });
});

describe('spikeMatmul scratch memory', () => {
  // The sparse weight gradient's temporaries (the padded copy of g, the wide path's column lists) come from
  // the CPU allocator's cache: a std::vector of tens of MB was a fresh mmap on every call, with a page fault
  // per 4 KiB (on this project's virtual machine that took a [1048576, 256] x 10 gradient from 60 to 314 ms).
  const onCpu = getDefaultDevice() === 'cpu';
  if (!onCpu) console.log('SKIPPED (on cuda): the scratch-memory test checks the CPU kernels\' temporaries');
  (onCpu ? test : test.skip)('repeated large weight gradients fault in no fresh pages', () => {
    const M = 600000, K = 32;
    const x = tensor(spikes(M, K, 0.2, 5), [M, K]);
    for (const N of [10, 40]) {  // the 16-wide accumulator body (a 38 MB padded g) and the wide one
      const g = randn([M, N]);
      withPath('sparse', () => {
        for (let i = 0; i < 2; i++) new Tensor(kernels.runKernel('spikeMatmulWeightGrad', [g.handle, x.handle], {})).dispose();
        const before = process.resourceUsage().minorPageFault;
        for (let i = 0; i < 3; i++) new Tensor(kernels.runKernel('spikeMatmulWeightGrad', [g.handle, x.handle], {})).dispose();
        // fresh pages for the padded g alone would be 3 x 38 MB / 4 KiB = 28,000 faults
        expect(process.resourceUsage().minorPageFault - before).toBeLessThan(2000);
      });
      g.dispose();
    }
    x.dispose();
  });
});

describe('the portable bodies (FSNN_CPU_NO_AVX2=1, in a child process)', () => {
  test('both products on the sparse path against the float64 product, every accumulator layout', () => {
    const cases = [[40, 37, 3], [33, 64, 16], [9, 21, 24], [17, 80, 40], [3, 5, 1]].map(([M, K, N], i) => ({
      M, K, N, x: Array.from(spikes(M, K, 0.3, i + 40)), w: Array.from(uniform(N * K, i + 50)), g: Array.from(uniform(M * N, i + 60)),
    }));
    const script = `
      const A = (h) => Array.from(h.toFloat32Array());
      const out = input.map((c) => {
        const x = n.fromFloat32(Float32Array.from(c.x), [c.M, c.K], 'cpu'), w = n.fromFloat32(Float32Array.from(c.w), [c.N, c.K], 'cpu');
        const g = n.fromFloat32(Float32Array.from(c.g), [c.M, c.N], 'cpu');
        return [A(n.runKernel('spikeMatmul', [x, w], { path: 'sparse' })), A(n.runKernel('spikeMatmulWeightGrad', [g, x], { path: 'sparse' }))];
      });
      process.stdout.write(JSON.stringify(out));`;
    const out = runAddonChild<number[][][]>(script, cases, { FSNN_CPU_NO_AVX2: '1' });
    cases.forEach((c, i) => {
      const x = Float32Array.from(c.x), w = Float32Array.from(c.w), g = Float32Array.from(c.g);
      expect(relErr(out[i][0], xwT(x, w, c.M, c.K, c.N))).toBeLessThan(1e-6);
      expect(relErr(out[i][1], gTx(g, x, c.M, c.K, c.N))).toBeLessThan(1e-6);
    });
  });
});

describe('spikeMatmul gradients and the linear layer', () => {
  test('linear on a spike input: output, dx = g w, dw = g^T x, db = sum g on both paths equal the matmul path', () => {
    const [T, B, K, N] = [4, 6, 30, 7];
    const xs = spikes(T * B, K, 0.25, 21);
    const res: Record<string, Float32Array[]> = {};
    for (const p of ['sparse', 'dense', 'plain'] as const) {
      manualSeed(4);
      const lin = new nn.Linear(K, N);
      const x = tensor(xs, [T, B, K], { requiresGrad: true });
      const xin = p === 'plain' ? x : markSpikes(x);
      const gOut = tensor(uniform(T * B * N, 9), [T, B, N]);
      const y = withPath(p === 'plain' ? 'dense' : p, () => {
        const out = lin.forward(xin);
        out.mul(gOut).sum().backward();
        return out;
      });
      res[p] = [y.toFloat32Array(), x.grad!.toFloat32Array(), lin.weight.grad!.toFloat32Array(), lin.bias!.grad!.toFloat32Array()];
    }
    res.plain.forEach((want, i) => {
      expect(relErr(res.sparse[i], want)).toBeLessThan(1e-6);
      expect(Array.from(res.dense[i])).toEqual(Array.from(want));
    });
  });

  test('linear sends marked inputs (neuron output, its views and max-pool) to spikeMatmul, others to matmul', () => {
    const spy = jest.spyOn(kernels, 'runKernel');
    const calls = () => spy.mock.calls.map((c) => c[0]);
    try {
      const neuron = new LIFNeuron({ alpha: 0.5, threshold: 0.2 });
      const s = neuron.forward(randn([3, 2, 1, 4, 4]).mul(2)) as Tensor;
      expect(isSpikes(s)).toBe(true);
      const pooled = nn.functional.maxPool2d(ops.reshape(s, [6, 1, 4, 4]), 2);
      expect(isSpikes(pooled)).toBe(true);
      const flatS = ops.flatten(pooled, 1);
      expect(isSpikes(flatS)).toBe(true);
      expect(isSpikes(s.mul(2))).toBe(false);
      spy.mockClear();
      nn.functional.linear(flatS, randn([5, 4]));
      expect(calls()).toContain('spikeMatmul');
      spy.mockClear();
      nn.functional.linear(randn([6, 4]), randn([5, 4]));
      expect(calls()).not.toContain('spikeMatmul');
      expect(calls()).toContain('matmul');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the goldens with the sparse path forced on and off', () => {
  for (const c of loadGoldens())
    test(c.name, () => {
      for (const p of ['sparse', 'dense'])
        withPath(p, () => {
          const { model, nameOf, forward } = buildGoldenNet(c);
          const out = forward();
          const loss = out.mul(tensor(flat(c.readout), out.shape.slice(), { device: out.device })).sum();
          loss.backward();
          expect(Array.from(out.toFloat32Array())).toEqual(flat(c.reference.output));
          const params = Object.fromEntries(model.namedParameters()) as Record<string, Tensor>;
          for (const [k, g] of Object.entries(c.reference.grads))
            expect(relErr(params[nameOf[k]].grad!.toFloat32Array(), flat(g))).toBeLessThan(GOLDEN_TOL.weightGrad);
        });
    });
});

describe('InferenceRunner replays spikeMatmul', () => {
  test('the recorded program calls spikeMatmul for the hidden layer and matches net.forward on every path', () => {
    manualSeed(12);
    const model = new nn.Sequential(new nn.Linear(16, 64), new LIFNeuron({ threshold: 0.3 }), new nn.Linear(64, 8), new LIFNeuron({ threshold: 0.3 }));
    const net = new SNNWrapper(model, { alpha: [0.5, 0.8], alphaMode: 'per_layer' });
    const x = randn([6, 5, 16]).mul(3);
    for (const p of ['sparse', 'dense', 'auto'])
      withPath(p, () => {
        const want = Array.from(noGrad(() => (net.forward(x) as Tensor).mean(0)).toFloat32Array());
        const runner = new InferenceRunner(net);
        const spy = jest.spyOn(kernels, 'runKernel');
        try {
          expect(Array.from(runner.predictSync(x).toFloat32Array())).toEqual(want); // records
          expect(spy.mock.calls.filter((c) => c[0] === 'spikeMatmul').map((c) => c[2])).toEqual([{ path: p }]);
        } finally {
          spy.mockRestore();
        }
        expect(runner.replayable).toBe(true);
        expect(Array.from(runner.predictSync(x).toFloat32Array())).toEqual(want); // replays
        runner.dispose();
      });
  });
});

describe('spikeMatmul bad input', () => {
  const x = tensor(spikes(4, 6, 0.5, 1), [4, 6]), w = randn([3, 6]);
  test.each([
    ['a 1-D x', () => spikeMatmul(tensor([1, 0, 1]), w), /spikeMatmul: x and w must be 2-D, got .*flatten/],
    ['a 3-D w', () => spikeMatmul(x, randn([1, 3, 6])), /spikeMatmul: x and w must be 2-D/],
    ['different input features', () => spikeMatmul(x, randn([3, 5])), /spikeMatmul: x \w+ \[4,6\] and w \w+ \[3,5\] differ in the input features \(x's dim 1, w's dim 1\) \(6 vs 5\)/],
    ['g and x with different rows', () => kernels.runKernel('spikeMatmulWeightGrad', [randn([5, 3]).handle, x.handle], {}), /spikeMatmulWeightGrad: g .* and x .* differ in the rows \(dim 0 of both\) \(5 vs 4\)/],
    ['an int32 operand', () => kernels.runKernel('spikeMatmul', [native.fromInt32(Int32Array.from([1, 0]), [1, 2], 'cpu'), randn([1, 2]).handle], {}), /spikeMatmul: the x is an int32 index tensor/],
    ['a disposed operand', () => { const d = randn([3, 6]); const h = d.handle; d.dispose(); return kernels.runKernel('spikeMatmul', [x.handle, h], {}); }, /spikeMatmul|disposed/],
    ['an unknown FSNN_SPIKE_MATMUL', () => withPath('fast', () => spikeMatmul(x, w)), /spikeMatmul: FSNN_SPIKE_MATMUL='fast' is not a path; use 'auto' \(by the firing rate\), 'sparse' or 'dense'/],
  ])('%s is a clear error', (_what, fn, msg) => expect(fn).toThrow(msg));
});
