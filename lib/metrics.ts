// metrics: evaluation helpers.
import { Tensor } from './tensor';
import { isFloat32Array } from './typed-arrays';

/** Fraction of rows of scores [N, C] whose argmax equals the label. */
export function accuracy(scores: Tensor | Float32Array, labels: Int32Array, numClasses?: number): number {
  const values = isFloat32Array(scores) ? scores : scores.toFloat32Array();
  const C = numClasses ?? (isFloat32Array(scores) ? values.length / labels.length : scores.shape[scores.ndim - 1]);
  const N = labels.length;
  if (values.length !== N * C) throw new Error(`accuracy: ${values.length} scores do not form [${N}, ${C}] for ${N} labels`);
  let correct = 0;
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (values[i * C + c] > values[i * C + best]) best = c;
    if (best === labels[i]) correct++;
  }
  return N ? correct / N : 0;
}
