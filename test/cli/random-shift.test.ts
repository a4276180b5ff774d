// randomShift (the CLI's augmentation): each image moves by (dx, dy) in [-k, k]^2 drawn from u, with the
// pixels that enter from outside set to 0. Checked pixel by pixel against the definition.
import { randomShift } from '../../lib/cli/common';

function reference(x: Float32Array, n: number, rows: number, cols: number, k: number, u: Float32Array): Float32Array {
  const out = new Float32Array(x.length), D = rows * cols;
  for (let i = 0; i < n; i++) {
    const dx = Math.min(k, Math.floor(u[2 * i] * (2 * k + 1)) - k);
    const dy = Math.min(k, Math.floor(u[2 * i + 1] * (2 * k + 1)) - k);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const sr = r - dy, sc = c - dx;
        out[i * D + r * cols + c] = sr >= 0 && sr < rows && sc >= 0 && sc < cols ? x[i * D + sr * cols + sc] : 0;
      }
  }
  return out;
}

test.each([[1, 5, 7], [2, 28, 28], [3, 4, 9], [6, 3, 5]])('shift up to %i px of %ix%i images equals the pixel-by-pixel definition', (k, rows, cols) => {
  const n = 40;
  let s = k * 97 + rows;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = Float32Array.from({ length: n * rows * cols }, () => rnd() + 0.01);
  const u = Float32Array.from({ length: 2 * n }, rnd);
  u[0] = 0; u[1] = 0.9999999; // the extreme shifts, -k and +k
  const want = reference(x, n, rows, cols, k, u);
  const got = x.slice();
  randomShift(got, n, rows, cols, k, u);
  expect(Array.from(got)).toEqual(Array.from(want));
  expect(got.some((v, i) => v !== x[i])).toBe(true);
});
