// fit: the training loop every classifier here shares. Per batch: zero the gradients, compute the
// loss (and optionally the class scores), backward, optionally clip the gradients, optimizer step,
// an afterStep hook (e.g. SNNWrapper.projectParameters); per epoch: the scheduler step and an
// optional evaluation. Callbacks see every batch and epoch (progress, logs, checkpoints, early stop).
import { tidy } from '../memory';
import { clipGradNorm_ } from '../nn/clip-grad';
import { Tensor } from '../tensor';

/** What fit needs of a batch: its sample count, and its labels when accuracy is counted. */
export interface FitBatch {
  /** Samples in the batch. */
  size: number;
  /** Labels [size]; with scores returned by `step`, fit counts the correct predictions. */
  y?: Int32Array;
}

/** What `step` returns: the loss to minimise, and optionally the class scores [size, C] for accuracy. */
export interface StepOutput {
  /** The loss to minimise (a one-element tensor). */
  loss: Tensor;
  /** Class scores [size, C]; with the batch's labels, fit counts the correct predictions. */
  scores?: Tensor;
}

/** The optimizer interface fit uses (every optimizer in `optim` has it). */
export interface FitOptimizer {
  /** Clears the gradients. */
  zeroGrad(): void;
  /** Updates the parameters from their gradients. */
  step(): void;
  /** Parameter groups; fit reads the first group's lr and, for clipping, every group's params. */
  paramGroups: {
    /** Learning rate of the group. */
    lr: number;
    /** Parameters of the group. */
    params: Tensor[];
  }[];
}

/** After each batch. Loss and accuracy are of this batch; lr is the first group's lr during it. */
export interface BatchInfo {
  /** Epoch, from 0. */
  epoch: number;
  /** Batch number within the epoch, from 0. */
  batch: number;
  /** Batches per epoch, when known (options.batchesPerEpoch). */
  batches: number | null;
  /** Optimizer steps so far, this one included. */
  step: number;
  /** The batch's loss. */
  loss: number;
  /** Samples in the batch. */
  size: number;
  /** Correct predictions in the batch (null without scores and labels). */
  correct: number | null;
  /** Learning rate of the first group. */
  lr: number;
  /** The gradients' total norm before clipping (null without options.clipGradNorm). */
  gradNorm: number | null;
}

/** After each epoch: the means over its batches, its time, and the evaluation's result. */
export interface EpochInfo<E> {
  /** Epoch, from 0. */
  epoch: number;
  /** Mean loss over the epoch's samples. */
  loss: number;
  /** Training accuracy over the epoch (null without scores and labels). */
  accuracy: number | null;
  /** Training samples seen in the epoch. */
  samples: number;
  /** Wall time of the epoch's training (without the evaluation). */
  seconds: number;
  /** Training throughput. */
  samplesPerSec: number;
  /** The first group's lr during the epoch (before the scheduler's step). */
  lr: number;
  /** What options.evaluate returned for this epoch (null without it). */
  eval: E | null;
}

/** Hooks into the loop. Any may be async (fit awaits it). Call stop() on the context to end after the current epoch. */
export interface Callback<E = unknown> {
  /** Before the first epoch. */
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  /** Before each epoch's first batch. */
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  /** After each optimizer step. */
  onBatchEnd?(info: BatchInfo, ctx: FitContext): void | Promise<void>;
  /** After each epoch's scheduler step and evaluation. */
  onEpochEnd?(info: EpochInfo<E>, ctx: FitContext): void | Promise<void>;
  /** After the last epoch (also after an early stop). */
  onTrainEnd?(result: FitResult<E>, ctx: FitContext): void | Promise<void>;
}

/** Shared with the callbacks: the run's settings and a way to stop early. */
export interface FitContext {
  /** Epochs asked for. */
  epochs: number;
  /** Batches per epoch when given (options.batchesPerEpoch), else null. */
  batchesPerEpoch: number | null;
  /** Ends training after the current epoch (its evaluation and callbacks still run). */
  stop(): void;
  /** Whether stop() was called. */
  readonly stopped: boolean;
}

/** Options of fit. */
export interface FitOptions<B extends FitBatch, E> {
  /** Epochs to train (an integer >= 1). */
  epochs: number;
  /** The batches of one epoch (called at the start of each; shuffle by epoch there). */
  batches: (epoch: number) => Iterable<B>;
  /** Forward pass and loss of one batch (runs inside tidy(); return the loss, and the scores for accuracy). */
  step: (batch: B, epoch: number) => StepOutput;
  /** The optimizer stepping the parameters. */
  optimizer: FitOptimizer;
  /** Stepped once after each epoch (e.g. CosineAnnealingLR). */
  scheduler?: {
    /** Advances the schedule by one epoch. */
    step(): void;
  };
  /** Clip the gradients' total L2 norm to this before each optimizer step (nn.utils.clipGradNorm_). */
  clipGradNorm?: number;
  /** Runs after each optimizer step (e.g. () => net.projectParameters()). */
  afterStep?: () => void;
  /** Evaluates after each epoch (after the scheduler step); its result goes to EpochInfo.eval. */
  evaluate?: (epoch: number) => E | Promise<E>;
  /** Batches per epoch, for progress bars (optional). */
  batchesPerEpoch?: number;
  /** Hooks run in this order at each event. */
  callbacks?: Callback<E>[];
}

/** What fit returns: every epoch's summary (the last one's evaluation is the final result). */
export interface FitResult<E> {
  /** Summary of each finished epoch. */
  epochs: EpochInfo<E>[];
  /** Optimizer steps taken. */
  steps: number;
  /** Wall time of the whole run. */
  seconds: number;
  /** True when a callback stopped training before options.epochs. */
  stoppedEarly: boolean;
}

/** A non-finite loss: training stops, naming where (the model is left as after the previous step). */
export class NonFiniteLossError extends Error {
  /**
   * @param loss The loss value (NaN or infinite).
   * @param epoch Epoch, from 0.
   * @param batch Batch within the epoch, from 0.
   */
  constructor(readonly loss: number, readonly epoch: number, readonly batch: number) {
    super(`training diverged: the loss is ${loss} at epoch ${epoch + 1}, batch ${batch + 1}; lower the learning rate, or clip the gradients (clipGradNorm)`);
  }
}

function argmaxHits(scores: Tensor, y: Int32Array): number {
  const C = scores.shape[scores.ndim - 1];
  const v = scores.toFloat32Array();
  if (v.length !== y.length * C) throw new Error(`fit: the scores [${scores.shape}] do not have one row per label (${y.length})`);
  let hits = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (v[i * C + c] > v[i * C + best]) best = c;
    if (best === y[i]) hits++;
  }
  return hits;
}

/**
 * Trains for `epochs` epochs and returns the per-epoch summaries. Each batch runs inside tidy(), so
 * the tensors `step` creates are freed; a non-finite loss throws NonFiniteLossError before the
 * optimizer steps on it.
 */
export async function fit<B extends FitBatch, E = unknown>(options: FitOptions<B, E>): Promise<FitResult<E>> {
  const o = options;
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new Error(`fit: epochs = ${o.epochs} must be an integer >= 1`);
  if (typeof o.batches !== 'function' || typeof o.step !== 'function' || !o.optimizer)
    throw new TypeError('fit: options need batches(epoch), step(batch, epoch) and an optimizer');
  if (o.clipGradNorm !== undefined && !(o.clipGradNorm > 0)) throw new Error(`fit: clipGradNorm = ${o.clipGradNorm} must be a positive number`);
  const callbacks = o.callbacks ?? [];
  let stopped = false;
  const ctx: FitContext = {
    epochs: o.epochs,
    batchesPerEpoch: o.batchesPerEpoch ?? null,
    stop: () => { stopped = true; },
    get stopped() { return stopped; },
  };
  const each = async (f: (c: Callback<E>) => void | Promise<void>) => {
    for (const c of callbacks) await f(c);
  };
  const t0 = Date.now();
  const epochs: EpochInfo<E>[] = [];
  let steps = 0;
  await each((c) => c.onTrainBegin?.(ctx));
  for (let epoch = 0; epoch < o.epochs && !stopped; epoch++) {
    await each((c) => c.onEpochBegin?.(epoch, ctx));
    const te = Date.now();
    const lr = o.optimizer.paramGroups[0]?.lr ?? NaN;
    let seen = 0, lossSum = 0, correct = 0, counted = 0, batch = 0;
    for (const b of o.batches(epoch)) {
      const params = o.clipGradNorm !== undefined ? o.optimizer.paramGroups.flatMap((g) => g.params) : [];
      const [loss, hits, norm] = tidy(() => {
        const out = o.step(b, epoch);
        const l = out.loss.item();
        if (!Number.isFinite(l)) return [l, null, null] as const;
        o.optimizer.zeroGrad();
        out.loss.backward();
        const n = o.clipGradNorm !== undefined ? clipGradNorm_(params, o.clipGradNorm) : null;
        o.optimizer.step();
        const h = out.scores && b.y ? argmaxHits(out.scores, b.y) : null;
        return [l, h, n] as const;
      });
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss, epoch, batch);
      o.afterStep?.();
      steps++;
      seen += b.size;
      lossSum += loss * b.size;
      if (hits !== null) {
        correct += hits;
        counted += b.size;
      }
      const info: BatchInfo = { epoch, batch, batches: ctx.batchesPerEpoch, step: steps, loss, size: b.size, correct: hits, lr, gradNorm: norm };
      await each((c) => c.onBatchEnd?.(info, ctx));
      batch++;
    }
    const seconds = (Date.now() - te) / 1000;
    o.scheduler?.step();
    const ev = o.evaluate ? await o.evaluate(epoch) : null;
    const info: EpochInfo<E> = {
      epoch, loss: seen ? lossSum / seen : NaN, accuracy: counted ? correct / counted : null, samples: seen, seconds,
      samplesPerSec: seen / Math.max(seconds, 1e-9), lr, eval: ev,
    };
    epochs.push(info);
    await each((c) => c.onEpochEnd?.(info, ctx));
    await new Promise((r) => setImmediate(r)); // let timers and I/O run between epochs
  }
  const result: FitResult<E> = { epochs, steps, seconds: (Date.now() - t0) / 1000, stoppedEarly: epochs.length < o.epochs };
  await each((c) => c.onTrainEnd?.(result, ctx));
  return result;
}
