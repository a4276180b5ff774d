// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the header parser, a whole-file reader and a
// row reader that reads a range of rows (along the first axis) straight from the file descriptor,
// so files larger than memory can be processed chunk by chunk.
//
// Layout: the magic "\x93NUMPY", major and minor version bytes, the header length (uint16 LE for
// version 1, uint32 LE for versions 2 and 3), then the header: a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (100, 784), } padded with spaces and a final
// newline so that the data starts on a multiple of 64 bytes. The data follows, in C order
// (last index fastest) unless fortran_order is True.
import * as fs from 'fs';

export type NpyDtype = 'float32' | 'float64' | 'uint8' | 'int8' | 'int16' | 'int32' | 'int64';

export interface NpyHeader {
  dtype: NpyDtype;
  /** The descr string as written (e.g. '<f4'). */
  descr: string;
  littleEndian: boolean;
  itemSize: number;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the first data element. */
  dataOffset: number;
  version: [number, number];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<string, [NpyDtype, number]> = {
  f4: ['float32', 4],
  f8: ['float64', 8],
  u1: ['uint8', 1],
  i1: ['int8', 1],
  i2: ['int16', 2],
  i4: ['int32', 4],
  i8: ['int64', 8],
  b1: ['uint8', 1],
};

const SUPPORTED = "float32 ('<f4'), float64 ('<f8'), uint8 ('|u1'), and for labels int8/int16/int32/int64 ('<i1'..'<i8')";

/** How many bytes of the file the header needs at most before it is known (version 1: 10 + 65535). */
export const NPY_PREAMBLE = 12;

/**
 * Parses the header from the first bytes of a .npy file. `bytes` must hold at least the whole
 * header (NPY_PREAMBLE bytes tell its length); `source` names the file in errors.
 */
export function parseNpyHeader(bytes: Uint8Array, source = '<bytes>'): NpyHeader {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    const head = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`npy ${source}: bad magic (${head || 'empty file'}), expected 93 4e 55 4d 50 59 ("\\x93NUMPY"); ` +
      'this is not a .npy file: save the array with numpy.save().');
  }
  const major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3)
    throw new Error(`npy ${source}: format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are); save it again with numpy.save().`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new Error(`npy ${source}: truncated header; the file is incomplete.`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  const dataOffset = start + headerLen;
  if (bytes.length < dataOffset)
    throw new Error(`npy ${source}: truncated header: it declares ${headerLen} header bytes but only ${Math.max(0, bytes.length - start)} follow; the file is incomplete.`);
  const text = Buffer.from(bytes.subarray(start, dataOffset)).toString(major === 3 ? 'utf8' : 'latin1');
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descrM || !fortranM || !shapeM)
    throw new Error(`npy ${source}: the header ${JSON.stringify(text.trim())} lacks ${[!descrM && "'descr'", !fortranM && "'fortran_order'", !shapeM && "'shape'"].filter(Boolean).join(', ')}; the file is damaged or not written by numpy.save().`);
  const descr = descrM[1];
  const dm = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const entry = dm ? DTYPES[`${dm[2]}${dm[3]}`] : undefined;
  if (!dm || !entry)
    throw new Error(`npy ${source}: dtype '${descr}' is not supported; supported are ${SUPPORTED}: convert it with arr.astype(np.float32).`);
  const [dtype, itemSize] = entry;
  const littleEndian = dm[1] !== '>';
  const shapeText = shapeM[1].trim();
  const shape = shapeText === '' ? [] : shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) throw new Error(`npy ${source}: shape (${shapeText}) is not a tuple of non-negative integers; the file is damaged.`);
    return n;
  });
  const fortranOrder = fortranM[1] === 'True';
  return { dtype, descr, littleEndian, itemSize, shape, fortranOrder, dataOffset, version: [major, minor] };
}

/** Converts raw element bytes to numbers (Float32Array for floats and small ints; int64 checked for safe range). */
export function decodeElements(h: Pick<NpyHeader, 'dtype' | 'littleEndian' | 'itemSize'>, bytes: Uint8Array, source: string): Float32Array | Float64Array {
  const n = Math.floor(bytes.length / h.itemSize);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = h.littleEndian;
  switch (h.dtype) {
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, le);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, le);
      return out;
    }
    case 'uint8': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i];
      return out;
    }
    case 'int8': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'int16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, le);
      return out;
    }
    case 'int32': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, le);
      return out;
    }
    case 'int64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(8 * i, le);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER))
          throw new Error(`npy ${source}: int64 element ${i} (${v}) is beyond 2^53; it cannot be a label or an input value.`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** Reads a range of rows of a .npy file through its file descriptor (never the whole file). */
export class NpyReader {
  readonly header: NpyHeader;
  /** Rows along the first axis (1 for a 0-d array). */
  readonly rows: number;
  /** Elements per row (the product of the other dims). */
  readonly rowSize: number;
  private fd: number | null;

  constructor(readonly path: string) {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new Error(`npy ${path}: cannot open the file (${(e as Error).message}); check the path.`);
    }
    this.fd = fd;
    try {
      const pre = Buffer.alloc(NPY_PREAMBLE);
      const got = fs.readSync(fd, pre, 0, NPY_PREAMBLE, 0);
      let headerBytes: Buffer = pre.subarray(0, got);
      if (got >= 12 && headerBytes[6] >= 1 && headerBytes[6] <= 3) {
        const total = headerBytes[6] === 1 ? 10 + headerBytes.readUInt16LE(8) : 12 + headerBytes.readUInt32LE(8);
        if (total > 64 * 1024 * 1024) throw new Error(`npy ${path}: the header claims ${total} bytes; the file is damaged.`);
        headerBytes = Buffer.alloc(total);
        const n = fs.readSync(fd, headerBytes, 0, total, 0);
        headerBytes = headerBytes.subarray(0, n);
      }
      const h = parseNpyHeader(headerBytes, path);
      if (h.fortranOrder && h.shape.length > 1)
        throw new Error(`npy ${path}: the array is stored in Fortran order; only C order is supported: save np.ascontiguousarray(arr) instead.`);
      this.header = h;
      this.rows = h.shape.length ? h.shape[0] : 1;
      this.rowSize = h.shape.slice(1).reduce((a, b) => a * b, 1);
      const expected = h.dataOffset + this.rows * this.rowSize * h.itemSize;
      const size = fs.fstatSync(fd).size;
      if (size < expected)
        throw new Error(`npy ${path}: truncated data: shape (${h.shape.join(', ')}) of ${h.dtype} needs ${expected} bytes, the file has ${size}; the file is incomplete.`);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Rows [start, start + count) as numbers, row-major. */
  read(start: number, count: number): Float32Array | Float64Array {
    if (this.fd === null) throw new Error(`npy ${this.path}: the reader was closed`);
    if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= this.rows))
      throw new RangeError(`npy ${this.path}: rows [${start}, ${start + count}) are outside 0..${this.rows}`);
    const len = count * this.rowSize * this.header.itemSize;
    const buf = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const n = fs.readSync(this.fd, buf, done, len - done, this.header.dataOffset + start * this.rowSize * this.header.itemSize + done);
      if (n === 0) throw new Error(`npy ${this.path}: unexpected end of file at row ${start}; the file is incomplete.`);
      done += n;
    }
    return decodeElements(this.header, buf, this.path);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads a whole .npy file: its shape and its values (as float32, or float64 for float64/int32/int64 data). */
export function readNpy(path: string): { header: NpyHeader; shape: number[]; data: Float32Array | Float64Array } {
  const r = new NpyReader(path);
  try {
    return { header: r.header, shape: r.header.shape.slice(), data: r.read(0, r.rows) };
  } finally {
    r.close();
  }
}
