// npm run bench:memory: resident-memory growth of synchronous training loops that never yield to
// the event loop (no await, no setImmediate), as research scripts write them. A small f-SNN
// (Linear 16->32, LIF, Linear 32->4, LIF; T = 4, batch 8) trains with Adam under tidy():
//   loop A disposes nothing by hand (tidy frees the step's tensors; the loss is dropped),
//   loop B keeps every loss tidy returns in a variable and never disposes it.
// RSS is sampled after a warm-up of WARMUP steps and again after STEPS more; the growth is printed.
//   npm run bench:memory -- 100000        (steps; default 100000)
import * as fsnn from '../lib';
import { nn, optim, tidy, Tensor } from '../lib';

const STEPS = Number(process.argv[2] ?? 100000);
const WARMUP = Math.min(2000, Math.max(1, Math.floor(STEPS / 20)));
const MB = 1024 * 1024;

export function buildSmallNet(): { net: fsnn.SNNWrapper; opt: optim.Adam; x: Tensor; target: Tensor } {
  fsnn.manualSeed(7);
  const model = new nn.Sequential(new nn.Linear(16, 32), new fsnn.LIFNeuron(), new nn.Linear(32, 4), new fsnn.LIFNeuron());
  const net = new fsnn.SNNWrapper(model, { alpha: 0.6 });
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = fsnn.rand([4, 8, 16]);
  const target = fsnn.rand([8, 4]);
  return { net, opt, x, target };
}

/** One training step inside tidy; returns the loss tensor tidy hands back. */
export function trainStep(s: ReturnType<typeof buildSmallNet>): Tensor {
  return tidy(() => {
    s.opt.zeroGrad();
    const out = s.net.forward(s.x).mean(0);
    const loss = nn.functional.mseLoss(out, s.target);
    loss.backward();
    s.opt.step();
    return loss;
  });
}

function run(label: string, keepLoss: boolean): number {
  const s = buildSmallNet();
  let last: Tensor | null = null;
  for (let i = 0; i < WARMUP; i++) last = trainStep(s);
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  for (let i = 0; i < STEPS; i++) {
    const loss = trainStep(s);
    if (keepLoss) last = loss; // kept, never disposed: reclaimable only by GC
  }
  const growth = (process.memoryUsage().rss - rss0) / MB;
  const secs = (Date.now() - t0) / 1000;
  console.log(`${label}: ${STEPS} steps in ${secs.toFixed(1)} s, RSS growth ${growth.toFixed(1)} MB` +
    ` (${((growth * MB) / STEPS).toFixed(0)} B/step); last loss ${last ? last.item().toFixed(5) : '-'}`);
  return growth;
}

if (require.main === module) {
  console.log(`node ${process.version}, synchronous loops (the event loop never turns during a loop)`);
  const a = run('A: tidy, loss dropped      ', false);
  const b = run('B: tidy, loss kept undisposed', true);
  const ok = a < 50 && b < 50;
  console.log(ok ? 'both under the 50 MB bound' : 'OVER the 50 MB bound');
  if (!ok) process.exitCode = 1;
}
