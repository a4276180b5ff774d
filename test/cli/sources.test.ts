// Input files for `fsnn infer`, read in chunks: the format comes from the first bytes.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { detectFormat, openInput } from '../../lib/cli/sources';
import { f32le, idxUint8, npyBytes, tmpDir } from './helpers';

const dir = tmpDir('fsnn-src-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
};

async function readAll(p: string, chunk: number) {
  const src = await openInput(p);
  const parts: number[][] = [];
  try {
    for (let x = await src.next(chunk); x; x = await src.next(chunk)) parts.push(Array.from(x));
  } finally {
    src.close();
  }
  return { src, parts };
}

describe('inference inputs', () => {
  const vals = Array.from({ length: 10 * 6 }, (_, i) => (i * 7) % 256);

  test('IDX plain and gzip, named anything, give the same records in chunks', async () => {
    const plain = file('images.bin', idxUint8([10, 2, 3], vals));
    const gz = file('images.whatever', zlib.gzipSync(idxUint8([10, 2, 3], vals)));
    expect(detectFormat(plain)).toBe('idx');
    expect(detectFormat(gz)).toBe('idx.gz');
    for (const p of [plain, gz]) {
      const { src, parts } = await readAll(p, 4);
      expect(src.count).toBe(10);
      expect(src.sampleShape).toEqual([2, 3]);
      expect(src.storage).toBe('uint8');
      expect(parts.map((c) => c.length)).toEqual([24, 24, 12]);
      expect(parts.flat()).toEqual(vals);
    }
  });

  test('a truncated IDX file is refused', async () => {
    const p = file('short.idx', idxUint8([10, 2, 3], vals).subarray(0, 40));
    await expect(openInput(p)).rejects.toThrow(/need 76 bytes, the file has 40.*download it again/);
    const gz = file('short.gz', zlib.gzipSync(idxUint8([10, 2, 3], vals).subarray(0, 40)));
    const src = await openInput(gz);
    await expect((async () => { while (await src.next(3)); })()).rejects.toThrow(/ends after 4 of 10 records/);
    src.close();
  });

  test('.npy in chunks', async () => {
    const p = file('x.npy', npyBytes('<f4', [10, 6], f32le(vals)));
    const { src, parts } = await readAll(p, 3);
    expect(src.format).toBe('npy');
    expect(parts.map((c) => c.length)).toEqual([18, 18, 18, 6]);
    expect(parts.flat()).toEqual(vals);
  });

  test('JSON: a list of samples, {inputs, labels}, or a list of {input, label}', async () => {
    const a = await readAll(file('a.json', JSON.stringify([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])), 10);
    expect(a.src.sampleShape).toEqual([2, 2]);
    expect(a.src.labels).toBeNull();
    expect(a.parts.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const b = await readAll(file('b.json', JSON.stringify({ inputs: [[1, 2], [3, 4], [5, 6]], labels: [2, 0, 1] })), 2);
    expect(Array.from(b.src.labels!)).toEqual([2, 0, 1]);
    expect(b.parts).toEqual([[1, 2, 3, 4], [5, 6]]);
    const c = await readAll(file('c.json', JSON.stringify([{ input: [1, 2], label: 3 }, { input: [4, 5], label: 4 }])), 5);
    expect(Array.from(c.src.labels!)).toEqual([3, 4]);
    await expect(openInput(file('d.json', '[[1, 2], [3]]'))).rejects.toThrow(/sample 1 has 1 values, sample 0 has 2/);
    await expect(openInput(file('e.json', '{"inputs": [[1]], "labels": [0.5]}'))).rejects.toThrow(/label 0 is 0\.5/);
    await expect(openInput(file('f.json', '{"inputs": [[1], [2]], "labels": [1]}'))).rejects.toThrow(/1 labels for 2 samples/);
  });

  test('unknown formats name what is supported', () => {
    expect(() => detectFormat(file('x.txt', 'hello'))).toThrow(/unknown input format.*\.npy file.*IDX file.*JSON/);
    expect(() => detectFormat(file('x.npz', Buffer.from('PK\x03\x04rest')))).toThrow(/zip archive.*numpy\.save/);
    expect(() => detectFormat(path.join(dir, 'missing'))).toThrow(/cannot open.*check the path/);
  });
});
