// Training a small f-SNN (SNNWrapper, learned per-layer alpha and coefficients) for a number of steps,
// either in one process with batch B or under DistributedDataParallel with B / worldSize per rank.
// The samples come from DistributedSampler (numReplicas 1 for the single process), so step k of both
// runs sees the same B samples. Prints the per-step (global) losses, the gradients of the first and
// the last step, and the final parameters. argv: mode ('single' | 'ddp' | 'ddp-accumulate'), steps, B,
// bucketCapMb. 'ddp-accumulate' splits each rank's batch in two halves: the first backward runs inside
// noSync (gradient accumulation), the second one averages the sums (each half's loss is halved).
import { distributed as dist, manualSeed, nn, optim, SNNWrapper, tensor, Tensor } from '../../../lib';
import { batches, Dataset } from '../../../lib/data/loader';
import { DistributedSampler } from '../../../lib/data/sampler';
import { crossEntropy } from '../../../lib/ops/nn';
import { buildMlp } from '../../../lib/cli/common';

const [mode, stepsArg, bArg, capArg] = process.argv.slice(2);
const steps = Number(stepsArg ?? 50), B = Number(bArg ?? 16), cap = Number(capArg ?? 25);
const ddp = mode === 'ddp' || mode === 'ddp-accumulate';
const accumulate = mode === 'ddp-accumulate';
if (ddp) dist.initProcessGroup({ backend: 'gloo' });
const world = dist.getWorldSize(), rank = dist.getRank();

// A synthetic 4-class problem: 16 features, class-dependent means (deterministic, no RNG state).
const N = 512, F = 16, C = 4, T = 4;
const images = new Float32Array(N * F), labels = new Int32Array(N);
for (let i = 0; i < N; i++) {
  labels[i] = i % C;
  for (let f = 0; f < F; f++) images[i * F + f] = 3 * (0.5 + 0.4 * Math.sin(1.7 * i + 0.9 * f) + (f % C === labels[i] ? 0.6 : 0));
}
const data: Dataset = { images, labels, count: N };

manualSeed(7);
const model = buildMlp({ inputs: F, hidden: [12], classes: C, tau: 2, threshold: 0.5 });
const net = new SNNWrapper(model, { alpha: [0.5, 0.7], alphaMode: 'per_layer', learnAlpha: true, learnCoefficient: true });
// Rank 1 starts from other weights: DDP's broadcast must make them rank 0's.
if (ddp && rank !== 0) for (const p of net.parameters()) p.assign(new Float32Array(p.numel).fill(0.123));
const wrapped: nn.Module = ddp ? new dist.DistributedDataParallel(net, { bucketCapMb: cap }) : net;
const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.5 });
const names = net.namedParameters().map(([n]) => n);

const sampler = new DistributedSampler(N, { numReplicas: world, rank, shuffle: true, seed: 3 });
const perRank = B / world;
const losses: number[] = [];
const grads: Record<string, number[]>[] = [];
let step = 0, epoch = 0;
const snapshotGrads = () => Object.fromEntries(net.namedParameters().map(([n, p]) => [n, Array.from(p.grad!.toFloat32Array())]));
while (step < steps) {
  sampler.setEpoch(epoch++);
  for (const b of batches(data, sampler.indices(), { batchSize: perRank, dropLast: true })) {
    if (step >= steps) break;
    opt.zeroGrad();
    const lossOf = (lo: number, hi: number): Tensor => {
      const n = hi - lo;
      const x = new Float32Array(T * n * F);
      for (let t = 0; t < T; t++) x.set(b.x.subarray(lo * F, hi * F), t * n * F);
      const out = wrapped.forward(tensor(x, [T, n, F])) as Tensor;
      return crossEntropy(out.mean(0).mul(3), b.y.slice(lo, hi));
    };
    let value: number;
    if (accumulate) {
      const half = b.size / 2;
      const first = (wrapped as dist.DistributedDataParallel).noSync(() => {
        const l = lossOf(0, half).mul(0.5);
        l.backward();
        return l.item();
      });
      const second = lossOf(half, b.size).mul(0.5);
      second.backward();
      value = first + second.item();
    } else {
      const loss = lossOf(0, b.size);
      loss.backward();
      value = loss.item();
    }
    const l = tensor([value], [1]);
    if (ddp) dist.allReduce(l, 'avg');
    losses.push(l.item());
    if (step === 0 || step === steps - 1) grads.push(snapshotGrads());
    opt.step();
    net.projectParameters();
    step++;
  }
}
const params = Object.fromEntries(net.namedParameters().map(([n, p]) => [n, Array.from(p.toFloat32Array())]));
if (ddp) dist.destroyProcessGroup();
process.stdout.write(JSON.stringify({ rank, world, names, losses, grads, params, buckets: ddp ? (wrapped as dist.DistributedDataParallel).bucketSizes() : [] }) + '\n');
