// Tensor names are data: "__proto__", "constructor" and "toString" are ordinary keys end to end
// (reader, load(), loadStateDict), and a header naming a key twice is an error, not "last one wins".
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { load, save, tensor, nn } from '../../lib';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile } from '../../lib/io/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-keys-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A safetensors buffer with a hand-written header (for keys an object literal cannot hold twice). */
function rawFile(header: string, data: Uint8Array): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}

describe('safetensors keys', () => {
  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('a tensor named %s round-trips as an own key', (name) => {
    const file = path.join(tmp, `${name}.safetensors`);
    const state = Object.create(null);
    state[name] = tensor([1, 2, 3]);
    state.other = tensor([4]);
    save(state, file);
    const back = load(file);
    expect(Object.keys(back).sort()).toEqual([name, 'other'].sort());
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(Array.from(back[name].toFloat32Array())).toEqual([1, 2, 3]);
    const raw = readSafetensorsFile(file).tensors;
    expect(Object.prototype.hasOwnProperty.call(raw, name)).toBe(true);
  });

  test('loading "constructor"/"toString" tensors into a model names them as unexpected keys', () => {
    const lin = new nn.Linear(2, 2);
    const dict = Object.create(null);
    Object.assign(dict, lin.stateDict());
    dict.constructor = tensor([1]);
    dict.toString = tensor([2]);
    expect(() => lin.loadStateDict(dict)).toThrow(/unexpected key 'constructor'[\s\S]*unexpected key 'toString'/);
    expect(lin.loadStateDict(dict, { strict: false }).unexpected.sort()).toEqual(['constructor', 'toString']);
  });

  test('a header naming a tensor twice is an error naming the key', () => {
    const data = new Uint8Array(8);
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(() => decodeSafetensors(rawFile(header, data))).toThrow(/names "w" twice/);
    const meta = '{"__metadata__":{"a":"1","a":"2"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(() => decodeSafetensors(rawFile(meta, data.subarray(0, 4)))).toThrow(/names "a" twice/);
    const escaped = '{"w\\"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w\\"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(() => decodeSafetensors(rawFile(escaped, data))).toThrow(/twice/);
    const fine = encodeSafetensors({ a: { shape: [1], data: new Float32Array(1) }, b: { shape: [1], data: new Float32Array(1) } }, { a: 'x' });
    expect(Object.keys(decodeSafetensors(fine).tensors)).toEqual(['a', 'b']);
  });
});
