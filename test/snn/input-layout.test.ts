// SNNWrapper.forward names the time-major layout [T, B, ...] when the input's first dimension does not
// match the times given: a batch-major [B, T, F] input and an unencoded [B, F] one each get their fix.
import { nn, zeros, LIFNeuron, SNNWrapper } from '../../lib';

const T = 8, B = 64, F = 784;
const times = Array.from({ length: T }, (_, k) => k * 0.5);
const net = () => new SNNWrapper(new nn.Sequential(new nn.Linear(F, 10), new LIFNeuron()), { alpha: 0.5 });

test('[B, F] (no time axis): says time-major and how to encode', () => {
  expect(() => net().forward(zeros([B, F]), times)).toThrow(
    /xTime has 8 entries but the input has T = 64 time steps \(its shape is \[64, 784\]\)\. The input must be time-major \[T, B, \.\.\.\].*encode it into \[T, B, features\]/);
});

test('batch-major [B, T, F]: says time-major and to swap the first two dimensions', () => {
  expect(() => net().forward(zeros([B, T, F]), times)).toThrow(
    /its shape is \[64, 8, 784\]\)\. The input must be time-major \[T, B, \.\.\.\].*batch-major \[B, T, \.\.\.\].*x\.transpose\(0, 1\)/);
});

test('time-major [T, B, F] runs', () => {
  expect(net().forward(zeros([T, 4, F]), times).shape).toEqual([T, 4, 10]);
});
