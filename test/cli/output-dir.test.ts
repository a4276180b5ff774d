// Output locations: `fsnn infer --output` into a missing directory creates it; a path that cannot be
// a directory is named in the error (never a raw ENOENT).
import * as fs from 'fs';
import * as path from 'path';
import { runCli } from '../../lib/cli/program';
import { buildMlp } from '../../lib/cli/common';
import { ensureDirectory, ensureParentDirectory } from '../../lib/cli/output-dir';
import { saveModel } from '../../lib/snn/model-io';
import { SNNWrapper } from '../../lib/snn/wrapper';
import { manualSeed } from '../../lib/random/generator';
import { npyBytes, f32le, tmpDir } from './helpers';

const dir = tmpDir('fsnn-outdir-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [], err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

test('fsnn infer --output in a directory that does not exist yet creates it', async () => {
  manualSeed(1);
  const net = new SNNWrapper(buildMlp({ inputs: 4, hidden: [3], classes: 2, tau: 2 }), { alpha: [0.5, 0.5], alphaMode: 'per_layer' });
  const ckpt = path.join(dir, 'm.safetensors');
  saveModel(net, ckpt, { T: 2, encoding: 'direct', features: 4, classes: 2, h: 1, method: 'l1' });
  const input = path.join(dir, 'x.npy');
  fs.writeFileSync(input, npyBytes('<f4', [3, 4], f32le([0, 1, 0, 1, 1, 1, 0, 0, 0.5, 0.5, 0.5, 0.5])));
  const output = path.join(dir, 'not', 'yet', 'there', 'preds.jsonl');
  const c = capture();
  const code = await runCli(['infer', '--checkpoint', ckpt, '--input', input, '--output', output], c.io);
  expect(c.err.join('')).toBe('');
  expect(code).toBe(0);
  const lines = fs.readFileSync(output, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(3);
  expect(JSON.parse(lines[0])).toMatchObject({ index: 0 });
});

test('a path that cannot become a directory is named, with the cause, as a usage error', async () => {
  const file = path.join(dir, 'plain-file');
  fs.writeFileSync(file, 'x');
  expect(() => ensureDirectory(path.join(file, 'sub'), '--out')).toThrow(`--out: cannot create the directory ${path.join(file, 'sub')} (ENOTDIR)`);
  expect(() => ensureDirectory(file, '--out')).toThrow(/exists and is not a directory/);
  expect(() => ensureParentDirectory(path.join(file, 'a', 'b.jsonl'), '--output')).toThrow(/--output: cannot create the directory .*plain-file\/a \(ENOTDIR\)/);
  const c = capture();
  const code = await runCli(['infer', '--checkpoint', 'm', '--input', 'x', '--output', path.join(file, 'p.jsonl')], c.io);
  expect(code).toBe(2);
  expect(c.err.join('')).toMatch(/--output: .*plain-file exists and is not a directory/);
  expect(c.err.join('')).not.toMatch(/^Error: ENOENT/m);
});
