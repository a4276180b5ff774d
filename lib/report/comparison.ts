// The HTML report comparing several training runs on the same task (same data, seeds, sizes and
// budget): a table of the results, the test accuracy of every run per epoch, and the orders each
// fractional run learned.
import { htmlReport, keyValueHtml, lineChartSvg, Section, Series, tableHtml } from './html';
import type { EpochEvent } from './training';

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
const list = (a: number[][] | null) => (a ? JSON.stringify(a.map((l) => l.map((v) => +v.toFixed(3)))) : '-');

export function comparisonReportHtml(title: string, runs: ComparedRun[], settings: [string, string | number][]): string {
  const sections: Section[] = [];
  const rows: (string | number)[][] = [['model', 'test accuracy', 'learned alphas', 'coefficients', 'time', 'run report']];
  for (const r of runs) rows.push([r.name, pct(r.testAccuracy), list(r.alphas), list(r.coefficients), `${r.seconds.toFixed(1)} s`, r.report ?? '-']);
  sections.push({ heading: 'Results', html: tableHtml(rows) });
  sections.push({ heading: 'Models', html: keyValueHtml(runs.map((r) => [r.name, r.description])) });
  const acc: Series[] = runs.map((r) => ({ name: r.name, points: r.epochs.map((e) => [e.epoch + 1, 100 * e.testAcc] as [number, number]) }));
  const loss: Series[] = runs.map((r) => ({ name: r.name, points: r.epochs.map((e) => [e.epoch + 1, e.loss] as [number, number]) }));
  sections.push({
    heading: 'Training curves',
    html: [
      lineChartSvg({ title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)', series: acc }),
      lineChartSvg({ title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: loss }),
    ].join('\n'),
  });
  const alphaSeries: Series[] = [];
  for (const r of runs) {
    if (!r.alphas || !r.epochs.length) continue;
    r.epochs[0].alphas.forEach((terms, i) => terms.forEach((_, m) => alphaSeries.push({
      name: `${r.name}: layer ${i}${terms.length > 1 ? ` term ${m}` : ''}`,
      points: r.epochs.map((e) => [e.epoch + 1, e.alphas[i][m]] as [number, number]),
      dashed: m > 0,
    })));
  }
  if (alphaSeries.length)
    sections.push({ heading: 'Orders over training', html: lineChartSvg({ title: 'alpha at the end of each epoch', xLabel: 'epoch', yLabel: 'alpha', series: alphaSeries, yFormat: (v) => v.toFixed(2) }) });
  sections.push({ heading: 'Settings (shared by every run)', html: keyValueHtml(settings) });
  return htmlReport({ title, sections });
}
