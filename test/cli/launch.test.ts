// `fsnn launch`: starts N workers with RANK / WORLD_SIZE / LOCAL_RANK / MASTER_* set, and when one
// fails stops the others and exits with its code, naming the rank.
import { spawn } from 'child_process';
import * as path from 'path';
import { alive, ROOT } from '../distributed/helpers';

const main = path.join(ROOT, 'lib', 'cli', 'main.ts');
const worker = path.join(ROOT, 'test', 'distributed', 'workers', 'failures.ts');

function fsnn(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', main, ...args], {
      cwd: ROOT, env: { ...process.env, FSNN_DIST_TIMEOUT_MS: '5000', FSNN_DEVICE: 'cpu' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 150000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const pidsOf = (stdout: string) => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; pid: number; done?: boolean });

describe('fsnn launch', () => {
  test('runs --nproc-per-node workers that join one process group (a free port with --master-port 0)', async () => {
    const r = await fsnn(['launch', '--nproc-per-node', '2', '--master-port', '0', worker, 'join']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = pidsOf(r.stdout);
    expect(lines.filter((l) => l.done).map((l) => l.rank).sort()).toEqual([0, 1]);
  }, 160000);

  test('a worker that fails stops the others; the exit code and message name the rank', async () => {
    const r = await fsnn(['launch', '--nproc-per-node', '2', '--master-port', '0', '--grace-ms', '1000', worker, 'exit-rank1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/fsnn launch: rank 1 \(local rank 1 on node 0, pid \d+\) exited with code 3; stopped the other 1 worker on this node/);
    const lines = pidsOf(r.stdout);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(alive(l.pid)).toBe(false);
  }, 160000);

  test('bad flags are usage errors', async () => {
    const r = await fsnn(['launch', '--nproc-per-node', '0', worker]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nproc-per-node/);
    const m = await fsnn(['launch', '--nnodes', '2', '--master-port', '29500', '--master-addr', '', worker]);
    expect(m.code).not.toBe(0);
  }, 160000);
});
