// Matrix multiplication (2-D and batched with broadcast batch dims, optional transposes).
import { runKernel } from '../kernels/run-kernel';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import { sumTo } from './broadcast';
import { assertTensor, wrap } from './util';

/** Transposes applied to the operands of matmul (without copying them). */
export interface MatmulOptions {
  /** Use the transpose of a's last two dimensions. */
  transA?: boolean;
  /** Use the transpose of b's last two dimensions. */
  transB?: boolean;
}

const mm = (a: Tensor, b: Tensor, transA: boolean, transB: boolean) => wrap(runKernel('matmul', [a.handle, b.handle], { transA, transB }));

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
