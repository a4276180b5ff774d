// metrics: classification scores from class scores [N, C] (or predicted classes) and labels.
// The predicted class of a row is its largest score, the first one on ties, everywhere here.
import { Tensor } from './tensor';
import { isFloat32Array } from './typed-arrays';

/** Class scores [N, C]: a tensor, or row-major values. */
export type Scores = Tensor | Float32Array;

function scoreValues(scores: Scores, labels: ArrayLike<number>, numClasses: number | undefined, fn: string): { values: Float32Array; C: number } {
  const values = isFloat32Array(scores) ? scores : scores.toFloat32Array();
  const N = labels.length;
  const C = numClasses ?? (isFloat32Array(scores) ? (N ? values.length / N : 0) : scores.shape[scores.ndim - 1]);
  if (!Number.isInteger(C) || values.length !== N * C)
    throw new Error(`${fn}: ${values.length} scores do not form [${N}, ${C}] for ${N} labels; pass scores [N, classes] with one row per label`);
  return { values, C };
}

function argmaxRow(values: Float32Array, i: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (values[i * C + c] > values[i * C + best]) best = c;
  return best;
}

function checkLabel(y: number, C: number, i: number, fn: string): void {
  if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`${fn}: label ${i} is ${y}, outside the classes 0..${C - 1}`);
}

/** Fraction of rows of scores [N, C] whose argmax equals the label. */
export function accuracy(scores: Scores, labels: Int32Array, numClasses?: number): number {
  const { values, C } = scoreValues(scores, labels, numClasses, 'accuracy');
  const N = labels.length;
  let correct = 0;
  for (let i = 0; i < N; i++) if (argmaxRow(values, i, C) === labels[i]) correct++;
  return N ? correct / N : 0;
}

/**
 * Fraction of rows whose label is among the k highest scores. A label's rank counts the classes
 * scoring higher, and those scoring the same with a smaller index (so k = 1 equals accuracy()).
 */
export function topKAccuracy(scores: Scores, labels: Int32Array, k: number, numClasses?: number): number {
  const { values, C } = scoreValues(scores, labels, numClasses, 'topKAccuracy');
  if (!Number.isInteger(k) || k < 1) throw new Error(`topKAccuracy: k = ${k} must be an integer >= 1`);
  const N = labels.length;
  let hits = 0;
  for (let i = 0; i < N; i++) {
    const y = labels[i];
    checkLabel(y, C, i, 'topKAccuracy');
    const s = values[i * C + y];
    let rank = 0;
    for (let c = 0; c < C; c++) {
      const v = values[i * C + c];
      if (v > s || (v === s && c < y)) rank++;
    }
    if (rank < k) hits++;
  }
  return N ? hits / N : 0;
}

/** Predicted classes: each row's argmax of scores [N, C], or the given predictions themselves. */
function predictedClasses(predictions: Scores | Int32Array, labels: Int32Array, numClasses: number | undefined, fn: string): { pred: Int32Array; C: number } {
  if (predictions instanceof Int32Array) {
    if (predictions.length !== labels.length) throw new Error(`${fn}: ${predictions.length} predictions for ${labels.length} labels; give one prediction per label`);
    let largest = 0;
    for (let i = 0; i < labels.length; i++) largest = Math.max(largest, predictions[i], labels[i]);
    const C = numClasses ?? largest + 1;
    predictions.forEach((p, i) => checkLabel(p, C, i, `${fn} (prediction)`));
    return { pred: predictions, C };
  }
  const { values, C } = scoreValues(predictions, labels, numClasses, fn);
  const pred = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) pred[i] = argmaxRow(values, i, C);
  return { pred, C };
}

/**
 * The confusion matrix: m[t][p] counts the samples of true class t predicted as p (rows: labels,
 * columns: predictions, as scikit-learn and torchmetrics). `predictions` are scores [N, C] (argmax
 * taken) or predicted classes; the class count defaults to the scores' width, or 1 + the largest class seen.
 */
export function confusionMatrix(predictions: Scores | Int32Array, labels: Int32Array, numClasses?: number): number[][] {
  const { pred, C } = predictedClasses(predictions, labels, numClasses, 'confusionMatrix');
  const m = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  labels.forEach((y, i) => {
    checkLabel(y, C, i, 'confusionMatrix');
    m[y][pred[i]]++;
  });
  return m;
}

/**
 * Accuracy within each true class (its recall): correct / samples of that class; NaN for a class
 * with no samples. Inputs as confusionMatrix.
 */
export function perClassAccuracy(predictions: Scores | Int32Array, labels: Int32Array, numClasses?: number): number[] {
  const m = confusionMatrix(predictions, labels, numClasses);
  return m.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n ? row[c] / n : NaN;
  });
}
