// The NCCL path as far as one machine without NCCL or a GPU allows. With the emulated CUDA backend
// (FSNN_ADDON=build-emu/Release/fsnn.node FSNN_DEVICE=cuda) a stub libnccl for one rank
// (fixtures/nccl-stub.c, compiled here) stands in: this checks the loader (FSNN_NCCL, symbols, version),
// the unique id's trip through the TCP store, ncclCommInitRank's arguments, the datatype / op / count /
// pointer / stream of every collective, DistributedDataParallel's buckets on CUDA tensors, and the
// errors when NCCL is missing. It cannot check a real reduction across GPUs (see scripts/nccl-check.js).
// With the CPU addon only the "needs the CUDA build" error is checked.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cuda, distributed as dist } from '../../lib';
import { freePort } from './helpers';

const emulated = cuda.isAvailable();
const compiled = cuda.isCompiled();

describe('NCCL backend', () => {
  afterEach(() => dist.destroyProcessGroup());

  (compiled ? test.skip : test)('without CUDA in the addon, backend nccl is a clear error', async () => {
    const port = await freePort();
    expect(() => dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${port}` }))
      .toThrow(/backend 'nccl' needs the CUDA build of the addon/);
    expect(dist.backendStatus().nccl).toMatch(/built without CUDA/);
  });

  if (!emulated) {
    // eslint-disable-next-line no-console
    test('(skipped: the NCCL stub tests need the CUDA addon, e.g. the emulator build)', () => undefined);
    return;
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-nccl-'));
  const lib = path.join(dir, 'libnccl.so.2');
  const log = path.join(dir, 'calls.log');
  beforeAll(() => {
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-o', lib, path.join(__dirname, 'fixtures', 'nccl-stub.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`building the stub libnccl failed: ${cc.stderr}`);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (scenario: string, env: Record<string, string>): Record<string, unknown> => {
    const logFile = path.join(dir, `${scenario}.log`);
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'workers', 'nccl-stub.ts'), scenario], {
      cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', timeout: 120000,
      env: { ...process.env, FSNN_DEVICE: 'cuda', FSNN_NCCL_STUB_LOG: logFile, ...env },
    });
    if (r.status !== 0) throw new Error(`worker failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  };

  test('NCCL missing: the error names every path tried', () => {
    const none = run('collectives', { FSNN_NCCL: '' });
    expect(none.error).toMatch(/NCCL could not be loaded; tried:\n {2}libnccl\.so\.2: .*\n {2}libnccl\.so: /);
    expect(none.error).toMatch(/nvidia\/nccl\/lib/);
    expect(none.error).toMatch(/FSNN_NCCL/);
    const wrong = run('collectives', { FSNN_NCCL: path.join(dir, 'nope.so') });
    expect(wrong.error).toContain(`${path.join(dir, 'nope.so')}: `);
  });

  test('world size 1 through the stub: every collective reaches NCCL with the right arguments on the stream', () => {
    const o = run('collectives', { FSNN_NCCL: lib });
    expect(o.error).toBeUndefined();
    expect(o.status).toMatch(/^loaded .*libnccl\.so\.2 \(NCCL 2\.21\.5\)$/);
    expect(o.reduced).toEqual([1, -2, 3, 4.5]);
    expect(o.gathered).toEqual([1, -2, 3, 4.5]);
    expect(o.scattered).toEqual([5, 6, 7, 8]);
    expect(o.cpuError).toMatch(/backend 'nccl' works on CUDA tensors.*cpu/);
    expect(o.calls).toEqual([
      'init count=0 dtype=0 op=0 stream=no',
      'allreduce count=4 dtype=7 op=0 stream=yes',
      'allreduce count=4 dtype=7 op=4 stream=yes',
      'allreduce count=4 dtype=7 op=2 stream=yes',
      'allreduce count=4 dtype=7 op=3 stream=yes',
      'broadcast count=4 dtype=7 op=0 stream=yes',
      'allgather count=4 dtype=7 op=-1 stream=yes',
      'reducescatter count=4 dtype=7 op=0 stream=yes',
      'allreduce count=1 dtype=7 op=0 stream=yes',
      'destroy count=0 dtype=0 op=0 stream=no',
    ]);
  });

  test('DistributedDataParallel on CUDA tensors through the stub: buckets reduce every gradient', () => {
    const o = run('ddp', { FSNN_NCCL: lib });
    expect(o.error).toBeUndefined();
    expect(o.ddpGrad).toEqual(o.grad);
    expect(o.ddpBiasGrad).toEqual(o.biasGrad);
    expect(o.buckets).toEqual([3, 18]);
    const calls = o.calls as string[];
    expect(calls).toContain('allreduce count=3 dtype=7 op=4 stream=yes'); // the bias bucket, averaged
    expect(calls).toContain('allreduce count=18 dtype=7 op=4 stream=yes'); // the weight bucket
    // construction: the shape check (two all-gathers) and the broadcast of weight and bias
    expect(calls.filter((c) => c.startsWith('allgather')).length).toBe(2);
    expect(calls.filter((c) => c.startsWith('broadcast')).length).toBe(2);
  });
});
