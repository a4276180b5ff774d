// Training an f-SNN classifier on MNIST end to end: data, model, Adam with a cosine schedule, a
// progress bar per epoch, evaluation on the held-out digits, and the artefacts of the run
// (a self-describing safetensors checkpoint, a JSONL log and a self-contained HTML report).
//
// The default recipe: 784-256-10 with two LIF layers (tau = 2, threshold 1), T = 8, direct coding,
// per-layer alpha [0.5, 0.5] learnable, L1 scheme, Adam lr 2e-3 with cosine decay over 10 epochs,
// batch 64, random shifts of +-1 pixel, readout = output spike rate x 10 with cross-entropy. On the
// 2,000 held-out digits of the 8,000/2,000 split of the `mnist` package it reached 96.4-97.0% over
// seeds 0-2 (without the shifts 95.3-95.8%; with lr 1e-3 95.4-95.8%), in well under a minute of CPU.
// tau = 1 would make the LIF spike on the present input alone (its spike test is v (1 - 1/tau) +
// I/tau >= threshold), so the fractional memory could not matter; tau = 2 keeps half of v.
import * as fs from 'fs';
import * as path from 'path';
import { noGrad } from '../autograd/grad-mode';
import { Batch, Dataset, batches, numBatches } from '../data/loader';
import { DistributedSampler } from '../data/sampler';
import * as dist from '../distributed/process-group';
import { DistributedDataParallel } from '../distributed/ddp';
import { envWorldSize } from '../distributed/env';
import { tensor } from '../creation';
import { loadMnist, MNIST_CLASSES } from '../data/mnist';
import { encodeIdxUint8, loadMnistDirectory } from '../data/idx';
import { stratifiedSplit } from '../data/split';
import { FractionalMethod } from '../fractional/kernel';
import { tidy } from '../memory';
import { crossEntropy } from '../ops/nn';
import { Adam } from '../optim/adam';
import { CosineAnnealingLR } from '../optim/lr-scheduler';
import { Philox } from '../random/philox';
import { manualSeed } from '../random/generator';
import { saveModel } from '../snn/model-io';
import { ModelSpec } from '../snn/spec';
import { SNNWrapper } from '../snn/wrapper';
import { Device } from '../tensor';
import { trainingReportHtml, TrainEvent, EpochEvent, StartEvent } from '../report/training';
import { Callback, fit, NonFiniteLossError } from '../train/fit';
import { epochLogger, progressBar } from '../train/callbacks';
import {
  argmaxRows, buildMlp, encodeBatch, encodedShape, Encoding, fmtAlphas, fmtPct, forwardScores, randomShift, Readout,
  READOUT_KEY, resolveDevice, tensorsToLists, TRAINING_KEY, UsageError,
} from './common';
import { PACKAGE_TEST, PACKAGE_TRAIN, SPLIT_SEED, TrainConfig, validateTrainConfig } from './config';

export { PACKAGE_TEST, PACKAGE_TRAIN, SPLIT_SEED, TRAIN_DEFAULTS, neuronLayers, validateTrainConfig } from './config';
export type { TrainConfig } from './config';



export interface TrainResult {
  testAccuracy: number;
  testLoss: number;
  trainAccuracy: number;
  alphas: number[][];
  coefficients: number[][];
  /** Per-sample predictions on the test set, in test-set order. */
  testPredictions: Int32Array;
  checkpoint: string | null;
  log: string | null;
  report: string | null;
  seconds: number;
  epochs: EpochEvent[];
  net: SNNWrapper;
  data: PreparedData;
}

export interface TrainHooks {
  /** Where the epoch summaries and the final lines go (default console.log). */
  log?: (line: string) => void;
}

export interface PreparedData {
  train: Dataset;
  trainIdx: Int32Array;
  test: Dataset;
  testIdx: Int32Array;
  source: string;
  features: number;
  rows: number;
  cols: number;
}

/** Writes the held-out test samples as IDX files (grey levels 0..255), so that `fsnn infer` can be checked on them. */
function writeTestSet(out: string, data: PreparedData): { images: string; labels: string } {
  const n = data.testIdx.length, F = data.features;
  const pixels = new Uint8Array(n * F), labels = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const i = data.testIdx[j];
    for (let f = 0; f < F; f++) pixels[j * F + f] = Math.round(data.test.images[i * F + f] * 255);
    labels[j] = data.test.labels[i];
  }
  const images = path.join(out, 'test-images-idx3-ubyte'), labelFile = path.join(out, 'test-labels-idx1-ubyte');
  fs.writeFileSync(images, encodeIdxUint8([n, data.rows, data.cols], pixels));
  fs.writeFileSync(labelFile, encodeIdxUint8([n], labels));
  return { images, labels: labelFile };
}

/** Loads the data the config names: the package's digits split 8,000/2,000, or the IDX train/t10k sets. */
export function prepareData(c: TrainConfig): PreparedData {
  if (c.data === null) {
    const ds = loadMnist();
    const split = stratifiedSplit(ds.labels, c.trainSize ?? PACKAGE_TRAIN, c.testSize ?? PACKAGE_TEST, SPLIT_SEED);
    return { train: ds, trainIdx: split.train, test: ds, testIdx: split.test, source: `mnist package (${ds.count} digits, stratified split seed ${SPLIT_SEED})`, features: 784, rows: 28, cols: 28 };
  }
  const { train, test } = loadMnistDirectory(c.data);
  const pick = (labels: Int32Array, n: number | null) => {
    if (n === null || n >= labels.length) return Int32Array.from({ length: labels.length }, (_, i) => i);
    return stratifiedSplit(labels, n, 0, SPLIT_SEED).train;
  };
  return {
    train, trainIdx: pick(train.labels, c.trainSize), test, testIdx: pick(test.labels, c.testSize),
    source: `MNIST IDX files in ${c.data} (train ${train.count}, t10k ${test.count})`, features: train.rows * train.cols, rows: train.rows, cols: train.cols,
  };
}

export function buildNet(c: TrainConfig, features: number): SNNWrapper {
  const { stepFeatures } = encodedShape(c.encoding, features, c.T);
  const model = buildMlp({ inputs: stepFeatures, hidden: c.hidden, classes: MNIST_CLASSES, tau: c.tau, threshold: c.threshold });
  if (c.integrator === 'odeint') return new SNNWrapper(model, { integrator: 'odeint' });
  return new SNNWrapper(model, {
    alpha: c.alpha, alphaMode: c.alphaMode, multiCoefficient: c.multiCoefficient,
    learnAlpha: c.learnAlpha, learnCoefficient: c.learnCoefficient, method: c.method,
  });
}

export interface EvalResult {
  accuracy: number;
  loss: number;
  predictions: Int32Array;
}

/**
 * Accuracy, mean loss and predictions over `indices` of `ds` (eval mode, no graph). With a process
 * group of several ranks, each rank evaluates every worldSize-th sample and the counts and predictions
 * are combined, so every rank returns the same result as a single process would.
 */
export function evaluate(net: SNNWrapper, ds: Dataset, indices: Int32Array, input: NonNullable<ModelSpec['input']>, readout: Readout,
  opts: { batchSize: number; device: Device; encoding: Encoding; features: number; seed: number }): EvalResult {
  const world = dist.isInitialized() ? dist.getWorldSize() : 1, rank = dist.getRank();
  const share = world > 1 ? new DistributedSampler(indices, { numReplicas: world, rank, shuffle: false }) : null;
  const mine = share ? share.indices() : indices;
  const wasTraining = net.training;
  net.eval();
  const local = new Int32Array(mine.length);
  let lossSum = 0, correct = 0, offset = 0;
  try {
    noGrad(() => {
      for (const b of batches(ds, mine, { batchSize: opts.batchSize })) {
        const poisson = { seed: opts.seed, offset };
        offset += b.size * opts.features * input.T!;
        tidy(() => {
          const scores = forwardScores(net, encodeBatch(b.x, b.size, opts.features, input.T!, opts.encoding, opts.device, poisson), input, readout);
          const start = b.index * opts.batchSize;
          // Padding entries (a share longer than the samples left) count nowhere.
          const real = share ? Math.max(0, Math.min(b.size, Math.ceil((indices.length - rank) / world) - start)) : b.size;
          const pred = argmaxRows(scores.toFloat32Array(), scores.shape[1]);
          local.set(pred, start);
          if (real === b.size) lossSum += crossEntropy(scores, b.y, { reduction: 'sum' }).item();
          else {
            const perSample = crossEntropy(scores, b.y, { reduction: 'none' }).toFloat32Array();
            for (let i = 0; i < real; i++) lossSum += perSample[i];
          }
          for (let i = 0; i < real; i++) if (pred[i] === b.y[i]) correct++;
        });
      }
    });
  } finally {
    net.train(wasTraining);
  }
  let predictions = local;
  if (share) {
    const device: Device = dist.getBackend() === 'nccl' ? 'cuda' : 'cpu';
    const sums = tensor([lossSum, correct], [2], { device });
    dist.allReduce(sums, 'sum');
    [lossSum, correct] = Array.from(sums.toFloat32Array());
    const gathered = zerosOn([world * share.numSamples], device);
    dist.allGatherIntoTensor(gathered, tensor(Float32Array.from(local), [local.length], { device }));
    const all = gathered.toFloat32Array();
    predictions = new Int32Array(indices.length);
    // rank r's k-th sample is position r + k * world of the (unshuffled) indices
    for (let r = 0; r < world; r++)
      for (let k = 0; k < share.numSamples; k++) {
        const p = r + k * world;
        if (p < indices.length) predictions[p] = all[r * share.numSamples + k];
      }
  }
  return { accuracy: indices.length ? correct / indices.length : 0, loss: indices.length ? lossSum / indices.length : 0, predictions };
}

function zerosOn(shape: number[], device: Device) {
  return tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, { device });
}

const AUGMENT_STREAM = 0x5eed;

/**
 * Trains, evaluates and (with `out`) writes the checkpoint, the JSONL log and the HTML report.
 * Started by `fsnn launch` / `fsnn train --nproc N` (WORLD_SIZE > 1 in the environment), it trains
 * data-parallel: it joins the process group (Gloo on CPU, NCCL on CUDA), wraps the network in
 * DistributedDataParallel, gives each rank batchSize / worldSize samples of every batch (so the global
 * batch and the recipe stay those of one process), all-reduces the metrics so every rank reports the
 * same numbers, and only rank 0 writes the checkpoint (the same file one process writes), log and report.
 */
export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const c = { ...config };
  validateTrainConfig(c);
  const device = resolveDevice(c.device);
  const distributed = envWorldSize() > 1;
  if (distributed && !dist.isInitialized()) dist.initProcessGroup({ backend: device === 'cuda' ? 'nccl' : 'gloo' });
  try {
    return await trainProcess(c, device, distributed, hooks);
  } finally {
    if (distributed) dist.destroyProcessGroup();
  }
}

async function trainProcess(c: TrainConfig, device: Device, distributed: boolean, hooks: TrainHooks): Promise<TrainResult> {
  const world = distributed ? dist.getWorldSize() : 1, rank = distributed ? dist.getRank() : 0;
  const lead = rank === 0;
  if (c.batchSize % world !== 0)
    throw new UsageError(`--batch-size ${c.batchSize} is not divisible by the ${world} processes; each rank takes batchSize / nproc samples of every batch`);
  const perRank = c.batchSize / world;
  const log = lead ? hooks.log ?? ((l: string) => console.log(l)) : () => undefined;
  if (!lead) c.out = null; // only rank 0 writes the checkpoint, the log and the report
  if (!lead) c.progress = false;
  const t0 = Date.now();
  const data = prepareData(c);
  if (c.augment > 0 && data.rows * data.cols !== data.features) throw new UsageError('--augment needs image inputs; pass --augment 0');
  const { T } = encodedShape(c.encoding, data.features, c.T);
  const method: FractionalMethod = c.integrator === 'odeint' ? 'euler' : c.method;
  const input = { T, encoding: c.encoding, h: 1, features: data.features, method, memory: c.memory, history: c.history, classes: MNIST_CLASSES };
  const readout: Readout = { kind: 'mean-over-time', scale: c.readoutScale };

  manualSeed(c.seed);
  const net = buildNet(c, data.features);
  net.to(device); // also when the default device differs (FSNN_DEVICE=cuda test runs)
  // DDP copies rank 0's initial parameters to every rank and averages the gradients during backward.
  const ddp = distributed ? new DistributedDataParallel(net) : null;
  // forwardScores only calls forward(x, times, options), which DDP passes on to the wrapped network.
  const model = (ddp ?? net) as unknown as SNNWrapper;
  const opt = new Adam(net.parameters(), { lr: c.lr });
  const sched = c.schedule === 'cosine' ? new CosineAnnealingLR(opt, { tMax: c.epochs }) : null;

  let logFd: number | null = null;
  let checkpoint: string | null = null, logPath: string | null = null, reportPath: string | null = null;
  if (c.out !== null) {
    fs.mkdirSync(c.out, { recursive: true });
    checkpoint = path.join(c.out, 'model.safetensors');
    logPath = path.join(c.out, 'train-log.jsonl');
    reportPath = path.join(c.out, 'report.html');
    logFd = fs.openSync(logPath, 'w');
  }
  const events: TrainEvent[] = [];
  const emit = (e: TrainEvent) => {
    events.push(e);
    if (logFd !== null) fs.writeSync(logFd, JSON.stringify(e) + '\n');
  };
  const alphasNow = () => tensorsToLists(net.getPerLayerAlpha());
  const coefsNow = () => tensorsToLists(net.getPerLayerCoefficient());
  const sampler = new DistributedSampler(data.trainIdx, { numReplicas: world, rank, shuffle: true, seed: c.seed });
  const nb = distributed ? numBatches(sampler.numSamples, perRank) : numBatches(data.trainIdx, c.batchSize);
  const { progress: _p, ...configForLog } = c;
  const start: StartEvent = {
    event: 'start', time: new Date().toISOString(), config: { ...configForLog, effectiveT: T },
    data: { source: data.source, train: data.trainIdx.length, test: data.testIdx.length, features: data.features, classes: MNIST_CLASSES },
    describe: net.describe(), stepsPerEpoch: nb, alphas: alphasNow(), coefficients: coefsNow(),
    layers: net.neurons.map((m, i) => ({ name: net.neuronNames[i], kind: m.kind.toUpperCase(), learnAlpha: net.learnAlpha[i], learnCoefficient: net.learnCoefficient[i] })),
  };
  emit(start);
  log(net.describe());
  log(`data: ${data.source}; training on ${data.trainIdx.length}, testing on ${data.testIdx.length}; T = ${T}, ${c.encoding} coding, ` +
    `method ${method}${c.memory ? `, memory ${c.memory}` : ''}, batch ${c.batchSize}, lr ${c.lr} (${c.schedule}), device ${device}`);

  const augRng = new Philox(c.seed + AUGMENT_STREAM);
  let poissonOffset = 0;
  let evalResult: EvalResult | null = null;
  let last: EpochEvent | null = null;
  // The JSONL log: a step event every logEvery batches (means over the window) and an epoch event.
  let winLoss = 0, winCorrect = 0, winSeen = 0;
  // Every rank reports the global numbers: the batch's and the epoch's sums over the ranks.
  const globalMetrics: Callback<EvalResult> = {
    onBatchEnd(b) {
      const t = tensor([b.loss * b.size, b.correct ?? 0, b.size], [3], { device: dist.getBackend() === 'nccl' ? 'cuda' : 'cpu' });
      dist.allReduce(t, 'sum');
      const [loss, correct, size] = Array.from(t.toFloat32Array());
      t.dispose();
      b.loss = loss / size;
      b.correct = b.correct === null ? null : correct;
      b.size = size;
    },
    onEpochEnd(e) {
      const t = tensor([e.loss * e.samples, (e.accuracy ?? 0) * e.samples, e.samples, e.seconds], [4], { device: dist.getBackend() === 'nccl' ? 'cuda' : 'cpu' });
      dist.allReduce(t, 'sum');
      const [loss, correct, samples] = Array.from(t.toFloat32Array());
      t.dispose();
      e.loss = loss / samples;
      e.accuracy = e.accuracy === null ? null : correct / samples;
      e.samples = samples;
      e.samplesPerSec = samples / Math.max(e.seconds, 1e-9);
    },
  };
  const eventLog: Callback<EvalResult> = {
    onBatchEnd(b) {
      winSeen += b.size; winCorrect += b.correct ?? 0; winLoss += b.loss * b.size;
      if (b.step % c.logEvery === 0 || b.batch === nb - 1) {
        emit({ event: 'step', epoch: b.epoch, step: b.step, x: b.epoch + (b.batch + 1) / nb, loss: winLoss / winSeen, acc: winCorrect / winSeen, lr: b.lr, alphas: alphasNow(), coefficients: coefsNow() });
        winLoss = 0; winCorrect = 0; winSeen = 0;
      }
    },
    onEpochEnd(e) {
      evalResult = e.eval!;
      last = {
        event: 'epoch', epoch: e.epoch, loss: e.loss, trainAcc: e.accuracy!, testLoss: evalResult.loss, testAcc: evalResult.accuracy,
        seconds: e.seconds, samplesPerSec: e.samplesPerSec, lr: e.lr, alphas: alphasNow(), coefficients: coefsNow(),
      };
      emit(last);
    },
  };
  try {
    await fit<Batch, EvalResult>({
      epochs: c.epochs,
      batchesPerEpoch: nb,
      batches: (epoch) => {
        if (!distributed) return batches(data.train, data.trainIdx, { batchSize: c.batchSize, shuffle: true, seed: c.seed, epoch });
        // The sampler's epoch order is the single-process one; rank r takes positions r, r + world, ...
        sampler.setEpoch(epoch);
        return batches(data.train, sampler.indices(), { batchSize: perRank });
      },
      step: (b) => {
        if (c.augment > 0) {
          // The shifts of the global batch, drawn as one process draws them; this rank uses its samples' pairs.
          const u = augRng.uniform(2 * b.size * world);
          const mine = world === 1 ? u : new Float32Array(2 * b.size);
          if (world > 1)
            for (let k = 0; k < b.size; k++) { mine[2 * k] = u[2 * (rank + k * world)]; mine[2 * k + 1] = u[2 * (rank + k * world) + 1]; }
          randomShift(b.x, b.size, data.rows, data.cols, c.augment, mine);
        }
        const poisson = { seed: c.seed, offset: poissonOffset + rank * b.size * data.features * T };
        if (c.encoding === 'poisson') poissonOffset += b.size * world * data.features * T;
        const scores = forwardScores(model, encodeBatch(b.x, b.size, data.features, T, c.encoding, device, poisson), input, readout);
        return { loss: crossEntropy(scores, b.y), scores };
      },
      optimizer: opt,
      scheduler: sched ?? undefined,
      afterStep: () => net.projectParameters(),
      evaluate: () => evaluate(net, data.test, data.testIdx, input, readout,
        { batchSize: c.evalBatchSize, device, encoding: c.encoding, features: data.features, seed: c.seed + 1 }),
      callbacks: [
        ...(distributed ? [globalMetrics] : []),
        eventLog,
        ...(c.progress ? [progressBar({ extra: () => ({ alpha: fmtAlphas(alphasNow()) }) })] : []),
        epochLogger<EvalResult>(log, (e) => `test ${fmtPct(e.eval!.accuracy)}  alpha ${fmtAlphas(alphasNow())}`),
      ],
    });
  } catch (e) {
    // A failed run keeps what it logged; its report shows the epochs that finished.
    if (logFd !== null) fs.closeSync(logFd);
    if (reportPath && events.some((ev) => ev.event === 'epoch')) fs.writeFileSync(reportPath, trainingReportHtml(events, c.title));
    if (e instanceof NonFiniteLossError)
      throw new Error(`training diverged: the loss is ${e.loss} at epoch ${e.epoch + 1}, batch ${e.batch + 1}; lower --lr (now ${c.lr}) or --readout-scale (now ${c.readoutScale})`);
    throw e;
  }
  const alphas = alphasNow(), coefficients = coefsNow();
  const seconds = (Date.now() - t0) / 1000;
  let testFiles: { images: string; labels: string } | null = null;
  if (checkpoint) {
    const training = {
      testAccuracy: evalResult!.accuracy, testLoss: evalResult!.loss, testSamples: data.testIdx.length, trainSamples: data.trainIdx.length,
      data: data.source, splitSeed: SPLIT_SEED, epochs: c.epochs, seed: c.seed, finished: new Date().toISOString(),
    };
    saveModel(net, checkpoint, input, { [READOUT_KEY]: JSON.stringify(readout), [TRAINING_KEY]: JSON.stringify(training) });
    testFiles = writeTestSet(c.out!, data);
  }
  emit({ event: 'end', testAcc: evalResult!.accuracy, alphas, coefficients, checkpoint, seconds });
  if (logFd !== null) fs.closeSync(logFd);
  if (reportPath) fs.writeFileSync(reportPath, trainingReportHtml(events, c.title));

  log(`test accuracy: ${fmtPct(evalResult!.accuracy)} on ${data.testIdx.length} held-out samples`);
  log(`learned alphas: ${fmtAlphas(alphas, 4)}${c.learnCoefficient ? `, coefficients ${fmtAlphas(coefficients, 4)}` : ''}`);
  if (checkpoint) {
    log(`checkpoint: ${checkpoint}`);
    log(`training log: ${logPath}`);
    log(`report: ${reportPath}`);
    if (testFiles)
      log(`held-out test set: ${testFiles.images}, ${testFiles.labels}\n` +
        `  reproduce: npx fsnn infer --checkpoint ${checkpoint} --input ${testFiles.images} --labels ${testFiles.labels} --output ${path.join(c.out!, 'predictions.jsonl')}`);
  }
  log(`wall time: ${seconds.toFixed(1)} s`);
  return {
    testAccuracy: evalResult!.accuracy, testLoss: evalResult!.loss, trainAccuracy: last!.trainAcc, alphas, coefficients,
    testPredictions: evalResult!.predictions, checkpoint, log: logPath, report: reportPath, seconds, epochs: events.filter((e): e is EpochEvent => e.event === 'epoch'),
    net, data,
  };
}
