// Failures end within the timeout (here 5 s) with a clear message, and leave no process behind:
// a rank killed mid-run, a rank that never joins, a rank that stops taking part, a port in use,
// a wrong world size, and parameter shapes that differ across ranks.
import * as net from 'net';
import * as path from 'path';
import { alive, freePort, lastJson, runWorld } from './helpers';

const worker = path.join(__dirname, 'workers', 'failures.ts');
const TIMEOUT = 5000;
const env = { FSNN_DIST_TIMEOUT_MS: String(TIMEOUT) };

interface Line { rank: number; pid: number; ms: number; error?: string; joined?: boolean; done?: boolean; ready?: boolean }

describe('distributed failures (gloo, loopback)', () => {
  test('rank 1 killed mid-run: rank 0 fails with a clear error well within the timeout', async () => {
    let killedAt = 0, rank0ExitAt = 0;
    const results = await runWorld(worker, 2, {
      port: await freePort(), args: ['loop'], env,
      onSpawn: (rank, child) => {
        if (rank === 0) child.on('exit', () => (rank0ExitAt = Date.now()));
        if (rank !== 1) return;
        child.stdout!.on('data', (d: Buffer) => {
          if (!killedAt && d.toString().includes('"ready"')) {
            killedAt = Date.now();
            child.kill('SIGKILL');
          }
        });
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    const [r0, r1] = results;
    expect(r1.signal).toBe('SIGKILL');
    expect(r0.code).toBe(1);
    const e = lastJson<Line>(r0).error!;
    expect(e).toMatch(/allReduce \(gloo, rank 0 of 2\)/);
    expect(e).toMatch(/peer|closed|reset|Connection|timed out/i);
    // Ended within the timeout after the kill (a closed connection is noticed at once).
    expect(rank0ExitAt - killedAt).toBeLessThan(TIMEOUT + 2000);
    for (const r of results) expect(alive(r.pid)).toBe(false);
  }, 120000);

  test('a rank that never joins: the others fail after the timeout naming the missing rank', async () => {
    const results = await runWorld(worker, 3, { port: await freePort(), args: ['join'], env, ranks: [0, 1] });
    for (const r of results) {
      expect(r.code).toBe(1);
      const line = lastJson<Line>(r);
      // Rank 1 may see rank 0 (the store's host) go first: then it says so.
      const timedOut = r.rank === 0 || !/closed the connection/.test(line.error!);
      if (timedOut) expect(line.error).toMatch(/timed out after 5000 ms waiting for all 3 ranks to join \(missing: 2\)/);
      else expect(line.error).toMatch(/rank 0 \(which hosts it\) exited or failed/);
      expect(line.ms).toBeLessThan(TIMEOUT + 4000);
      // A rank that timed out waited the whole timeout; one that saw rank 0 go first (rank 0 exits at
      // its own timeout, and this rank may have started later) ends when rank 0 does.
      if (timedOut) expect(line.ms).toBeGreaterThanOrEqual(TIMEOUT - 500);
    }
  }, 120000);

  test('a rank that stops taking part (hangs): the collective fails after the timeout', async () => {
    const results = await runWorld(worker, 2, { port: await freePort(), args: ['hang'], env, killAfterMs: 100000 });
    const r0 = results[0];
    expect(r0.code).toBe(1);
    const lines = r0.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    const joined = lines.find((l) => l.joined)!, failed = lines.find((l) => l.error)!;
    expect(failed.error).toMatch(/allReduce \(gloo, rank 0 of 2\).*[Tt]imed out/);
    expect(failed.ms - joined.ms).toBeGreaterThanOrEqual(TIMEOUT - 500);
    expect(failed.ms - joined.ms).toBeLessThan(TIMEOUT + 3000);
    // rank 1 wakes after 20 s and fails too (its peer is gone): no process is left behind
    for (const r of results) expect(alive(r.pid)).toBe(false);
  }, 120000);

  test('a port in use: rank 0 says so and names the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, res));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const [r0] = await runWorld(worker, 2, { port, args: ['join'], env, ranks: [0] });
      expect(r0.code).toBe(1);
      expect(lastJson<Line>(r0).error).toMatch(new RegExp(`port ${port} is already in use \\(EADDRINUSE\\).*MASTER_PORT`));
    } finally {
      blocker.close();
    }
  }, 60000);

  test('a wrong world size is an error on the ranks that see it', async () => {
    const results = await runWorld(worker, 2, { port: await freePort(), args: ['join'], env, perRankEnv: (r) => ({ WORLD_SIZE: r === 0 ? '2' : '3' }) });
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(lastJson<Line>(r).error).toMatch(/world size mismatch.*WORLD_SIZE=3.*WORLD_SIZE=2|world size mismatch.*WORLD_SIZE=2.*WORLD_SIZE=3/);
    }
  }, 60000);

  test('DistributedDataParallel: parameter shapes that differ across ranks name the parameter', async () => {
    const results = await runWorld(worker, 2, { port: await freePort(), args: ['ddp-mismatch'], env });
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(lastJson<Line>(r).error).toMatch(/DistributedDataParallel: parameter 'weight' has shape \[\d,4\] on rank \d but \[\d,4\] on rank \d/);
    }
  }, 60000);

  test('a healthy run joins, meets at the barrier and leaves', async () => {
    const results = await runWorld(worker, 3, { port: await freePort(), args: ['join'], env });
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(lastJson<Line>(r).done).toBe(true);
    }
  }, 60000);
});
