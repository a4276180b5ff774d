// Deterministic test numbers and a relative-error check shared by the reference-comparison tests.

/** Deterministic numbers in [-1, 1) (mulberry32), rounded to float32 as the tensors store them. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.fround(((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1);
  };
}

/**
 * Worst relative error of actual against a float64 reference: each element's error over
 * max(|expected|, rms(expected)), so that elements that cancel to near zero are judged on the scale
 * of the values that produced them.
 */
export function relError(actual: ArrayLike<number>, expected: number[]): number {
  expect(actual.length).toBe(expected.length);
  const rms = Math.sqrt(expected.reduce((a, x) => a + x * x, 0) / expected.length) || 1e-30;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), rms));
  return worst;
}

export function expectClose(actual: ArrayLike<number>, expected: number[], rtol: number, what: string): void {
  const e = relError(actual, expected);
  if (process.env.SHOW_ERR) console.log(what, e.toExponential(2));
  if (!(e <= rtol)) throw new Error(`${what}: relative error ${e.toExponential(2)} > ${rtol}`);
}
