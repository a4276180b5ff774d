// fit: the same parameters as a hand-written loop (bit for bit), callbacks in order with the right
// counts, the scheduler once per epoch, accuracy counted from the scores, a non-finite loss stops
// before the optimizer steps on it, gradient clipping, early stopping, and model checkpoints.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fit, manualSeed, nn, tensor, Tensor, training, loadModel, SNNWrapper, LIFNeuron, tidy } from '../../lib';
import { SGD } from '../../lib/optim/sgd';
import { StepLR } from '../../lib/optim/lr-scheduler';
import { crossEntropy } from '../../lib/ops/nn';

const N = 12, F = 3, C = 2, BS = 5; // batches of 5, 5, 2
const X = Float32Array.from({ length: N * F }, (_, i) => Math.sin(i * 1.3));
const Y = Int32Array.from({ length: N }, (_, i) => (X[i * F] + X[i * F + 1] > 0 ? 1 : 0));
interface B { x: Tensor; y: Int32Array; size: number }
function* batchesOf(): Generator<B> {
  for (let s = 0; s < N; s += BS) {
    const n = Math.min(BS, N - s);
    yield { x: tensor(X.slice(s * F, (s + n) * F), [n, F]), y: Y.slice(s, s + n), size: n };
  }
}
const values = (m: nn.Module) => m.parameters().map((p) => Array.from(p.toFloat32Array()));

function model() {
  manualSeed(7);
  return new nn.Linear(F, C);
}

test('fit equals the hand-written loop, bit for bit; the scheduler steps once per epoch', async () => {
  const a = model();
  const optA = new SGD(a.parameters(), { lr: 0.5, momentum: 0.9 });
  const schedA = new StepLR(optA, { stepSize: 1, gamma: 0.5 });
  for (let e = 0; e < 3; e++) {
    for (const b of batchesOf()) {
      tidy(() => {
        const l = crossEntropy(a.forward(b.x), b.y);
        optA.zeroGrad();
        l.backward();
        optA.step();
      });
    }
    schedA.step();
  }
  const m = model();
  const opt = new SGD(m.parameters(), { lr: 0.5, momentum: 0.9 });
  const r = await fit<B, null>({
    epochs: 3, batches: () => batchesOf(), optimizer: opt, scheduler: new StepLR(opt, { stepSize: 1, gamma: 0.5 }),
    step: (b) => ({ loss: crossEntropy(m.forward(b.x), b.y) }),
  });
  expect(values(m)).toEqual(values(a));
  expect(r.epochs.map((e) => e.lr)).toEqual([0.5, 0.25, 0.125]);
  expect(r.steps).toBe(9);
  expect(r.epochs[0].samples).toBe(N);
  expect(r.epochs[0].accuracy).toBeNull();
  expect(r.stoppedEarly).toBe(false);
});

test('callbacks: order and counts; accuracy from the scores; evaluate goes into the epoch info', async () => {
  const m = model();
  const calls: string[] = [];
  const batchCorrect: number[] = [];
  const r = await fit<B, { tag: number }>({
    epochs: 2, batchesPerEpoch: 3, batches: () => batchesOf(), optimizer: new SGD(m.parameters(), { lr: 0 }),
    step: (b) => { const s = m.forward(b.x); return { loss: crossEntropy(s, b.y), scores: s }; },
    evaluate: (epoch) => ({ tag: 10 + epoch }),
    callbacks: [{
      onTrainBegin: (ctx) => void calls.push(`begin ${ctx.epochs} ${ctx.batchesPerEpoch}`),
      onEpochBegin: (e) => void calls.push(`epoch ${e}`),
      onBatchEnd: (b) => { calls.push(`batch ${b.epoch}.${b.batch} step ${b.step}`); batchCorrect.push(b.correct!); },
      onEpochEnd: async (e) => void calls.push(`end ${e.epoch} eval ${e.eval!.tag}`),
      onTrainEnd: (res) => void calls.push(`done ${res.epochs.length}`),
    }],
  });
  expect(calls).toEqual(['begin 2 3', 'epoch 0', 'batch 0.0 step 1', 'batch 0.1 step 2', 'batch 0.2 step 3', 'end 0 eval 10',
    'epoch 1', 'batch 1.0 step 4', 'batch 1.1 step 5', 'batch 1.2 step 6', 'end 1 eval 11', 'done 2']);
  // lr 0: the model does not change, so the accuracy is the model's own over the data
  const s = m.forward(tensor(X, [N, F])).toFloat32Array();
  let hits = 0;
  for (let i = 0; i < N; i++) if ((s[2 * i + 1] > s[2 * i] ? 1 : 0) === Y[i]) hits++;
  expect(r.epochs[0].accuracy).toBeCloseTo(hits / N, 10);
  expect(batchCorrect.slice(0, 3).reduce((p, q) => p + q, 0)).toBe(hits);
});

test('a non-finite loss throws NonFiniteLossError naming epoch and batch, before any step on it', async () => {
  const m = model();
  const before = values(m);
  let k = 0;
  let afterGood: number[][] = [];
  await expect(fit<B, null>({
    epochs: 2, batches: () => batchesOf(), optimizer: new SGD(m.parameters(), { lr: 0.1 }),
    step: (b) => ({ loss: k++ === 4 ? crossEntropy(m.forward(b.x), b.y).mul(NaN) : crossEntropy(m.forward(b.x), b.y) }),
    callbacks: [{ onBatchEnd: (b) => { if (b.step === 4) afterGood = values(m); } }],
  })).rejects.toMatchObject({ name: 'Error', epoch: 1, batch: 1, message: expect.stringMatching(/loss is NaN at epoch 2, batch 2/) });
  expect(values(m)).not.toEqual(before); // the 4 good steps ran
  expect(values(m)).toEqual(afterGood); // and the NaN one did not step
  await expect(fit<B, null>({ epochs: 0, batches: () => batchesOf(), optimizer: new SGD(m.parameters()), step: () => ({ loss: tensor(0) }) }))
    .rejects.toThrow(/epochs = 0 must be an integer >= 1/);
});

test('clipGradNorm: the reported norm is before clipping, and the step uses the clipped gradient', async () => {
  const m = model(), ref = model();
  const norms: number[] = [];
  await fit<B, null>({
    epochs: 1, batches: () => batchesOf(), optimizer: new SGD(m.parameters(), { lr: 1 }), clipGradNorm: 0.01,
    step: (b) => ({ loss: crossEntropy(m.forward(b.x), b.y) }), callbacks: [{ onBatchEnd: (b) => void norms.push(b.gradNorm!) }],
  });
  const optR = new SGD(ref.parameters(), { lr: 1 });
  const refNorms: number[] = [];
  for (const b of batchesOf()) {
    const l = crossEntropy(ref.forward(b.x), b.y);
    optR.zeroGrad();
    l.backward();
    refNorms.push(nn.utils.clipGradNorm_(ref.parameters(), 0.01));
    optR.step();
  }
  expect(norms).toEqual(refNorms);
  expect(norms.every((n) => n > 0.01)).toBe(true);
  expect(values(m)).toEqual(values(ref));
});

test('a callback can stop training after the current epoch', async () => {
  const m = model();
  const r = await fit<B, null>({
    epochs: 5, batches: () => batchesOf(), optimizer: new SGD(m.parameters(), { lr: 0.1 }),
    step: (b) => ({ loss: crossEntropy(m.forward(b.x), b.y) }),
    callbacks: [{ onEpochEnd: (e, ctx) => { if (e.epoch === 1) ctx.stop(); } }],
  });
  expect(r.epochs).toHaveLength(2);
  expect(r.stoppedEarly).toBe(true);
});

test('modelCheckpoint: saves at the end, or on each better score; the file loads back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-fit-'));
  try {
    manualSeed(3);
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(F, C), new LIFNeuron()), { alpha: 0.5 });
    const input = { T: 2, encoding: 'direct', features: F, classes: C };
    const run = (cb: training.Callback<{ acc: number }>, accs: number[]) => fit<B, { acc: number }>({
      epochs: accs.length, batches: () => batchesOf(), optimizer: new SGD(net.parameters(), { lr: 0.1 }),
      step: (b) => ({ loss: net.forward(b.x.unsqueeze(0).expand([2, b.size, F])).mean() }),
      evaluate: (e) => ({ acc: accs[e] }), callbacks: [cb],
    });
    const end = training.modelCheckpoint<{ acc: number }>(net, path.join(dir, 'end.safetensors'), { input, metadata: (e) => ({ acc: String(e!.eval!.acc) }) });
    await run(end, [0.1, 0.3]);
    expect(end.saves).toBe(1);
    const loaded = loadModel(path.join(dir, 'end.safetensors'));
    expect(loaded.metadata.acc).toBe('0.3');
    expect(loaded.spec.input).toMatchObject(input);
    const best = training.modelCheckpoint<{ acc: number }>(net, path.join(dir, 'best.safetensors'), { input, best: (e) => e.eval!.acc, metadata: (e) => ({ acc: String(e!.eval!.acc) }) });
    await run(best, [0.2, 0.5, 0.4, 0.5]);
    expect(best.saves).toBe(2);
    expect(loadModel(path.join(dir, 'best.safetensors')).metadata.acc).toBe('0.5');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('progressBar draws a bar per epoch with the running loss, accuracy and extra fields', async () => {
  const m = model();
  let text = '';
  const stream = Object.assign(new (require('stream').Writable)({ write: (c: Buffer, _e: string, cb: () => void) => { text += c.toString(); cb(); } }), { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  await fit<B, null>({
    epochs: 2, batchesPerEpoch: 3, batches: () => batchesOf(), optimizer: new SGD(m.parameters(), { lr: 0.1 }),
    step: (b) => { const s = m.forward(b.x); return { loss: crossEntropy(s, b.y), scores: s }; },
    callbacks: [training.progressBar({ stream, extra: () => ({ alpha: '[0.5]' }) })],
  });
  expect(text).toMatch(/epoch 1\/2 \[.*\] 3\/3 \| loss \d\.\d{4} \| acc \d+\.\d\d% \| \d+ samples\/s \| alpha \[0\.5\]/);
  expect(text).toMatch(/epoch 2\/2 /);
});
