/**
 * The IDX file format (used by the original MNIST distribution, yann.lecun.com/exdb/mnist):
 *
 *   bytes 0-1  zero
 *   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3    number of dimensions n
 *   then n big-endian uint32 sizes, then the elements, big-endian, row-major (last index fastest).
 *
 * Files compressed with gzip (magic 1f 8b, as distributed: `*.gz`) are decompressed transparently.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as buffer from 'buffer';

/** Element types of the IDX format (the third byte of the magic number). */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
/** The typed array an IDX file decodes to, by element type. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX file: its dimensions, element type and values. */
export interface IdxArray {
  /** Element type. */
  type: IdxType;
  /** Dimensions, outermost first (e.g. [60000, 28, 28]). */
  dims: number[];
  /** Values in row-major order. */
  data: IdxData;
}

/** IDX type byte -> [name, bytes per element]. */
export const IDX_TYPES: Readonly<Record<number, readonly [IdxType, number]>> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

const GZIP_BAD = 'the file is damaged or incomplete: download it again.';

/** The sizes an IDX header declares, and the byte length they imply (checked not to pass 2^53). */
function declaredSize(view: DataView, nd: number, size: number, source: string): { dims: number[]; count: number; expected: number } {
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (!dims.includes(0))
    for (const d of dims) {
      if (count > Number.MAX_SAFE_INTEGER / size / d)
        throw new Error(`IDX ${source}: dims [${dims.join(', ')}] declare more than 2^53 bytes of data; ${GZIP_BAD}`);
      count *= d;
    }
  else count = 0;
  return { dims, count, expected: 4 + 4 * nd + count * size };
}

/** Where the deflate data of a gzip member starts (RFC 1952: fixed 10 bytes, then optional fields). */
function gzipHeaderLength(b: Uint8Array): number {
  const flags = b[3];
  let i = 10;
  if (flags & 4) i += 2 + (b[i] | (b[i + 1] << 8)); // FEXTRA
  if (flags & 8) while (i < b.length && b[i++] !== 0); // FNAME, zero-terminated
  if (flags & 16) while (i < b.length && b[i++] !== 0); // FCOMMENT
  if (flags & 2) i += 2; // FHCRC
  return Math.min(i, b.length);
}

/**
 * Inflates a gzip-compressed IDX file without trusting it: first only enough of the stream to read
 * the IDX header (a few KB of input, so at most a few MB of output), then the whole stream with
 * the output capped at the size that header declares. A gzip bomb therefore never allocates more
 * than the declared size, and data past it (or past the gzip stream) is rejected as in plain IDX.
 */
function gunzipIdx(bytes: Uint8Array, source: string): Uint8Array {
  const fail = (what: string): never => {
    throw new Error(`IDX ${source}: ${what}; ${GZIP_BAD}`);
  };
  let head: Uint8Array;
  try {
    const prefix = bytes.subarray(0, Math.min(bytes.length, gzipHeaderLength(bytes) + 4096));
    head = zlib.gunzipSync(prefix, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (e) {
    return fail(`starts with the gzip magic but does not decompress (${(e as Error).message})`);
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || !IDX_TYPES[head[2]] || head.length < 4 + 4 * head[3])
    return parsePlainHeaderOnly(head, source);
  const size = IDX_TYPES[head[2]][1];
  const { dims, expected } = declaredSize(new DataView(head.buffer, head.byteOffset, head.byteLength), head[3], size, source);
  if (expected > buffer.constants.MAX_LENGTH)
    fail(`dims [${dims.join(', ')}] declare ${expected} bytes, more than one buffer can hold`);
  let out: { buffer: Buffer; engine: zlib.Gzip };
  try {
    out = zlib.gunzipSync(bytes, { maxOutputLength: Math.max(expected, 1), info: true }) as unknown as { buffer: Buffer; engine: zlib.Gzip };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      return fail(`trailing bytes after the data: it decompresses to more than the ${expected} bytes its dims [${dims.join(', ')}] declare`);
    return fail(`starts with the gzip magic but does not decompress (${(e as Error).message})`);
  }
  if (out.engine.bytesWritten !== bytes.length)
    fail(`trailing bytes after the gzip stream (${bytes.length - out.engine.bytesWritten} of ${bytes.length} bytes are not part of it)`);
  return new Uint8Array(out.buffer.buffer, out.buffer.byteOffset, out.buffer.byteLength);
}

/** A decompressed prefix too short or malformed for an IDX header: parse it for the usual message. */
function parsePlainHeaderOnly(head: Uint8Array, source: string): never {
  parseIdx(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b ? head.subarray(0, 1) : head, `${source} (decompressed)`);
  throw new Error(`IDX ${source}: the decompressed header is malformed; ${GZIP_BAD}`);
}

/**
 * Parses an IDX file's bytes (gzip-compressed or not). `source` names the bytes in error messages.
 */
export function parseIdx(bytes: Uint8Array, source = '<bytes>'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(bytes, source);
  if (bytes.length < 4) {
    throw new Error(
      `IDX ${source}: truncated header: ${bytes.length} bytes, an IDX file starts with a 4-byte magic; ` +
        `the file is empty or incomplete: download it again.`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const head = Array.from(bytes.subarray(0, 4), hex).join(' ');
    const looksText = bytes[0] === 0x3c /* '<' */ || bytes[0] === 0x7b; /* '{' */
    throw new Error(
      `IDX ${source}: bad magic ${head}, expected 00 00 <type> <dims>; this is not an IDX file` +
        (looksText ? ' (it looks like text or HTML, e.g. an error page saved by a failed download)' : '') +
        `: point to the original IDX file (optionally .gz).`,
    );
  }
  const typeByte = bytes[2];
  const t = IDX_TYPES[typeByte];
  if (!t) {
    throw new Error(
      `IDX ${source}: unknown element type byte 0x${hex(typeByte)}; supported are 0x08 uint8, 0x09 int8, ` +
        `0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64: the file is damaged or not IDX.`,
    );
  }
  const [type, size] = t;
  const nd = bytes[3];
  const headerBytes = 4 + 4 * nd;
  if (bytes.length < headerBytes) {
    throw new Error(
      `IDX ${source}: truncated header: ${nd} dimensions need ${headerBytes} header bytes, the file has ${bytes.length}; ` +
        `the file is incomplete: download it again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { dims, count, expected } = declaredSize(view, nd, size, source);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated data' : 'trailing bytes after the data';
    throw new Error(
      `IDX ${source}: ${what}: dims [${dims.join(', ')}] of ${type} need ${expected} bytes ` +
        `(${headerBytes} header + ${count * size} data), the file has ${bytes.length}; ` +
        `the file is damaged or incomplete: download it again.`,
    );
  }
  let data: IdxData;
  switch (type) {
    case 'uint8':
    case 'int8': {
      // Copy into a fresh plain array (the input may be a pooled Buffer or a view).
      const a = new Uint8Array(count);
      a.set(bytes.subarray(headerBytes, expected));
      data = type === 'uint8' ? a : new Int8Array(a.buffer);
      break;
    }
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(headerBytes + 2 * i, false);
      data = a;
      break;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(headerBytes + 4 * i, false);
      data = a;
      break;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(headerBytes + 4 * i, false);
      data = a;
      break;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(headerBytes + 8 * i, false);
      data = a;
      break;
    }
  }
  return { type, dims, data };
}

/** Reads and parses an IDX file (gzip-compressed or not). */
export function readIdxFile(file: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`IDX ${file}: cannot read the file (${(e as Error).message}); check the path.`);
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/** Images scaled to [0, 1] with their labels (a Dataset), and the image size. */
export interface ImageSet {
  /** count * rows * cols grey levels in [0, 1] (raw byte / 255). */
  images: Float32Array;
  /** count labels in 0..9. */
  labels: Int32Array;
  /** Number of images. */
  count: number;
  /** Image height in pixels. */
  rows: number;
  /** Image width in pixels. */
  cols: number;
}

/** The two MNIST sets read from a directory of IDX files. */
export interface MnistFiles {
  /** train-images / train-labels (60,000 digits). */
  train: ImageSet;
  /** t10k-images / t10k-labels (10,000 digits). */
  test: ImageSet;
}

/** File names tried for each MNIST part, in order. */
export function mnistFileCandidates(stem: 'train-images' | 'train-labels' | 't10k-images' | 't10k-labels'): string[] {
  const kind = stem.endsWith('images') ? 'idx3-ubyte' : 'idx1-ubyte';
  const names = [`${stem}-${kind}`, `${stem}.${kind}`];
  return [...names, ...names.map((n) => `${n}.gz`)];
}

function findFile(dir: string, stem: Parameters<typeof mnistFileCandidates>[0]): string {
  const names = mnistFileCandidates(stem);
  for (const n of names) {
    const p = path.join(dir, n);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(
    `loadMnistDirectory: no ${stem} file in ${dir}; looked for ${names.join(', ')}. ` +
      `Put the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, ` +
      `t10k-labels-idx1-ubyte, optionally .gz) in that directory or pass the directory that holds them.`,
  );
}

function loadPart(dir: string, prefix: 'train' | 't10k'): ImageSet {
  const imgFile = findFile(dir, `${prefix}-images`);
  const lblFile = findFile(dir, `${prefix}-labels`);
  const img = readIdxFile(imgFile);
  const lbl = readIdxFile(lblFile);
  if (img.type !== 'uint8' || img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new Error(
      `loadMnistDirectory: ${imgFile} holds ${img.type} with dims [${img.dims.join(', ')}], but MNIST images are ` +
        `uint8 [count, 28, 28]; check that this is the images file (not the labels) of 28x28 MNIST.`,
    );
  }
  if (lbl.type !== 'uint8' || lbl.dims.length !== 1) {
    throw new Error(
      `loadMnistDirectory: ${lblFile} holds ${lbl.type} with dims [${lbl.dims.join(', ')}], but MNIST labels are ` +
        `uint8 [count]; check that this is the labels file.`,
    );
  }
  const count = img.dims[0];
  if (lbl.dims[0] !== count) {
    throw new Error(
      `loadMnistDirectory: ${imgFile} has ${count} images but ${lblFile} has ${lbl.dims[0]} labels; ` +
        `they must match: use the images and labels files of the same set (train or t10k).`,
    );
  }
  const raw = img.data as Uint8Array;
  const lab = lbl.data as Uint8Array;
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    if (lab[i] > 9) {
      throw new Error(
        `loadMnistDirectory: ${lblFile} label ${i} is ${lab[i]}, outside 0..9; this is not an MNIST digits labels file ` +
          `(or it is damaged): download it again.`,
      );
    }
    labels[i] = lab[i];
  }
  const images = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) images[i] = raw[i] / 255;
  return { images, labels, count, rows: 28, cols: 28 };
}

/**
 * Loads the original MNIST IDX files from a directory: train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (also the
 * `train-images.idx3-ubyte` spelling, and either compressed as `.gz`).
 */
export function loadMnistDirectory(dir: string): MnistFiles {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`loadMnistDirectory: ${dir} is not a directory; pass the directory holding the MNIST IDX files.`);
  }
  return { train: loadPart(dir, 'train'), test: loadPart(dir, 't10k') };
}

/** An IDX file of unsigned bytes (type 0x08) with the given dims. */
export function encodeIdxUint8(dims: number[], data: Uint8Array): Buffer {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeIdxUint8: dims [${dims}] need ${count} bytes, got ${data.length}`);
  const out = Buffer.alloc(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
