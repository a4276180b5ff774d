// Memory: create/compute/dispose and tidy() loops keep native bytes and resident memory flat;
// the finalizer reclaims leaked handles after GC; backward() frees its intermediate gradients.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as fsnn from '../lib';
import { tensor, tidy } from '../lib';
import { testDevice } from './helpers/device';
import { collectGarbage } from './helpers/collect-garbage';

// Native bytes on the device the suite runs on (FSNN_DEVICE=cuda: the CUDA allocator's tensors).
const live = () => fsnn.native.liveBytes(testDevice);
const MB = 1024 * 1024;
const data = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i) * 0.5);
const small = Float32Array.from({ length: 64 * 8 }, (_, i) => Math.cos(i) * 0.1);

/** Collects all garbage and runs its finalizers, so no earlier garbage is freed inside a measured stretch. */
const settle = collectGarbage;

// Each exact byte count starts from a process with no unreachable tensors left (jest shares a worker
// process between test files; their garbage would otherwise be finalized at an arbitrary GC).
beforeEach(settle);

/**
 * Growth of one synchronous batch of iterations, measured in steady state: a first batch of the same
 * size warms the V8 heap, the allocator and the (deferred) finalizer backlog up to their working
 * size, so the second batch grows RSS only if something leaks. Native bytes are compared within the
 * same synchronous stretch (no finalizer of earlier garbage can run in between).
 */
async function growthOf(iterations: number, body: () => number): Promise<{ rss: number; native: number }> {
  let check = 0;
  for (let i = 0; i < iterations; i++) check += body();
  await settle();
  const rss0 = process.memoryUsage().rss;
  const live0 = live();
  for (let i = 0; i < iterations; i++) check += body();
  const native = live() - live0;
  const rss = process.memoryUsage().rss - rss0;
  expect(Number.isFinite(check)).toBe(true);
  await settle();
  if (process.env.FSNN_MEMORY_DEBUG) console.log(`rss growth of the measured batch: ${(rss / MB).toFixed(1)} MB`);
  return { rss, native };
}

/** One iteration: create, compute, read, dispose everything. */
function computeAndDispose(): number {
  const a = tensor(data, [64, 64]);
  const w = tensor(small, [64, 8]);
  const b = a.mul(2);
  const c = b.add(a);
  const d = c.exp();
  const e = d.matmul(w);
  const f = e.relu();
  const g = f.sum(1);
  const s = g.mean();
  const v = s.item();
  for (const t of [a, w, b, c, d, e, f, g, s]) t.dispose();
  return v;
}

function computeInTidy(): number {
  return tidy(() => {
    const a = tensor(data, [64, 64]);
    const w = tensor(small, [64, 8]);
    return a.mul(2).add(a).exp().matmul(w).relu().sum(1).mean().item();
  });
}

// On cuda the loops run through the op table too; under the CPU emulator (npm run test:cuda-emu) an
// iteration costs ~1 ms, so the loops are shorter there (the native-byte check is exact either way).
const ITER = testDevice === 'cuda' ? 2000 : 10000;

describe('memory stays flat', () => {
  test(`${ITER} iterations of create, compute and dispose()`, async () => {
    const growth = await growthOf(ITER, computeAndDispose);
    // Every native byte allocated in the loop was freed, and resident memory stayed flat.
    expect(growth.native).toBe(0);
    expect(`${(growth.rss / MB).toFixed(1)} MB`).toBe(growth.rss < 50 * MB ? `${(growth.rss / MB).toFixed(1)} MB` : 'under 50 MB');
  });

  test(`${ITER} iterations of tidy()`, async () => {
    const growth = await growthOf(ITER, computeInTidy);
    expect(growth.native).toBe(0);
    expect(`${(growth.rss / MB).toFixed(1)} MB`).toBe(growth.rss < 50 * MB ? `${(growth.rss / MB).toFixed(1)} MB` : 'under 50 MB');
  });

  test('2,000 training-style steps (forward + backward in tidy, grads zeroed) keep native bytes flat', () => {
    const x = tensor(data, [64, 64]);
    const w = tensor(small, [64, 8], { requiresGrad: true });
    const step = () => {
      tidy(() => {
        x.matmul(w).tanh().square().mean().backward();
      });
      w.zeroGrad();
    };
    for (let i = 0; i < 50; i++) step();
    const bytes0 = live();
    for (let i = 0; i < 2000; i++) step();
    expect(live()).toBe(bytes0);
    x.dispose();
    w.dispose();
  });
});

describe('ops leave no hidden temporaries', () => {
  test('without grad, disposing an op\'s result returns native bytes to where they were (no tidy needed)', () => {
    const x = tensor(Float32Array.from({ length: 96 }, (_, i) => Math.sin(i)), [2, 3, 4, 4]);
    const m = tensor(Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)), [3, 4]);
    const w = tensor(Float32Array.from({ length: 81 }, (_, i) => Math.cos(i)), [3, 3, 3, 3]);
    const b = tensor([0.1, 0.2, 0.3]);
    const cond = m.gt(0);
    const rm = fsnn.zeros([3]), rv = fsnn.ones([3]);
    const labels = Int32Array.from([0, 3, 1]);
    const ops = fsnn.ops;
    const cases: [string, () => fsnn.Tensor][] = [
      ['add', () => m.add(m)], ['add number', () => m.add(1)], ['gt number', () => m.gt(0)], ['relu', () => m.relu()],
      ['where with numbers', () => ops.where(cond, m, 0)], ['maximum', () => ops.maximum(m, m)], ['rdiv', () => ops.rdiv(m, 2)],
      ['sum', () => m.sum(1)], ['max', () => m.max([0, 1])], ['mean over [0,2]', () => x.mean([0, 2])], ['argmax', () => ops.argmax(m, 1)],
      ['variance', () => ops.variance(m, 1)], ['matmul', () => m.matmul(m, { transB: true })], ['transpose', () => m.transpose()],
      ['slice', () => m.slice(1, 1, 4, 2)], ['select', () => m.select(0, 1)], ['concat', () => ops.concat([m, m])],
      ['stack', () => ops.stack([m, m])], ['indexSelect', () => m.indexSelect(0, Int32Array.from([1, 1]))],
      ['gather', () => m.gather(1, labels, [3, 1])], ['expand', () => m.expand([2, 3, 4])], ['flatten', () => x.flatten(1)],
      ['softmax', () => m.softmax(1)], ['logSoftmax', () => m.logSoftmax(1)], ['crossEntropy', () => ops.crossEntropy(m, labels)],
      ['nllLoss', () => ops.nllLoss(m, labels)], ['mseLoss', () => ops.mseLoss(m, m)], ['linear 3-d', () => ops.linear(x, m)],
      ['linear with bias', () => ops.linear(m, m, b)], ['conv2d with bias', () => ops.conv2d(x, w, b, { padding: 1 })],
      ['maxPool2d', () => ops.maxPool2d(x, 2)], ['avgPool2d', () => ops.avgPool2d(x, 2)],
      ['batchNorm training', () => ops.batchNorm(x, { training: true, runningMean: rm, runningVar: rv, weight: b, bias: b })],
      ['batchNorm eval', () => ops.batchNorm(x, { training: false, runningMean: b, runningVar: b })],
      ['dropout', () => ops.dropout(m, 0.5)], ['uniform', () => fsnn.uniform([10])],
    ];
    const leaks: string[] = [];
    for (const [name, f] of cases) {
      const before = live();
      f().dispose();
      if (live() !== before) leaks.push(`${name}: ${live() - before} bytes`);
    }
    expect(leaks).toEqual([]);
    // With grad the intermediates belong to the graph; tidy() frees them.
    const xg = tensor(m.toFloat32Array(), [3, 4], { requiresGrad: true });
    const before = live();
    tidy(() => {
      ops.crossEntropy(ops.linear(xg, m, b), Int32Array.from([0, 2, 1])).backward();
    });
    expect(live() - before).toBe(xg.numel * 4);
  });
});

describe('backward frees intermediate gradients', () => {
  test('native bytes after backward = before + the leaf gradients; a second backward accumulates in place', () => {
    fsnn.manualSeed(11);
    const x = fsnn.randn([32, 48], { requiresGrad: true });
    const w = fsnn.randn([48, 16], { requiresGrad: true });
    const b = fsnn.randn([16], { requiresGrad: true });
    const h = x.matmul(w).add(b).relu();
    const y = h.mul(h).sum(1).softmax(0).log().mean();
    const before = live();
    y.backward(undefined, { retainGraph: true });
    const after = live();
    const leafBytes = (x.numel + w.numel + b.numel) * 4;
    expect(after - before).toBe(leafBytes);
    y.backward();
    expect(live()).toBe(after);
    // Disposing the gradients returns to the level before backward.
    for (const t of [x.grad!, w.grad!, b.grad!]) t.dispose();
    expect(live()).toBe(before);
  });

  test('the forward tensors of a tidy() that ran backward are freed with it; only the leaf grads remain', () => {
    const w = tensor(small, [64, 8], { requiresGrad: true });
    const before = live();
    tidy(() => {
      const x = tensor(data, [64, 64]);
      x.matmul(w).sigmoid().sum().backward();
    });
    expect(live() - before).toBe(w.numel * 4);
    w.zeroGrad();
    expect(live()).toBe(before);
  });
});

describe('finalizer', () => {
  test('tensors that were never disposed are reclaimed after garbage collection (child with --expose-gc)', () => {
    const lib = path.resolve(__dirname, '../lib');
    const script = `
      const { zeros, tensor } = require(${JSON.stringify(path.join(lib, 'creation'))});
      const { native } = require(${JSON.stringify(path.join(lib, 'native'))});
      const live = () => native.liveBytes('cpu');
      const base = live();
      const kept = zeros([64, 64]);
      (function leak() {
        for (let i = 0; i < 300; i++) tensor(new Float32Array(4096), [64, 64]);
      })();
      const leaked = live() - base;
      (async () => {
        let after = live() - base;
        for (let k = 0; k < 20 && after > 16384; k++) {
          global.gc();
          await new Promise((r) => setImmediate(r));
          after = live() - base;
        }
        process.stdout.write(JSON.stringify({ leaked, after, kept: kept.shape }));
      })();`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: path.resolve(__dirname, '..'),
      encoding: 'utf8',
      timeout: 60000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { leaked: number; after: number; kept: number[] };
    expect(out.leaked).toBe(301 * 16384);
    // Everything but the one tensor still referenced was freed by the finalizer.
    expect(out.after).toBe(16384);
    expect(out.kept).toEqual([64, 64]);
  });
});
