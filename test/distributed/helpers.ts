// Starting a small world of worker processes on 127.0.0.1 for the distributed tests.
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '../..');

/** A TCP port that was free a moment ago (bound to port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RankResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  pid: number;
}

/** Whether a process id is still running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a TypeScript worker once per rank (ts-node, transpile only) with RANK/WORLD_SIZE/MASTER_* set. */
export function runWorld(script: string, world: number, opts: {
  port: number; args?: string[]; env?: Record<string, string>; perRankEnv?: (rank: number) => Record<string, string>;
  ranks?: number[]; killAfterMs?: number; onSpawn?: (rank: number, child: ChildProcess) => void;
}): Promise<RankResult[]> {
  const ranks = opts.ranks ?? Array.from({ length: world }, (_, r) => r);
  return Promise.all(ranks.map((rank) => new Promise<RankResult>((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...(opts.args ?? [])], {
      cwd: ROOT,
      env: {
        ...process.env, RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(opts.port), FSNN_DEVICE: 'cpu', ...(opts.env ?? {}), ...(opts.perRankEnv ? opts.perRankEnv(rank) : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 100000);
    opts.onSpawn?.(rank, child);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ rank, code, signal, stdout, stderr, ms: Date.now() - t0, pid: child.pid! });
    });
  })));
}

/** The last JSON line a worker printed. */
export function lastJson<T>(r: RankResult): T {
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  if (!lines.length) throw new Error(`rank ${r.rank} printed no JSON (exit ${r.code}, signal ${r.signal}); stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
  return JSON.parse(lines[lines.length - 1]) as T;
}
