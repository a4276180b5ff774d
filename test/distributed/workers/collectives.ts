// One rank of the collectives test: runs every collective on several sizes and checks each result
// against a reference computed here in JavaScript from every rank's (deterministic) input.
// argv: comma-separated sizes.
import { distributed as dist, tensor, zeros } from '../../../lib';

const sizes = (process.argv[2] ?? '1,5').split(',').map(Number);
dist.initProcessGroup({ backend: 'gloo' });
const rank = dist.getRank(), world = dist.getWorldSize();
const failures: string[] = [];

// Small integers: every sum is exact in float32, so the reference is exact whatever order the ring adds in.
const input = (r: number, n: number, salt: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 7 + r * 13 + salt * 5) % 17) - 8;
  return a;
};
function expectEqual(what: string, got: Float32Array, want: Float32Array): void {
  if (got.length !== want.length) return void failures.push(`${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) return void failures.push(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
}
const all = (n: number, salt: number) => Array.from({ length: world }, (_, r) => input(r, n, salt));

const t0 = Date.now();
for (const n of sizes) {
  for (const op of ['sum', 'avg', 'max', 'min'] as const) {
    const xs = all(n, 1);
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let acc = op === 'max' ? -Infinity : op === 'min' ? Infinity : 0;
      for (const x of xs) acc = op === 'max' ? Math.max(acc, x[i]) : op === 'min' ? Math.min(acc, x[i]) : acc + x[i];
      want[i] = op === 'avg' ? acc / world : acc;
    }
    const t = tensor(xs[rank], [n]);
    dist.allReduce(t, op);
    expectEqual(`allReduce ${op} n=${n}`, t.toFloat32Array(), want);
    t.dispose();
  }
  // async: two in flight, then wait
  {
    const xs = all(n, 2), ys = all(n, 3);
    const a = tensor(xs[rank], [n]), b = tensor(ys[rank], [n]);
    const wa = dist.allReduce(a, 'sum', { asyncOp: true }), wb = dist.allReduce(b, 'max', { asyncOp: true });
    wa.wait(); wb.wait();
    if (!wa.isCompleted() || !wb.isCompleted()) failures.push('async work not completed after wait');
    const sa = new Float32Array(n), mb = new Float32Array(n).fill(-Infinity);
    for (let r = 0; r < world; r++) for (let i = 0; i < n; i++) { sa[i] += xs[r][i]; mb[i] = Math.max(mb[i], ys[r][i]); }
    expectEqual(`async allReduce sum n=${n}`, a.toFloat32Array(), sa);
    expectEqual(`async allReduce max n=${n}`, b.toFloat32Array(), mb);
    a.dispose(); b.dispose();
  }
  {
    const root = world - 1;
    const t = tensor(input(rank, n, 4), [n]);
    dist.broadcast(t, root);
    expectEqual(`broadcast from ${root} n=${n}`, t.toFloat32Array(), input(root, n, 4));
    t.dispose();
  }
  {
    const xs = all(n, 5);
    const out = zeros([world * n]);
    const t = tensor(xs[rank], [n]);
    dist.allGatherIntoTensor(out, t);
    const want = new Float32Array(world * n);
    xs.forEach((x, r) => want.set(x, r * n));
    expectEqual(`allGatherIntoTensor n=${n}`, out.toFloat32Array(), want);
    if (n > 1000000) { out.dispose(); t.dispose(); continue; }
    const list = Array.from({ length: world }, () => zeros([n]));
    dist.allGather(list, t);
    list.forEach((o, r) => expectEqual(`allGather list[${r}] n=${n}`, o.toFloat32Array(), xs[r]));
    out.dispose(); t.dispose(); list.forEach((o) => o.dispose());
  }
  for (const op of ['sum', 'max'] as const) {
    const xs = Array.from({ length: world }, (_, r) => input(r, world * n, 6));
    const reduced = new Float32Array(world * n);
    for (let i = 0; i < world * n; i++) {
      let acc = op === 'max' ? -Infinity : 0;
      for (const x of xs) acc = op === 'max' ? Math.max(acc, x[i]) : acc + x[i];
      reduced[i] = acc;
    }
    const want = reduced.slice(rank * n, (rank + 1) * n);
    const out = zeros([n]);
    dist.reduceScatterTensor(out, tensor(xs[rank], [world * n]), op);
    expectEqual(`reduceScatterTensor ${op} n=${n}`, out.toFloat32Array(), want);
    if (n > 1000000) continue; // the list form copies the input once more: checked on the smaller sizes
    const out2 = zeros([n]);
    dist.reduceScatter(out2, Array.from({ length: world }, (_, r) => tensor(xs[rank].slice(r * n, (r + 1) * n), [n])), op);
    expectEqual(`reduceScatter list ${op} n=${n}`, out2.toFloat32Array(), want);
  }
}
dist.barrier();
const ms = Date.now() - t0;
dist.destroyProcessGroup();
process.stdout.write(JSON.stringify({ rank, world, failures: failures.slice(0, 20), ms }) + '\n');
