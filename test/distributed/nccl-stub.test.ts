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
import { cuda, distributed as dist, nn, tensor, zeros } from '../../lib';
import { freePort } from './helpers';

const emulated = cuda.isAvailable();
const compiled = cuda.isCompiled();

describe('NCCL backend', () => {
  afterEach(() => dist.destroyProcessGroup());

  (compiled ? test.skip : test)('without CUDA in the addon, backend nccl is a clear error', async () => {
    expect(() => dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` }))
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
    delete process.env.FSNN_NCCL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('NCCL missing: the error names every path tried', async () => {
    process.env.FSNN_NCCL = '';
    let message = '';
    try {
      dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/NCCL could not be loaded; tried:\n {2}libnccl\.so\.2: .*\n {2}libnccl\.so: /);
    expect(message).toMatch(/nvidia\/nccl\/lib/);
    expect(message).toMatch(/FSNN_NCCL/);
    process.env.FSNN_NCCL = path.join(dir, 'nope.so');
    try {
      dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(path.join(dir, 'nope.so'));
  });

  test('world size 1 through the stub: every collective reaches NCCL with the right arguments on the stream', async () => {
    process.env.FSNN_NCCL = lib;
    process.env.FSNN_NCCL_STUB_LOG = log;
    fs.rmSync(log, { force: true });
    dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` });
    expect(dist.backendStatus().nccl).toMatch(/^loaded .*libnccl\.so\.2 \(NCCL 2\.21\.5\)$/);
    const x = tensor([1, -2, 3, 4.5], [4], { device: 'cuda' });
    dist.allReduce(x, 'sum');
    dist.allReduce(x, 'avg');
    dist.allReduce(x, 'max', { asyncOp: true }).wait();
    dist.allReduce(x, 'min');
    expect(Array.from(x.toFloat32Array())).toEqual([1, -2, 3, 4.5]);
    dist.broadcast(x, 0);
    const out = zeros([4], { device: 'cuda' });
    dist.allGatherIntoTensor(out, x);
    expect(Array.from(out.toFloat32Array())).toEqual([1, -2, 3, 4.5]);
    const rs = zeros([4], { device: 'cuda' });
    dist.reduceScatterTensor(rs, tensor([5, 6, 7, 8], [4], { device: 'cuda' }), 'sum');
    expect(Array.from(rs.toFloat32Array())).toEqual([5, 6, 7, 8]);
    dist.barrier();
    expect(() => dist.allReduce(tensor([1], [1], { device: 'cpu' }))).toThrow(/backend 'nccl' works on CUDA tensors.*cpu/);
    dist.destroyProcessGroup();
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(calls).toEqual([
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

  test('DistributedDataParallel on CUDA tensors through the stub: buckets reduce every gradient', async () => {
    process.env.FSNN_NCCL = lib;
    process.env.FSNN_NCCL_STUB_LOG = log;
    fs.rmSync(log, { force: true });
    dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` });
    const lin = new nn.Linear(6, 3).to('cuda');
    const ddp = new dist.DistributedDataParallel(lin, { bucketCapMb: 12 / 2 ** 20 }); // 3 elements: weight and bias apart
    const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i / 7), [2, 6], { device: 'cuda' });
    (ddp.forward(x) as ReturnType<typeof lin.forward>).sum().backward();
    const gw = lin.weight.grad!.toFloat32Array();
    lin.zeroGrad();
    lin.forward(x).sum().backward(); // the same gradients without DDP (one rank: the average is the value)
    expect(Array.from(gw)).toEqual(Array.from(lin.weight.grad!.toFloat32Array()));
    expect(ddp.bucketSizes()).toEqual([3, 18]);
    const calls = fs.readFileSync(log, 'utf8');
    expect(calls).toContain('allreduce count=3 dtype=7 op=4 stream=yes'); // the bias bucket, averaged
    expect(calls).toContain('allreduce count=18 dtype=7 op=4 stream=yes'); // the weight bucket
  });
});
