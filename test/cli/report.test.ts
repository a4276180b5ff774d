// Report generation: self-contained HTML (no scripts, no external resources) with the SVG charts.
import { escapeHtml, htmlReport, lineChartSvg, niceTicks, tableHtml } from '../../lib/report/html';
import { parseTrainLog, trainingReportHtml, TrainEvent } from '../../lib/report/training';
import { comparisonReportHtml } from '../../lib/report/comparison';

function events(): TrainEvent[] {
  const ev: TrainEvent[] = [{
    event: 'start', time: '2025-01-01T00:00:00.000Z', config: { epochs: 3, alpha: [0.5, 0.5] },
    data: { source: 'mnist package <test>', train: 800, test: 200, features: 784, classes: 10 },
    describe: 'SNNWrapper(integrator=fdeint, mode=per_layer)', stepsPerEpoch: 4, alphas: [[0.5], [0.5]], coefficients: [[1], [1]],
  }];
  let step = 0;
  for (let e = 0; e < 3; e++) {
    for (let b = 0; b < 4; b++) {
      step++;
      ev.push({ event: 'step', epoch: e, step, x: e + (b + 1) / 4, loss: 2 / step, acc: 0.5 + step / 40, lr: 1e-3, alphas: [[0.5 + step / 100], [0.5 - step / 200]], coefficients: [[1], [1]] });
    }
    ev.push({ event: 'epoch', epoch: e, loss: 1 / (e + 1), trainAcc: 0.6 + e / 10, testLoss: 1.2 / (e + 1), testAcc: 0.7 + e / 10, seconds: 1.5, samplesPerSec: 533, lr: 1e-3, alphas: [[0.5 + e / 10], [0.5]], coefficients: [[1], [1]] });
  }
  ev.push({ event: 'end', testAcc: 0.965, alphas: [[0.62], [0.44]], coefficients: [[1], [1]], checkpoint: 'runs/x/model.safetensors', seconds: 4.5 });
  return ev;
}

function expectSelfContained(html: string): void {
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect(html).toContain('<meta charset="utf-8">');
  expect(html).toMatch(/<\/html>\s*$/);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<link/i);
  expect(html).not.toMatch(/\b(src|href)\s*=/i);
  expect(html).not.toMatch(/url\((?!#plot-\d+\))/i); // only references to the document's own clip paths
  // the only URL is the SVG namespace, which is a name, not a resource
  const urls = html.match(/https?:\/\/[^\s"']+/g) ?? [];
  expect(urls.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
}

describe('HTML report', () => {
  test('the training report has the loss, accuracy and alpha charts and the run summary', () => {
    const html = trainingReportHtml(events(), 'run <1>');
    expectSelfContained(html);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g)!;
    expect(svgs).toHaveLength(4);
    expect(svgs[0]).toContain('<title>Loss</title>');
    expect(svgs[1]).toContain('<title>Accuracy</title>');
    expect(svgs[2]).toContain('<title>Accuracy, zoomed to');
    expect(svgs[3]).toContain('<title>alpha over training</title>');
    expect(svgs[3]).toContain('alpha layer 0');
    expect(svgs[3]).toContain('alpha layer 1');
    // one path per plotted series: 3 in the loss chart, one per layer in the alpha chart
    expect(svgs[0].match(/<path /g)).toHaveLength(3);
    expect(svgs[3].match(/<path /g)).toHaveLength(2);
    expect(html).toContain('96.50%');
    expect(html).toContain('<dt>learned alphas</dt><dd>0.620, 0.440</dd>');
    expect(html).not.toContain('[[0.62],[0.44]]');
    expect(html).toContain('runs/x/model.safetensors');
    expect(html).toContain('<title>run &lt;1&gt;</title>');
    expect(html).toContain('mnist package &lt;test&gt;');
    expect(html).not.toContain('<test>');
  });

  test('learnable term weights get their own chart; multi-term layers one series per term', () => {
    const ev = events().map((e) => (e.event === 'step' ? { ...e, alphas: [[0.3, 0.8], [0.5]], coefficients: [[1 - e.step / 100, 0.5], [1]] }
      : e.event === 'start' ? { ...e, alphas: [[0.3, 0.8], [0.5]], coefficients: [[1, 0.5], [1]] } : e));
    const html = trainingReportHtml(ev);
    expectSelfContained(html);
    expect(html.match(/<svg/g)).toHaveLength(5);
    expect(html).toContain('alpha layer 0 term 1');
    expect(html).toContain('coefficients over training');
  });

  test('the report can be rebuilt from the JSONL log', () => {
    const jsonl = events().map((e) => JSON.stringify(e)).join('\n') + '\n';
    expect(parseTrainLog(jsonl)).toEqual(events());
    expect(() => parseTrainLog('{"event":"start"}\nnot json\n')).toThrow(/line 2 is not JSON/);
  });

  test('line charts: gaps for missing values, coordinates inside the plot, escaped labels', () => {
    const svg = lineChartSvg({ title: 'a<b', xLabel: 'x & y', yLabel: 'y', series: [{ name: 's"1', points: [[0, 1], [1, NaN], [2, 3], [3, 4]] }], width: 400, height: 200 });
    expect(svg).toContain('<title>a&lt;b</title>');
    expect(svg).toContain('x &amp; y');
    expect(svg).toContain('s&quot;1');
    // the NaN splits the line: a lone point (circle) and a 2-point path
    expect(svg.match(/<path /g)).toHaveLength(1);
    const coords = [...svg.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(coords.length).toBe(2);
    for (const [x, y] of coords) {
      expect(x).toBeGreaterThanOrEqual(64);
      expect(x).toBeLessThanOrEqual(400 - 16);
      expect(y).toBeGreaterThan(0);
      expect(y).toBeLessThan(200 - 46);
    }
    expect(lineChartSvg({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] })).toContain('</svg>');
  });

  test('helpers', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.93, 0.97).length).toBeGreaterThanOrEqual(3);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(tableHtml([['h1', 'h2'], [1, '<2>']])).toContain('<td>&lt;2&gt;</td>');
    expectSelfContained(htmlReport({ title: 't', sections: [{ heading: 'h', html: '<p>x</p>' }] }));
  });

  test('the comparison report of several runs', () => {
    const ep = events().filter((e) => e.event === 'epoch') as Extract<TrainEvent, { event: 'epoch' }>[];
    const html = comparisonReportHtml('compare', [
      { name: 'integer order', description: 'odeint', testAccuracy: 0.74, alphas: null, coefficients: null, seconds: 10, epochs: ep, report: 'integer/report.html' },
      { name: 'f-SNN', description: 'fdeint', testAccuracy: 0.76, alphas: [[0.6], [0.5]], coefficients: null, seconds: 12, epochs: ep, report: null },
    ], [['epochs', 3]]);
    expectSelfContained(html);
    expect(html).toContain('<td>integer order</td><td>74.00%</td>');
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).toContain('<td>0.600, 0.500</td>');
  });

  test('comparison: ten alpha series do not hide each other (small multiples, coincident lines named together)', () => {
    const epochsWith = (alphas: (e: number) => number[][]) => [0, 1, 2].map((e) => ({
      event: 'epoch' as const, epoch: e, loss: 1, trainAcc: 0.5, testLoss: 1, testAcc: 0.5, seconds: 1, samplesPerSec: 1, lr: 1e-3, alphas: alphas(e), coefficients: [],
    }));
    const runs = [
      { name: 'fixed', alphas: [[0.5], [0.5]], epochs: epochsWith(() => [[0.5], [0.5]]) },
      { name: 'learned', alphas: [[0.9], [0.7]], epochs: epochsWith((e) => [[0.5 + 0.2 * e], [0.5 + 0.1 * e]]) },
      { name: 'multi', alphas: [[0.3, 0.6, 0.9], [0.3, 0.6, 0.9]], epochs: epochsWith((e) => [[0.3, 0.6 + 0.01 * e, 0.9], [0.3 + 0.05 * e, 0.6, 1]]) },
    ].map((r) => ({ ...r, description: '', testAccuracy: 0.5, coefficients: null, seconds: 1, report: null }));
    const html = comparisonReportHtml('ten series', runs, []);
    expectSelfContained(html);
    const multiples = html.match(/<div class="multiples">([\s\S]*?)<\/div>/)![1];
    const charts = multiples.match(/<svg[\s\S]*?<\/svg>/g)!;
    // fixed, learned, and multi's two layers on their own charts
    expect(charts.map((c) => c.match(/<title>(.*?)<\/title>/)![1])).toEqual(['fixed', 'learned', 'multi: layer 0', 'multi: layer 1']);
    // fixed: both layers at 0.5 are one line, named for both
    expect(charts[0].match(/<path /g)).toHaveLength(1);
    expect(charts[0]).toContain('layer 0 = layer 1');
    expect(charts[1].match(/<path /g)).toHaveLength(2);
    expect(charts[2].match(/<path /g)).toHaveLength(3);
    // the terms differ in colour and dash pattern
    const strokes = [...charts[2].matchAll(/<path [^>]*stroke="([^"]+)"[^>]*?(?:stroke-dasharray="([^"]+)")?\/>/g)].map((m) => `${m[1]} ${m[2] ?? 'solid'}`);
    expect(new Set(strokes).size).toBe(3);
    // one y axis for all the small charts
    const ticks = charts.map((c) => [...c.matchAll(/font-size="11">(\d\.\d\d)<\/text>/g)].map((m) => m[1]).join(','));
    expect(new Set(ticks).size).toBe(1);
  });

  test('the Model section: learned alphas, the initial ones in their own labelled column; the config has no undefined', () => {
    const ev = events().map((e) => (e.event === 'start'
      ? { ...e, config: { ...e.config, memory: undefined, multiCoefficient: undefined, hidden: [256] },
        layers: [{ name: '1', kind: 'LIF', learnAlpha: true, learnCoefficient: false }, { name: '3', kind: 'LIF', learnAlpha: true, learnCoefficient: false }] }
      : e));
    const html = trainingReportHtml(ev);
    const model = html.match(/<h2>Model<\/h2>([\s\S]*?)<\/section>/)![1];
    expect(model).toContain('<th>alpha (learned)</th><th>initial alpha</th>');
    expect(model).toContain('<tr><td>0</td><td>1</td><td>LIF</td><td>0.620</td><td>0.500</td>');
    expect(model).toContain('<tr><td>1</td><td>3</td><td>LIF</td><td>0.440</td><td>0.500</td>');
    const config = html.match(/<h2>Configuration<\/h2>([\s\S]*?)<\/section>/)![1];
    expect(config).not.toMatch(/undefined/);
    expect(config).toContain('<dt>memory</dt><dd>full</dd>');
    expect(config).toContain('<dt>hidden</dt><dd>256</dd>');
    expect(config).not.toContain('multiCoefficient');
    // an incomplete run labels the orders by the last epoch
    const partial = trainingReportHtml(events().filter((e) => e.event !== 'end'));
    expect(partial).toContain('<th>alpha (after epoch 3)</th><th>initial alpha</th>');
  });

  test('the zoomed accuracy view spans the later epochs, cutting lines at the plot edge', () => {
    const html = trainingReportHtml(events());
    const zoom = html.match(/<svg[^>]*aria-label="Accuracy, zoomed[\s\S]*?<\/svg>/)![0];
    // epochs 2-3 (second half): test 80 %, 90 %, train 70 %, 80 %: range 70-90 with a margin of 6 points
    expect(zoom).toContain('<title>Accuracy, zoomed to 64.0-96.0 %</title>');
    expect(zoom).toMatch(/<clipPath id="(plot-\d+)">[\s\S]*clip-path="url\(#\1\)"/);
    expect(zoom).toContain('range of epochs 2-3; earlier epochs fall below the plot');
  });
});
