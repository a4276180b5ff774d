// Matrix multiplication (2-D and batched with broadcast batch dims, optional transposes).
import { runKernel } from '../kernels/run-kernel';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import { sumTo } from './broadcast';
import { assertTensor, mm, wrap } from './util';

/** Transposes applied to the operands of matmul (without copying them). */
export interface MatmulOptions {
  /** Use the transpose of a's last two dimensions. */
  transA?: boolean;
  /** Use the transpose of b's last two dimensions. */
  transB?: boolean;
}

/** C = op(A) · op(B), op = transpose of the last two dims where asked. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  assertTensor(a, 'matmul');
  assertTensor(b, 'matmul', 'second operand');
  const ta = !!opts.transA, tb = !!opts.transB;
  const out = mm(a, b, ta, tb);
  return record(out, 'matmul', [a, b], (g) => {
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (!ta && !tb) {            // C = A B:      dA = g B^T,   dB = A^T g
      if (a.requiresGrad) ga = mm(g, b, false, true);
      if (b.requiresGrad) gb = mm(a, g, true, false);
    } else if (!ta && tb) {      // C = A B^T:    dA = g B,     dB = g^T A
      if (a.requiresGrad) ga = mm(g, b, false, false);
      if (b.requiresGrad) gb = mm(g, a, true, false);
    } else if (ta && !tb) {      // C = A^T B:    dA = B g^T,   dB = A g
      if (a.requiresGrad) ga = mm(b, g, false, true);
      if (b.requiresGrad) gb = mm(a, g, false, false);
    } else {                     // C = A^T B^T:  dA = B^T g^T, dB = g^T A^T
      if (a.requiresGrad) ga = mm(b, g, true, true);
      if (b.requiresGrad) gb = mm(g, a, true, true);
    }
    return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
  });
}

/** How a Linear fed by spikes multiplies: 'auto' (sparse or dense by the measured firing rate), 'sparse' or 'dense' (forced). */
export type SpikePath = 'auto' | 'sparse' | 'dense';

const SPIKE_PATHS: readonly SpikePath[] = ['auto', 'sparse', 'dense'];

/**
 * The path of the spike-sparse products: FSNN_SPIKE_MATMUL = 'auto' (default: sparse or dense by the
 * measured firing rate, the rule in native/cpu/spike_matmul.cc), 'sparse' or 'dense' (forced: tests,
 * benchmarks/spike-matmul.ts). Read at each call; an InferenceRunner keeps the path it recorded.
 */
export function spikeMatmulPath(): SpikePath {
  const v = process.env.FSNN_SPIKE_MATMUL;
  if (v === undefined || v === '') return 'auto';
  if (!(SPIKE_PATHS as readonly string[]).includes(v))
    throw new Error(`spikeMatmul: FSNN_SPIKE_MATMUL='${v}' is not a path; use 'auto' (by the firing rate), 'sparse' or 'dense'`);
  return v as SpikePath;
}

/**
 * x · wᵀ for a spike input x [M, K] (values 0/1, mostly 0) and w [N, K]: the kernel spikeMatmul sums
 * the weight columns of x's active inputs when the measured firing rate makes that faster than the
 * dense product, else runs the dense one (same result up to float summation order; the CPU only, other
 * devices take the dense matmul). The weight gradient gᵀ x runs over the active inputs the same way.
 * linear() calls it for inputs marked as spikes (lib/ops/spike-marks.ts). @internal
 */
export function spikeMatmul(x: Tensor, w: Tensor): Tensor {
  assertTensor(x, 'spikeMatmul');
  assertTensor(w, 'spikeMatmul', 'weight');
  const path = spikeMatmulPath();
  const out = wrap(runKernel('spikeMatmul', [x.handle, w.handle], { path }));
  // out = x wᵀ:  dx = g w,  dw = gᵀ x (over x's active inputs)
  return record(out, 'spikeMatmul', [x, w], (g) => [
    x.requiresGrad ? mm(g, w, false, false) : null,
    w.requiresGrad ? wrap(runKernel('spikeMatmulWeightGrad', [g.handle, x.handle], { path })) : null,
  ]);
}
