// The alpha binding helpers: learned orders / weights projected into range in place (frozen ones left
// alone), host copies read once per device, and the positive-weight check naming the owner.
import { tensor, Tensor, nn, cuda } from '../../lib';
import { AlphaBinding, projectBindings, readHostValues, refreshHostValues } from '../../lib/snn/alpha-binding';
import { testDevice } from '../helpers/device';

const values = (t: Tensor) => Array.from(t.toFloat32Array());

function binding(alpha: number[], coefficient: number[], learn: boolean, device: 'cpu' | 'cuda' = testDevice): AlphaBinding {
  const make = (v: number[]) => (learn ? new nn.Parameter(tensor(v, [v.length], { device })) : tensor(v, [v.length], { device }));
  return { alpha: make(alpha), coefficient: make(coefficient), learnAlpha: learn, learnCoefficient: learn, alphaMin: 0.1, owner: 'TestOwner', wrapper: null };
}

test('projection: learned values into [alphaMin, 1] and [0, inf), NaN to the lower bound, in place; frozen ones untouched', () => {
  const learned = binding([1.5, 0.05, NaN, 0.5], [-1, 2, NaN, 0], true);
  const frozen = binding([1.5, 0.05], [-1, 2], false);
  const [a, c] = [learned.alpha, learned.coefficient];
  projectBindings([learned, frozen]);
  expect(learned.alpha).toBe(a);
  expect(learned.coefficient).toBe(c);
  expect(values(a)).toEqual([1, Math.fround(0.1), Math.fround(0.1), 0.5]);
  expect(values(c)).toEqual([0, 2, 0, 0]);
  expect(values(frozen.alpha)).toEqual([1.5, Math.fround(0.05)]);
  expect(values(frozen.coefficient)).toEqual([-1, 2]);
});

describe('host values', () => {
  let reads = 0;
  let spy: jest.SpyInstance;
  beforeEach(() => {
    reads = 0;
    const orig = Tensor.prototype.toFloat32Array;
    spy = jest.spyOn(Tensor.prototype, 'toFloat32Array').mockImplementation(function (this: Tensor) {
      reads++;
      return orig.call(this);
    });
  });
  afterEach(() => spy.mockRestore());

  test('every tensor of a device is read in one read, with its own values', () => {
    const ts = [tensor([0.25, 0.5], [2]), tensor([3], [1]), tensor([1, 2, 3, 4], [2, 2]), tensor([7], [1])];
    const host = readHostValues([...ts, ts[1]]);
    expect(reads).toBe(1);
    expect(host.size).toBe(4);
    expect(ts.map((t) => Array.from(host.get(t)!))).toEqual([[0.25, 0.5], [3], [1, 2, 3, 4], [7]]);
    expect(host.get(ts[0])).toBeInstanceOf(Float64Array);
  });

  // eslint-disable-next-line no-console
  if (!cuda.isAvailable()) console.log(`SKIPPED: host values on two devices (one read per device): ${cuda.unavailableReason()}`);
  const gpu = cuda.isAvailable() ? test : test.skip;
  gpu('tensors on two devices: one read per device', () => {
    const ts = [tensor([1], [1], { device: 'cpu' }), tensor([2, 3], [2], { device: 'cuda' }), tensor([4], [1], { device: 'cpu' }), tensor([5], [1], { device: 'cuda' })];
    const host = readHostValues(ts);
    expect(reads).toBe(2);
    expect(ts.map((t) => Array.from(host.get(t)!))).toEqual([[1], [2, 3], [4], [5]]);
  });

  test('refreshHostValues reads once, projects, and names the owner of a binding without a positive weight', () => {
    const b = binding([0.5], [3], true);
    (b.alpha as nn.Parameter).assign(new Float32Array([2]));
    const host = refreshHostValues([b, binding([0.7], [1], false)]);
    expect(reads).toBe(1);
    expect(Array.from(host.get(b.alpha)!)).toEqual([1]);
    expect(values(b.alpha)).toEqual([1]);
    expect(() => refreshHostValues([binding([0.5, 0.6], [0, -2], false)])).toThrow(/TestOwner has no positive coefficient \(0,-2\); .*K_0 > 0/);
    const noProjection = binding([0.5], [1], true);
    (noProjection.alpha as nn.Parameter).assign(new Float32Array([2]));
    expect(Array.from(refreshHostValues([noProjection], [], false).get(noProjection.alpha)!)).toEqual([2]);
  });
});

describe('refreshHostValues projects what left its range, on the device and in the host copy alike', () => {
  test('the host copy equals the device values after the projection; in-range values run nothing on the device', () => {
    const f = Math.fround;
    // alphaMin 0.1: below, NaN, above, the float32 bounds themselves, inside; weights: negative, NaN, -0, inside
    const b = binding([0.05, NaN, 1.5, f(0.1), 1, 0.3], [-1, NaN, -0, 2, 1e30], true);
    const host = refreshHostValues([b]);
    expect(Array.from(host.get(b.alpha)!)).toEqual(values(b.alpha));
    expect(Array.from(host.get(b.coefficient)!)).toEqual(values(b.coefficient));
    expect(values(b.alpha)).toEqual([f(0.1), f(0.1), 1, f(0.1), 1, f(0.3)]);
    expect(values(b.coefficient).map((v) => v + 0)).toEqual([0, 0, 0, 2, f(1e30)]);
    const copies = jest.spyOn(Tensor.prototype, 'copy_');
    try {
      const inRange = binding([f(0.1), 0.5, 1], [0, 3], true);
      refreshHostValues([inRange]);
      expect(copies).not.toHaveBeenCalled();
      expect(values(inRange.alpha)).toEqual([f(0.1), 0.5, 1]);
    } finally {
      copies.mockRestore();
    }
  });
});
