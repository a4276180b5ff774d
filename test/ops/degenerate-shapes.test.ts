// Degenerate geometry is an error, never NaN, zeros or a silent truncation; shape products are
// checked for overflow in one helper on each side (native shape_numel, lib shapeNumel).
import { arange, nn, ops, randn, tensor, zeros } from '../../lib';
import { shapeNumel } from '../../lib/shape';

describe('degenerate shapes', () => {
  test('Conv2d with kernel 0 (or 0 channels) is rejected at construction', () => {
    expect(() => new nn.Conv2d(1, 2, 0)).toThrow(/Conv2d: kernelSize must be an integer >= 1/);
    expect(() => new nn.Conv2d(0, 2, 3)).toThrow(/Conv2d: inChannels must be a positive integer/);
    expect(() => new nn.Conv2d(1, 2, [3, 0])).toThrow(/kernelSize/);
  });

  test('ops.conv2d with a zero-size kernel is an error, not zeros', () => {
    expect(() => ops.conv2d(randn([1, 1, 5, 5]), zeros([2, 1, 0, 3]))).toThrow(/zero-size dimension.*kernel of at least 1x1/);
  });

  test('fractional stride, padding, dilation and pool sizes are errors, not truncated', () => {
    expect(() => ops.conv2d(randn([1, 1, 5, 5]), randn([1, 1, 3, 3]), null, { stride: 1.5 })).toThrow(/stride must be an integer >= 1/);
    expect(() => ops.conv2d(randn([1, 1, 5, 5]), randn([1, 1, 3, 3]), null, { padding: [0, 0.5] })).toThrow(/padding must be an integer >= 0/);
    expect(() => ops.maxPool2d(randn([1, 1, 6, 6]), 2.5)).toThrow(/maxPool2d: kernel size must be an integer >= 1/);
    expect(() => ops.avgPool2d(randn([1, 1, 6, 6]), 2, { stride: 1.5 })).toThrow(/avgPool2d: stride/);
    expect(() => new nn.MaxPool2d(1.5)).toThrow(/MaxPool2d: kernel size/);
    expect(() => new nn.Conv2d(1, 1, 3, { dilation: 1.5 })).toThrow(/Conv2d: dilation/);
  });

  test('a reshape whose shape product overflows 2^64 is an error, not a wrapped-around count', () => {
    const x = tensor([1, 2, 3, 4]);
    // 2^32 * 2^32 * 4 wraps to 0 mod 2^64 and 2^62 * 2^2 * ... would wrap to a small count
    expect(() => x.reshape([4294967296, 4294967296, 4])).toThrow(/too large|more than 2\^60/);
    expect(() => x.reshape([2 ** 40, 2 ** 40, 2 ** 40, 4])).toThrow(/reshape: .*(too large|integer)/);
    expect(() => x.reshape([-1, 2 ** 62, 2 ** 62])).toThrow(/reshape/);
    expect(x.reshape([2, 2]).sum().item()).toBe(10);
  });

  test('the lib shape helper rejects inexact products and bad sizes', () => {
    expect(shapeNumel([2, 3], 'op')).toBe(6);
    expect(shapeNumel([0, 2 ** 50], 'op')).toBe(0);
    expect(() => shapeNumel([2 ** 30, 2 ** 30], 'op')).toThrow(/op: shape \[1073741824,1073741824\] is too large: it has more than 2\^53 elements/);
    expect(() => shapeNumel([1.5], 'op')).toThrow(/integer in \[0, 2\^53\)/);
    expect(() => zeros([2 ** 27, 2 ** 27])).toThrow(/zeros|tensor|full|more than 2\^53/);
  });

  test('arange(0, Infinity) and Flatten(-1) name the field and the fix', () => {
    expect(() => arange(0, Infinity)).toThrow(/arange: end = Infinity must be a finite number.*e\.g\. arange\(0, 10\)/);
    expect(() => arange(NaN)).toThrow(/must be a finite number/);
    expect(() => new nn.Flatten(-1)).toThrow(/Flatten: startDim = -1 must be an integer >= 2 \(dims 0 and 1 of \[T, B, \.\.\.\] are time and batch\); use Flatten\(\)/);
    expect(() => new nn.Flatten(2, 1)).toThrow(/endDim = 1 must be -1/);
  });
});
