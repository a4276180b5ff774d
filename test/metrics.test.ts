// metrics: accuracy, top-k accuracy, the confusion matrix and per-class accuracy on small cases
// counted by hand (ties: the first class wins, as accuracy() does).
import { metrics, tensor } from '../lib';

// 5 samples, 3 classes
const scores = tensor([
  [0.1, 0.7, 0.2], // label 1: top-1 right
  [0.5, 0.4, 0.1], // label 1: 2nd
  [0.2, 0.3, 0.5], // label 0: 3rd
  [0.3, 0.3, 0.4], // label 1: ranks 3rd (class 2 higher, class 0 ties with a smaller index)
  [0.6, 0.1, 0.3], // label 0: top-1 right
]);
const labels = Int32Array.from([1, 1, 0, 1, 0]);

test('accuracy and top-k accuracy', () => {
  expect(metrics.accuracy(scores, labels)).toBeCloseTo(2 / 5);
  expect(metrics.topKAccuracy(scores, labels, 1)).toBeCloseTo(2 / 5);
  expect(metrics.topKAccuracy(scores, labels, 2)).toBeCloseTo(3 / 5);
  expect(metrics.topKAccuracy(scores, labels, 3)).toBe(1);
  expect(metrics.topKAccuracy(scores.toFloat32Array(), labels, 2, 3)).toBeCloseTo(3 / 5);
  expect(() => metrics.topKAccuracy(scores, labels, 0)).toThrow(/k = 0 must be an integer >= 1/);
  expect(() => metrics.topKAccuracy(scores, Int32Array.from([1, 1, 0, 1, 3]), 1)).toThrow(/label 4 is 3, outside the classes 0\.\.2/);
});

test('confusion matrix: rows are labels, columns predictions', () => {
  // predictions (argmax, first on ties): 1, 0, 2, 2, 0
  expect(metrics.confusionMatrix(scores, labels)).toEqual([
    [1, 0, 1],
    [1, 1, 1],
    [0, 0, 0],
  ]);
  expect(metrics.confusionMatrix(Int32Array.from([1, 0, 2, 2, 0]), labels)).toEqual(metrics.confusionMatrix(scores, labels));
  expect(metrics.confusionMatrix(Int32Array.from([0, 1]), Int32Array.from([1, 1]), 4)).toEqual([[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  expect(() => metrics.confusionMatrix(Int32Array.from([0]), labels)).toThrow(/1 predictions for 5 labels/);
});

test('per-class accuracy (recall); NaN for an absent class', () => {
  const pc = metrics.perClassAccuracy(scores, labels);
  expect(pc[0]).toBeCloseTo(1 / 2);
  expect(pc[1]).toBeCloseTo(1 / 3);
  expect(pc[2]).toBeNaN();
});

test('scores that do not fit the labels are named', () => {
  expect(() => metrics.accuracy(Float32Array.from([1, 2, 3]), Int32Array.from([0, 1]))).toThrow(/3 scores do not form \[2, 1\.5\] for 2 labels/);
});
