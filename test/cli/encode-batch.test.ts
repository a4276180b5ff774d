// encodeBatch (the CLI's batches): Poisson coding is drawn on the batch's device by the kernel
// bernoulliSteps, and must give exactly the stream of lib/random/philox.ts that encode('poisson')
// documents: element k of [T, n, F] is 1 when uniform(offset + k) of Philox(seed) is below x.
import { encodeBatch } from '../../lib/cli/common';
import { encode } from '../../lib/data/encoders';
import { Philox } from '../../lib/random/philox';
import { bernoulliSteps, tensor } from '../../lib';
import { testDevice } from '../helpers/device';

test('poisson batches are the reference Philox Bernoulli stream, on the device, with the seed and offset given', () => {
  const n = 3, F = 37, T = 5; // n F = 111: steps start inside a Philox block
  const x = Float32Array.from({ length: n * F }, (_, i) => (i % 11) / 10);
  const { x: got } = encodeBatch(x, n, F, T, 'poisson', testDevice, { seed: 9, offset: 5 });
  expect(got.shape).toEqual([T, n, F]);
  expect(got.device).toBe(testDevice);
  const tiled = new Float32Array(T * n * F);
  for (let t = 0; t < T; t++) tiled.set(x, t * n * F);
  const want = new Philox(9, 5).bernoulli(tiled);
  expect(Array.from(got.toFloat32Array())).toEqual(Array.from(want));
  expect(Array.from(encode('poisson', x, n, F, T, { seed: 9, offset: 5 }).data)).toEqual(Array.from(want));
});

test('a probability outside [0, 1] is named before anything is drawn', () => {
  const x = Float32Array.from([0.5, 1.5, 0.2, 0.1]);
  expect(() => encodeBatch(x, 2, 2, 3, 'poisson', testDevice)).toThrow(/x\[1\] \(sample 0, feature 1\) is 1\.5, but spike probabilities must lie in \[0, 1\]/);
});

test('bernoulliSteps: shape, the global generator when no seed is given, and clear errors', () => {
  const p = tensor([0, 1, 0.5, 0.25], [2, 2]);
  const s = bernoulliSteps(p, 6);
  expect(s.shape).toEqual([6, 2, 2]);
  const v = s.toFloat32Array();
  for (let t = 0; t < 6; t++) {
    expect(v[4 * t]).toBe(0);
    expect(v[4 * t + 1]).toBe(1);
  }
  expect(() => bernoulliSteps(p, 0)).toThrow(/steps = 0 must be a positive integer/);
  expect(() => bernoulliSteps(p, 2, { seed: -1 })).toThrow(/seed = -1 must be an integer/);
  if (testDevice === 'cpu') expect(() => bernoulliSteps(tensor([0.5, -0.1], [2]), 2, { seed: 1 })).toThrow(/probability 1 is -0\.1, outside \[0, 1\]/);
});
