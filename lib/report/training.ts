// The HTML report of a training run, built from its JSONL log events alone (so a report can be
// rebuilt from any log file): loss and accuracy curves, each layer's alpha (and learnable term
// weights) over training, the per-epoch table and the configuration.
import { htmlReport, keyValueHtml, lineChartSvg, preHtml, Section, Series, tableHtml } from './html';

export interface StartEvent {
  event: 'start';
  time: string;
  config: Record<string, unknown>;
  data: { source: string; train: number; test: number; features: number; classes: number };
  describe: string;
  stepsPerEpoch: number;
  alphas: number[][];
  coefficients: number[][];
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
const list = (a: number[][]) => JSON.stringify(a.map((l) => l.map((v) => +v.toFixed(4))));

export function trainingReportHtml(events: TrainEvent[], title = 'f-SNN training report'): string {
  const start = events.find((e): e is StartEvent => e.event === 'start');
  const steps = events.filter((e): e is StepEvent => e.event === 'step');
  const epochs = events.filter((e): e is EpochEvent => e.event === 'epoch');
  const end = events.find((e): e is EndEvent => e.event === 'end');
  const sections: Section[] = [];

  const summary: [string, string | number][] = [];
  if (end) {
    summary.push(['test accuracy', pct(end.testAcc)], ['learned alphas', list(end.alphas)]);
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
    { name: 'train accuracy (running)', points: steps.map((s) => [s.x, 100 * s.acc]) },
    { name: 'train accuracy (epoch)', points: epochs.map((e) => [e.epoch + 1, 100 * e.trainAcc]) },
    { name: 'test accuracy', points: epochs.map((e) => [e.epoch + 1, 100 * e.testAcc]), dashed: true },
  ];
  const charts = [
    lineChartSvg({ title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: lossSeries }),
    lineChartSvg({ title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)', series: accSeries, yMax: 100 }),
  ];
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
    sections.push({ heading: 'Model', html: preHtml(start.describe) });
    sections.push({ heading: 'Configuration', html: keyValueHtml(Object.entries(start.config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])) });
  }
  return htmlReport({ title, subtitle: start ? `${start.data.source}, started ${start.time}` : undefined, sections });
}
