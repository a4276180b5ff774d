// fsnn.save / fsnn.load: state dicts as standard safetensors files (F32), with string metadata.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn, tensor, manualSeed, save, load, loadMetadata, Tensor } from '../../lib';
import { randomData } from '../helpers/gradcheck';

const bits = (t: Tensor | Float32Array) => Array.from(new Uint32Array(Float32Array.from(t instanceof Float32Array ? t : t.toFloat32Array()).buffer));
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The header of a safetensors file, parsed by hand (8-byte little-endian length, then JSON). */
function header(file: string): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
}

describe('round trip', () => {
  test('names, shapes and values come back bit for bit (special values included)', () => {
    const special = new Float32Array([0, -0, 1e-40, -3.4e38, 3.4028234663852886e38, Math.PI, 1 / 3, -1e-7]);
    const state = {
      'a.weight': tensor(randomData(12, 1), [3, 4]),
      'a.bias': tensor(special, [8]),
      scalar: tensor(2.5),
      'deep.nest.x': tensor(randomData(2 * 3 * 2, 2), [2, 3, 2]),
    };
    const file = path.join(dir, 'rt.safetensors');
    save(state, file);
    const back = load(file);
    expect(Object.keys(back).sort()).toEqual(Object.keys(state).sort());
    for (const [k, t] of Object.entries(state)) {
      expect(back[k].shape).toEqual(t.shape);
      expect(bits(back[k])).toEqual(bits(t));
      expect(back[k].device).toBe('cpu');
      expect(back[k].requiresGrad).toBe(false);
    }
  });

  test('{ shape, data } entries are accepted', () => {
    const file = path.join(dir, 'raw.safetensors');
    save({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, file);
    const back = load(file);
    expect(back.w.shape).toEqual([2, 2]);
    expect(Array.from(back.w.toFloat32Array())).toEqual([1, 2, 3, 4]);
  });

  test('metadata is stored as strings and read from the header alone', () => {
    const file = path.join(dir, 'meta.safetensors');
    save({ x: tensor([1, 2]) }, file, { epoch: '3', note: 'ünïcode ✓' });
    expect(loadMetadata(file)).toEqual({ epoch: '3', note: 'ünïcode ✓' });
    save({ x: tensor([1, 2]) }, file);
    expect(loadMetadata(file)).toEqual({});
  });

  test('a module state dict round-trips into a fresh module and gives the same outputs', () => {
    manualSeed(4);
    const make = () => new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
    const a = make();
    a.forward(tensor(randomData(2 * 5 * 3, 3), [2, 5, 3])); // moves the running statistics away from 0 / 1
    a.eval();
    const file = path.join(dir, 'module.safetensors');
    save(a.stateDict(), file);
    const b = make().eval();
    b.loadStateDict(load(file));
    const x = tensor(randomData(2 * 5 * 3, 4), [2, 5, 3]);
    expect(bits(b.forward(x) as Tensor)).toEqual(bits(a.forward(x) as Tensor));
    expect(bits(b.stateDict()['1.runningMean'])).toEqual(bits(a.stateDict()['1.runningMean']));
  });
});

describe('the file is standard safetensors', () => {
  test('F32 entries with shapes and contiguous offsets, metadata under __metadata__', () => {
    const file = path.join(dir, 'std.safetensors');
    save({ b: tensor([1, 2, 3], [3]), a: tensor([1, 2, 3, 4, 5, 6], [2, 3]) }, file, { k: 'v' });
    const h = header(file);
    expect(h.__metadata__).toEqual({ k: 'v' });
    const entries = Object.entries(h).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
    expect(entries.map(([k]) => k).sort()).toEqual(['a', 'b']);
    for (const [, e] of entries) expect(e.dtype).toBe('F32');
    expect(Object.fromEntries(entries.map(([k, e]) => [k, e.shape]))).toEqual({ a: [2, 3], b: [3] });
    const spans = entries.map(([, e]) => e.data_offsets).sort((x, y) => x[0] - y[0]);
    expect(spans[0][0]).toBe(0);
    expect(spans[1][0]).toBe(spans[0][1]);
    expect(spans.map(([s, e]) => e - s).sort()).toEqual([12, 24]);
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    expect(buf.length).toBe(8 + n + 36);
    const aSpan = (h.a as { data_offsets: [number, number] }).data_offsets;
    const raw = buf.subarray(8 + n + aSpan[0], 8 + n + aSpan[1]);
    expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('writing replaces the file atomically and leaves no temporary file behind', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const file = path.join(sub, 'm.safetensors');
    save({ x: tensor([1]) }, file);
    save({ x: tensor([2, 3]) }, file);
    expect(fs.readdirSync(sub)).toEqual(['m.safetensors']);
    expect(Array.from(load(file).x.toFloat32Array())).toEqual([2, 3]);
  });
});

describe('errors', () => {
  test('save: not a state dict, or an entry that is not a tensor', () => {
    const file = path.join(dir, 'bad.safetensors');
    expect(() => save(null as unknown as Record<string, Tensor>, file)).toThrow(/pass a state dict/);
    expect(() => save({ ok: tensor([1]), w: [1, 2] as unknown as Tensor }, file)).toThrow(/entry 'w' is not a Tensor or \{ shape, data: Float32Array \}/);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('load: a missing file, a file that is not safetensors, a truncated file — each names the file', () => {
    const missing = path.join(dir, 'nope.safetensors');
    expect(() => load(missing)).toThrow(new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const junk = path.join(dir, 'junk.safetensors');
    fs.writeFileSync(junk, 'this is not a checkpoint at all');
    expect(() => load(junk)).toThrow(/junk\.safetensors/);
    const good = path.join(dir, 'trunc.safetensors');
    save({ x: tensor(randomData(64, 5), [64]) }, good);
    const bytes = fs.readFileSync(good);
    fs.writeFileSync(good, bytes.subarray(0, bytes.length - 10));
    expect(() => load(good)).toThrow(/trunc\.safetensors/);
    expect(() => loadMetadata(junk)).toThrow(/junk\.safetensors/);
  });
});
