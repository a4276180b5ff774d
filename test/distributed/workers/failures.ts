// One rank of the failure tests. argv: scenario.
//   loop          joins, then all-reduces forever (printing {ready} after a few rounds)
//   hang          joins; rank 1 then stops taking part (sleeps), rank 0 all-reduces
//   join          joins, barrier, leaves
//   exit-rank1    joins; rank 1 exits with code 3, the others all-reduce forever
//   ddp-mismatch  DDP over a Linear whose output size depends on the rank
// Any error is printed as a JSON line {rank, error, ms} (ms since the start) and exits with code 1.
import { distributed as dist, nn, tensor } from '../../../lib';

const scenario = process.argv[2];
const t0 = Date.now();
const rank = Number(process.env.RANK);
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ rank, pid: process.pid, ms: Date.now() - t0, ...o }) + '\n');

try {
  dist.initProcessGroup({ backend: 'gloo' });
  say({ joined: true });
  const t = tensor(new Float32Array(1000).fill(1), [1000]);
  if (scenario === 'join') {
    dist.barrier();
  } else if (scenario === 'ddp-mismatch') {
    new dist.DistributedDataParallel(new nn.Linear(4, 3 + rank));
  } else if (scenario === 'hang' && rank === 1) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
  } else if (scenario === 'exit-rank1' && rank === 1) {
    process.exit(3);
  } else {
    for (let i = 0; ; i++) {
      dist.allReduce(t, 'max');
      if (i === 3) say({ ready: true });
      if (scenario === 'hang' && i > 10) break;
    }
  }
  dist.destroyProcessGroup();
  say({ done: true });
} catch (e) {
  say({ error: (e as Error).message });
  process.exit(1);
}
