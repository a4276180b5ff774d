// The HTML report comparing several training runs on the same task (same data, seeds, sizes and
// budget): a table of the results, the test accuracy of every run per epoch, and the orders each
// fractional run learned.
import { htmlReport, keyValueHtml, lineChartSvg, PALETTE, Section, Series, tableHtml } from './html';
import { formatLayerValues, type EpochEvent } from './training';

export interface ComparedRun {
  name: string;
  description: string;
  testAccuracy: number;
  alphas: number[][] | null;
  coefficients: number[][] | null;
  seconds: number;
  epochs: EpochEvent[];
  report: string | null;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const list = (a: number[][] | null) => (a ? formatLayerValues(a) : '-');
/** Dash patterns by term index: solid, dashed, dotted, dash-dot. */
const TERM_DASH = ['', '7 4', '2 3', '8 3 2 3'];

/** Largest difference between two series' values at the same positions. */
function maxGap(a: Series, b: Series): number {
  let g = 0;
  a.points.forEach(([, y], k) => { g = Math.max(g, Math.abs(y - (b.points[k]?.[1] ?? NaN))); });
  return Number.isNaN(g) ? Infinity : g;
}

/**
 * Series that would be drawn on top of each other (equal, or within `tolerance` everywhere) are
 * drawn once and named together: "layer 0 = layer 1", or "≈" when they differ slightly.
 */
export function mergeCoincident(series: Series[], tolerance = 0.002): Series[] {
  const merged: Series[] = [];
  for (const s of series) {
    const same = merged.find((t) => t.points.length === s.points.length && maxGap(t, s) <= tolerance);
    if (same) same.name += `${maxGap(same, s) === 0 ? ' = ' : ' ≈ '}${s.name}`;
    else merged.push({ ...s });
  }
  return merged;
}

/**
 * One run's orders over training as small charts: one chart for a run with one order per layer
 * (a colour per layer), one chart per layer for multi-term runs (a colour and dash per term).
 */
export function alphaChartsOf(run: ComparedRun): { title: string; series: Series[] }[] {
  const first = run.epochs[0];
  if (!first) return [];
  const pointsOf = (i: number, m: number) => run.epochs.map((e) => [e.epoch + 1, e.alphas[i]?.[m] ?? NaN] as [number, number]);
  if (first.alphas.every((terms) => terms.length === 1)) {
    const series = first.alphas.map((_, i) => ({ name: `layer ${i}`, points: pointsOf(i, 0), color: PALETTE[i % PALETTE.length] }));
    return [{ title: run.name, series: mergeCoincident(series) }];
  }
  return first.alphas.map((terms, i) => ({
    title: `${run.name}: layer ${i}`,
    series: mergeCoincident(terms.map((_, m) => ({
      name: `term ${m}`, points: pointsOf(i, m), color: PALETTE[m % PALETTE.length], dash: TERM_DASH[m % TERM_DASH.length] || undefined,
    }))),
  }));
}

/** Distinct dash patterns for the runs of one chart (colours repeat after ten runs; dashes tell them apart). */
function runStyle(i: number): Pick<Series, 'color' | 'dash'> {
  return { color: PALETTE[i % PALETTE.length], dash: ['', '7 4', '2 3', '8 3 2 3'][Math.floor(i / 2) % 4] || undefined };
}

export function comparisonReportHtml(title: string, runs: ComparedRun[], settings: [string, string | number][]): string {
  const sections: Section[] = [];
  const rows: (string | number)[][] = [['model', 'test accuracy', 'learned alphas', 'coefficients', 'time', 'run report']];
  for (const r of runs) rows.push([r.name, pct(r.testAccuracy), list(r.alphas), list(r.coefficients), `${r.seconds.toFixed(1)} s`, r.report ?? '-']);
  sections.push({ heading: 'Results', html: tableHtml(rows) });
  sections.push({ heading: 'Models', html: keyValueHtml(runs.map((r) => [r.name, r.description])) });
  const acc: Series[] = runs.map((r, i) => ({ name: r.name, points: r.epochs.map((e) => [e.epoch + 1, 100 * e.testAcc] as [number, number]), ...runStyle(i) }));
  const loss: Series[] = runs.map((r, i) => ({ name: r.name, points: r.epochs.map((e) => [e.epoch + 1, e.loss] as [number, number]), ...runStyle(i) }));
  sections.push({
    heading: 'Training curves',
    html: [
      lineChartSvg({ title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)', series: acc }),
      lineChartSvg({ title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: loss }),
    ].join('\n'),
  });
  // Small multiples: one chart per fractional run, on a shared alpha axis, so that no run's lines hide another's.
  const fractional = runs.filter((r) => r.alphas && r.epochs.length);
  if (fractional.length) {
    const all = fractional.flatMap((r) => r.epochs.flatMap((e) => e.alphas.flat())).filter(Number.isFinite);
    const lo = Math.max(0, Math.floor((Math.min(...all) - 0.02) * 20) / 20), hi = Math.min(1.05, Math.ceil((Math.max(...all) + 0.02) * 20) / 20);
    const charts = fractional.flatMap((r) => alphaChartsOf(r)).map((c) => lineChartSvg({
      title: c.title, xLabel: 'epoch', yLabel: 'alpha', series: c.series, width: 330, height: 260, yMin: lo, yMax: hi, yFormat: (v) => v.toFixed(2),
    }));
    sections.push({
      heading: 'Orders over training',
      html: `<p>alpha at the end of each epoch: one chart per run, and per layer for multi-term runs, all on the same y axis; lines that coincide are drawn once and named together.</p>\n<div class="multiples">\n${charts.join('\n')}\n</div>`,
    });
  }
  sections.push({ heading: 'Settings (shared by every run)', html: keyValueHtml(settings) });
  return htmlReport({ title, sections });
}
