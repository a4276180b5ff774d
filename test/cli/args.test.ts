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
    [['--alpha-mode', 'sideways'], /'--alpha-mode <mode>' argument 'sideways' is invalid\. Allowed choices are auto, per_layer, multiterm/],
    [['--method', 'rk4'], /Allowed choices are l1, gl, pred, trap, euler\./],
    [['--method', 'euler', '--alpha', '0.3'], /--method euler is integer order.*drop them/],
    [['--method', 'euler', '--learn-alpha'], /no alpha to learn/],
    [['--method', 'pred', '--alpha', '0.3,0.6,0.9', '--alpha-mode', 'multiterm'], /--method pred .*single-term only.*--alpha-mode per_layer/],
    [['--memory', '0'], /memory window 0 must be an integer >= 1 .*leave it out for the full history\), or 'full'/],
    [['--history', 'quick'], /Allowed choices are auto, exact, fast\./],
    [['--history', 'fast', '--memory', '4'], /--history fast needs the full history; drop --memory/],
    [['--encoding', 'morse'], /Allowed choices are direct, poisson, sequential-rows, sequential-pixels, sequential/],
    [['--hidden', '256,x'], /hidden must be one or more positive layer sizes/],
    [['--learn-alpha', 'maybe'], /'--learn-alpha \[bool\]' argument 'maybe' is invalid\. Allowed choices are true, false\./],
    [['--device', 'tpu'], /Allowed choices are cpu, cuda, gpu\./],
    [['--train-size', '9000'], /exceeds the 10,000 digits of the mnist package/],
    [['--data', '/nonexistent/mnist'], /--data \/nonexistent\/mnist is not a directory/],
    [['--epoch', '3'], /unknown option '--epoch'/],
    [['--out', '/proc/version/x'], /--out: cannot create the directory \/proc\/version\/x \(ENOTDIR\)/],
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

  test('--help lists the choices and the defaults (commander Option.choices / default)', async () => {
    const h = (await run(['train', '--help'])).out.replace(/\s+/g, ' ');
    expect(h).toContain('(choices: "direct", "poisson", "sequential-rows", "sequential-pixels", "sequential", "rows", "pixels", default: "direct")');
    expect(h).toContain('(choices: "cosine", "constant", default: "cosine")');
    expect(h).toContain('(choices: "auto", "per_layer", "multiterm", "per-layer", "multi-term", default: "auto")');
    expect(h).toContain('(choices: "l1", "gl", "pred", "trap", "euler", default: "l1")');
    expect(h).toMatch(/--epochs <n> training epochs \(default: 10\)/);
    expect(h).toMatch(/--lr <rate> Adam learning rate \(default: 0\.002\)/);
    expect(h).toMatch(/--alpha <orders> .*\(default: 0\.5 in every neuron layer\)/);
    expect(h).toMatch(/--hidden <sizes> .*\(default: 256\)/);
    expect(h).toMatch(/--memory <n> .*\(default: "full"\)/);
    expect(h).toMatch(/--learn-alpha \[bool\] learn the orders \(choices: "true", "false", default: true, preset: "true"\)/);
    const i = (await run(['infer', '--help'])).out.replace(/\s+/g, ' ');
    expect(i).toMatch(/--batch-size <n> samples per forward pass \(default: 256\)/);
    expect(i).toContain('(choices: "cpu", "cuda", "gpu", default: "cpu")');
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
    expect(config([]).history).toBe('auto');
    expect(config(['--history', 'fast']).history).toBe('fast');
    expect(config(['--history', 'exact', '--memory', '4'])).toMatchObject({ history: 'exact', memory: 4 });
  });
  test('--learn-alpha forms, --method euler, --no-save', () => {
    expect(config(['--learn-alpha']).learnAlpha).toBe(true);
    expect(config(['--learn-alpha', 'false']).learnAlpha).toBe(false);
    expect(config(['--no-learn-alpha']).learnAlpha).toBe(false);
    expect(config(['--method', 'euler'])).toMatchObject({ integrator: 'odeint', method: 'euler', learnAlpha: false });
    expect(config(['--method', 'pred', '--alpha', '0.4,0.7'])).toMatchObject({ integrator: 'fdeint', method: 'pred', alphaMode: 'per_layer' });
    expect(config(['--method', 'trap'])).toMatchObject({ integrator: 'fdeint', method: 'trap' });
    expect(config(['--no-save']).out).toBeNull();
    expect(config(['--encoding', 'rows']).encoding).toBe('sequential-rows');
  });
  test("the README's names: --encoding sequential is sequential-rows; gpu is cuda; per-layer is per_layer", () => {
    expect(config(['--encoding', 'sequential']).encoding).toBe('sequential-rows');
    expect(config(['--encoding', 'sequential-pixels']).encoding).toBe('sequential-pixels');
    expect(config(['--device', 'gpu']).device).toBe('cuda');
    expect(config(['--alpha', '0.3,0.7', '--alpha-mode', 'per-layer']).alphaMode).toBe('per_layer');
  });
  test('without --alpha every neuron layer starts at 0.5, whatever the depth', () => {
    expect(config(['--hidden', '128,64'])).toMatchObject({ alpha: [0.5, 0.5, 0.5], alphaMode: 'per_layer' });
    expect(config([])).toMatchObject({ alpha: [0.5, 0.5], alphaMode: 'per_layer' });
  });
  test('numbers: one validator (integers, positives) with the reason', () => {
    expect(config(['--seed', '0', '--augment', '0', '--tau', '0.5', '--readout-scale', '2.5'])).toMatchObject({ seed: 0, augment: 0, tau: 0.5, readoutScale: 2.5 });
    expect(() => config(['--seed', '1e3'])).toThrow(/seed must be an integer >= 0/);
    expect(() => config(['--tau', '0'])).toThrow(/tau must be a positive number/);
    expect(() => config(['--tau', 'Infinity'])).toThrow(/tau must be a positive number/);
  });

});

describe('fsnn train: a flat --alpha list without --alpha-mode', () => {
  function withWarnings(args: string[]) {
    const program = createProgram({ out: () => undefined, err: (s) => { throw new Error(s); } });
    const cmd = program.commands.find((c) => c.name() === 'train')!;
    cmd.action(() => undefined);
    program.parse(['train', ...args], { from: 'user' });
    const warnings: string[] = [];
    return { config: trainConfigFrom(cmd.opts(), cmd, (m) => warnings.push(m)), warnings };
  }
  test("more values than layers: multi-term, with the library's warning", () => {
    const r = withWarnings(['--alpha', '0.3,0.5,0.7']);
    expect(r.config.alphaMode).toBe('multiterm');
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/alpha \[0\.3,0\.5,0\.7\] has 3 values for 2 neuron layers and is read as a multi-term operator shared by all layers; pass --alpha-mode multiterm to silence this warning/);
  });
  test('one value per layer, or an explicit --alpha-mode: no warning', () => {
    expect(withWarnings(['--alpha', '0.3,0.7']).warnings).toEqual([]);
    expect(withWarnings(['--alpha', '0.3,0.5,0.7', '--alpha-mode', 'multiterm']).warnings).toEqual([]);
    expect(withWarnings(['--alpha', '0.3,0.5,0.7', '--coefficients', '1,0.5,0.2']).warnings).toEqual([]);
  });
  test('the CLI prints the warning on stderr', async () => {
    const r = await run(['train', '--alpha', '0.3,0.5,0.7', '--train-size', '9000']); // refused after the warning, before any work
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/fsnn train: warning: alpha \[0\.3,0\.5,0\.7\] has 3 values for 2 neuron layers/);
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
  test('the build leaves the bin executable, so `npx fsnn` runs in a checkout (as the train command prints it)', () => {
    // npm ci runs prepare -> build:ts; a consumer's npm install sets the mode itself, a checkout's npx does not.
    const fs = require('fs') as typeof import('fs');
    const root = path.join(__dirname, '../..');
    const bin = path.join(root, 'dist/cli/main.js');
    if (!fs.existsSync(bin)) spawnSync('npm', ['run', 'build:ts'], { cwd: root, encoding: 'utf8', timeout: 300000 });
    expect(fs.statSync(bin).mode & 0o111).toBe(0o111);
    const r = spawnSync(bin, ['--help'], { cwd: root, encoding: 'utf8', timeout: 60000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: fsnn');
  });
});
