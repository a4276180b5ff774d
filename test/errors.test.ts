// Errors: each bad call throws a JS Error whose message names the op and says what to change; the
// process survives and unrelated tensors stay valid and usable.
import * as fsnn from '../lib';
import { ops, tensor, Tensor } from '../lib';

/** A tensor that must survive every failed call unchanged. */
let witness: Tensor;
beforeEach(() => {
  witness = tensor([[1, 2], [3, 4]]);
});
afterEach(() => {
  // The process is alive, the witness is intact, and new native work still runs.
  expect(witness.isDisposed).toBe(false);
  expect(witness.toArray()).toEqual([[1, 2], [3, 4]]);
  expect(witness.matmul(witness).add(1).sum().item()).toBe(58);
  witness.dispose();
});

/** Runs fn, expects it to throw an Error, and returns the message. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    // Native errors come from the main realm (jest runs tests in a vm context), so check the tag, not instanceof.
    expect(Object.prototype.toString.call(e)).toBe('[object Error]');
    expect(typeof (e as Error).message).toBe('string');
    return (e as Error).message;
  }
  throw new Error('expected the call to throw');
}

const cudaAvailable = fsnn.cuda.isAvailable();
/** Runs only where CUDA works; elsewhere it shows as skipped, with the reason logged. */
const testWithCuda = cudaAvailable ? test : test.skip;
const testWithoutCuda = cudaAvailable ? test.skip : test;
if (!cudaAvailable)
  console.log(`[errors.test] SKIPPING the mixed cpu/cuda device test: CUDA is not available here (${fsnn.cuda.unavailableReason()})`);
else console.log('[errors.test] SKIPPING the "CUDA unavailable" test: CUDA is available here');

describe('clear errors', () => {
  test('matmul with mismatched inner dimensions', () => {
    const a = tensor(new Float32Array(6), [2, 3]), b = tensor(new Float32Array(8), [4, 2]);
    const m = messageOf(() => a.matmul(b));
    expect(m).toMatch(/^matmul: inner dimensions differ/);
    expect(m).toContain('[2,3]');
    expect(m).toContain('[4,2]');
    expect(m).toMatch(/has 3 columns but .* has 4 rows; the contracted sizes must be equal/);
    // Inputs unchanged and usable; the transposed product works.
    expect(a.matmul(b.reshape([2, 4]), { transA: true }).shape).toEqual([3, 4]);
  });

  test('failed broadcast: [2,3] + [4]', () => {
    const m = messageOf(() => tensor(new Float32Array(6), [2, 3]).add(tensor([1, 2, 3, 4])));
    expect(m).toMatch(/^add: cannot broadcast shapes \[2,3\] and \[4\]/);
    expect(m).toMatch(/dimension -1 has sizes 3 and 4/);
    expect(m).toMatch(/sizes must match or be 1 — reshape an operand or add a size-1 dimension/);
    expect(messageOf(() => ops.where(tensor([1, 0]), tensor([1, 2, 3]), 0))).toMatch(/^where: cannot broadcast/);
  });

  test('labels of the wrong type or out of range', () => {
    const logits = tensor([[1, 2, 3], [4, 5, 6]]);
    const wrongType = messageOf(() => ops.crossEntropy(logits, [0, 2] as unknown as Int32Array));
    expect(wrongType).toMatch(/^crossEntropy: labels must be an Int32Array of class indices, got Array; convert with Int32Array.from\(labels\)/);
    expect(messageOf(() => ops.nllLoss(logits, new Float32Array([0, 1]) as unknown as Int32Array))).toMatch(/^nllLoss: labels must be an Int32Array .*got Float32Array/);
    const outOfRange = messageOf(() => ops.crossEntropy(logits, Int32Array.from([0, 3])));
    expect(outOfRange).toMatch(/^crossEntropy: label 3 at position 1 is out of range for 3 classes; labels must lie in \[0, 3\)/);
    expect(messageOf(() => ops.crossEntropy(logits, Int32Array.from([-1, 0])))).toMatch(/label -1 at position 0 is out of range/);
    expect(messageOf(() => ops.crossEntropy(logits, Int32Array.from([0])))).toMatch(/^crossEntropy: got 1 labels for 2 rows .*give one label per row/);
    expect(messageOf(() => ops.crossEntropy(tensor([1, 2, 3]), Int32Array.from([0])))).toMatch(/^crossEntropy: logits must be \[N, C\]/);
    // Correct labels still work afterwards.
    expect(Number.isFinite(ops.crossEntropy(logits, Int32Array.from([0, 2])).item())).toBe(true);
  });

  testWithoutCuda('a cuda tensor requested where CUDA is unavailable', () => {
    const reason = fsnn.cuda.unavailableReason();
    expect(reason.length).toBeGreaterThan(0);
    const m1 = messageOf(() => tensor([1], undefined, { device: 'cuda' }));
    expect(m1).toMatch(/^tensor: CUDA is not available/);
    expect(m1).toContain(reason);
    expect(m1).toMatch(/Keep tensors on the cpu/);
    const m2 = messageOf(() => witness.to('cuda'));
    expect(m2).toMatch(/^to: CUDA is not available/);
    expect(m2).toMatch(/Keep tensors on the cpu/);
    expect(messageOf(() => fsnn.zeros([2], { device: 'cuda' }))).toMatch(/^zeros\/ones\/full: CUDA is not available/);
    expect(messageOf(() => fsnn.rand([2], { device: 'cuda' }))).toMatch(/^random: CUDA is not available/);
    expect(messageOf(() => fsnn.intTensor([1], [1], { device: 'cuda' }))).toMatch(/^tensor: CUDA is not available/);
  });

  testWithCuda('a cpu tensor mixed with a cuda tensor', () => {
    const gpu = tensor([[1, 2], [3, 4]], undefined, { device: 'cuda' });
    const host = tensor([[1, 2], [3, 4]], undefined, { device: 'cpu' });
    for (const [name, f] of [
      ['add', () => host.add(gpu)],
      ['mul', () => gpu.mul(host)],
      ['matmul', () => host.matmul(gpu)],
    ] as [string, () => unknown][]) {
      const m = messageOf(f);
      expect(m).toMatch(new RegExp(`^${name}: tensors are on different devices`));
      expect(m).toMatch(/cpu/);
      expect(m).toMatch(/cuda/);
      expect(m).toMatch(/move them to one device with \.to\('cpu'\) or \.to\('cuda'\)/);
    }
    expect(gpu.to('cpu').add(host).toArray()).toEqual([[2, 4], [6, 8]]);
  });

  test('use after dispose()', () => {
    const t = tensor([1, 2, 3]);
    const other = tensor([4, 5, 6]);
    t.dispose();
    expect(messageOf(() => t.add(other))).toMatch(/^add: the input \[3\] on (?:cpu|cuda) was disposed; it cannot be used after dispose\(\).*return it from tidy\(\) or keep\(\) it/);
    expect(messageOf(() => other.mul(t))).toMatch(/^mul: the second operand \[3\] on (?:cpu|cuda) was disposed/);
    expect(messageOf(() => t.exp())).toMatch(/^exp: the input .* was disposed/);
    expect(messageOf(() => t.neg())).toMatch(/^neg: the input .* was disposed/);
    expect(messageOf(() => t.sum())).toMatch(/^sum: the input .* was disposed/);
    expect(messageOf(() => t.reshape([3, 1]))).toMatch(/^reshape: the input .* was disposed/);
    expect(messageOf(() => ops.matmul(t.reshape([1, 3]), other))).toMatch(/^reshape: .*was disposed/);
    expect(messageOf(() => t.toArray())).toMatch(/was disposed; it cannot be used after dispose\(\)/);
    const one = tensor([7]);
    one.dispose();
    expect(messageOf(() => one.item())).toMatch(/was disposed/);
    // A tensor disposed by tidy.
    let inner: Tensor | null = null;
    fsnn.tidy(() => {
      inner = tensor([1]);
    });
    expect(messageOf(() => inner!.add(1))).toMatch(/^add: the input \[1\] on (?:cpu|cuda) was disposed.*after the tidy\(\) that created it ended/);
    expect(other.toArray()).toEqual([4, 5, 6]);
  });

  test('an allocation that cannot succeed throws instead of crashing', () => {
    // 4e12 bytes: more than this machine's memory (an allocation failure).
    const big = messageOf(() => fsnn.zeros([1e6, 1e6]));
    // On cuda (FSNN_DEVICE=cuda) the caching allocator's out-of-memory error answers instead.
    expect(big).toMatch(/zeros\/ones\/full: (out of memory: could not allocate 4000000000000 bytes on the cpu; free tensors with dispose\(\) or tidy\(\), or use smaller batches|shape .* is too large|CUDA out of memory: could not allocate .* \(a request of 4000000000000 bytes\).*Free tensors with dispose\(\) or tidy\(\))/);
    // 2^62 elements: numel * 4 overflows 64 bits; rejected before any allocation (used to write out of bounds).
    const overflow = messageOf(() => fsnn.zeros([2 ** 31, 2 ** 31]));
    expect(overflow).toMatch(/^zeros\/ones\/full: shape \[2147483648,2147483648\] is too large: .*use a smaller shape or smaller batches/);
    expect(messageOf(() => fsnn.zeros([2 ** 40, 2 ** 40, 2 ** 40]))).toMatch(/is too large/);
    expect(messageOf(() => fsnn.rand([2 ** 31, 2 ** 31]))).toMatch(/^random: shape .* is too large/);
    // An op whose inputs are tiny (0 elements) but whose output is not.
    const mm = messageOf(() => ops.matmul(fsnn.zeros([2 ** 31, 0]), fsnn.zeros([0, 2 ** 31])));
    expect(mm).toMatch(/^matmul: shape \[2147483648,2147483648\] is too large/);
    expect(messageOf(() => fsnn.zeros([1e300]))).toMatch(/^full: shape must be an array of non-negative integers/);
    // Zero-size tensors with huge other dims are fine (no bytes).
    expect(fsnn.zeros([2 ** 40, 0, 2 ** 40]).numel).toBe(0);
  });

  test('other argument errors name the op', () => {
    expect(messageOf(() => witness.sum(5))).toMatch(/^sum: dim 5 is out of range for 2-d input \(valid: -2 to 1\)/);
    expect(messageOf(() => witness.reshape([3, -1]))).toMatch(/^reshape: cannot infer -1/);
    expect(messageOf(() => witness.permute([0]))).toMatch(/^permute: got 1 dims/);
    expect(messageOf(() => ops.add(witness, 'x' as unknown as number))).toMatch(/^add: the second operand must be a Tensor/);
    expect(messageOf(() => ops.exp(null as unknown as Tensor))).toMatch(/^exp: the input must be a Tensor, got null/);
    expect(messageOf(() => ops.clamp(witness, 2, 1))).toMatch(/^clamp: min 2 is greater than max 1/);
    expect(messageOf(() => ops.maxPool2d(witness, 2))).toMatch(/^maxPool2d: input must be \[N, C, H, W\]/);
    expect(messageOf(() => ops.gather(witness, 1, Int32Array.from([0, 1]), [1, 3]))).toMatch(/^gather: index data has 2 entries but its shape \[1,3\] needs 3/);
    expect(messageOf(() => fsnn.manualSeed(-1))).toMatch(/^manualSeed: seed must be an integer/);
  });
});
