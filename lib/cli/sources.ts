// Input files for batch inference, read chunk by chunk: .npy (through its file descriptor, by row
// range), IDX (plain: through its file descriptor; gzip: decompressed as a stream), and JSON (read
// whole: JSON cannot be parsed in pieces without a streaming parser, so keep JSON inputs modest).
// The format is recognised from the file's first bytes, not its name.
import * as fs from 'fs';
import * as zlib from 'zlib';
import { IDX_TYPES, IdxType } from '../data/idx';
import { NpyReader } from './npy';

export type InputFormat = 'npy' | 'idx' | 'idx.gz' | 'json';

export interface InputSource {
  readonly path: string;
  readonly format: InputFormat;
  /** Samples in the file. */
  readonly count: number;
  /** The shape of one sample (e.g. [28, 28] or [784]). */
  readonly sampleShape: number[];
  /** Values per sample. */
  readonly features: number;
  /** How the values are stored: 'uint8', 'float32', ... ('number' for JSON). */
  readonly storage: string;
  /** Labels carried by the input itself (JSON), else null. */
  readonly labels: Int32Array | null;
  /** The next `maxRows` samples (fewer at the end), row-major values, in an array the caller may modify; null when done. */
  next(maxRows: number): Promise<Float32Array | Float64Array | null>;
  close(): void;
}

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

/** Detects the format from the first bytes. */
export function detectFormat(path: string): InputFormat {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Error(`cannot open ${path} (${(e as Error).message}); check the path`);
  }
  const head = Buffer.alloc(64);
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 64, 0);
  } finally {
    fs.closeSync(fd);
  }
  const b = head.subarray(0, n);
  if (n >= 6 && b[0] === 0x93 && b.subarray(1, 6).toString('latin1') === 'NUMPY') return 'npy';
  if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'idx.gz';
  if (n >= 4 && b[0] === 0 && b[1] === 0 && IDX_TYPES[b[2]]) return 'idx';
  const text = b.toString('utf8').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  if (n >= 2 && b[0] === 0x50 && b[1] === 0x4b)
    throw new Error(`${path} is a zip archive (.npz?); save a single array with numpy.save() (a .npy file) instead`);
  throw new Error(`${path}: unknown input format (first bytes ${Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ') || 'none: empty file'}); ` +
    'give a .npy file (numpy.save), an IDX file (optionally .gz, as MNIST is distributed) or JSON ([[...], ...] or {"inputs": [...], "labels": [...]})');
}

/** Sequential bytes from a file: exactly n bytes per read, fewer only at the end of the data. */
interface ByteSource {
  read(n: number): Promise<Buffer>;
  close(): void;
}

class FdBytes implements ByteSource {
  private fd: number | null;
  private pos = 0;
  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
  }
  async read(n: number): Promise<Buffer> {
    const buf = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const k = fs.readSync(this.fd!, buf, done, n - done, this.pos);
      if (k === 0) break;
      done += k;
      this.pos += k;
    }
    return done === n ? buf : buf.subarray(0, done);
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

class GunzipBytes implements ByteSource {
  private readonly stream: fs.ReadStream;
  private readonly iter: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;
  constructor(readonly path: string) {
    this.stream = fs.createReadStream(path, { highWaterMark: 1 << 20 });
    const gunzip = zlib.createGunzip();
    this.stream.on('error', (e) => gunzip.destroy(e));
    this.iter = this.stream.pipe(gunzip)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  async read(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && !this.ended) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.iter.next();
      } catch (e) {
        throw new Error(`${this.path}: gzip data does not decompress (${(e as Error).message}); the file is damaged or incomplete: download it again`);
      }
      if (r.done) this.ended = true;
      else {
        this.pending.push(r.value);
        this.pendingBytes += r.value.length;
      }
    }
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }
  close(): void {
    this.stream.destroy();
  }
}

function decodeIdx(type: IdxType, bytes: Buffer): Float32Array | Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'uint8': return new Float32Array(bytes); // element-wise conversion in one native pass (from() iterates)
    case 'int8': return new Float32Array(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    case 'int16': { const o = new Float32Array(bytes.length / 2); for (let i = 0; i < o.length; i++) o[i] = view.getInt16(2 * i, false); return o; }
    case 'int32': { const o = new Float64Array(bytes.length / 4); for (let i = 0; i < o.length; i++) o[i] = view.getInt32(4 * i, false); return o; }
    case 'float32': { const o = new Float32Array(bytes.length / 4); for (let i = 0; i < o.length; i++) o[i] = view.getFloat32(4 * i, false); return o; }
    case 'float64': { const o = new Float64Array(bytes.length / 8); for (let i = 0; i < o.length; i++) o[i] = view.getFloat64(8 * i, false); return o; }
  }
}

/** An IDX file read record by record (plain or gzip). */
export async function openIdx(path: string, gz: boolean): Promise<InputSource> {
  const src: ByteSource = gz ? new GunzipBytes(path) : new FdBytes(path);
  try {
    const magic = await src.read(4);
    if (magic.length < 4 || magic[0] !== 0 || magic[1] !== 0 || !IDX_TYPES[magic[2]])
      throw new Error(`IDX ${path}: bad magic ${Array.from(magic, (x) => x.toString(16).padStart(2, '0')).join(' ')}, expected 00 00 <type> <dims>; this is not an IDX file`);
    const [type, size] = IDX_TYPES[magic[2]];
    const nd = magic[3];
    if (nd < 1) throw new Error(`IDX ${path}: 0 dimensions; an input file needs at least [count]`);
    const dimBytes = await src.read(4 * nd);
    if (dimBytes.length < 4 * nd) throw new Error(`IDX ${path}: truncated header; the file is incomplete: download it again`);
    const dims = Array.from({ length: nd }, (_, i) => dimBytes.readUInt32BE(4 * i));
    const count = dims[0], sampleShape = dims.slice(1), features = prod(sampleShape);
    if (!gz) {
      const expected = 4 + 4 * nd + count * features * size;
      const actual = fs.statSync(path).size;
      if (actual !== expected)
        throw new Error(`IDX ${path}: dims [${dims.join(', ')}] of ${type} need ${expected} bytes, the file has ${actual}; the file is damaged or incomplete: download it again`);
    }
    let done = 0;
    return {
      path, format: gz ? 'idx.gz' : 'idx', count, sampleShape, features, storage: type, labels: null,
      async next(maxRows: number) {
        if (done >= count) return null;
        const rows = Math.min(maxRows, count - done);
        const want = rows * features * size;
        const bytes = await src.read(want);
        if (bytes.length < want) throw new Error(`IDX ${path}: the data ends after ${done + Math.floor(bytes.length / (features * size))} of ${count} records; the file is incomplete: download it again`);
        done += rows;
        return decodeIdx(type, bytes);
      },
      close: () => src.close(),
    };
  } catch (e) {
    src.close();
    throw e;
  }
}

/** A .npy file read by row ranges through its file descriptor. */
export function openNpy(path: string): InputSource {
  const r = new NpyReader(path);
  const shape = r.header.shape;
  if (shape.length === 0) {
    r.close();
    throw new Error(`npy ${path}: a 0-d array holds no samples; save an array [count, ...features]`);
  }
  let done = 0;
  return {
    path, format: 'npy', count: r.rows, sampleShape: shape.slice(1), features: r.rowSize, storage: r.header.dtype, labels: null,
    async next(maxRows: number) {
      if (done >= r.rows) return null;
      const rows = Math.min(maxRows, r.rows - done);
      const out = r.read(done, rows);
      done += rows;
      return out;
    },
    close: () => r.close(),
  };
}

function flattenNumbers(v: unknown, out: number[], where: string): void {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${where}: ${v} is not a finite number`);
    out.push(v);
  } else if (Array.isArray(v)) {
    for (const x of v) flattenNumbers(x, out, where);
  } else {
    throw new Error(`${where}: expected numbers or arrays of numbers, got ${v === null ? 'null' : typeof v}`);
  }
}

function shapeOf(v: unknown): number[] {
  const s: number[] = [];
  while (Array.isArray(v)) {
    s.push(v.length);
    v = v[0];
  }
  return s;
}

/**
 * A JSON input: [[...], ...] (samples, each a flat or nested array), {"inputs": [...], "labels": [...]}
 * (also "x"/"images" and "y"), or [{"input": [...], "label": 3}, ...].
 */
export function openJson(path: string): InputSource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  let samples: unknown[];
  let labels: unknown[] | null = null;
  const pick = (o: Record<string, unknown>, keys: string[]) => keys.map((k) => o[k]).find((v) => v !== undefined);
  if (Array.isArray(parsed)) {
    if (parsed.length && parsed[0] !== null && typeof parsed[0] === 'object' && !Array.isArray(parsed[0])) {
      const objs = parsed as Record<string, unknown>[];
      samples = objs.map((o) => pick(o, ['input', 'x', 'image']));
      const l = objs.map((o) => pick(o, ['label', 'y']));
      if (l.every((v) => v !== undefined)) labels = l;
      if (samples.some((s) => s === undefined)) throw new Error(`${path}: every object needs an "input" (or "x", "image") array`);
    } else samples = parsed;
  } else if (parsed && typeof parsed === 'object') {
    const o = parsed as Record<string, unknown>;
    const s = pick(o, ['inputs', 'x', 'images', 'data']);
    if (!Array.isArray(s)) throw new Error(`${path}: expected an "inputs" array (or "x", "images", "data") of samples`);
    samples = s;
    const l = pick(o, ['labels', 'y']);
    if (l !== undefined) {
      if (!Array.isArray(l)) throw new Error(`${path}: "labels" must be an array of class indices`);
      labels = l;
    }
  } else {
    throw new Error(`${path}: expected an array of samples or an object {"inputs": [...], "labels": [...]}`);
  }
  if (samples.length === 0) throw new Error(`${path}: no samples`);
  const sampleShape = shapeOf(samples[0]);
  const features = prod(sampleShape);
  const values = new Float64Array(samples.length * features);
  samples.forEach((s, i) => {
    const flat: number[] = [];
    flattenNumbers(s, flat, `${path}: sample ${i}`);
    if (flat.length !== features) throw new Error(`${path}: sample ${i} has ${flat.length} values, sample 0 has ${features}; every sample needs the same size`);
    values.set(flat, i * features);
  });
  let labelArr: Int32Array | null = null;
  if (labels) {
    if (labels.length !== samples.length) throw new Error(`${path}: ${labels.length} labels for ${samples.length} samples; give one label per sample`);
    labelArr = Int32Array.from(labels.map((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${path}: label ${i} is ${JSON.stringify(v)}; labels must be class indices (integers >= 0)`);
      return v;
    }));
  }
  let done = 0;
  return {
    path, format: 'json', count: samples.length, sampleShape, features, storage: 'number', labels: labelArr,
    async next(maxRows: number) {
      if (done >= samples.length) return null;
      const rows = Math.min(maxRows, samples.length - done);
      const out = values.subarray(done * features, (done + rows) * features);
      done += rows;
      return out;
    },
    close: () => undefined,
  };
}

/** Opens any supported input file. */
export async function openInput(path: string): Promise<InputSource> {
  const format = detectFormat(path);
  switch (format) {
    case 'npy': return openNpy(path);
    case 'idx': return openIdx(path, false);
    case 'idx.gz': return openIdx(path, true);
    case 'json': return openJson(path);
  }
}
