/**
 * Deterministic, class-stratified train/test split.
 *
 * Quotas: with N samples, class c holding n_c of them, class c gets train_c = floor(nTrain*n_c/N)
 * plus one of the nTrain - sum(floor) leftover places (largest remainder first, ties to the
 * smaller label); test_c is computed the same way from nTest*n_c/N, leftover places going only to
 * classes with samples left after train. So every class's train and test counts are within 1 of
 * its proportional share, and the sets are disjoint.
 *
 * Selection: one Philox stream (seeded by `seed`) shuffles each class's indices in turn (classes in
 * ascending label order, each class using the next n_c - 1 stream elements, see shuffle()); train
 * takes the first train_c of the shuffled class, test the next test_c. Finally train and test are
 * each shuffled (continuing the same stream) so that their classes are interleaved.
 */
import { shuffle } from '../random/philox';

/** Sample indices of a train/test split. */
export interface Split {
  /** Indices of the training samples. */
  train: Int32Array;
  /** Indices of the test samples. */
  test: Int32Array;
}

function checkNonNegInt(v: number, name: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`stratifiedSplit: ${name} must be a non-negative integer, got ${String(v)}.`);
  }
}

/**
 * Largest-remainder allocation of `total` places over classes in proportion to weights n_c / N,
 * never giving class c more than cap[c].
 */
function allocate(total: number, counts: number[], N: number, cap: number[]): number[] {
  const k = counts.length;
  const out = new Array<number>(k);
  const rem = new Array<number>(k);
  let given = 0;
  for (let c = 0; c < k; c++) {
    const num = total * counts[c]; // exact (< 2^53 for any realistic dataset)
    out[c] = Math.min(Math.floor(num / N), cap[c]);
    rem[c] = num - out[c] * N;
    given += out[c];
  }
  const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => rem[b] - rem[a] || a - b);
  let left = total - given;
  // Each pass hands at most one place per class; quotas are within one place of the share, so a
  // single pass suffices unless caps bind, in which case further passes fill remaining capacity.
  while (left > 0) {
    let progressed = false;
    for (const c of order) {
      if (left === 0) break;
      if (out[c] < cap[c]) {
        out[c]++;
        left--;
        progressed = true;
      }
    }
    if (!progressed) throw new Error('stratifiedSplit: internal error: not enough samples to allocate (please report).');
  }
  return out;
}

/**
 * Splits sample indices 0..labels.length-1 into disjoint, class-stratified train and test sets of
 * exactly nTrain and nTest indices, deterministically from `seed`.
 */
export function stratifiedSplit(labels: Int32Array, nTrain: number, nTest: number, seed: number): Split {
  if (!(labels instanceof Int32Array)) {
    throw new TypeError('stratifiedSplit: labels must be an Int32Array (e.g. Int32Array.from(yourLabels)).');
  }
  checkNonNegInt(nTrain, 'nTrain');
  checkNonNegInt(nTest, 'nTest');
  const N = labels.length;
  if (nTrain + nTest > N) {
    throw new RangeError(
      `stratifiedSplit: nTrain + nTest = ${nTrain} + ${nTest} = ${nTrain + nTest} exceeds the ${N} samples available; ` +
        `ask for at most ${N} in total (e.g. nTrain = ${Math.round(N * 0.8)}, nTest = ${N - Math.round(N * 0.8)}).`,
    );
  }
  // Group indices by label (ascending label order).
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const l = labels[i];
    let arr = byLabel.get(l);
    if (!arr) byLabel.set(l, (arr = []));
    arr.push(i);
  }
  const classes = [...byLabel.keys()].sort((a, b) => a - b);
  const members = classes.map((l) => byLabel.get(l)!);
  const counts = members.map((m) => m.length);

  const trainQ = allocate(nTrain, counts, N, counts);
  const testQ = allocate(nTest, counts, N, counts.map((n, c) => n - trainQ[c]));

  const train = new Int32Array(nTrain);
  const test = new Int32Array(nTest);
  let offset = 0;
  let tr = 0;
  let te = 0;
  for (let c = 0; c < classes.length; c++) {
    const idx = shuffle(Int32Array.from(members[c]), seed, offset);
    offset += Math.max(0, idx.length - 1);
    train.set(idx.subarray(0, trainQ[c]), tr);
    tr += trainQ[c];
    test.set(idx.subarray(trainQ[c], trainQ[c] + testQ[c]), te);
    te += testQ[c];
  }
  const trainOut = shuffle(train, seed, offset);
  offset += Math.max(0, nTrain - 1);
  const testOut = shuffle(test, seed, offset);
  return { train: trainOut, test: testOut };
}
