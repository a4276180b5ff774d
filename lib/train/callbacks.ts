// Ready-made fit callbacks: a progress bar per epoch, epoch summaries as lines, and model checkpoints.
import type { SingleBar } from 'cli-progress';
import { saveModel } from '../snn/model-io';
import type { ModelSpec } from '../snn/spec';
import type { SNNWrapper } from '../snn/wrapper';
import type { BatchInfo, Callback, EpochInfo, FitResult } from './fit';

/** Options of progressBar. */
export interface ProgressBarOptions {
  /** Extra fields shown after the running loss and accuracy, recomputed at each update (e.g. the current alphas). */
  extra?: () => Record<string, string>;
  /** Draw only when standard error is a terminal (default true). */
  ttyOnly?: boolean;
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WritableStream;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/**
 * A progress bar per epoch (cli-progress): batches done, running loss and accuracy, samples/s, and
 * the `extra` fields. Needs options.batchesPerEpoch in fit to size the bar.
 */
export function progressBar(opts: ProgressBarOptions = {}): Callback {
  let bar: SingleBar | null = null;
  let seen = 0, lossSum = 0, correct = 0, counted = 0, t0 = 0;
  const extra = () => {
    const e = opts.extra?.() ?? {};
    return Object.entries(e).map(([k, v]) => `${k} ${v}`).join(' | ');
  };
  const stream = opts.stream ?? process.stderr;
  const enabled = () => !(opts.ttyOnly ?? true) || !!(stream as { isTTY?: boolean }).isTTY;
  return {
    onEpochBegin(epoch, ctx) {
      if (!enabled() || ctx.batchesPerEpoch === null) return;
      seen = 0; lossSum = 0; correct = 0; counted = 0; t0 = Date.now();
      const { SingleBar: Bar } = require('cli-progress') as typeof import('cli-progress'); // loaded only when a bar is drawn
      bar = new Bar({
        format: `epoch ${epoch + 1}/${ctx.epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {sps} samples/s{extra}`,
        barsize: 24, hideCursor: true, clearOnComplete: false, etaBuffer: 20, stream,
      });
      const e = extra();
      bar.start(ctx.batchesPerEpoch, 0, { loss: '-', acc: '-', sps: '-', extra: e ? ` | ${e}` : '' });
    },
    onBatchEnd(info: BatchInfo) {
      if (!bar) return;
      seen += info.size;
      lossSum += info.loss * info.size;
      if (info.correct !== null) {
        correct += info.correct;
        counted += info.size;
      }
      const secs = (Date.now() - t0) / 1000;
      const e = extra();
      bar.update(info.batch + 1, {
        loss: (lossSum / seen).toFixed(4), acc: counted ? pct(correct / counted) : '-', sps: secs > 0 ? Math.round(seen / secs) : '-', extra: e ? ` | ${e}` : '',
      });
    },
    onEpochEnd() {
      bar?.stop();
      bar = null;
    },
  };
}

/** A line per epoch: "epoch 3/10  loss 0.1234  train 96.50%  4.2 s (1900 samples/s)" plus `describe(info)`. */
export function epochLogger<E>(log: (line: string) => void, describe?: (info: EpochInfo<E>) => string): Callback<E> {
  return {
    onEpochEnd(info, ctx) {
      const n = String(ctx.epochs);
      log(`epoch ${String(info.epoch + 1).padStart(n.length)}/${n}  loss ${info.loss.toFixed(4)}` +
        `${info.accuracy !== null ? `  train ${pct(info.accuracy)}` : ''}${describe ? `  ${describe(info)}` : ''}  ` +
        `${info.seconds.toFixed(1)} s (${Math.round(info.samplesPerSec)} samples/s)`);
    },
  };
}

/** Options of modelCheckpoint. */
export interface ModelCheckpointOptions<E> {
  /** How inputs are presented (saved with the model, so that loadModel/infer can encode them). */
  input?: ModelSpec['input'];
  /** Extra metadata entries, computed when saving (e.g. the test accuracy). */
  metadata?: (info: EpochInfo<E> | null, result: FitResult<E> | null) => Record<string, string>;
  /** Save after every this many epochs as well (default: only at the end of training). */
  everyEpochs?: number;
  /** Save after an epoch only when this score (from the epoch's info) beats the best so far (larger is better). */
  best?: (info: EpochInfo<E>) => number;
}

/**
 * Saves the model with saveModel(net, path, input, metadata): at the end of training, and after
 * epochs as `everyEpochs` / `best` ask (each save overwrites `path`). With `best`, the end of
 * training does not overwrite the best epoch's file.
 */
export function modelCheckpoint<E>(net: SNNWrapper, path: string, opts: ModelCheckpointOptions<E> = {}): Callback<E> & {
  /** Number of files written so far. */
  saves: number;
} {
  let bestScore = -Infinity;
  const cb = {
    saves: 0,
    onEpochEnd(info: EpochInfo<E>) {
      let save = opts.everyEpochs !== undefined && (info.epoch + 1) % opts.everyEpochs === 0;
      if (opts.best) {
        const s = opts.best(info);
        save = s > bestScore;
        if (save) bestScore = s;
      }
      if (save) {
        saveModel(net, path, opts.input, opts.metadata?.(info, null) ?? {});
        cb.saves++;
      }
    },
    onTrainEnd(result: FitResult<E>) {
      if (opts.best) return;
      saveModel(net, path, opts.input, opts.metadata?.(result.epochs[result.epochs.length - 1] ?? null, result) ?? {});
      cb.saves++;
    },
  };
  return cb;
}
