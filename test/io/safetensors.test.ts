import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  readSafetensorsMetadata,
  writeSafetensorsFile,
  type TensorMap,
} from '../../lib/io/safetensors';

// The real fs module object (not an esModuleInterop copy), so jest.spyOn reaches the module under test.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const fs: typeof import('fs') = require('fs');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'safetensors');
const INTEROP_SCRIPT = path.join(__dirname, 'python_interop.py');

let tmpDir: string;
beforeEach(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-safetensors-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

// ----------------------------------------------------------------------------------------------
// helpers
// ----------------------------------------------------------------------------------------------

/** Builds a file image by hand: 8-byte LE length, header text, data bytes. */
function rawFile(header: string | object, data: Uint8Array = new Uint8Array(0), lengthField?: bigint): Buffer {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthField ?? BigInt(h.length));
  return Buffer.concat([prefix, h, Buffer.from(data)]);
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** Bitwise equality, except that any NaN equals any NaN. */
function expectSameFloats(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = bitsOf(actual);
  const e = bitsOf(expected);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(expected[i])) expect(Number.isNaN(actual[i])).toBe(true);
    else expect([i, a[i]]).toEqual([i, e[i]]);
  }
}

function fromBase64F32(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Byte counts requested from fs.readSync(fd, buffer, offset, length, position) calls. */
function requestedLengths(spy: jest.SpyInstance): number[] {
  return spy.mock.calls.map((call) => (call as unknown[])[3] as number);
}

function thrown(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError, but nothing was thrown');
}

function sampleTensors(): TensorMap {
  const big = new Float32Array(64 * 33);
  for (let i = 0; i < big.length; i++) big[i] = Math.sin(i * 0.37) * 1e3;
  return {
    'layer.0.weight': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    scalar: { shape: [], data: Float32Array.from([-7.25]) },
    empty: { shape: [0], data: new Float32Array(0) },
    empty3d: { shape: [4, 0, 2], data: new Float32Array(0) },
    specials: { shape: [5], data: Float32Array.from([NaN, Infinity, -Infinity, -0, 1e-45]) },
    big: { shape: [64, 33], data: big },
    '10': { shape: [1], data: Float32Array.from([10]) },
    '2': { shape: [1], data: Float32Array.from([2]) },
    'é': { shape: [1, 1], data: Float32Array.from([0.5]) },
  };
}

function expectSameTensors(actual: Record<string, { shape: number[]; data: Float32Array }>, expected: TensorMap): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, t] of Object.entries(expected)) {
    expect([name, actual[name].shape]).toEqual([name, t.shape]);
    expect(actual[name].data).toBeInstanceOf(Float32Array);
    expect(bitsOf(actual[name].data)).toEqual(bitsOf(t.data));
  }
}

// ----------------------------------------------------------------------------------------------
// layout
// ----------------------------------------------------------------------------------------------

describe('encodeSafetensors layout', () => {
  it('writes the exact bytes the format specifies for a tiny file', () => {
    const bytes = encodeSafetensors(
      { b: { shape: [2], data: Float32Array.from([1, -2]) }, a: { shape: [], data: Float32Array.from([0.5]) } },
      { k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v"},' +
      '"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expect(header.length).toBe(132); // padded with 4 spaces to 136, a multiple of 8
    const expected = Buffer.concat([
      Buffer.from([136, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from(header + '    ', 'utf8'),
      Buffer.from([0x00, 0x00, 0x00, 0x3f]), // a = 0.5
      Buffer.from([0x00, 0x00, 0x80, 0x3f]), // b[0] = 1
      Buffer.from([0x00, 0x00, 0x00, 0xc0]), // b[1] = -2
    ]);
    expect(bytes.toString('hex')).toBe(expected.toString('hex'));
  });

  it('writes an empty file as "{}" padded to 8 bytes and omits empty metadata', () => {
    const expected = Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}      ')]);
    expect(encodeSafetensors({}).toString('hex')).toBe(expected.toString('hex'));
    expect(encodeSafetensors({}, {}).toString('hex')).toBe(expected.toString('hex'));
  });

  it('is deterministic whatever the insertion order, with names sorted by UTF-8 bytes', () => {
    const t = sampleTensors();
    const reversed: TensorMap = {};
    for (const k of Object.keys(t).reverse()) reversed[k] = t[k];
    const a = encodeSafetensors(t, { z: '1', a: '2' });
    const b = encodeSafetensors(reversed, { a: '2', z: '1' });
    expect(a.equals(b)).toBe(true);
    const n = Number(a.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = a.subarray(8, 8 + n).toString('utf8');
    const names = Object.keys(t).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const positions = names.map((name) => header.indexOf(JSON.stringify(name) + ':{"dtype"'));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(header.indexOf('"__metadata__":{"a":"2","z":"1"}')).toBe(1);
  });
});

// ----------------------------------------------------------------------------------------------
// round trips
// ----------------------------------------------------------------------------------------------

describe('round trip', () => {
  it('decodes what it encodes: shapes incl. scalar and zero-size, NaN/Inf/-0 bits, metadata', () => {
    const t = sampleTensors();
    const meta = { epoch: '12', note: 'ünïcode ✓', empty: '' };
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors(t, meta));
    expectSameTensors(tensors, t);
    expect(metadata).toEqual(meta);
    for (const st of Object.values(tensors)) expect(st.dtype).toBe('F32');
  });

  it('round-trips through a file, and metadata can be read alone', () => {
    const file = path.join(tmpDir, 'ckpt.safetensors');
    const t = sampleTensors();
    writeSafetensorsFile(file, t, { step: '100' });
    const { tensors, metadata } = readSafetensorsFile(file);
    expectSameTensors(tensors, t);
    expect(metadata).toEqual({ step: '100' });
    expect(readSafetensorsMetadata(file)).toEqual({ step: '100' });
    expect(fs.readFileSync(file).equals(encodeSafetensors(t, { step: '100' }))).toBe(true);
  });

  it('keeps a tensor named "__proto__" as data, not as a prototype', () => {
    const t: TensorMap = JSON.parse('{"__proto__": {"shape": [1], "data": null}}');
    t['__proto__'].data = Float32Array.from([3]);
    const { tensors } = decodeSafetensors(encodeSafetensors(t));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBeNull(); // a null-prototype map: no name can meet Object.prototype
    expect(Array.from(tensors['__proto__'].data)).toEqual([3]);
  });

  it('returns arrays that do not alias the input buffer, even at odd offsets', () => {
    const enc = encodeSafetensors({ x: { shape: [2], data: Float32Array.from([1, 2]) } });
    const shifted = new Uint8Array(enc.length + 1).subarray(1);
    shifted.set(enc);
    const { tensors } = decodeSafetensors(shifted);
    shifted.fill(0);
    expect(Array.from(tensors.x.data)).toEqual([1, 2]);
  });

  it('accepts headers padded with extra spaces and leading whitespace', () => {
    const header = '  {"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' + ' '.repeat(37);
    const { tensors } = decodeSafetensors(rawFile(header, f32Bytes([4.5])));
    expect(Array.from(tensors.x.data)).toEqual([4.5]);
  });
});

// ----------------------------------------------------------------------------------------------
// dtype conversion on read
// ----------------------------------------------------------------------------------------------

describe('reading other float dtypes', () => {
  function u16(values: number[]): Uint8Array {
    const b = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
    return b;
  }

  it('converts F16 exactly, including subnormals, infinities, NaN and -0', () => {
    const bits = [0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555];
    const file = rawFile({ h: { dtype: 'F16', shape: [2, 5], data_offsets: [0, 20] } }, u16(bits));
    const { tensors } = decodeSafetensors(file);
    const expected = Float32Array.from([
      1, -2, 2 ** -24, 1023 * 2 ** -24, 65504, Infinity, -Infinity, NaN, -0, 0.333251953125,
    ]);
    expect(tensors.h.dtype).toBe('F32');
    expect(tensors.h.shape).toEqual([2, 5]);
    expectSameFloats(tensors.h.data, expected);
  });

  it('converts BF16 by restoring the high half of the float32 bits', () => {
    const bits = [0x3f80, 0xc040, 0x7f80, 0x0001, 0x4049];
    const { tensors } = decodeSafetensors(rawFile({ b: { dtype: 'BF16', shape: [5], data_offsets: [0, 10] } }, u16(bits)));
    expect(bitsOf(tensors.b.data)).toEqual(bits.map((b) => (b << 16) >>> 0));
    expect(tensors.b.data[0]).toBe(1);
    expect(tensors.b.data[1]).toBe(-3);
  });

  it('converts F64 with float32 rounding (overflow becomes Infinity)', () => {
    const vals = [1 / 3, -2.5e10, 1e300, 1e-300, Math.PI];
    const b = Buffer.alloc(40);
    vals.forEach((v, i) => b.writeDoubleLE(v, 8 * i));
    const { tensors } = decodeSafetensors(rawFile({ d: { dtype: 'F64', shape: [5], data_offsets: [0, 40] } }, b));
    expectSameFloats(tensors.d.data, Float32Array.from(vals.map(Math.fround)));
    expect(tensors.d.data[2]).toBe(Infinity);
  });

  it('reads the same conversions from a file as from memory', () => {
    const file = path.join(tmpDir, 'mixed.safetensors');
    const data = Buffer.concat([u16([0x3c00, 0x3f80]), f32Bytes([2])]);
    fs.writeFileSync(file, rawFile({
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
      f: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    }, data));
    const { tensors } = readSafetensorsFile(file);
    expect([tensors.h.data[0], tensors.b.data[0], tensors.f.data[0]]).toEqual([1, 1, 2]);
  });
});

// ----------------------------------------------------------------------------------------------
// malformed input
// ----------------------------------------------------------------------------------------------

describe('malformed input gives clear errors', () => {
  const okHeader = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const okData = f32Bytes([1, 2]);

  it('rejects inputs shorter than the 8-byte length field', () => {
    expect(thrown(() => decodeSafetensors(new Uint8Array(0))).message).toMatch(/<buffer>: 0 bytes is too short/);
    expect(thrown(() => decodeSafetensors(new Uint8Array(5), 'm.st')).message).toMatch(/^m\.st: 5 bytes is too short/);
  });

  it('rejects a truncated header', () => {
    const full = rawFile(okHeader, okData);
    const cut = full.subarray(0, 20);
    const msg = thrown(() => decodeSafetensors(cut)).message;
    expect(msg).toMatch(/header length field says \d+ bytes but only 12 bytes follow/);
    expect(msg).toMatch(/truncated/);
  });

  it('rejects truncated data, naming the tensor', () => {
    const full = encodeSafetensors({
      a: { shape: [1], data: Float32Array.from([1]) },
      x: { shape: [2], data: Float32Array.from([1, 2]) },
    });
    const msg = thrown(() => decodeSafetensors(full.subarray(0, full.length - 4))).message;
    expect(msg).toMatch(/tensor "x" has data_offsets \[4, 12\] but the data section is only 8 bytes/);
    expect(msg).toMatch(/Fix:/);
  });

  it('rejects offsets out of range', () => {
    const msg = thrown(() => decodeSafetensors(rawFile({ x: { dtype: 'F32', shape: [100], data_offsets: [0, 400] } }, okData)))
      .message;
    expect(msg).toMatch(/tensor "x" has data_offsets \[0, 400\] but the data section is only 8 bytes/);
  });

  it('rejects end before begin', () => {
    const msg = thrown(() => decodeSafetensors(rawFile({ x: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, okData)))
      .message;
    expect(msg).toMatch(/end before begin/);
  });

  it('rejects overlapping tensors, naming both', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const msg = thrown(() => decodeSafetensors(rawFile(header, f32Bytes([1, 2, 3])))).message;
    expect(msg).toMatch(/"a" \[0, 8\] and "b" \[4, 12\] overlap/);
  });

  it('rejects gaps and trailing bytes in the data section', () => {
    const gap = {
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    };
    expect(thrown(() => decodeSafetensors(rawFile(gap, f32Bytes([1, 2, 3])))).message)
      .toMatch(/bytes \[4, 8\) of the data section belong to no tensor \(before "b"\)/);
    expect(thrown(() => decodeSafetensors(rawFile(okHeader, f32Bytes([1, 2, 3])))).message)
      .toMatch(/data section is 12 bytes but the tensors cover 8; 4 trailing bytes/);
  });

  it('rejects an unknown dtype and an unsupported one, naming tensor, dtype and the fix', () => {
    const unknown = thrown(() => decodeSafetensors(rawFile({ w: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, okData)));
    expect(unknown.message).toMatch(/tensor "w" has unknown dtype "F33"/);
    const i64 = thrown(() => decodeSafetensors(rawFile({ step: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, okData)));
    expect(i64.message).toMatch(/tensor "step" has dtype I64/);
    expect(i64.message).toMatch(/Fix: .*astype\(numpy\.float32\)/);
    const bool = thrown(() => decodeSafetensors(rawFile({ m: { dtype: 'BOOL', shape: [8], data_offsets: [0, 8] } }, okData)));
    expect(bool.message).toMatch(/tensor "m" has dtype BOOL/);
  });

  it('rejects a header length claiming 10 GB without allocating it', () => {
    const tenGB = 10n * 1024n ** 3n;
    const bytes = rawFile('{"x":', new Uint8Array(3), tenGB);
    const before = process.memoryUsage();
    const msg = thrown(() => decodeSafetensors(bytes, 'huge.safetensors')).message;
    const after = process.memoryUsage();
    expect(msg).toMatch(/^huge\.safetensors: the header length field says 10737418240 bytes but only 8 bytes follow/);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(50 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(200 * 1024 * 1024);

    // Same for a file, and the reader must never ask for more bytes than the file has.
    const file = path.join(tmpDir, 'huge.safetensors');
    fs.writeFileSync(file, bytes);
    const reads = jest.spyOn(fs, 'readSync');
    const before2 = process.memoryUsage();
    const fileMsg = thrown(() => readSafetensorsFile(file)).message;
    const after2 = process.memoryUsage();
    expect(fileMsg).toContain(file);
    expect(fileMsg).toMatch(/10737418240 bytes but only 8 bytes follow/);
    expect(after2.arrayBuffers - before2.arrayBuffers).toBeLessThan(50 * 1024 * 1024);
    for (const len of requestedLengths(reads)) expect(len).toBeLessThanOrEqual(bytes.length);
    expect(thrown(() => readSafetensorsMetadata(file)).message).toMatch(/10737418240/);
  });

  it('caps the header length even when the file is that large', () => {
    // A length field just over the 100 MB cap, in a (sparse) file big enough to hold it: nothing is read.
    const file = path.join(tmpDir, 'sparse.safetensors');
    const n = 100_000_008;
    const fd = fs.openSync(file, 'w');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(n));
    fs.writeSync(fd, prefix);
    fs.ftruncateSync(fd, 8 + n);
    fs.closeSync(fd);
    const reads = jest.spyOn(fs, 'readSync');
    expect(thrown(() => readSafetensorsFile(file)).message).toMatch(/100000008 bytes, over the 100000000-byte limit/);
    expect(requestedLengths(reads)).toEqual([8]);
  });

  it('recognises a PyTorch zip file and says how to convert it', () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(60, 7)]);
    expect(thrown(() => decodeSafetensors(zip, 'model.pt')).message).toMatch(/zip archive.*safetensors\.torch\.save_file/);
  });

  it('rejects a header that is not JSON, not UTF-8, or not an object', () => {
    expect(thrown(() => decodeSafetensors(rawFile('{"x": nope}'))).message).toMatch(/header is not valid JSON/);
    const binary = thrown(() => decodeSafetensors(rawFile('\u0000\u0001\u0002'.repeat(100)))).message;
    expect(binary).toMatch(/header is not valid JSON/);
    expect(binary).not.toMatch(/[\u0000-\u001f]/);
    expect(thrown(() => decodeSafetensors(rawFile(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')))).message)
      .toMatch(/header is not valid (UTF-8|JSON)/);
    const badUtf8 = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]);
    expect(thrown(() => decodeSafetensors(badUtf8)).message).toMatch(/header is not valid UTF-8/);
    expect(thrown(() => decodeSafetensors(rawFile('[1, 2]  '))).message).toMatch(/header must be a JSON object/);
    expect(thrown(() => decodeSafetensors(rawFile(''))).message).toMatch(/too short for a JSON header/);
  });

  it('rejects entries missing dtype, shape or data_offsets', () => {
    const cases: Array<[object, RegExp]> = [
      [{ x: { shape: [2], data_offsets: [0, 8] } }, /tensor "x" has no string "dtype"/],
      [{ x: { dtype: 'F32', data_offsets: [0, 8] } }, /tensor "x" has shape undefined/],
      [{ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, /tensor "x" has shape \[-2\]/],
      [{ x: { dtype: 'F32', shape: [2] } }, /tensor "x" has data_offsets undefined/],
      [{ x: { dtype: 'F32', shape: [2], data_offsets: [0] } }, /tensor "x" has data_offsets \[0\]/],
      [{ x: 5 }, /tensor "x" has header entry 5/],
      [{ __metadata__: { epoch: 3 }, ...okHeader }, /metadata value for "epoch" is 3/],
    ];
    for (const [header, pattern] of cases) {
      expect(thrown(() => decodeSafetensors(rawFile(header, okData))).message).toMatch(pattern);
    }
  });

  it('rejects a byte count that does not match the shape', () => {
    const msg = thrown(() => decodeSafetensors(rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, okData)))
      .message;
    expect(msg).toMatch(/tensor "x" has shape \[3\] and dtype F32, which needs 12 bytes, but its data_offsets \[0, 8\] span 8/);
    const f16 = thrown(() => decodeSafetensors(rawFile({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 8] } }, okData)));
    expect(f16.message).toMatch(/needs 4 bytes/);
  });

  it('names the file in file errors: missing file, directory, corrupt file', () => {
    const missing = path.join(tmpDir, 'nope.safetensors');
    const e1 = thrown(() => readSafetensorsFile(missing)).message;
    expect(e1).toContain(missing);
    expect(e1).toMatch(/does not exist/);
    expect(thrown(() => readSafetensorsFile(tmpDir)).message).toContain(tmpDir);
    const bad = path.join(tmpDir, 'bad.safetensors');
    fs.writeFileSync(bad, rawFile('{"x": oops}'));
    expect(thrown(() => readSafetensorsFile(bad)).message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the header is not valid JSON`));
    const tiny = path.join(tmpDir, 'tiny.safetensors');
    fs.writeFileSync(tiny, Buffer.from([1, 2, 3]));
    expect(thrown(() => readSafetensorsFile(tiny)).message).toMatch(/is 3 bytes, too short/);
  });

  it('readSafetensorsMetadata reads only the header, but still validates it against the file size', () => {
    const file = path.join(tmpDir, 'm.safetensors');
    const big = new Float32Array(100_000);
    writeSafetensorsFile(file, { big: { shape: [big.length], data: big } }, { epoch: '9' });
    const reads = jest.spyOn(fs, 'readSync');
    expect(readSafetensorsMetadata(file)).toEqual({ epoch: '9' });
    const total = requestedLengths(reads).reduce((sum, n) => sum + n, 0);
    expect(total).toBeLessThan(200);
    reads.mockRestore();
    fs.truncateSync(file, fs.statSync(file).size - 4);
    expect(thrown(() => readSafetensorsMetadata(file)).message).toMatch(/tensor "big" has data_offsets .* data section is only/);
  });
});

// ----------------------------------------------------------------------------------------------
// writing: validation and atomicity
// ----------------------------------------------------------------------------------------------

describe('writing', () => {
  it('rejects bad tensors with errors that name the tensor and the fix', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ w: { shape: [2, 2], data: new Float32Array(3) } }, /tensor "w" has shape \[2, 2\] \(4 elements\) but its data holds 3 values/],
      [{ w: { shape: [], data: new Float32Array(0) } }, /a scalar is shape \[\] with 1 value/],
      [{ w: { shape: [2], data: [1, 2] } }, /tensor "w" has data of type Array; only Float32Array.*Float32Array\.from/],
      [{ w: { shape: [2], data: new Float64Array(2) } }, /data of type Float64Array/],
      [{ w: { shape: [1.5], data: new Float32Array(1) } }, /tensor "w" has shape \[1\.5\]/],
      [{ w: { shape: [-1], data: new Float32Array(1) } }, /shape \[-1\]/],
      [{ w: null }, /tensor "w" must be an object/],
      [{ __metadata__: { shape: [1], data: new Float32Array(1) } }, /"__metadata__" cannot be used as a tensor name/],
    ];
    for (const [tensors, pattern] of cases) {
      expect(thrown(() => encodeSafetensors(tensors as TensorMap)).message).toMatch(pattern);
    }
    expect(thrown(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).message)
      .toMatch(/metadata value for "epoch" is 3.*String\(x\)/);
  });

  function writeOld(): { file: string; old: Buffer } {
    const file = path.join(tmpDir, 'model.safetensors');
    writeSafetensorsFile(file, { w: { shape: [2], data: Float32Array.from([1, 2]) } }, { v: 'old' });
    return { file, old: fs.readFileSync(file) };
  }

  it('replaces an existing file on success and leaves no temp file', () => {
    const { file } = writeOld();
    fs.chmodSync(file, 0o640);
    writeSafetensorsFile(file, { w: { shape: [3], data: Float32Array.from([4, 5, 6]) } }, { v: 'new' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(readSafetensorsMetadata(file)).toEqual({ v: 'new' });
    expect(Array.from(readSafetensorsFile(file).tensors.w.data)).toEqual([4, 5, 6]);
    expect(fs.readdirSync(tmpDir)).toEqual(['model.safetensors']);
  });

  it('leaves the previous file intact when a tensor is invalid', () => {
    const { file, old } = writeOld();
    const msg = thrown(() => writeSafetensorsFile(file, { w: { shape: [2, 2], data: new Float32Array(3) } })).message;
    expect(msg).toContain(file);
    expect(fs.readFileSync(file).equals(old)).toBe(true);
    expect(fs.readdirSync(tmpDir)).toEqual(['model.safetensors']);
  });

  it('leaves the previous file intact and removes the temp file when fsync fails', () => {
    const { file, old } = writeOld();
    jest.spyOn(fs, 'fsyncSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    const msg = thrown(() => writeSafetensorsFile(file, { w: { shape: [1], data: Float32Array.from([9]) } })).message;
    expect(msg).toContain(file);
    expect(msg).toMatch(/EIO/);
    expect(fs.readFileSync(file).equals(old)).toBe(true);
    expect(fs.readdirSync(tmpDir)).toEqual(['model.safetensors']);
  });

  it('leaves the previous file intact and removes the temp file when the disk fills mid-write', () => {
    const { file, old } = writeOld();
    const realWrite = fs.writeSync.bind(fs) as (...a: unknown[]) => number;
    let calls = 0;
    jest.spyOn(fs, 'writeSync').mockImplementation(((...args: unknown[]) => {
      calls += 1;
      if (calls === 1) {
        // a short write of the first chunk, as a nearly full disk can do
        const [fd, buf, off, len] = args as [number, Uint8Array, number, number];
        return realWrite(fd, buf, off, Math.min(len, 3));
      }
      if (calls === 2) return realWrite(...args);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }) as unknown as typeof fs.writeSync);
    const big = new Float32Array(1000).fill(1);
    const msg = thrown(() => writeSafetensorsFile(file, { w: { shape: [1000], data: big } })).message;
    expect(msg).toMatch(/ENOSPC.*Fix: free some disk space/);
    expect(fs.readFileSync(file).equals(old)).toBe(true);
    expect(fs.readdirSync(tmpDir)).toEqual(['model.safetensors']);
  });

  it('handles short writes correctly', () => {
    const file = path.join(tmpDir, 'short.safetensors');
    const realWrite = fs.writeSync.bind(fs) as (...a: unknown[]) => number;
    jest.spyOn(fs, 'writeSync').mockImplementation(((...args: unknown[]) => {
      const [fd, buf, off, len] = args as [number, Uint8Array, number, number];
      return realWrite(fd, buf, off, Math.min(len, 5));
    }) as unknown as typeof fs.writeSync);
    const t = sampleTensors();
    writeSafetensorsFile(file, t);
    jest.restoreAllMocks();
    expectSameTensors(readSafetensorsFile(file).tensors, t);
  });

  it('reports a missing directory with the path and the fix', () => {
    const file = path.join(tmpDir, 'no', 'such', 'dir', 'm.safetensors');
    const msg = thrown(() => writeSafetensorsFile(file, {})).message;
    expect(msg).toContain(file);
    expect(msg).toMatch(/does not exist/);
  });
});

// ----------------------------------------------------------------------------------------------
// files written by the reference implementation (checked-in fixtures; no Python needed)
// ----------------------------------------------------------------------------------------------

interface PyReport {
  tensors: Record<string, { shape: number[]; f32: string; dtype: string }>;
  metadata: Record<string, string>;
}

function expectMatchesReport(
  got: { tensors: Record<string, { shape: number[]; data: Float32Array }>; metadata: Record<string, string> },
  report: PyReport,
): void {
  expect(Object.keys(got.tensors).sort()).toEqual(Object.keys(report.tensors).sort());
  for (const [name, r] of Object.entries(report.tensors)) {
    expect([name, got.tensors[name].shape]).toEqual([name, r.shape]);
    expectSameFloats(got.tensors[name].data, fromBase64F32(r.f32));
  }
  expect(got.metadata).toEqual(report.metadata);
}

describe('fixtures written by Python safetensors 0.8.0 / PyTorch 2.13', () => {
  it.each([
    ['numpy_mixed'], // F32, F64, F16 (with NaN, inf, subnormal), scalar, zero-size
    ['torch_bf16'], // BF16, F16, F32 from safetensors.torch
  ])('reads %s.safetensors and converts to the same float32 values Python does', (name) => {
    const file = path.join(FIXTURES, `${name}.safetensors`);
    const report: PyReport = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8'));
    expectMatchesReport(readSafetensorsFile(file), report);
    expectMatchesReport(decodeSafetensors(fs.readFileSync(file)), report);
  });

  it('rejects the I64 tensor in int64_step.safetensors with a clear error', () => {
    const file = path.join(FIXTURES, 'int64_step.safetensors');
    const msg = thrown(() => readSafetensorsFile(file)).message;
    expect(msg).toContain(file);
    expect(msg).toMatch(/tensor "step" has dtype I64/);
  });
});

// ----------------------------------------------------------------------------------------------
// live interop with Python (runs when `safetensors` is importable; skips visibly otherwise)
// ----------------------------------------------------------------------------------------------

const PYTHON = process.env.FSNN_PYTHON || 'python3';

function runPy(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, [INTEROP_SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function py<T>(args: string[]): T {
  const r = runPy(args);
  if (r.status !== 0) throw new Error(`${PYTHON} python_interop.py ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const probe = runPy(['probe']);
const versions: { safetensors: string | null; numpy: string | null; torch: string | null } =
  probe.status === 0 || probe.status === 3 ? JSON.parse(probe.stdout) : { safetensors: null, numpy: null, torch: null };
const havePy = probe.status === 0;
const haveTorch = havePy && versions.torch !== null;
if (!havePy) {
  // eslint-disable-next-line no-console
  console.warn(
    `SKIPPED: Python safetensors interop tests: \`${PYTHON}\` cannot import safetensors and numpy ` +
      `(${JSON.stringify(versions)}). Install with \`python3 -m pip install safetensors numpy\`, ` +
      'or point FSNN_PYTHON at an interpreter that has them.',
  );
} else if (!haveTorch) {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: PyTorch interop tests: \`${PYTHON}\` cannot import torch (safetensors ${versions.safetensors} found).`);
}
const itPy = havePy ? it : it.skip;
const itTorch = haveTorch ? it : it.skip;

describe(`interop with Python (${PYTHON}: safetensors ${versions.safetensors ?? 'missing'}, torch ${versions.torch ?? 'missing'})`, () => {
  itPy('Python safetensors reads our files with the same values, shapes and metadata', () => {
    const file = path.join(tmpDir, 'ours.safetensors');
    const t = sampleTensors();
    const meta = { epoch: '12', note: 'ünïcode ✓' };
    writeSafetensorsFile(file, t, meta);
    const report = py<PyReport>(['read', file]);
    for (const r of Object.values(report.tensors)) expect(r.dtype).toBe('float32');
    expectMatchesReport({ tensors: t, metadata: meta }, report);
  });

  itPy('our bytes are identical to what the reference writer produces for the same tensors', () => {
    const ours = path.join(tmpDir, 'ours.safetensors');
    const theirs = path.join(tmpDir, 'theirs.safetensors');
    writeSafetensorsFile(ours, sampleTensors(), { epoch: '12' });
    py(['resave', ours, theirs]);
    expect(fs.readFileSync(ours).toString('hex')).toBe(fs.readFileSync(theirs).toString('hex'));
  });

  itPy('we read files that Python safetensors writes (F32, F64, F16, scalar, zero-size)', () => {
    const file = path.join(tmpDir, 'np.safetensors');
    const report = py<PyReport>(['write-numpy', file]);
    expectMatchesReport(readSafetensorsFile(file), report);
  });

  itTorch('PyTorch loads our files as float32 tensors', () => {
    const file = path.join(tmpDir, 'ours.safetensors');
    const t = sampleTensors();
    writeSafetensorsFile(file, t, { run: 'x' });
    const report = py<PyReport>(['read-torch', file]);
    for (const r of Object.values(report.tensors)) expect(r.dtype).toBe('torch.float32');
    expectMatchesReport({ tensors: t, metadata: { run: 'x' } }, report);
  });

  itTorch('we read files that PyTorch writes (BF16, F16, F32)', () => {
    const file = path.join(tmpDir, 'pt.safetensors');
    const report = py<PyReport>(['write-torch', file]);
    expectMatchesReport(readSafetensorsFile(file), report);
  });
});
