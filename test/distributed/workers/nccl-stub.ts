// The NCCL stub scenarios of nccl-stub.test.ts, in a child process (the loader reads FSNN_NCCL from the
// real environment, which jest's process.env does not write). argv: scenario; prints one JSON line.
import * as fs from 'fs';
import * as net from 'net';
import { distributed as dist, nn, tensor, zeros } from '../../../lib';

const scenario = process.argv[2];
const port = (): Promise<number> => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
});
const arr = (t: { toFloat32Array(): Float32Array }) => Array.from(t.toFloat32Array());

(async () => {
  const out: Record<string, unknown> = {};
  try {
    dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await port()}` });
    out.status = dist.backendStatus().nccl;
    if (scenario === 'collectives') {
      const x = tensor([1, -2, 3, 4.5], [4], { device: 'cuda' });
      dist.allReduce(x, 'sum');
      dist.allReduce(x, 'avg');
      dist.allReduce(x, 'max', { asyncOp: true }).wait();
      dist.allReduce(x, 'min');
      out.reduced = arr(x);
      dist.broadcast(x, 0);
      const g = zeros([4], { device: 'cuda' });
      dist.allGatherIntoTensor(g, x);
      out.gathered = arr(g);
      const rs = zeros([4], { device: 'cuda' });
      dist.reduceScatterTensor(rs, tensor([5, 6, 7, 8], [4], { device: 'cuda' }), 'sum');
      out.scattered = arr(rs);
      dist.barrier();
      try {
        dist.allReduce(tensor([1], [1], { device: 'cpu' }));
      } catch (e) {
        out.cpuError = (e as Error).message;
      }
    } else if (scenario === 'ddp') {
      const lin = new nn.Linear(6, 3).to('cuda');
      const ddp = new dist.DistributedDataParallel(lin, { bucketCapMb: 12 / 2 ** 20 }); // 3 elements: bias and weight apart
      const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i / 7), [2, 6], { device: 'cuda' });
      (ddp.forward(x) as ReturnType<typeof lin.forward>).sum().backward();
      out.ddpGrad = arr(lin.weight.grad!);
      out.ddpBiasGrad = arr(lin.bias!.grad!);
      lin.zeroGrad();
      lin.forward(x).sum().backward(); // one rank: the average is the gradient itself
      out.grad = arr(lin.weight.grad!);
      out.biasGrad = arr(lin.bias!.grad!);
      out.buckets = ddp.bucketSizes();
    }
    dist.destroyProcessGroup();
  } catch (e) {
    out.error = (e as Error).message;
  }
  if (process.env.FSNN_NCCL_STUB_LOG && fs.existsSync(process.env.FSNN_NCCL_STUB_LOG))
    out.calls = fs.readFileSync(process.env.FSNN_NCCL_STUB_LOG, 'utf8').trim().split('\n');
  process.stdout.write(JSON.stringify(out) + '\n');
})();
