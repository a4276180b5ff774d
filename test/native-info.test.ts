// No call reachable from require('fractional-snn') may crash the process. The package exports only
// read-only introspection of the addon; the internal entry points it no longer exports also check
// their arguments (unknown kernels and enumeration values, pool indices, gradient shapes, non-handles).
import * as fsnn from '../lib';
import { native } from '../lib/native';

describe('the exported native object', () => {
  test('holds only read-only introspection', () => {
    expect(Object.keys(fsnn.native).sort()).toEqual(['cpuMemoryStats', 'info', 'liveBytes']);
    expect(Object.isFrozen(fsnn.native)).toBe(true);
    expect(typeof fsnn.native.info().threads).toBe('number');
    expect(() => fsnn.native.liveBytes('tpu' as never)).toThrow(/unknown device 'tpu'/);
  });
});

describe('internal entry points validate their arguments', () => {
  const a = fsnn.tensor([1, 2, 3, 4]);
  test('binary/unary/reduce/random with an unknown op name; the positional exports are gone', () => {
    const k = native.runKernel as (name: string, inputs: unknown[], attrs?: unknown) => unknown;
    expect(() => k('binary', [a.handle, a.handle], { op: 'pow' })).toThrow(/runKernel\('binary'\): attribute 'op' 'pow' is unknown; use one of 'add', 'sub'/);
    expect(() => k('unary', [a.handle], { op: 3 })).toThrow(/attribute 'op' must be one of 'neg', .* got a number/);
    expect(() => k('reduce', [a.handle], { op: 'median', dims: [0] })).toThrow(/'median' is unknown/);
    expect(() => k('random', [], { kind: 'poisson', shape: [2], seed: 0, device: 'cpu' })).toThrow(/attribute 'kind' 'poisson' is unknown/);
    for (const legacy of ['unary', 'binary', 'reduce', 'random', 'slice', 'concat', 'reshape', 'full', 'to', 'copy_', 'axpy_', 'runPlan'])
      expect((native as unknown as Record<string, unknown>)[legacy]).toBeUndefined();
  });

  test('runKernel: an unknown kernel, wrong inputs, missing and mistyped attributes name the kernel and the field', () => {
    const k = native.runKernel as (name: string, inputs: unknown[], attrs?: unknown) => unknown;
    expect(() => k('convolve', [a.handle], {})).toThrow(/runKernel: no kernel named 'convolve'; the kernels are: .*conv2d/);
    expect(() => k('binary', [a.handle], { op: 'add' })).toThrow(/runKernel\('binary'\): takes 2 input tensors \(a, b\), got 1/);
    expect(() => k('where', [a.handle, null, a.handle])).toThrow(/input 1 \(a\) is null; it must be a tensor/);
    expect(() => k('concat', [], { dim: 0 })).toThrow(/takes at least 1 input tensor \(xs\.\.\.\), got 0/);
    expect(() => k('unary', [a.handle], {})).toThrow(/runKernel\('unary'\): attribute 'op' is required/);
    expect(() => k('slice', [a.handle], { dim: 0, end: 1.5 })).toThrow(/runKernel\('slice'\): attribute 'end' must be an integer/);
    expect(() => k('matmul', [a.handle, a.handle], { transA: 1 })).toThrow(/attribute 'transA' must be a boolean, got a number/);
    expect(() => k('indexSelect', [a.handle], { dim: 0, index: [0, 1] })).toThrow(/attribute 'index' must be an Int32Array .* got an array/);
    expect(() => k('reshape', [a.handle], { shape: [2, 'x'] })).toThrow(/attribute 'shape' must hold only numbers/);
    expect(() => k('unary', [a.handle], 'exp')).toThrow(/runKernel\('unary'\): attrs must be an object/);
    expect(() => k('unary', {} as never, { op: 'exp' })).toThrow(/inputs must be an array/);
    expect(() => k(42 as never, [])).toThrow(/kernel name must be a string/);
  });

  test('maxPool2dBackward with an out-of-range index or mismatched shapes (CPU backend)', () => {
    const x = fsnn.randn([1, 1, 4, 4], { device: 'cpu' });
    const pool = { kH: 2, kW: 2, strideH: 2, strideW: 2 };
    const [y, idx] = native.runKernel('maxPool2d', [x.handle], pool);
    const bad = native.fromInt32(Int32Array.from([0, 1, 2, 1 << 30]), [1, 1, 2, 2], 'cpu');
    expect(() => native.runKernel('maxPool2dBackward', [y, bad], { ...pool, inputShape: [1, 1, 4, 4] })).toThrow(/index 1073741824 at position 3 is outside the 4x4 input plane/);
    const neg = native.fromInt32(Int32Array.from([0, -5, 2, 1]), [1, 1, 2, 2], 'cpu');
    expect(() => native.runKernel('maxPool2dBackward', [y, neg], { ...pool, inputShape: [1, 1, 4, 4] })).toThrow(/index -5/);
    expect(() => native.runKernel('maxPool2dBackward', [fsnn.randn([1, 1, 3, 3], { device: 'cpu' }).handle, idx], { ...pool, inputShape: [1, 1, 4, 4] })).toThrow(/does not match the op's output shape \[1,1,2,2\]/);
    expect(() => native.runKernel('conv2dBackwardInput', [fsnn.randn([1, 1]).handle, fsnn.randn([1, 1, 3, 3]).handle], { inputShape: [1, 1, 5, 5] })).toThrow(/does not match/);
  });

  test('objects that are not handles, including a copy of the handle prototype', () => {
    const fake = Object.create(Object.getPrototypeOf(a.handle));
    expect(() => native.runKernel('clone', [fake])).toThrow(/expected a tensor handle/);
    expect(() => native.runKernel('clone', [{} as never])).toThrow(/expected a tensor handle/);
    expect(() => (a.handle as unknown as { toFloat32Array: () => unknown }).toFloat32Array.call({})).toThrow(); // V8 rejects the receiver (Illegal invocation)
  });

  test('shape entries beyond int64 and a disposed handle', () => {
    expect(() => native.runKernel('full', [], { shape: [1e30], device: 'cpu' })).toThrow(/attribute 'shape' must be an integer/);
    const t = fsnn.tensor([1, 2]);
    const h = t.handle;
    t.dispose();
    expect(() => native.runKernel('clone', [h])).toThrow(/disposed/);
    expect(() => h.toFloat32Array()).toThrow(/disposed/);
  });
});
