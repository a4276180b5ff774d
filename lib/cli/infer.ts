// Batch inference from a self-describing checkpoint: the architecture comes from the checkpoint's
// metadata (loadModel), inputs are read chunk by chunk (see ./sources), the network runs through an
// InferenceRunner (the model's forward recorded once per batch shape, then replayed natively on the
// libuv pool), and one JSON line per sample is written:
// {"index": i, "prediction": c} (+ "scores" with --scores, + "label" when labels are known).
import * as dist from '../distributed/process-group';
import { envWorldSize } from '../distributed/env';
import { tensor } from '../creation';
import * as fs from 'fs';
import { noGrad } from '../autograd/grad-mode';
import { tidy } from '../memory';
import { InferenceRunner } from '../serve/runner';
import { loadModel } from '../snn/model-io';
import { ModelSpec } from '../snn/spec';
import { SNNWrapper } from '../snn/wrapper';
import { Tensor } from '../tensor';
import { argmaxRows, encodeBatch, fmtPct, Readout, READOUT_KEY, resolveDevice, TRAINING_KEY } from './common';
import { Encoding, ENCODINGS, INFER_DEFAULTS, InferOptions, UsageError } from './config';

/** The most time steps the metadata may ask for. */
const MAX_T = 10000;
/** One encoded sample ([T, features] float32) may not exceed this: metadata cannot ask for unbounded memory. */
const MAX_ENCODED_SAMPLE_BYTES = 256 * 2 ** 20;
/** Nor may one encoded batch ([T, batch, features] float32): lower --batch-size for long inputs. */
const MAX_ENCODED_BATCH_BYTES = 1024 * 2 ** 20;

export { INFER_DEFAULTS } from './config';
export type { InferOptions } from './config';
import { InputSource, openInput } from './sources';

export interface InferResult {
  count: number;
  /** Accuracy when labels were available, else null. */
  accuracy: number | null;
  correct: number;
  /** Wall time of the whole run (reading, encoding, the network, writing). */
  seconds: number;
  samplesPerSec: number;
  /** Time in the network alone (encoding + forward + readout). */
  modelSeconds: number;
  output: string;
  predictions: Int32Array;
}

export interface InferHooks {
  log?: (line: string) => void;
}

/** Loads a checkpoint for inference: the network, its input description and its readout. */
export function loadForInference(checkpoint: string, device: 'cpu' | 'cuda'): {
  net: SNNWrapper; spec: ModelSpec; input: Required<Pick<NonNullable<ModelSpec['input']>, 'T' | 'encoding' | 'features' | 'classes'>> & NonNullable<ModelSpec['input']>;
  readout: Readout; metadata: Record<string, string>;
} {
  if (!fs.existsSync(checkpoint)) throw new Error(`--checkpoint ${checkpoint} does not exist; pass the model.safetensors a training run wrote (fsnn train prints its path)`);
  let loaded;
  try {
    loaded = loadModel(checkpoint, { device });
  } catch (e) {
    throw new Error(`cannot load the model from ${checkpoint}: ${(e as Error).message}`);
  }
  const { net, spec, metadata } = loaded;
  net.to(device); // the layers were built on the default device
  net.eval();
  const inp = spec.input;
  const missing = ['T', 'encoding', 'features'].filter((k) => inp?.[k as keyof typeof inp] === undefined);
  if (!inp || missing.length)
    throw new Error(`${checkpoint}: the model spec does not say how inputs are presented (missing ${missing.join(', ')}); ` +
      "save the model with saveModel(net, path, { T, encoding: 'direct', features, classes }) so that inference can encode inputs the same way");
  if (!ENCODINGS.includes(inp.encoding as Encoding))
    throw new Error(`${checkpoint}: input encoding '${inp.encoding}' is not one inference knows (${ENCODINGS.join(', ')})`);
  let readout: Readout = { kind: 'mean-over-time', scale: 1 };
  if (metadata[READOUT_KEY]) {
    try {
      readout = JSON.parse(metadata[READOUT_KEY]) as Readout;
    } catch {
      throw new Error(`${checkpoint}: the '${READOUT_KEY}' metadata is not valid JSON`);
    }
    if (readout.kind !== 'mean-over-time' || !(readout.scale > 0)) throw new Error(`${checkpoint}: readout ${metadata[READOUT_KEY]} is not supported (expected {"kind":"mean-over-time","scale":>0})`);
  }
  // The metadata must agree with the model and stay within what the data can need.
  const lastLinear = spec.layers.map((l, i) => [l, i] as const).filter(([l]) => l.type === 'linear').pop();
  const width = lastLinear ? (lastLinear[0] as { out: number }).out : undefined;
  if (inp.classes !== undefined && width !== undefined && inp.classes !== width)
    throw new Error(`${checkpoint}: input.classes = ${inp.classes} in the metadata, but the model's output layer (layers[${lastLinear![1]}], linear) ` +
      `has ${width} outputs, so predictions would be taken over the wrong width. Fix: set input.classes to ${width} (or re-save the model with saveModel)`);
  const classes = inp.classes ?? width!;
  if (inp.T! > MAX_T)
    throw new Error(`${checkpoint}: input.T = ${inp.T} time steps is more than inference runs (at most ${MAX_T}: the full-history ` +
      'fractional update costs O(T^2) per neuron). Fix: check input.T in the checkpoint metadata');
  const encodedBytes = inp.T! * inp.features! * 4;
  if (encodedBytes > MAX_ENCODED_SAMPLE_BYTES)
    throw new Error(`${checkpoint}: input.T = ${inp.T} time steps of ${inp.features} features would need ${(encodedBytes / 2 ** 20).toFixed(0)} MiB ` +
      `per encoded sample (the limit is ${MAX_ENCODED_SAMPLE_BYTES / 2 ** 20} MiB). Fix: check input.T and input.features in the checkpoint's metadata`);
  return { net, spec, input: { ...inp, T: inp.T!, encoding: inp.encoding!, features: inp.features!, classes }, readout, metadata };
}

async function openLabels(path: string, count: number): Promise<InputSource> {
  const src = await openInput(path);
  if (src.features !== 1) {
    src.close();
    throw new Error(`--labels ${path} holds samples of shape [${src.sampleShape}]; a labels file holds one integer per sample (shape [count])`);
  }
  if (src.count !== count) {
    src.close();
    throw new Error(`--labels ${path} has ${src.count} labels but the input has ${count} samples; pass the labels file that belongs to the input`);
  }
  return src;
}

/**
 * Runs the checkpoint over every sample of the input file and writes one JSON line per sample.
 * Started by `fsnn launch` / `fsnn infer --nproc N` (WORLD_SIZE > 1), the ranks share the work: batch k
 * of the input runs on rank k mod worldSize, the chunk's scores are merged by an all-reduce (each rank
 * contributes its batches, zeros elsewhere), and rank 0 alone writes the one output file, in input order.
 */
export async function infer(options: InferOptions, hooks: InferHooks = {}): Promise<InferResult> {
  const distributed = envWorldSize() > 1;
  if (distributed && !dist.isInitialized()) dist.initProcessGroup({ backend: resolveDevice(options.device ?? INFER_DEFAULTS.device) === 'cuda' ? 'nccl' : 'gloo' });
  try {
    return await inferShard(options, hooks, distributed ? dist.getRank() : 0, distributed ? dist.getWorldSize() : 1);
  } finally {
    if (distributed) dist.destroyProcessGroup();
  }
}

async function inferShard(options: InferOptions, hooks: InferHooks, rank: number, world: number): Promise<InferResult> {
  const o = { ...INFER_DEFAULTS, ...options };
  const lead = rank === 0;
  for (const [v, name] of [[o.batchSize, '--batch-size'], [o.chunkSize, '--chunk-size']] as [number, string][])
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  const toStdout = o.output === null || o.output === '-';
  const log = !lead ? () => undefined : hooks.log ?? ((l: string) => (toStdout ? process.stderr.write(l + '\n') : console.log(l)));
  const device = resolveDevice(o.device);
  const t0 = Date.now();
  const { net, input, readout, metadata } = loadForInference(o.checkpoint, device);
  const encoding = input.encoding as Encoding;
  let seed = o.seed;
  if (seed === undefined) {
    try {
      const t = JSON.parse(metadata[TRAINING_KEY] ?? '{}') as { seed?: number };
      seed = (t.seed ?? -1) + 1;
    } catch {
      seed = 0;
    }
  }

  const src = await openInput(o.input);
  let labelSrc: InputSource | null = null;
  const out = !lead ? -1 : toStdout ? 1 : fs.openSync(o.output!, 'w'); // only rank 0 writes
  try {
    if (src.features !== input.features)
      throw new Error(`${o.input}: each sample has ${src.features} values (shape [${src.sampleShape}]) but the model takes ${input.features} ` +
        `(${input.encoding} coding); pass inputs of that size (e.g. [count, ${input.features}] or [count, 28, 28] for MNIST)`);
    const batchBytes = input.T * input.features * 4 * Math.min(o.batchSize, Math.max(src.count, 1));
    if (batchBytes > MAX_ENCODED_BATCH_BYTES)
      throw new Error(`${o.checkpoint}: input.T = ${input.T} time steps x ${input.features} features x ${Math.min(o.batchSize, src.count)} samples ` +
        `would need ${(batchBytes / 2 ** 20).toFixed(0)} MiB per encoded batch (the limit is ${MAX_ENCODED_BATCH_BYTES / 2 ** 20} MiB). ` +
        'Fix: check input.T in the checkpoint metadata, or pass a smaller --batch-size');
    if (o.labels) labelSrc = await openLabels(o.labels, src.count);
    else if (src.labels) {
      if (src.labels.length !== src.count) throw new Error(`${o.input}: ${src.labels.length} labels for ${src.count} samples`);
    }
    const divisor = o.inputScale === 'auto' ? (src.storage === 'uint8' ? 255 : 1) : o.inputScale;
    if (!(divisor > 0)) throw new UsageError(`--input-scale must be a positive number or 'auto', got ${o.inputScale}`);
    // A closed standard output (e.g. piped into `head`) ends the run quietly.
    let outputClosed = false;
    const write = (text: string): boolean => {
      if (!lead) return true;
      try {
          fs.writeSync(out, text);
          return true;
        } catch (e) {
          if (toStdout && (e as NodeJS.ErrnoException).code === 'EPIPE') {
            outputClosed = true;
            return false;
          }
          throw e;
        }
      };
      const F = input.features, C = input.classes;
      // Direct coding runs as a static input (encodeBatch gives the one step [n, F] that holds at all T steps).
      const runner = new InferenceRunner(net, {
        method: input.method as InferenceRunner['method'] | undefined, memory: input.memory, history: input.history, h: input.h, staticSteps: encoding === 'direct' ? input.T : undefined,
      });
      // Scores [n, C] of one encoded batch: the readout (mean over time, times the scale) on the runner's output.
      const scoresOf = (xT: Tensor): Promise<Float32Array> => runner.predict(xT).then((out) => {
        try {
          if (out.ndim !== 2) throw new Error(`readout: the network's output is [T, ${out.shape}], expected [T, B, classes]`);
          return noGrad(() => tidy(() => out.mul(readout.scale).toFloat32Array()));
      } finally {
        out.dispose();
        xT.dispose();
      }
    });
    const predictions = new Int32Array(src.count);
    let index = 0, correct = 0, labelled = 0, modelMs = 0, warnedRange = false, batchNo = 0, preparedRows = 0;
    interface Chunk { x: Float32Array; rows: number; labels: Int32Array | null }
    // The next chunk of the input, scaled, with its labels checked; null at the end.
    const prepare = async (): Promise<Chunk | null> => {
      const raw = await src.next(o.chunkSize);
      if (!raw) return null;
      const at = preparedRows, rows = raw.length / F;
      preparedRows += rows;
      const { x, max } = scaledFloat32(raw, divisor);
      if (!warnedRange && max > 1.5) {
        log(`warning: input values reach ${max} but the model was trained on values in [0, 1]; if these are 0..255 grey levels pass --input-scale 255`);
        warnedRange = true;
      }
      let labels: Int32Array | null = null;
      if (labelSrc) {
        const l = await labelSrc.next(rows);
        if (!l || l.length !== rows) throw new Error(`--labels ${o.labels}: ended before the input did`);
        labels = new Int32Array(rows);
        for (let i = 0; i < rows; i++) {
          if (!Number.isInteger(l[i]) || l[i] < 0 || l[i] >= C) throw new Error(`--labels ${o.labels}: label ${at + i} is ${l[i]}, outside 0..${C - 1}`);
          labels[i] = l[i];
        }
      } else if (src.labels) {
        labels = src.labels.subarray(at, at + rows);
        for (let i = 0; i < rows; i++) if (labels[i] >= C) throw new Error(`${o.input}: label ${at + i} is ${labels[i]}, outside 0..${C - 1}`);
      }
      return { x, rows, labels };
    };
    // Started while the network runs on the libuv pool, so that reading and scaling the next chunk
    // overlaps the current one's last batch; its rejection is handled where it is awaited.
    const prefetch = (): Promise<Chunk | null> => {
      const next = prepare();
      next.catch(() => undefined);
      return next;
    };
    let chunk = await prepare();
    while (chunk) {
      const { x, rows, labels } = chunk;
      let next: Promise<Chunk | null> | null = null;
      const lines: string[] = [];
      // This rank's batches of the chunk (all of them in one process), then the merge over the ranks.
      const chunkScores = new Float32Array(rows * C);
      const mine: number[] = [];
      for (let s = 0; s < rows; s += o.batchSize) if (batchNo++ % world === rank) mine.push(s);
      for (const s of mine) {
        const n = Math.min(o.batchSize, rows - s);
        const tm = Date.now();
        const xT = noGrad(() => tidy(() => encodeBatch(x.subarray(s * F, (s + n) * F), n, F, input.T, encoding, device, { seed: seed!, offset: (index + s) * F * input.T }).x));
        const pending = scoresOf(xT);
        if (s === mine[mine.length - 1]) next = prefetch();
        const scores = await pending;
        modelMs += Date.now() - tm;
        if (scores.length !== n * C)
          throw new Error(`${o.checkpoint}: the model produced ${scores.length / n} scores per sample but input.classes is ${C}; ` +
            'the metadata does not match the model. Fix: set input.classes to the width of the model output');
        chunkScores.set(scores, s * C);
      }
      next ??= prefetch();
      if (world > 1) {
        const merged = tensor(chunkScores, [chunkScores.length], { device: dist.getBackend() === 'nccl' ? 'cuda' : 'cpu' });
        dist.allReduce(merged, 'sum'); // disjoint contributions: x + 0 = x exactly
        chunkScores.set(merged.toFloat32Array());
        merged.dispose();
      }
      for (let s = 0; s < rows; s += o.batchSize) {
        const n = Math.min(o.batchSize, rows - s);
        const scores = chunkScores.subarray(s * C, (s + n) * C);
        const pred = argmaxRows(scores, C);
        for (let i = 0; i < n; i++) {
          const gi = index + s + i;
          predictions[gi] = pred[i];
          const line: Record<string, unknown> = { index: gi, prediction: pred[i] };
          if (o.scores) line.scores = Array.from(scores.subarray(i * C, (i + 1) * C), (v) => +v.toPrecision(6));
          if (labels) {
            const y = labels[s + i];
            line.label = y;
            labelled++;
            if (y === pred[i]) correct++;
          }
          lines.push(JSON.stringify(line));
        }
      }
      index += rows;
      if (!write(lines.join('\n') + '\n')) break;
      chunk = await next;
    }
    const seconds = (Date.now() - t0) / 1000;
    const result: InferResult = {
      count: index, accuracy: labelled ? correct / labelled : null, correct, seconds, samplesPerSec: index / Math.max(seconds, 1e-9),
      modelSeconds: modelMs / 1000, output: toStdout ? '(stdout)' : o.output!, predictions,
    };
    log(`infer: ${index} samples in ${seconds.toFixed(2)} s: ${Math.round(result.samplesPerSec)} samples/s ` +
      `(network ${Math.round(index / Math.max(modelMs / 1000, 1e-9))} samples/s, batch ${o.batchSize}, device ${device})`);
    if (result.accuracy !== null) log(`accuracy: ${fmtPct(result.accuracy)} (${correct}/${labelled})`);
    if (!toStdout) log(`predictions: ${o.output}`);
    if (outputClosed) log(`standard output was closed after ${index} samples; stopped there`);
    return result;
  } finally {
    src.close();
    labelSrc?.close();
    if (!toStdout && lead) fs.closeSync(out);
  }
}

/**
 * raw / divisor as float32, and its largest value. A Float32Array source (every decoded IDX image file)
 * is scaled in place, with one loop per element type so that each stays monomorphic (a loop over the
 * union ran at about 14 ns per value, this one at about 1).
 */
function scaledFloat32(raw: Float32Array | Float64Array, divisor: number): { x: Float32Array; max: number } {
  if (raw instanceof Float32Array) return { x: raw, max: scaleInPlace(raw, divisor) };
  const x = new Float32Array(raw.length);
  return { x, max: scaleInto(raw, divisor, x) };
}

function scaleInPlace(x: Float32Array, divisor: number): number {
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] / divisor;
    x[i] = v;
    if (v > max) max = v;
  }
  return max;
}

function scaleInto(raw: Float64Array, divisor: number, x: Float32Array): number {
  let max = 0;
  for (let i = 0; i < raw.length; i++) {
    const v = Math.fround(raw[i] / divisor);
    x[i] = v;
    if (v > max) max = v;
  }
  return max;
}
