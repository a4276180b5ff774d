// `fsnn train --nproc 2`: data-parallel training through the launcher writes one checkpoint, log and
// report (rank 0's), the same kind of file as one process, with the same training up to rounding.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadMetadata } from '../../lib';
import { ROOT } from '../distributed/helpers';

const main = path.join(ROOT, 'lib', 'cli', 'main.ts');
const flags = ['--epochs', '2', '--train-size', '512', '--test-size', '200', '--no-progress'];

function train(out: string, extra: string[]) {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', main, 'train', ...flags, '--out', out, ...extra], {
    cwd: ROOT, encoding: 'utf8', timeout: 240000, env: { ...process.env, FSNN_DEVICE: 'cpu' },
  });
  if (r.status !== 0) throw new Error(`fsnn train ${extra.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  const acc = /test accuracy: ([\d.]+)%/.exec(r.stdout);
  return { stdout: r.stdout, accuracy: acc ? Number(acc[1]) : NaN };
}

test('fsnn train --nproc 2 trains like one process and writes one set of artefacts; fsnn infer --nproc 3 writes the same output as one process', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-nproc-'));
  try {
    const single = train(path.join(dir, 'single'), []);
    const ddp = train(path.join(dir, 'ddp'), ['--nproc', '2']);
    // rank 0 alone prints the run (one summary line per epoch, one final accuracy)
    expect(ddp.stdout.match(/^epoch /gm)?.length).toBe(2);
    expect(ddp.stdout.match(/test accuracy:/g)?.length).toBe(1);
    expect(Math.abs(ddp.accuracy - single.accuracy)).toBeLessThanOrEqual(0.5);
    expect(fs.readdirSync(path.join(dir, 'ddp')).sort()).toEqual(fs.readdirSync(path.join(dir, 'single')).sort());
    // The same checkpoint layout: tensor names, dtypes and shapes, and the same metadata keys.
    const header = (f: string) => {
      const buf = fs.readFileSync(f);
      const h = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
      delete h.__metadata__;
      return h;
    };
    const ha = header(path.join(dir, 'single', 'model.safetensors')), hb = header(path.join(dir, 'ddp', 'model.safetensors'));
    expect(Object.fromEntries(Object.entries(hb).map(([k, v]) => [k, [v.dtype, v.shape]])))
      .toEqual(Object.fromEntries(Object.entries(ha).map(([k, v]) => [k, [v.dtype, v.shape]])));
    const a = loadMetadata(path.join(dir, 'single', 'model.safetensors'));
    const b = loadMetadata(path.join(dir, 'ddp', 'model.safetensors'));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const log = fs.readFileSync(path.join(dir, 'ddp', 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((e) => e.event === 'epoch').length).toBe(2);
    expect(log[log.length - 1].event).toBe('end');

    // fsnn infer --nproc 2: the ranks share the batches; the one output equals one process's, byte for byte.
    const infer = (out: string, extra: string[]) => {
      const ck = path.join(dir, 'single');
      const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', main, 'infer', '--checkpoint', path.join(ck, 'model.safetensors'),
        '--input', path.join(ck, 'test-images-idx3-ubyte'), '--labels', path.join(ck, 'test-labels-idx1-ubyte'), '--output', out,
        '--batch-size', '16', '--chunk-size', '70', '--scores', ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 240000, env: { ...process.env, FSNN_DEVICE: 'cpu' } });
      if (r.status !== 0) throw new Error(`fsnn infer ${extra.join(' ')} failed (${r.status}):\n${r.stderr}`);
      return fs.readFileSync(out, 'utf8');
    };
    const one = infer(path.join(dir, 'one.jsonl'), []);
    const three = infer(path.join(dir, 'three.jsonl'), ['--nproc', '3']);
    expect(one.trim().split('\n').length).toBe(200);
    expect(three).toBe(one);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 600000);
