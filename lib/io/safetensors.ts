/**
 * Checkpoints in the safetensors format, in pure TypeScript (no native addon).
 *
 * Layout of a file:
 *
 *   [8 bytes]  N, the header length, unsigned 64-bit little-endian
 *   [N bytes]  UTF-8 JSON header:
 *                {"__metadata__": {string: string},            (optional)
 *                 "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 *              possibly padded at the end with spaces
 *   [rest]     the data section: tensors packed back to back, row-major, little-endian;
 *              data_offsets are byte offsets relative to the start of the data section.
 *
 * Writing: float32 only (dtype "F32"). The output is deterministic and laid out like the reference
 * implementation does it: "__metadata__" first (omitted when empty), tensors sorted by the UTF-8 bytes
 * of their names, data packed in the same order, header padded with spaces so the data section starts
 * on an 8-byte boundary.
 *
 * Reading: F32 is read as is. F64, F16 and BF16 (which PyTorch and numpy users often save) are accepted
 * and CONVERTED to float32 on load: F64 is rounded to the nearest float32 (values beyond the float32
 * range become +/-Infinity), F16 and BF16 convert exactly. Every other dtype (I64, U8, BOOL, ...) is
 * rejected with an error naming the tensor. The whole header is validated (entries, offsets in range,
 * no overlaps or gaps, byte counts, data section length) before any tensor memory is allocated, and
 * the header length is capped at 100 MB, so a corrupt or hostile length field cannot make us
 * allocate gigabytes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { constants as bufferConstants } from 'buffer';
import { isFloat32Array, isUint8Array } from '../typed-arrays';

/** A tensor as read back from a file (always float32 after conversion). */
export interface StoredTensor {
  /** Element type (float32 only). */
  dtype: 'F32';
  /** Dimensions. */
  shape: number[];
  /** Values, row-major. */
  data: Float32Array;
}

/** Tensors to write: name -> row-major float32 data with its shape. */
export type TensorMap = Record<string, {
  /** Dimensions. */
  shape: number[];
  /** Row-major float32 values. */
  data: Float32Array;
}>;

/** What a safetensors file holds: named tensors and string metadata. */
export interface SafetensorsContents {
  /** The tensors by name. */
  tensors: Record<string, StoredTensor>;
  /** The header's "__metadata__" entries. */
  metadata: Record<string, string>;
}

/** Thrown for every problem with safetensors input or output; the message names the file and the fix. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Largest header we accept, in bytes (the reference implementation uses the same limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Byte size of every dtype the format defines, so errors can say what a foreign dtype is. */
const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8, C64: 8,
};
type ReadableDtype = 'F32' | 'F64' | 'F16' | 'BF16';
const READABLE: Record<ReadableDtype, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };
const CONVERT_FIX =
  'Fix: convert it to a floating type before saving, e.g. `t.float()` in PyTorch or `a.astype(numpy.float32)` in numpy.';

interface HeaderEntry {
  name: string;
  dtype: ReadableDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface ParsedHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

function fail(source: string, message: string): never {
  throw new SafetensorsError(`${source}: ${message}`);
}

/** Sets a key as an own property, even "__proto__", without touching the prototype. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Escapes control characters and shortens, so binary garbage cannot mangle an error message. */
function printable(text: string, max = 160): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Number of elements of a shape, or undefined if it does not fit in a safe integer. */
function elementCount(shape: number[]): number | undefined {
  if (shape.some((d) => d === 0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo];
      bytes[lo] = bytes[hi];
      bytes[hi] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------------

interface EncodingPlan {
  /** Length prefix + padded JSON header. */
  head: Buffer;
  /** Little-endian tensor bytes, in data-section order. */
  parts: Uint8Array[];
  totalBytes: number;
}

function planEncoding(tensors: TensorMap, metadata: Record<string, string> | undefined, source: string): EncodingPlan {
  if (!isPlainObject(tensors)) {
    fail(source, `tensors must be an object mapping names to { shape, data }, got ${describe(tensors)}.`);
  }
  const names = Object.keys(tensors).sort(compareUtf8);
  const fields: string[] = [];

  if (metadata !== undefined && metadata !== null) {
    if (!isPlainObject(metadata)) {
      fail(source, `metadata must be an object of string values, got ${describe(metadata)}.`);
    }
    const keys = Object.keys(metadata).sort(compareUtf8);
    const items: string[] = [];
    for (const k of keys) {
      const v = (metadata as Record<string, unknown>)[k];
      if (typeof v !== 'string') {
        fail(source, `metadata value for "${k}" is ${describe(v)}, but safetensors metadata values must be strings. ` +
          'Fix: convert it first, e.g. String(x) or JSON.stringify(x).');
      }
      items.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    if (items.length > 0) fields.push(`${JSON.stringify(METADATA_KEY)}:{${items.join(',')}}`);
  }

  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) {
      fail(source, `"${METADATA_KEY}" cannot be used as a tensor name; the format reserves it. Fix: rename the tensor.`);
    }
    const t = (tensors as Record<string, unknown>)[name];
    if (!isPlainObject(t)) {
      fail(source, `tensor "${name}" must be an object { shape, data }, got ${describe(t)}.`);
    }
    const shape = t.shape;
    const data = t.data;
    if (!Array.isArray(shape) || !shape.every(isSize)) {
      fail(source, `tensor "${name}" has shape ${describe(shape)}; a shape must be an array of non-negative integers ` +
        '([] for a scalar).');
    }
    if (!isFloat32Array(data)) {
      const what = data === null || data === undefined ? String(data) : (data as object).constructor?.name ?? typeof data;
      fail(source, `tensor "${name}" has data of type ${what}; only Float32Array is written (dtype F32). ` +
        'Fix: pass Float32Array.from(values).');
    }
    const count = elementCount(shape);
    if (count === undefined || count !== data.length) {
      fail(source, `tensor "${name}" has shape [${shape.join(', ')}] (${count ?? 'too many'} elements) but its data ` +
        `holds ${data.length} values. Fix: make the shape match the data (a scalar is shape [] with 1 value).`);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let part: Uint8Array = bytes;
    if (!LITTLE_ENDIAN) {
      part = Uint8Array.from(bytes);
      swapBytes(part, 4);
    }
    parts.push(part);
    const begin = offset;
    offset += data.byteLength;
    fields.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${shape.join(',')}],"data_offsets":[${begin},${offset}]}`);
  }

  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) {
    fail(source, `the header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers accept. ` +
      'Fix: store fewer tensors or less metadata per file.');
  }
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  return { head, parts, totalBytes: head.length + offset };
}

/**
 * Encodes float32 tensors (and optional string metadata) as a safetensors file image.
 * Deterministic: tensors are sorted by name, "__metadata__" comes first, the header is space-padded
 * to a multiple of 8 bytes. Throws SafetensorsError when a shape does not match its data.
 */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Buffer {
  const plan = planEncoding(tensors, metadata, 'encodeSafetensors');
  if (plan.totalBytes > bufferConstants.MAX_LENGTH) {
    fail('encodeSafetensors', `the file would be ${plan.totalBytes} bytes, more than one Buffer can hold. ` +
      'Fix: use writeSafetensorsFile, which streams the tensors to disk.');
  }
  const out = Buffer.allocUnsafe(plan.totalBytes);
  plan.head.copy(out, 0);
  let at = plan.head.length;
  for (const p of plan.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Header parsing and validation (shared by buffer and file readers)
// ---------------------------------------------------------------------------------------------------------

/**
 * Checks the 8-byte length prefix against the bytes available; returns N as a number.
 * `available` is the total size of the file or buffer.
 */
function checkHeaderLength(prefix: Uint8Array, available: number, source: string): number {
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  const notSafetensors = prefix[0] === 0x50 && prefix[1] === 0x4b
    ? ' It starts like a zip archive: a PyTorch torch.save() .pt file is not safetensors. ' +
      'Fix: save it with safetensors.torch.save_file(state_dict, path).'
    : '';
  if (n > BigInt(available - 8)) {
    fail(source, `the header length field says ${n} bytes but only ${available - 8} bytes follow it: ` +
      `the file is truncated or is not a safetensors file.${notSafetensors || ' Fix: re-save or re-download the checkpoint.'}`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(source, `the header length field says ${n} bytes, over the ${MAX_HEADER_BYTES}-byte limit; ` +
      `the file is corrupt or not a safetensors file.${notSafetensors || ' Fix: re-save the checkpoint.'}`);
  }
  if (n < 2n) {
    fail(source, `the header length field says ${n} bytes, too short for a JSON header (the smallest is "{}"). ` +
      'Fix: re-save the checkpoint.');
  }
  return Number(n);
}

/**
 * The first key that appears twice within one object of a JSON text, or null. JSON.parse keeps the
 * last of duplicate keys silently; a header that names a tensor twice is ambiguous, so it is an error.
 * The text must already be valid JSON (it is scanned, not validated).
 */
export function firstDuplicateKey(text: string): string | null {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top && top.keys) top.expectKey = true;
    }
  }
  return null;
}

function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(source, 'the header is not valid UTF-8: the file is corrupt or not a safetensors file. Fix: re-save the checkpoint.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, `the header is not valid JSON (${printable((e as Error).message)}); the file is corrupt or not a ` +
      'safetensors file. ' +
      'Fix: re-save the checkpoint.');
  }
  if (!isPlainObject(json)) {
    fail(source, `the header must be a JSON object of tensor entries, got ${describe(json)}. Fix: re-save the checkpoint.`);
  }

  const duplicate = firstDuplicateKey(text);
  if (duplicate !== null) {
    fail(source, `the header names ${printable(JSON.stringify(duplicate))} twice; a safetensors header holds each tensor and ` +
      'metadata key once. Fix: re-save the checkpoint with unique names.');
  }
  const metadata: Record<string, string> = Object.create(null);
  const entries: HeaderEntry[] = [];
  for (const name of Object.keys(json)) {
    const value = json[name];
    if (name === METADATA_KEY) {
      if (!isPlainObject(value)) {
        fail(source, `"${METADATA_KEY}" must be an object of strings, got ${describe(value)}.`);
      }
      for (const k of Object.keys(value)) {
        if (typeof value[k] !== 'string') {
          fail(source, `metadata value for "${k}" is ${describe(value[k])}; safetensors metadata values must be strings. ` +
            'Fix: store it as a string (e.g. JSON-encoded) when writing.');
        }
        setOwn(metadata, k, value[k] as string);
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isPlainObject(value)) {
      fail(source, `${where} has header entry ${describe(value)}; expected {"dtype", "shape", "data_offsets"}.`);
    }
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') {
      fail(source, `${where} has no string "dtype" (got ${describe(dtype)}).`);
    }
    if (!Array.isArray(shape) || !shape.every(isSize)) {
      fail(source, `${where} has shape ${describe(shape)}; expected an array of non-negative integers.`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
      fail(source, `${where} has data_offsets ${describe(offsets)}; expected [begin, end] as non-negative integers.`);
    }
    if (!(dtype in READABLE)) {
      const known = dtype in DTYPE_SIZES ? `dtype ${dtype}` : `unknown dtype "${dtype}"`;
      fail(source, `${where} has ${known}; fractional-snn loads only floating tensors (F32, and F64/F16/BF16 ` +
        `converted to float32). ${CONVERT_FIX}`);
    }
    const size = READABLE[dtype as ReadableDtype];
    const [begin, end] = offsets as number[];
    if (end < begin) {
      fail(source, `${where} has data_offsets [${begin}, ${end}] with end before begin. Fix: re-save the checkpoint.`);
    }
    if (end > dataLength) {
      fail(source, `${where} has data_offsets [${begin}, ${end}] but the data section is only ${dataLength} bytes: ` +
        'the file is truncated or its offsets are wrong. Fix: re-save or re-download the checkpoint.');
    }
    const count = elementCount(shape);
    if (count === undefined || count * size !== end - begin) {
      fail(source, `${where} has shape [${shape.join(', ')}] and dtype ${dtype}, which needs ` +
        `${count === undefined ? 'an impossible number of' : count * size} bytes, but its data_offsets ` +
        `[${begin}, ${end}] span ${end - begin} bytes. Fix: re-save the checkpoint.`);
    }
    if (count * 4 > bufferConstants.MAX_LENGTH) {
      fail(source, `${where} has ${count} elements, more than one Float32Array can hold. Fix: split the tensor.`);
    }
    entries.push({ name, dtype: dtype as ReadableDtype, shape: shape.slice(), begin, end });
  }

  // Tensors must tile the data section exactly: no overlaps, no gaps, no trailing bytes.
  const ordered = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: HeaderEntry | undefined;
  for (const e of ordered) {
    if (e.begin < cursor) {
      fail(source, `tensors "${previous!.name}" [${previous!.begin}, ${previous!.end}] and "${e.name}" ` +
        `[${e.begin}, ${e.end}] overlap in the data section. Fix: re-save the checkpoint.`);
    }
    if (e.begin > cursor) {
      fail(source, `bytes [${cursor}, ${e.begin}) of the data section belong to no tensor (before "${e.name}"); ` +
        'safetensors packs tensors with no gaps. Fix: re-save the checkpoint.');
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLength) {
    fail(source, `the data section is ${dataLength} bytes but the tensors cover ${cursor}; ` +
      `${dataLength - cursor} trailing bytes belong to no tensor. Fix: re-save the checkpoint.`);
  }
  return { entries: ordered, metadata };
}

// ---------------------------------------------------------------------------------------------------------
// Conversion to float32
// ---------------------------------------------------------------------------------------------------------

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Converts raw little-endian bytes of one tensor into a new Float32Array. `raw` may be modified
 * (byte-swapped on big-endian hosts) and must be exclusively owned by the caller.
 */
function toFloat32(raw: Uint8Array, dtype: ReadableDtype, count: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the bits back into place.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
  }
  return out;
}

function makeTensor(e: HeaderEntry, data: Float32Array): StoredTensor {
  return { dtype: 'F32', shape: e.shape, data };
}

// ---------------------------------------------------------------------------------------------------------
// Reading from memory
// ---------------------------------------------------------------------------------------------------------

/**
 * Decodes a safetensors file image. F32 tensors are copied as is; F64, F16 and BF16 tensors are
 * converted to float32 (see the module comment); any other dtype throws. The returned arrays never
 * alias `bytes`. `source` names the input in error messages (default "<buffer>").
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  if (!isUint8Array(bytes)) {
    fail(source, `expected a Uint8Array or Buffer, got ${describe(bytes)}.`);
  }
  if (bytes.length < 8) {
    fail(source, `${bytes.length} bytes is too short for a safetensors file (it starts with an 8-byte header length). ` +
      'Fix: check that the file was written completely.');
  }
  const n = checkHeaderLength(bytes.subarray(0, 8), bytes.length, source);
  const dataStart = 8 + n;
  const header = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, source);
  const tensors: Record<string, StoredTensor> = Object.create(null);
  for (const e of header.entries) {
    const size = READABLE[e.dtype];
    const count = (e.end - e.begin) / size;
    let data: Float32Array;
    if (e.dtype === 'F32' && LITTLE_ENDIAN) {
      data = new Float32Array(count);
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    } else {
      data = toFloat32(bytes.subarray(dataStart + e.begin, dataStart + e.end), e.dtype, count);
    }
    setOwn(tensors, e.name, makeTensor(e, data));
  }
  return { tensors, metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------------------------
// Reading from files
// ---------------------------------------------------------------------------------------------------------

function readExactly(fd: number, target: Uint8Array, position: number, file: string, what: string): void {
  let done = 0;
  while (done < target.length) {
    const got = fs.readSync(fd, target, done, target.length - done, position + done);
    if (got === 0) {
      fail(file, `the file ended while reading ${what} (got ${done} of ${target.length} bytes); it may have been ` +
        'truncated or changed while being read. Fix: re-save the checkpoint.');
    }
    done += got;
  }
}

function ioError(file: string, action: string, err: unknown): SafetensorsError {
  if (err instanceof SafetensorsError) return err;
  const e = err as NodeJS.ErrnoException;
  const hint =
    e.code === 'ENOENT' ? 'Fix: check the path; the file or its directory does not exist.'
    : e.code === 'EACCES' || e.code === 'EPERM' ? 'Fix: check the file and directory permissions.'
    : e.code === 'EISDIR' ? 'Fix: give the path of a file, not a directory.'
    : e.code === 'ENOSPC' ? 'Fix: free some disk space.'
    : 'Fix: check the path and the disk.';
  return new SafetensorsError(`${file}: could not ${action}: ${e.message ?? String(err)}. ${hint}`);
}

/** Opens a file and validates its header; the caller must close the fd. */
function openAndParse(file: string): { fd: number; header: ParsedHeader; dataStart: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw ioError(file, 'open the checkpoint for reading', err);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) fail(file, 'is not a regular file. Fix: give the path of a .safetensors file.');
    const size = stat.size;
    if (size < 8) {
      fail(file, `is ${size} bytes, too short for a safetensors file (it starts with an 8-byte header length). ` +
        'Fix: check that the file was written completely.');
    }
    const prefix = new Uint8Array(8);
    readExactly(fd, prefix, 0, file, 'the header length');
    const n = checkHeaderLength(prefix, size, file);
    const headerBytes = new Uint8Array(n);
    readExactly(fd, headerBytes, 8, file, 'the header');
    const header = parseHeader(headerBytes, size - 8 - n, file);
    return { fd, header, dataStart: 8 + n };
  } catch (err) {
    fs.closeSync(fd);
    throw ioError(file, 'read the checkpoint', err);
  }
}

/**
 * Reads a .safetensors file. Validates the header first (reading only the 8-byte length and the
 * header, checked against the file size), then reads each tensor straight into its own array.
 * F64, F16 and BF16 tensors are converted to float32; other dtypes throw. Errors name the file.
 */
export function readSafetensorsFile(file: string): SafetensorsContents {
  const { fd, header, dataStart } = openAndParse(file);
  try {
    const tensors: Record<string, StoredTensor> = Object.create(null);
    for (const e of header.entries) {
      const size = READABLE[e.dtype];
      const count = (e.end - e.begin) / size;
      let data: Float32Array;
      if (e.dtype === 'F32') {
        data = new Float32Array(count);
        const bytes = new Uint8Array(data.buffer);
        readExactly(fd, bytes, dataStart + e.begin, file, `tensor "${e.name}"`);
        if (!LITTLE_ENDIAN) swapBytes(bytes, 4);
      } else {
        const raw = new Uint8Array(e.end - e.begin);
        readExactly(fd, raw, dataStart + e.begin, file, `tensor "${e.name}"`);
        data = toFloat32(raw, e.dtype, count);
      }
      setOwn(tensors, e.name, makeTensor(e, data));
    }
    return { tensors, metadata: header.metadata };
  } catch (err) {
    throw ioError(file, 'read the checkpoint', err);
  } finally {
    fs.closeSync(fd);
  }
}

/** What readSafetensorsHeader returns. */
export interface SafetensorsHeader {
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
  /** Each tensor's name with its dtype (e.g. "F32") and shape. */
  tensors: Map<string, SafetensorsTensorInfo>;
}

/** A tensor as the header declares it. */
export interface SafetensorsTensorInfo {
  /** The safetensors dtype name, e.g. "F32". */
  dtype: string;
  /** The declared shape. */
  shape: number[];
}

/** Reads only the header of a .safetensors file (validated in full): its metadata and each tensor's dtype and shape. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const { fd, header } = openAndParse(file);
  fs.closeSync(fd);
  const tensors = new Map<string, { dtype: string; shape: number[] }>();
  for (const e of header.entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape.slice() });
  return { metadata: header.metadata, tensors };
}

/** Reads only the header of a .safetensors file (validated in full) and returns its metadata. */
export function readSafetensorsMetadata(file: string): Record<string, string> {
  const { fd, header } = openAndParse(file);
  fs.closeSync(fd);
  return header.metadata;
}

// ---------------------------------------------------------------------------------------------------------
// Atomic writing
// ---------------------------------------------------------------------------------------------------------

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, bytes.length - done);
  }
}

/** Temporary files of a save to `base` are named .<base>.<pid>.<unique>.tmp in the target's directory. */
function tempPrefix(base: string): string {
  return `.${base}.`;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/**
 * A save killed mid-write leaves its temporary file behind. The next save to the same target removes
 * the temporaries whose writing process no longer runs (a live process may be saving right now).
 */
function removeStaleTempFiles(dir: string, base: string): void {
  const prefix = tempPrefix(base);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // the write below reports a missing or unreadable directory
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processIsAlive(pid)) continue;
    try { fs.unlinkSync(path.join(dir, name)); } catch { /* removed by someone else meanwhile */ }
  }
}

/**
 * An existing read-only target (no write bit, e.g. mode 0444, or not writable by this user) is not
 * replaced, as cp and torch.save refuse to write it; renaming over it would otherwise succeed.
 */
function refuseReadOnlyTarget(file: string): void {
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return; // no previous file
  }
  let writable = (mode & 0o222) !== 0;
  if (writable) {
    try { fs.accessSync(file, fs.constants.W_OK); } catch { writable = false; }
  }
  if (!writable) {
    fail(file, `is read-only (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); the checkpoint was not overwritten. ` +
      'Fix: make it writable (chmod u+w) or save to another path.');
  }
}

/**
 * Writes float32 tensors to `file` atomically: everything is validated first, then written to a
 * temporary file in the same directory, fsync'ed, and renamed over `file`. If anything fails, the
 * previous `file` (if any) is left untouched and the temporary file is removed. A replaced file keeps
 * its permissions.
 */
export function writeSafetensorsFile(file: string, tensors: TensorMap, metadata?: Record<string, string>): void {
  const plan = planEncoding(tensors, metadata, file);
  const dir = path.dirname(path.resolve(file));
  refuseReadOnlyTarget(file);
  removeStaleTempFiles(dir, path.basename(file));
  const tmp = path.join(dir, `${tempPrefix(path.basename(file))}${process.pid}.${Date.now().toString(36)}` +
    `${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    let previousMode: number | undefined;
    try { previousMode = fs.statSync(file).mode & 0o7777; } catch { /* no previous file */ }
    if (previousMode !== undefined) fs.fchmodSync(fd, previousMode); // replacing keeps the old permissions
    writeAll(fd, plan.head);
    for (const p of plan.parts) writeAll(fd, p);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing; keep the first error */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* never created, or already gone */ }
    throw ioError(file, `write the checkpoint (nothing was changed at ${file})`, err);
  }
  // Make the rename itself durable; not every platform can fsync a directory, so this is best effort.
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* best effort */ }
}
