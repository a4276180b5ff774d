// No call reachable from require('fractional-snn') may crash the process. The package exports only
// read-only introspection of the addon; the internal entry points it no longer exports also check
// their arguments (out-of-range op codes, pool indices, gradient shapes, non-handles).
import * as fsnn from '../lib';
import { native } from '../lib/native';

describe('the exported native object', () => {
  test('holds only read-only introspection', () => {
    expect(Object.keys(fsnn.native).sort()).toEqual(['info', 'liveBytes']);
    expect(Object.isFrozen(fsnn.native)).toBe(true);
    expect(typeof fsnn.native.info().threads).toBe('number');
    expect(() => fsnn.native.liveBytes('tpu' as never)).toThrow(/unknown device 'tpu'/);
  });
});

describe('internal entry points validate their arguments', () => {
  const a = fsnn.tensor([1, 2, 3, 4]);
  test('binary/unary/reduce/random with an unknown op code', () => {
    expect(() => native.binary(-1, a.handle, a.handle)).toThrow(/op code -1 is unknown/);
    expect(() => native.binary(99, a.handle, a.handle)).toThrow(/op code 99 is unknown/);
    expect(() => native.unary(1e9, a.handle)).toThrow(/op code 1000000000 is unknown/);
    expect(() => native.reduce(7, a.handle, [0], false, false)).toThrow(/op code 7 is unknown/);
    expect(() => native.random(3, [2], 0, 0, 0.5, 'cpu')).toThrow(/op code 3 is unknown/);
  });

  test('maxPool2dBackward with an out-of-range index or mismatched shapes (CPU backend)', () => {
    const x = fsnn.randn([1, 1, 4, 4], { device: 'cpu' });
    const [y, idx] = native.maxPool2d(x.handle, { kH: 2, kW: 2 });
    const bad = native.fromInt32(Int32Array.from([0, 1, 2, 1 << 30]), [1, 1, 2, 2], 'cpu');
    expect(() => native.maxPool2dBackward(y, bad, [1, 1, 4, 4], { kH: 2, kW: 2 })).toThrow(/index 1073741824 at position 3 is outside the 4x4 input plane/);
    const neg = native.fromInt32(Int32Array.from([0, -5, 2, 1]), [1, 1, 2, 2], 'cpu');
    expect(() => native.maxPool2dBackward(y, neg, [1, 1, 4, 4], { kH: 2, kW: 2 })).toThrow(/index -5/);
    expect(() => native.maxPool2dBackward(fsnn.randn([1, 1, 3, 3], { device: 'cpu' }).handle, idx, [1, 1, 4, 4], { kH: 2, kW: 2 })).toThrow(/does not match the op's output shape \[1,1,2,2\]/);
    expect(() => native.conv2dBackwardInput(fsnn.randn([1, 1]).handle, fsnn.randn([1, 1, 3, 3]).handle, [1, 1, 5, 5], {})).toThrow(/does not match/);
  });

  test('objects that are not handles, including a copy of the handle prototype', () => {
    const fake = Object.create(Object.getPrototypeOf(a.handle));
    expect(() => native.clone(fake)).toThrow(/expected a tensor handle/);
    expect(() => native.clone({} as never)).toThrow(/expected a tensor handle/);
    expect(() => (a.handle as unknown as { toFloat32Array: () => unknown }).toFloat32Array.call({})).toThrow(); // V8 rejects the receiver (Illegal invocation)
  });

  test('shape entries beyond int64 and a disposed handle', () => {
    expect(() => native.empty([1e30], 'cpu')).toThrow(/must be an integer/);
    const t = fsnn.tensor([1, 2]);
    const h = t.handle;
    t.dispose();
    expect(() => native.clone(h)).toThrow(/disposed/);
    expect(() => h.toFloat32Array()).toThrow(/disposed/);
  });
});
