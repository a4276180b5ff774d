#!/usr/bin/env node
// The NCCL backend on a real GPU (not run in CI: there is no GPU or NCCL there).
//   node scripts/nccl-check.js                      one process: world size 1
//   npx fsnn launch --nproc-per-node 2 scripts/nccl-check.js   one process per GPU (needs 2 GPUs)
// Checks: NCCL loads (FSNN_NCCL or the usual paths; the error lists them otherwise), the group forms,
// all-reduce sum / avg / max and broadcast / all-gather / reduce-scatter give the exact expected values
// on CUDA tensors (each rank holds rank + 1 + i), the collective is enqueued without a host wait
// (cuda.stats().hostReads does not move), and one DistributedDataParallel step averages the gradients
// (equal to one process's gradient of the mean over the ranks' inputs). Prints one JSON line; exit 1 on
// a mismatch. Uses dist/ when built (npm run build:ts), else lib/ (JavaScript in the GPU bundle, else through ts-node).
'use strict';
const path = require('path');
const net = require('net');

function load() {
  const fs = require('fs');
  const root = path.join(__dirname, '..');
  if (fs.existsSync(path.join(root, 'dist', 'index.js'))) return require(path.join(root, 'dist'));
  // The GPU bundle ships lib/ compiled to JavaScript; a checkout has TypeScript there.
  if (!fs.existsSync(path.join(root, 'lib', 'index.js'))) require('ts-node/register/transpile-only');
  return require(path.join(root, 'lib'));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function main() {
  const fsnn = load();
  const { cuda, distributed: dist, tensor, zeros, nn } = fsnn;
  const out = { cuda: cuda.isAvailable() ? cuda.deviceName(0) : cuda.unavailableReason(), checks: {} };
  const launched = Number(process.env.WORLD_SIZE || '1') > 1;
  const t0 = Date.now();
  if (launched) dist.initProcessGroup({ backend: 'nccl' });
  else dist.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` });
  out.nccl = dist.backendStatus().nccl;
  out.initMs = Date.now() - t0;
  const W = dist.getWorldSize(), r = dist.getRank();
  out.rank = r; out.worldSize = W;
  const n = 1 << 20;
  const mine = (rank) => Float32Array.from({ length: n }, (_, i) => rank + 1 + (i % 7));
  const ranks = Array.from({ length: W }, (_, k) => mine(k));
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const check = (name, got, want) => { out.checks[name] = same(got, want); };

  for (const op of ['sum', 'avg', 'max']) {
    const x = tensor(mine(r), [n], { device: 'cuda' });
    const before = cuda.stats().hostReads;
    const t = Date.now();
    dist.allReduce(x, op);
    out[`${op}EnqueueMs`] = Date.now() - t;
    out.checks[`${op}NoHostWait`] = cuda.stats().hostReads === before;
    const want = new Float32Array(n).map((_, i) => {
      const vals = ranks.map((a) => a[i]);
      return op === 'max' ? Math.max(...vals) : op === 'sum' ? vals.reduce((s, v) => s + v, 0) : vals.reduce((s, v) => s + v, 0) / W;
    });
    check(`allReduce ${op}`, x.toFloat32Array(), want);
  }
  const b = tensor(mine(r), [n], { device: 'cuda' });
  dist.broadcast(b, 0);
  check('broadcast', b.toFloat32Array(), ranks[0]);
  const g = zeros([W * n], { device: 'cuda' });
  dist.allGatherIntoTensor(g, tensor(mine(r), [n], { device: 'cuda' }));
  const gw = new Float32Array(W * n); ranks.forEach((a, k) => gw.set(a, k * n));
  check('allGather', g.toFloat32Array(), gw);
  const rsIn = Float32Array.from({ length: W * n }, (_, i) => r + (i % 5));
  const rs = zeros([n], { device: 'cuda' });
  dist.reduceScatterTensor(rs, tensor(rsIn, [W * n], { device: 'cuda' }), 'sum');
  const rsWant = Float32Array.from({ length: n }, (_, i) => { let s = 0; for (let k = 0; k < W; k++) s += k + ((r * n + i) % 5); return s; });
  check('reduceScatter', rs.toFloat32Array(), rsWant);
  dist.barrier();

  // One DDP step: the averaged gradient equals the gradient of the mean loss over every rank's batch.
  fsnn.manualSeed(0);
  const lin = new nn.Linear(32, 8).to('cuda');
  const ddp = new dist.DistributedDataParallel(lin);
  const xs = Array.from({ length: W }, (_, k) => Float32Array.from({ length: 4 * 32 }, (_, i) => Math.sin(i + 10 * k)));
  ddp.forward(tensor(xs[r], [4, 32], { device: 'cuda' })).pow(2).mean().backward();
  const ddpGrad = lin.weight.grad.toFloat32Array();
  lin.zeroGrad();
  let ref = null;
  for (const x of xs) {
    lin.zeroGrad();
    lin.forward(tensor(x, [4, 32], { device: 'cuda' })).pow(2).mean().backward();
    const gk = lin.weight.grad.toFloat32Array();
    ref = ref ? ref.map((v, i) => v + gk[i] / W) : gk.map((v) => v / W);
  }
  let worst = 0;
  ddpGrad.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - ref[i]) / Math.max(Math.abs(ref[i]), 1e-6)); });
  out.ddpGradMaxRelError = worst;
  out.checks.ddpStep = worst < 1e-5;
  dist.destroyProcessGroup();
  out.ok = Object.values(out.checks).every(Boolean);
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = out.ok ? 0 : 1;
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ok: false, error: e.message }) + '\n');
  process.exitCode = 1;
});
