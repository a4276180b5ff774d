// The README's Quick start, extracted from README.md and run as written (only the import path changes:
// 'fractional-snn' -> this checkout's lib/). It trains on the embedded digits, so the numbers it prints
// are checked against loose but meaningful bounds.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { quickStartCode } = require('../scripts/readme-quickstart') as { quickStartCode: (readme: string) => string };

test('the README quick start runs as written: train, evaluate, save, load, infer', () => {
  const code = quickStartCode(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
  expect(code).toContain("from 'fractional-snn'");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-readme-'));
  const file = path.join(dir, 'quickstart.ts');
  fs.writeFileSync(file, code.split("from 'fractional-snn'").join(`from ${JSON.stringify(path.join(root, 'lib'))}`));
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  try {
    jest.isolateModules(() => require(file));
  } finally {
    spy.mockRestore();
  }
  const text = lines.join('\n');
  const acc = /^test accuracy ([\d.]+) %, learned alphas \["([\d.]+)","([\d.]+)"\]$/m.exec(text);
  expect(acc).not.toBeNull();
  expect(Number(acc![1])).toBeGreaterThan(80);            // one epoch on 8,000 digits: about 89 % here
  expect([Number(acc![2]), Number(acc![3])]).not.toEqual([0.5, 0.5]); // the orders were learned
  const reloaded = /^reloaded model: test accuracy ([\d.]+) %$/m.exec(text);
  expect(reloaded![1]).toBe(acc![1]);                      // the saved and loaded model scores the same
  const pred = /^predicted (\[[\d,]+\]) true (\[[\d,]+\])$/m.exec(text);
  const p = JSON.parse(pred![1]) as number[], t = JSON.parse(pred![2]) as number[];
  expect(p).toHaveLength(10);
  expect(p.filter((v, i) => v === t[i]).length).toBeGreaterThanOrEqual(7);
});
