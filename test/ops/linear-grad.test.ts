// The linear layer's kernels (native/ops.cc): 'linear' (x w^T + bias, one pass on the CPU for K <= 16:
// sgemm_small_k's bias row) and linearWeightBiasGrad (native/cpu/linear_grad.cc: {g^T x, g summed over
// rows}, one float64 pass over g for K <= 4 on the CPU, else the matmul and the column sum); and
// nn.functional.linear, whose dense path with a bias is those two.
import { tensor } from '../../lib/creation';
import { runKernel } from '../../lib/kernels/run-kernel';
import '../../lib/ops/methods';
import { linear } from '../../lib/ops/nn';
import { matmul } from '../../lib/ops/linalg';
import { Tensor } from '../../lib/tensor';
import { wrap } from '../../lib/ops/util';
import { testDevice } from '../helpers/device';

function uniform(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

function maxRelErr(got: Float32Array, want: Float64Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; ++i) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / Math.max(scale, 1e-30);
}

describe('linearWeightBiasGrad', () => {
  // K 1, 2, 4: the one-pass body; 5 and 16: the matmul and the column sum. N crosses the column runs.
  for (const [M, N, K] of [[1000, 300, 1], [777, 10, 2], [513, 1, 4], [64, 257, 3], [300, 40, 5], [200, 33, 16], [1, 5, 1]]) {
    test(`g [${M}, ${N}], x [${M}, ${K}]: g^T x against float64, the bias gradient bit for bit the sum over dim 0`, () => {
      const gv = uniform(M * N, M + N), xv = uniform(M * K, 7 * K + 1);
      const g = tensor(gv, [M, N], { device: 'cpu' }), x = tensor(xv, [M, K], { device: 'cpu' });
      const [gwH, gbH] = runKernel('linearWeightBiasGrad', [g.handle, x.handle], {});
      const gw = wrap(gwH), gb = wrap(gbH);
      expect(gw.shape).toEqual([N, K]);
      expect(gb.shape).toEqual([N]);
      const want = new Float64Array(N * K);
      for (let i = 0; i < M; ++i)
        for (let j = 0; j < N; ++j)
          for (let k = 0; k < K; ++k) want[j * K + k] += gv[i * N + j] * xv[i * K + k];
      expect(maxRelErr(gw.toFloat32Array(), want)).toBeLessThan(K <= 4 ? 1e-7 : 1e-5);
      expect(Array.from(gb.toFloat32Array())).toEqual(Array.from(g.sum(0).toFloat32Array()));
    });
  }

  test('past 8,192 rows: the sums follow column_sum.h\'s order exactly (float64 blocks of 8,192 rows, added in order), as the reduction over dim 0 does', () => {
    const [M, N, K] = [20000, 37, 2];
    const gv = uniform(M * N, 5), xv = uniform(M * K, 6);
    const g = tensor(gv, [M, N], { device: 'cpu' }), x = tensor(xv, [M, K], { device: 'cpu' });
    const [gwH, gbH] = runKernel('linearWeightBiasGrad', [g.handle, x.handle], {});
    const blocked = (term: (i: number, j: number) => number) => Float32Array.from({ length: N }, (_, j) => {
      let total = 0;
      for (let r0 = 0; r0 < M; r0 += 8192) {
        let block = 0;
        for (let i = r0; i < Math.min(M, r0 + 8192); ++i) block += term(i, j);
        total += block;
      }
      return total;
    });
    const wantB = blocked((i, j) => gv[i * N + j]);
    expect(Array.from(wrap(gbH).toFloat32Array())).toEqual(Array.from(wantB));
    expect(Array.from(g.sum(0).toFloat32Array())).toEqual(Array.from(wantB));
    const gw = wrap(gwH).toFloat32Array();
    for (let k = 0; k < K; ++k) {
      const want = blocked((i, j) => gv[i * N + j] * xv[i * K + k]);
      expect(Array.from({ length: N }, (_, j) => gw[j * K + k])).toEqual(Array.from(want));
    }
  });

  test(`on the suite's device (${testDevice}; off the CPU the matmul and the sum): the same gradients`, () => {
    const [M, N, K] = [3000, 40, 2];
    const gv = uniform(M * N, 21), xv = uniform(M * K, 22);
    const g = tensor(gv, [M, N]), x = tensor(xv, [M, K]);
    const [gwH, gbH] = runKernel('linearWeightBiasGrad', [g.handle, x.handle], {});
    const want = new Float64Array(N * K);
    for (let i = 0; i < M; ++i) for (let j = 0; j < N; ++j) for (let k = 0; k < K; ++k) want[j * K + k] += gv[i * N + j] * xv[i * K + k];
    expect(maxRelErr(wrap(gwH).toFloat32Array(), want)).toBeLessThan(1e-5);
    expect(Array.from(wrap(gbH).toFloat32Array())).toEqual(Array.from(g.sum(0).toFloat32Array()));
  });

  test('rows that differ, or a 1-D operand, are errors that name the shapes', () => {
    const g = tensor(uniform(12, 1), [4, 3]);
    expect(() => runKernel('linearWeightBiasGrad', [g.handle, tensor(uniform(10, 2), [5, 2]).handle], {})).toThrow(/same rows.*\[4,3\].*\[5,2\]/);
    expect(() => runKernel('linearWeightBiasGrad', [g.handle, tensor(uniform(4, 2), [4]).handle], {})).toThrow(/2-D/);
  });
});

describe("the 'linear' kernel", () => {
  for (const [M, N, K] of [[1000, 256, 1], [37, 33, 16], [50, 7, 17], [9, 300, 40]]) {
    test(`x [${M}, ${K}], w [${N}, ${K}], bias [${N}]: the same bits as matmul then add (K ${K <= 16 ? '<= 16: one pass' : '> 16: two ops'})`, () => {
      const x = tensor(uniform(M * K, M), [M, K]), w = tensor(uniform(N * K, N), [N, K]), b = tensor(uniform(N, K), [N]);
      const y = wrap(runKernel('linear', [x.handle, w.handle, b.handle], {}));
      expect(y.shape).toEqual([M, N]);
      expect(Array.from(y.toFloat32Array())).toEqual(Array.from(matmul(x, w, { transB: true }).add(b).toFloat32Array()));
    });
  }
  test('shapes that do not fit are errors that name them', () => {
    const x = tensor(uniform(12, 1), [4, 3]), w = tensor(uniform(6, 2), [2, 3]);
    expect(() => runKernel('linear', [x.handle, w.handle, tensor([1, 2, 3], [3]).handle], {})).toThrow(/linear: .*do not fit.*\[3\]/);
    expect(() => runKernel('linear', [x.handle, tensor(uniform(8, 2), [2, 4]).handle, tensor([1, 2], [2]).handle], {})).toThrow(/do not fit/);
  });
});

describe('linear with a bias: one autograd node, the same gradients as matmul + add', () => {
  for (const K of [1, 3, 8]) {
    test(`x [2, 50, ${K}] -> 20 features: output, dx, dW, db`, () => {
      const xv = uniform(100 * K, K), wv = uniform(20 * K, 3 + K), bv = uniform(20, 9), gv = uniform(100 * 20, 11);
      const run = (fused: boolean): Float32Array[] => {
        const x = tensor(xv, [2, 50, K], { requiresGrad: true }), w = tensor(wv, [20, K], { requiresGrad: true });
        const b = tensor(bv, [20], { requiresGrad: true });
        const y: Tensor = fused ? linear(x, w, b) : matmul(x.reshape([100, K]), w, { transB: true }).add(b).reshape([2, 50, 20]);
        y.mul(tensor(gv, [2, 50, 20])).sum().backward();
        return [y.toFloat32Array(), x.grad!.toFloat32Array(), w.grad!.toFloat32Array(), b.grad!.toFloat32Array()];
      };
      const [fy, fx, fw, fb] = run(true), [cy, cx, cw, cb] = run(false);
      expect(Array.from(fy)).toEqual(Array.from(cy));
      expect(Array.from(fx)).toEqual(Array.from(cx));
      expect(Array.from(fb)).toEqual(Array.from(cb));
      expect(maxRelErr(fw, Float64Array.from(cw))).toBeLessThan(1e-6);
    });
  }

  test('a frozen bias or weight still gets the other gradient', () => {
    const x = tensor(uniform(30, 1), [10, 3]);
    const w = tensor(uniform(12, 2), [4, 3], { requiresGrad: true }), b = tensor(uniform(4, 3), [4]);
    linear(x, w, b).sum().backward();
    expect(w.grad!.shape).toEqual([4, 3]);
    const w2 = tensor(uniform(12, 2), [4, 3]), b2 = tensor(uniform(4, 3), [4], { requiresGrad: true });
    linear(x, w2, b2).sum().backward();
    expect(Array.from(b2.grad!.toFloat32Array())).toEqual([10, 10, 10, 10]);
  });
});
