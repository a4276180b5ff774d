// Gloo collectives across 2 and 3 processes on 127.0.0.1: every collective, in place, sync and async,
// on sizes from 1 to 10^7 elements, against a reference each worker computes in JavaScript from all
// ranks' inputs (workers/collectives.ts).
import * as path from 'path';
import { freePort, lastJson, runWorld } from './helpers';

const worker = path.join(__dirname, 'workers', 'collectives.ts');

interface Out { rank: number; world: number; failures: string[]; ms: number }

async function check(world: number, sizes: number[]): Promise<Out[]> {
  const results = await runWorld(worker, world, { port: await freePort(), args: [sizes.join(',')] });
  const outs = results.map((r) => {
    if (r.code !== 0) throw new Error(`rank ${r.rank} exited with ${r.code} (${r.signal}):\n${r.stderr}`);
    return lastJson<Out>(r);
  });
  for (const o of outs) expect(o.failures).toEqual([]);
  expect(outs.map((o) => o.world)).toEqual(new Array(world).fill(world));
  return outs;
}

describe('gloo collectives', () => {
  test('2 processes: sizes 1, 2, 1000, 65537 and 10^6', async () => {
    await check(2, [1, 2, 1000, 65537, 1000000]);
  }, 180000);

  test('3 processes: sizes 1, 3, 4097 and 10^7 (the large case once)', async () => {
    const outs = await check(3, [1, 3, 4097, 10000000]);
    // eslint-disable-next-line no-console
    console.log(`3 ranks, sizes up to 1e7: ${Math.max(...outs.map((o) => o.ms))} ms for every collective`);
  }, 300000);
});
