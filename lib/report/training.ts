// The HTML report of a training run, built from its JSONL log events alone (so a report can be
// rebuilt from any log file): loss and accuracy curves, each layer's alpha (and learnable term
// weights) over training, the per-epoch table and the configuration.
import { escapeHtml, htmlReport, keyValueHtml, lineChartSvg, PALETTE, Section, Series, tableHtml } from './html';

export interface StartEvent {
  event: 'start';
  time: string;
  config: Record<string, unknown>;
  data: { source: string; train: number; test: number; features: number; classes: number };
  describe: string;
  stepsPerEpoch: number;
  alphas: number[][];
  coefficients: number[][];
  /** Each neuron layer's name, kind and what it learns (logs written before this field lack it). */
  layers?: LayerInfo[];
}

/** One neuron layer of the model, as the start event records it. */
export interface LayerInfo {
  name: string;
  kind: string;
  learnAlpha: boolean;
  learnCoefficient: boolean;
}

export interface StepEvent {
  event: 'step';
  epoch: number;
  step: number;
  /** Position in epochs (epoch + fraction done). */
  x: number;
  /** Mean training loss and accuracy over the batches since the previous step event. */
  loss: number;
  acc: number;
  lr: number;
  alphas: number[][];
  coefficients: number[][];
}

export interface EpochEvent {
  event: 'epoch';
  epoch: number;
  loss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
  seconds: number;
  samplesPerSec: number;
  lr: number;
  alphas: number[][];
  coefficients: number[][];
}

export interface EndEvent {
  event: 'end';
  testAcc: number;
  alphas: number[][];
  coefficients: number[][];
  checkpoint: string | null;
  seconds: number;
}

export type TrainEvent = StartEvent | StepEvent | EpochEvent | EndEvent;

/** Parses a JSONL training log (one event per line; blank lines skipped). */
export function parseTrainLog(text: string): TrainEvent[] {
  return text.split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as TrainEvent;
    } catch (e) {
      throw new Error(`training log line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  });
}

function layerSeries(steps: { x: number; values: number[][] }[], prefix: string): Series[] {
  if (!steps.length) return [];
  // terms per layer (the largest seen, should a log mix shapes)
  const layers = Math.max(...steps.map((s) => s.values.length));
  const shape = Array.from({ length: layers }, (_, i) => Math.max(...steps.map((s) => s.values[i]?.length ?? 0)));
  const out: Series[] = [];
  shape.forEach((terms, i) => {
    for (let m = 0; m < terms; m++) {
      out.push({
        name: terms > 1 ? `${prefix} layer ${i} term ${m}` : `${prefix} layer ${i}`,
        points: steps.map((s) => [s.x, s.values[i]?.[m] ?? NaN] as [number, number]),
        dashed: m > 0,
      });
    }
  });
  return out;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/**
 * Per-layer values as a person reads them: "0.772, 0.878" (one value per layer), or
 * "layer 0: 0.300, 0.800; layer 1: 0.500" when a layer has several terms.
 */
export function formatLayerValues(a: number[][], digits = 3): string {
  const r = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
  if (a.every((l) => l.length === 1)) return a.map((l) => r(l[0])).join(', ');
  return a.map((l, i) => `layer ${i}: ${l.map(r).join(', ')}`).join('; ');
}
const list = (a: number[][]) => formatLayerValues(a);

/** A configuration value as text; undefined and null are left out by the caller. */
function configValue(k: string, v: unknown): string {
  if (k === 'memory' && (v === undefined || v === null)) return 'full';
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.join(', ');
  return JSON.stringify(v);
}

/** The configuration without unset entries; an unset history window shows as 'full'. */
export function configPairs(config: Record<string, unknown>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(config)) {
    if ((v === undefined || v === null) && k !== 'memory') continue;
    pairs.push([k, configValue(k, v)]);
  }
  if (!('memory' in config)) pairs.push(['memory', 'full']);
  return pairs;
}

/** The Model section: per neuron layer, the learned orders and weights, and separately the initial ones. */
function modelSection(start: StartEvent, final: { alphas: number[][]; coefficients: number[][]; label: string } | null): string {
  const header = start.describe.split('\n')[0];
  const n = start.alphas.length;
  const r = (l: number[] | undefined) => (l ? l.map((v) => v.toFixed(3)).join(', ') : '-');
  const head = ['layer', 'name', 'kind'];
  if (final) head.push(`alpha (${final.label})`);
  head.push('initial alpha');
  // Term weights that never changed get one column; learned ones get the learned and the initial column.
  const coefMoved = !!final && JSON.stringify(final.coefficients) !== JSON.stringify(start.coefficients);
  if (coefMoved) head.push(`coefficient (${final!.label})`, 'initial coefficient');
  else head.push('coefficient');
  head.push('learns alpha', 'learns coefficient');
  const rows: (string | number)[][] = [head];
  for (let i = 0; i < n; i++) {
    const info = start.layers?.[i];
    const row: (string | number)[] = [i, info?.name ?? '-', info?.kind ?? '-'];
    if (final) row.push(r(final.alphas[i]));
    row.push(r(start.alphas[i]));
    if (coefMoved) row.push(r(final!.coefficients[i]));
    row.push(r(start.coefficients[i]));
    row.push(info ? String(info.learnAlpha) : '-', info ? String(info.learnCoefficient) : '-');
    rows.push(row);
  }
  return `<p><code>${escapeHtml(header)}</code></p>\n${tableHtml(rows)}`;
}

/**
 * The view of the accuracy that shows the last epochs' differences: the y range spans the
 * epoch-level accuracies of the second half of training (with a margin), so 96-97 % is not a
 * hair's breadth at the top of a 0-100 axis. Null when there are fewer than two epochs.
 */
function zoomRange(epochs: EpochEvent[]): { lo: number; hi: number; from: number } | null {
  if (epochs.length < 2) return null;
  const from = Math.floor(epochs.length / 2);
  const vals = epochs.slice(from).flatMap((e) => [100 * e.testAcc, 100 * e.trainAcc]).filter(Number.isFinite);
  if (!vals.length) return null;
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const pad = Math.max(0.25, (hi - lo) * 0.3);
  return { lo: Math.max(0, lo - pad), hi: Math.min(100, hi + pad), from };
}

export function trainingReportHtml(events: TrainEvent[], title = 'f-SNN training report'): string {
  const start = events.find((e): e is StartEvent => e.event === 'start');
  const steps = events.filter((e): e is StepEvent => e.event === 'step');
  const epochs = events.filter((e): e is EpochEvent => e.event === 'epoch');
  const end = events.find((e): e is EndEvent => e.event === 'end');
  const sections: Section[] = [];

  const summary: [string, string | number][] = [];
  if (end) {
    summary.push(['test accuracy', pct(end.testAcc)], ['learned alphas', list(end.alphas)]);
    if (start) summary.push(['initial alphas', list(start.alphas)]);
    if (start && JSON.stringify(start.coefficients) !== JSON.stringify(end.coefficients)) summary.push(['learned coefficients', list(end.coefficients)]);
    summary.push(['wall time', `${end.seconds.toFixed(1)} s`], ['checkpoint', end.checkpoint ?? '(not saved)']);
  } else if (epochs.length) {
    summary.push(['status', `incomplete run: ${epochs.length} epoch(s) logged`], ['last test accuracy', pct(epochs[epochs.length - 1].testAcc)]);
  }
  if (start) summary.push(['data', `${start.data.source}: ${start.data.train} training / ${start.data.test} test samples`], ['started', start.time]);
  sections.push({ heading: 'Summary', html: keyValueHtml(summary) });

  const stepX0 = start ? [{ x: 0, values: start.alphas }] : [];
  const lossSeries: Series[] = [
    { name: 'train loss (per logging interval)', points: steps.map((s) => [s.x, s.loss]) },
    { name: 'train loss (epoch mean)', points: epochs.map((e) => [e.epoch + 1, e.loss]) },
    { name: 'test loss', points: epochs.map((e) => [e.epoch + 1, e.testLoss]), dashed: true },
  ];
  const accSeries: Series[] = [
    { name: 'train accuracy (running)', points: steps.map((s) => [s.x, 100 * s.acc]), color: PALETTE[0] },
    { name: 'train accuracy (epoch)', points: epochs.map((e) => [e.epoch + 1, 100 * e.trainAcc]), color: PALETTE[1] },
    { name: 'test accuracy', points: epochs.map((e) => [e.epoch + 1, 100 * e.testAcc]), dashed: true, color: PALETTE[2] },
  ];
  const charts = [
    lineChartSvg({ title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: lossSeries }),
    lineChartSvg({ title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)', series: accSeries, yMax: 100 }),
  ];
  const zoom = zoomRange(epochs);
  if (zoom) {
    const epochSeries = accSeries.slice(1); // the per-epoch train and test accuracy
    charts.push(lineChartSvg({
      title: `Accuracy, zoomed to ${zoom.lo.toFixed(1)}-${zoom.hi.toFixed(1)} %`, xLabel: 'epoch', yLabel: 'accuracy (%)', series: epochSeries,
      yMin: zoom.lo, yMax: zoom.hi, yFormat: (v) => v.toFixed(2),
      note: `range of epochs ${zoom.from + 1}-${epochs.length}; earlier epochs fall below the plot`,
    }));
  }
  sections.push({ heading: 'Loss and accuracy', html: charts.join('\n') });

  const alphaPoints = [...stepX0, ...steps.map((s) => ({ x: s.x, values: s.alphas }))];
  sections.push({
    heading: 'Fractional order of each neuron layer',
    html: lineChartSvg({ title: 'alpha over training', xLabel: 'epoch', yLabel: 'alpha', series: layerSeries(alphaPoints, 'alpha'), yFormat: (v) => v.toFixed(3) }),
  });
  const coefPoints = [...(start ? [{ x: 0, values: start.coefficients }] : []), ...steps.map((s) => ({ x: s.x, values: s.coefficients }))];
  const coefMoved = coefPoints.some((p) => JSON.stringify(p.values) !== JSON.stringify(coefPoints[0].values));
  if (coefMoved)
    sections.push({
      heading: 'Term weights (coefficients) of each neuron layer',
      html: lineChartSvg({ title: 'coefficients over training', xLabel: 'epoch', yLabel: 'coefficient', series: layerSeries(coefPoints, 'coef') }),
    });

  if (epochs.length) {
    const rows: (string | number)[][] = [['epoch', 'train loss', 'train acc', 'test loss', 'test acc', 'alphas', 'lr', 'seconds', 'samples/s']];
    for (const e of epochs)
      rows.push([e.epoch + 1, e.loss.toFixed(4), pct(e.trainAcc), e.testLoss.toFixed(4), pct(e.testAcc), list(e.alphas), e.lr.toExponential(2), e.seconds.toFixed(1), Math.round(e.samplesPerSec)]);
    sections.push({ heading: 'Epochs', html: tableHtml(rows) });
  }
  if (start) {
    const lastEpoch = epochs[epochs.length - 1];
    const final = end ? { alphas: end.alphas, coefficients: end.coefficients, label: 'learned' }
      : lastEpoch ? { alphas: lastEpoch.alphas, coefficients: lastEpoch.coefficients, label: `after epoch ${lastEpoch.epoch + 1}` } : null;
    sections.push({ heading: 'Model', html: modelSection(start, final) });
    sections.push({ heading: 'Configuration', html: keyValueHtml(configPairs(start.config)) });
  }
  return htmlReport({ title, subtitle: start ? `${start.data.source}, started ${start.time}` : undefined, sections });
}
