// CLI argument validation: bad flags and values print the reason and the usage and exit non-zero,
// before any work starts; good flags become the expected configuration.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { createProgram, runCli, trainConfigFrom } from '../../lib/cli/program';
import { TRAIN_DEFAULTS } from '../../lib/cli/train';

async function run(args: string[]) {
  const out: string[] = [], err: string[] = [];
  let ran = false;
  const code = await runCli(args, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => (ran = true));
  return { code, out: out.join(''), err: err.join(''), ran };
}

function config(args: string[]) {
  const program = createProgram({ out: () => undefined, err: (s) => { throw new Error(s); } });
  const cmd = program.commands.find((c) => c.name() === 'train')!;
  cmd.action(() => undefined);
  program.parse(['train', ...args], { from: 'user' });
  return trainConfigFrom(cmd.opts(), cmd);
}

describe('fsnn train: invalid flags and values', () => {
  const cases: [string[], RegExp][] = [
    [['--epochs', 'abc'], /'--epochs <n>' argument 'abc' is invalid\. epochs must be an integer >= 1/],
    [['--epochs', '0'], /epochs must be an integer >= 1/],
    [['--batch-size', '2.5'], /batch-size must be an integer >= 1/],
    [['--T', '-3'], /T must be an integer >= 1/],
    [['--lr', '-0.1'], /lr must be a positive number/],
    [['--lr', 'fast'], /lr must be a positive number/],
    [['--alpha', '1.5'], /alpha = 1\.5 is outside \(0, 1\]/],
    [['--alpha', '0.5,,0.3'], /alpha must be a number \(0\.5\), a comma list/],
    [['--alpha', '[[0.3,0.8],'], /is not valid JSON/],
    [['--alpha', '0.5,0.5,0.5', '--alpha-mode', 'per_layer'], /'per_layer' needs one alpha per neuron layer: got 3 values for 2 neuron layers/],
    [['--alpha', '[[0.3],[0.5],[0.7]]'], /nested alpha list has 3 entries but the model has 2 neuron layers/],
    [['--alpha-mode', 'sideways'], /alpha-mode must be one of auto, per_layer, multiterm/],
    [['--method', 'rk4'], /method must be one of l1, gl, euler/],
    [['--method', 'euler', '--alpha', '0.3'], /--method euler is integer order.*drop them/],
    [['--method', 'euler', '--learn-alpha'], /no alpha to learn/],
    [['--memory', '0'], /memory must be an integer >= 1/],
    [['--encoding', 'morse'], /encoding must be one of direct, poisson, sequential-rows, sequential-pixels/],
    [['--hidden', '256,x'], /hidden must be one or more positive layer sizes/],
    [['--learn-alpha', 'maybe'], /learn-alpha takes true or false/],
    [['--device', 'tpu'], /device must be one of cpu, cuda/],
    [['--train-size', '9000'], /exceeds the 10,000 digits of the mnist package/],
    [['--data', '/nonexistent/mnist'], /--data \/nonexistent\/mnist is not a directory/],
    [['--epoch', '3'], /unknown option '--epoch'/],
    [['stray'], /too many arguments for 'train'/],
  ];
  test.each(cases)('%j', async (args, reason) => {
    const r = await run(['train', ...args]);
    expect(r.code).toBe(2);
    expect(r.ran).toBe(false);
    expect(r.err).toMatch(reason);
    expect(r.err).toContain('Usage: fsnn train [options]');
    expect(r.err).toContain("Run 'fsnn train --help' to see every option.");
  });

  test('infer needs --checkpoint and --input', async () => {
    const r = await run(['infer', '--input', 'x.npy']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/required option '--checkpoint <file>' not specified/);
    expect(r.err).toContain('Usage: fsnn infer --checkpoint <file> --input <file>');
    const r2 = await run(['infer', '--checkpoint', 'm.safetensors', '--input', 'x.npy', '--batch-size', '0']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/batch-size must be an integer >= 1/);
  });

  test('no subcommand shows the commands and fails; --help succeeds', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/train \[options\][\s\S]*infer \[options\]/);
    const h = await run(['train', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('--alpha-mode <mode>');
  });
});

describe('fsnn train: flags -> configuration', () => {
  test('no flags: the default recipe', () => {
    const c = config([]);
    expect(c).toMatchObject({ epochs: 10, batchSize: 64, T: 8, alpha: [0.5, 0.5], alphaMode: 'per_layer', learnAlpha: true, method: 'l1', integrator: 'fdeint', encoding: 'direct', hidden: [256], device: 'cpu', out: TRAIN_DEFAULTS.out });
    expect(c.memory).toBeUndefined();
  });
  test('values are parsed and a flat --alpha list is read by its length', () => {
    expect(config(['--epochs', '3', '--lr', '2e-3', '--memory', '4', '--hidden', '128,64', '--seed', '7'])).toMatchObject({ epochs: 3, lr: 0.002, memory: 4, hidden: [128, 64], seed: 7 });
    expect(config(['--alpha', '0.3,0.7'])).toMatchObject({ alpha: [0.3, 0.7], alphaMode: 'per_layer' });
    expect(config(['--alpha', '0.3,0.6,0.9'])).toMatchObject({ alpha: [0.3, 0.6, 0.9], alphaMode: 'multiterm' });
    expect(config(['--alpha', '0.3,0.7', '--alpha-mode', 'multiterm'])).toMatchObject({ alphaMode: 'multiterm' });
    expect(config(['--alpha', '[[0.3,0.8],[0.5]]']).alpha).toEqual([[0.3, 0.8], [0.5]]);
    expect(config(['--alpha', '0.4']).alpha).toBe(0.4);
    expect(config(['--memory', 'full']).memory).toBeUndefined();
  });
  test('--learn-alpha forms, --method euler, --no-save', () => {
    expect(config(['--learn-alpha']).learnAlpha).toBe(true);
    expect(config(['--learn-alpha', 'false']).learnAlpha).toBe(false);
    expect(config(['--no-learn-alpha']).learnAlpha).toBe(false);
    expect(config(['--method', 'euler'])).toMatchObject({ integrator: 'odeint', method: 'euler', learnAlpha: false });
    expect(config(['--no-save']).out).toBeNull();
    expect(config(['--encoding', 'rows']).encoding).toBe('sequential-rows');
  });
});

describe('the fsnn executable', () => {
  test('exits non-zero with the reason and the usage on a bad value', () => {
    const main = path.join(__dirname, '../../lib/cli/main.ts');
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', main, 'train', '--epochs', '-1'],
      { cwd: path.join(__dirname, '../..'), encoding: 'utf8', timeout: 60000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/epochs must be an integer >= 1/);
    expect(r.stderr).toContain('Usage: fsnn train [options]');
    expect(r.stdout).toBe('');
  });
  test('has a shebang (the package.json bin points at its compiled form)', () => {
    const fs = require('fs') as typeof import('fs');
    expect(fs.readFileSync(path.join(__dirname, '../../lib/cli/main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(require('../../package.json').bin.fsnn).toBe('dist/cli/main.js');
  });
});
