// console.log(tensor) / util.inspect: values as PyTorch prints them (4 decimals, integers as "1.",
// scientific notation for wide ranges, nan/inf), shape, dtype, device, requiresGrad; above 1,000
// elements the first and last 3 entries per dimension, read without copying the whole tensor.
import * as util from 'util';
import { arange, getDefaultDevice, intTensor, tensor, zeros } from '../lib';

const show = (x: unknown) => util.inspect(x);
// The tensors below are made on the suite's default device (cpu, or cuda under FSNN_DEVICE=cuda).
const DEV = getDefaultDevice();

test('small float tensors: all values, aligned, with the metadata', () => {
  expect(show(tensor([[0.1, 0.2], [0.3, -0.4]]).requiresGrad_())).toBe(
    'tensor([[ 0.1000,  0.2000],\n' +
    `        [ 0.3000, -0.4000]], shape=[2, 2], dtype=float32, device=${DEV}, requiresGrad=true)`);
  expect(show(tensor([1, 2, 30]))).toBe(`tensor([ 1.,  2., 30.], shape=[3], dtype=float32, device=${DEV})`);
  expect(show(tensor([1e-6, 1, 1000]))).toBe(`tensor([1.0000e-06, 1.0000e+00, 1.0000e+03], shape=[3], dtype=float32, device=${DEV})`);
  expect(show(tensor([NaN, -Infinity, 0.5]))).toBe(`tensor([   nan,   -inf, 0.5000], shape=[3], dtype=float32, device=${DEV})`);
  expect(show(tensor(3.5))).toBe(`tensor(3.5000, shape=[], dtype=float32, device=${DEV})`);
  expect(show(zeros([0, 3]))).toBe(`tensor([], shape=[0, 3], dtype=float32, device=${DEV})`);
  expect(show(intTensor([1, -2, 3], [3]))).toBe(`tensor([ 1, -2,  3], shape=[3], dtype=int32, device=${DEV})`);
});

test('3-d tensors separate the blocks with a blank line', () => {
  expect(show(tensor([[[1, 2]], [[3, 4]]]))).toBe(`tensor([[[1., 2.]],\n\n        [[3., 4.]]], shape=[2, 1, 2], dtype=float32, device=${DEV})`);
});

test('nested in objects (console.log of a structure)', () => {
  expect(show({ w: tensor([1.5, 2]) })).toBe(`{ w: tensor([1.5000, 2.0000], shape=[2], dtype=float32, device=${DEV}) }`);
});

test('above 1,000 elements: 3 entries at each end per dimension, without reading the whole tensor', () => {
  const x = arange(0, 2000 * 3).reshape([2000, 3]);
  // a read of the whole tensor would call its handle's toFloat32Array
  Object.defineProperty(x.handle, 'toFloat32Array', { value: () => { throw new Error('whole tensor read'); } });
  expect(show(x)).toBe(
    'tensor([[   0.,    1.,    2.],\n' +
    '        [   3.,    4.,    5.],\n' +
    '        [   6.,    7.,    8.],\n' +
    '        ...,\n' +
    '        [5991., 5992., 5993.],\n' +
    '        [5994., 5995., 5996.],\n' +
    `        [5997., 5998., 5999.]], shape=[2000, 3], dtype=float32, device=${DEV})`);
  expect(show(arange(0, 1001))).toBe(`tensor([   0.,    1.,    2., ...,  998.,  999., 1000.], shape=[1001], dtype=float32, device=${DEV})`);
  // 1,000 elements exactly: all shown
  expect(show(arange(0, 1000)).split(',').length).toBe(1000 + 3);
});

test('a disposed tensor prints as such instead of throwing', () => {
  const x = tensor([1, 2]);
  x.dispose();
  expect(show(x)).toBe(`tensor(<disposed>, shape=[2], dtype=float32, device=${DEV})`);
});
