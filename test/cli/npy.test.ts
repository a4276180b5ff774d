// The .npy reader against files written byte by byte here.
import * as fs from 'fs';
import * as path from 'path';
import { NpyReader, parseNpyHeader, readNpy } from '../../lib/cli/npy';
import { f32be, f32le, f64le, npyBytes, tmpDir } from './helpers';

const dir = tmpDir('fsnn-npy-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function write(bytes: Buffer): string {
  const p = path.join(dir, `a${n++}.npy`);
  fs.writeFileSync(p, bytes);
  return p;
}

describe('npy reader', () => {
  test('float32 [3, 4], C order', () => {
    const vals = Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
    const r = readNpy(write(npyBytes('<f4', [3, 4], f32le(vals))));
    expect(r.shape).toEqual([3, 4]);
    expect(r.header.dtype).toBe('float32');
    expect(r.header.dataOffset % 64).toBe(0);
    expect(Array.from(r.data)).toEqual(vals);
  });

  test('float64 [2, 2, 2] keeps double precision', () => {
    const vals = [0.1, 0.2, 1e-300, -3.5, Math.PI, 7, 8, -0];
    const r = readNpy(write(npyBytes('<f8', [2, 2, 2], f64le(vals))));
    expect(r.data).toBeInstanceOf(Float64Array);
    expect(Array.from(r.data)).toEqual(vals);
  });

  test('uint8 [5, 3] and a 1-d shape (5,)', () => {
    const vals = Array.from({ length: 15 }, (_, i) => (i * 37) % 256);
    const r = readNpy(write(npyBytes('|u1', [5, 3], Buffer.from(vals))));
    expect(r.header.dtype).toBe('uint8');
    expect(Array.from(r.data)).toEqual(vals);
    const one = readNpy(write(npyBytes('|u1', [5], Buffer.from([9, 8, 7, 6, 5]))));
    expect(one.shape).toEqual([5]);
    expect(Array.from(one.data)).toEqual([9, 8, 7, 6, 5]);
  });

  test('big-endian float32 and format version 2.0', () => {
    const vals = [1.5, -2.25, 3, 1e-7];
    expect(Array.from(readNpy(write(npyBytes('>f4', [2, 2], f32be(vals)))).data)).toEqual(Array.from(Float32Array.from(vals)));
    const v2 = readNpy(write(npyBytes('<f4', [4], f32le(vals), { version: 2 })));
    expect(v2.header.version).toEqual([2, 0]);
    expect(Array.from(v2.data)).toEqual(Array.from(Float32Array.from(vals)));
  });

  test('row ranges are read from the file descriptor', () => {
    const rows = 50, cols = 7;
    const vals = Array.from({ length: rows * cols }, (_, i) => i);
    const r = new NpyReader(write(npyBytes('<f4', [rows, cols], f32le(vals))));
    try {
      expect(r.rows).toBe(rows);
      expect(r.rowSize).toBe(cols);
      expect(Array.from(r.read(10, 3))).toEqual(vals.slice(70, 91));
      expect(Array.from(r.read(49, 1))).toEqual(vals.slice(343, 350));
      expect(r.read(0, 0).length).toBe(0);
      expect(() => r.read(48, 3)).toThrow(/outside 0\.\.50/);
    } finally {
      r.close();
    }
  });

  test('errors name the problem and the fix', () => {
    expect(() => readNpy(write(Buffer.from('hello world, not numpy')))).toThrow(/not a \.npy file.*numpy\.save/);
    expect(() => readNpy(write(npyBytes('<c8', [2], Buffer.alloc(16))))).toThrow(/dtype '<c8' is not supported.*astype\(np\.float32\)/);
    expect(() => readNpy(write(npyBytes('<f4', [2, 3], f32le([1, 2, 3, 4, 5, 6]), { fortran: true })))).toThrow(/Fortran order.*np\.ascontiguousarray/);
    expect(() => readNpy(write(npyBytes('<f4', [4, 4], f32le([1, 2, 3]))))).toThrow(/truncated data.*needs 192 bytes, the file has 140/);
    expect(() => parseNpyHeader(npyBytes('<f4', [2], f32le([1, 2])).subarray(0, 30))).toThrow(/truncated header/);
    expect(() => readNpy(path.join(dir, 'missing.npy'))).toThrow(/cannot open.*check the path/);
  });
});
