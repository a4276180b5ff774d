import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseIdx, readIdxFile, loadMnistDirectory, mnistFileCandidates } from '../../lib/data/idx';

/** Minimal IDX writer (big-endian), independent of the reader under test. */
function writeIdx(typeByte: number, dims: number[], values: ArrayLike<number>): Buffer {
  const size: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  const s = size[typeByte];
  const buf = Buffer.alloc(4 + 4 * dims.length + values.length * s);
  buf[2] = typeByte;
  buf[3] = dims.length;
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  let o = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++, o += s) {
    const v = values[i];
    if (typeByte === 0x08) buf.writeUInt8(v, o);
    else if (typeByte === 0x09) buf.writeInt8(v, o);
    else if (typeByte === 0x0b) buf.writeInt16BE(v, o);
    else if (typeByte === 0x0c) buf.writeInt32BE(v, o);
    else if (typeByte === 0x0d) buf.writeFloatBE(v, o);
    else buf.writeDoubleBE(v, o);
  }
  return buf;
}

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-idx-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function mkdir(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** Writes a tiny MNIST-like set: `count` 28x28 images (pixel p of image n = (n*7 + p) % 256) and labels. */
function writeSet(dir: string, prefix: string, count: number, labels: number[], opts: { gz?: boolean; dot?: boolean; rows?: number } = {}) {
  const rows = opts.rows ?? 28;
  const px = Array.from({ length: count * rows * 28 }, (_, i) => (Math.floor(i / (rows * 28)) * 7 + (i % (rows * 28))) % 256);
  const sep = opts.dot ? '.' : '-';
  const enc = (b: Buffer) => (opts.gz ? zlib.gzipSync(b) : b);
  const gz = opts.gz ? '.gz' : '';
  fs.writeFileSync(path.join(dir, `${prefix}-images${sep}idx3-ubyte${gz}`), enc(writeIdx(0x08, [count, rows, 28], px)));
  fs.writeFileSync(path.join(dir, `${prefix}-labels${sep}idx1-ubyte${gz}`), enc(writeIdx(0x08, [labels.length], labels)));
  return px;
}

describe('parseIdx', () => {
  test('round-trips every element type with big-endian values and dims', () => {
    const cases: [number, string, number[]][] = [
      [0x08, 'uint8', [0, 1, 127, 128, 255, 42]],
      [0x09, 'int8', [-128, -1, 0, 1, 127, 5]],
      [0x0b, 'int16', [-32768, -2, 0, 300, 32767, 258]],
      [0x0c, 'int32', [-(2 ** 31), -70000, 0, 65537, 2 ** 31 - 1, 16909060]],
      [0x0d, 'float32', [-1.5, 0, 3.25, 1e-3, 65504, -(2 ** 20)]],
      [0x0e, 'float64', [-1.5, 0, Math.PI, 1e-300, 2 ** 60, -7.125]],
    ];
    for (const [tb, name, vals] of cases) {
      const arr = parseIdx(writeIdx(tb, [2, 3], vals), `t${tb}`);
      expect(arr.type).toBe(name);
      expect(arr.dims).toEqual([2, 3]);
      const want = name === 'float32' ? vals.map(Math.fround) : vals;
      expect(Array.from(arr.data)).toEqual(want);
    }
    const big = parseIdx(writeIdx(0x08, [70000, 1], new Array(70000).fill(9)));
    expect(big.dims).toEqual([70000, 1]); // a size above 65535 uses three bytes of the big-endian uint32
    expect(big.data.length).toBe(70000);
    expect(parseIdx(writeIdx(0x0b, [1], [258])).data).toBeInstanceOf(Int16Array);
  });

  test('parses from a Node Buffer slice at a non-zero byteOffset', () => {
    const inner = writeIdx(0x0c, [2], [1, -2]);
    const outer = Buffer.concat([Buffer.from([9, 9, 9]), inner]).subarray(3);
    expect(Array.from(parseIdx(outer).data)).toEqual([1, -2]);
  });

  test('transparently gunzips', () => {
    const raw = writeIdx(0x08, [4], [1, 2, 3, 250]);
    const arr = parseIdx(zlib.gzipSync(raw));
    expect(arr.dims).toEqual([4]);
    expect(Array.from(arr.data)).toEqual([1, 2, 3, 250]);
    const f = path.join(mkdir('gz'), 'x.idx.gz');
    fs.writeFileSync(f, zlib.gzipSync(raw));
    expect(Array.from(readIdxFile(f).data)).toEqual([1, 2, 3, 250]);
  });

  test('malformed files: every error names the problem and the fix', () => {
    const ok = writeIdx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(Buffer.from([0, 0]), 'a.idx')).toThrow(/IDX a\.idx: truncated header: 2 bytes.*download it again/);
    const bad = Buffer.from(ok);
    bad[0] = 0x12;
    expect(() => parseIdx(bad, 'b.idx')).toThrow(/IDX b\.idx: bad magic 12 00 08 02, expected 00 00 <type> <dims>; this is not an IDX file/);
    expect(() => parseIdx(Buffer.from('<html>not found</html>'), 'c')).toThrow(/bad magic.*looks like text or HTML/);
    const badType = Buffer.from(ok);
    badType[2] = 0x07;
    expect(() => parseIdx(badType)).toThrow(/unknown element type byte 0x07; supported are 0x08 uint8/);
    expect(() => parseIdx(ok.subarray(0, 9), 'd')).toThrow(/truncated header: 2 dimensions need 12 header bytes, the file has 9/);
    expect(() => parseIdx(ok.subarray(0, ok.length - 2), 'e')).toThrow(
      /IDX e: truncated data: dims \[2, 3\] of uint8 need 18 bytes \(12 header \+ 6 data\), the file has 16; .*download it again/,
    );
    expect(() => parseIdx(Buffer.concat([ok, Buffer.from([0])]), 'f')).toThrow(/trailing bytes after the data.*need 18 bytes.*the file has 19/);
    const gz = zlib.gzipSync(ok);
    expect(() => parseIdx(gz.subarray(0, gz.length - 10), 'g.gz')).toThrow(/IDX g\.gz: starts with the gzip magic but does not decompress/);
    expect(() => readIdxFile(path.join(tmp, 'nope.idx'))).toThrow(/nope\.idx: cannot read the file.*check the path/);
  });
});

describe('loadMnistDirectory', () => {
  test('loads train and test sets, scales to [0, 1], keeps labels', () => {
    const dir = mkdir('plain');
    const px = writeSet(dir, 'train', 3, [5, 0, 9]);
    writeSet(dir, 't10k', 2, [1, 7]);
    const m = loadMnistDirectory(dir);
    expect(m.train.count).toBe(3);
    expect(m.test.count).toBe(2);
    expect([m.train.rows, m.train.cols]).toEqual([28, 28]);
    expect(Array.from(m.train.labels)).toEqual([5, 0, 9]);
    expect(m.train.labels).toBeInstanceOf(Int32Array);
    expect(Array.from(m.test.labels)).toEqual([1, 7]);
    expect(m.train.images.length).toBe(3 * 784);
    for (const i of [0, 1, 300, 784, 2000, 3 * 784 - 1]) expect(m.train.images[i]).toBe(Math.fround(px[i] / 255));
    let hi = 0;
    for (const v of m.train.images) hi = Math.max(hi, v);
    expect(hi).toBe(1);
  });

  test('accepts .gz and the dotted file names', () => {
    const dir = mkdir('variants');
    writeSet(dir, 'train', 2, [3, 4], { gz: true, dot: true });
    writeSet(dir, 't10k', 1, [8], { gz: true });
    const m = loadMnistDirectory(dir);
    expect(Array.from(m.train.labels)).toEqual([3, 4]);
    expect(Array.from(m.test.labels)).toEqual([8]);
    expect(mnistFileCandidates('train-images')).toEqual([
      'train-images-idx3-ubyte', 'train-images.idx3-ubyte', 'train-images-idx3-ubyte.gz', 'train-images.idx3-ubyte.gz',
    ]);
  });

  test('errors: missing files, count mismatch, bad labels, wrong image size, wrong file kind, not a directory', () => {
    const missing = mkdir('missing');
    writeSet(missing, 'train', 1, [1]);
    expect(() => loadMnistDirectory(missing)).toThrow(
      /no t10k-images file in .*missing; looked for t10k-images-idx3-ubyte, t10k-images\.idx3-ubyte, t10k-images-idx3-ubyte\.gz, t10k-images\.idx3-ubyte\.gz/,
    );

    const mismatch = mkdir('mismatch');
    writeSet(mismatch, 'train', 3, [1, 2]);
    writeSet(mismatch, 't10k', 1, [1]);
    expect(() => loadMnistDirectory(mismatch)).toThrow(/has 3 images but .*train-labels-idx1-ubyte has 2 labels; they must match/);

    const badLabel = mkdir('badlabel');
    writeSet(badLabel, 'train', 2, [1, 12]);
    writeSet(badLabel, 't10k', 1, [1]);
    expect(() => loadMnistDirectory(badLabel)).toThrow(/label 1 is 12, outside 0\.\.9/);

    const notSquare = mkdir('notsquare');
    writeSet(notSquare, 'train', 2, [1, 2], { rows: 14 });
    writeSet(notSquare, 't10k', 1, [1]);
    expect(() => loadMnistDirectory(notSquare)).toThrow(/holds uint8 with dims \[2, 14, 28\], but MNIST images are uint8 \[count, 28, 28\]/);

    const swapped = mkdir('swapped');
    writeSet(swapped, 'train', 1, [1]);
    writeSet(swapped, 't10k', 1, [1]);
    fs.copyFileSync(path.join(swapped, 'train-labels-idx1-ubyte'), path.join(swapped, 'train-images-idx3-ubyte'));
    expect(() => loadMnistDirectory(swapped)).toThrow(/dims \[1\], but MNIST images are uint8 \[count, 28, 28\]; check that this is the images file/);

    const corrupt = mkdir('corrupt');
    writeSet(corrupt, 'train', 2, [1, 2]);
    writeSet(corrupt, 't10k', 1, [1]);
    const f = path.join(corrupt, 'train-images-idx3-ubyte');
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 1000));
    expect(() => loadMnistDirectory(corrupt)).toThrow(/truncated data: dims \[2, 28, 28\] of uint8 need 1584 bytes \(16 header \+ 1568 data\), the file has 1000/);

    expect(() => loadMnistDirectory(path.join(tmp, 'absent'))).toThrow(/is not a directory; pass the directory holding the MNIST IDX files/);
  });
});
