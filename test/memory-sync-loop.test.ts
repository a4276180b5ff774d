// Synchronous loops that never yield to the event loop keep resident memory flat: dispose()/tidy
// release native memory at once, and handles never disposed are reclaimed by GC itself (the addon's
// finalizers run during GC, not on a later turn of the loop). The full 100k-step figures come from
// `npm run bench:memory` (benchmarks/memory-sync-loop.ts); these are shorter runs with a bound that
// the deferred-finalizer addon exceeded (about 11 KB per training step, 270 B per handle).
import { tensor } from '../lib';
import { buildSmallNet, trainStep } from '../benchmarks/memory-sync-loop';

const MB = 1024 * 1024;
const rss = () => process.memoryUsage().rss;

/** RSS growth of `steps` calls of body, after `warmup` calls that bring heap and allocator to size. */
function growthMB(steps: number, body: () => void, warmup = steps): number {
  for (let i = 0; i < warmup; i++) body();
  const r0 = rss();
  for (let i = 0; i < steps; i++) body();
  return (rss() - r0) / MB;
}

describe('synchronous loops (no event-loop turn)', () => {
  it('creating and disposing 100k tensors does not grow RSS', () => {
    const data = new Float32Array(16);
    const g = growthMB(100_000, () => tensor(data, [16]).dispose());
    expect(g).toBeLessThan(12);
  });

  it('100k tensors dropped without dispose are reclaimed by GC during the loop', () => {
    const data = new Float32Array(16);
    const g = growthMB(100_000, () => void tensor(data, [16]));
    expect(g).toBeLessThan(12);
  });

  it('3000 training steps under tidy, loss dropped, grow RSS by < 12 MB', () => {
    const s = buildSmallNet();
    expect(growthMB(3000, () => void trainStep(s), 1000)).toBeLessThan(12);
  });

  it('3000 training steps keeping the undisposed loss tidy returned grow RSS by < 12 MB', () => {
    const s = buildSmallNet();
    let last = trainStep(s);
    expect(growthMB(3000, () => { last = trainStep(s); }, 1000)).toBeLessThan(12);
    expect(Number.isFinite(last.item())).toBe(true);
  });
});
