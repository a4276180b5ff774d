// `fsnn launch`: starts and supervises the worker processes of a distributed job on this machine, as
// torchrun does. Each worker gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK,
// MASTER_ADDR and MASTER_PORT (what initProcessGroup({ initMethod: 'env://' }) reads). When a worker
// fails (non-zero exit or a signal), the others are stopped (SIGTERM, then SIGKILL after a grace
// period) and the launcher exits with that worker's code, saying which rank failed and how. A worker
// that hangs is not detected here: the others fail at their collective timeout, which stops it.
// On a machine with at least as many GPUs as workers, worker i sees only GPU i (CUDA_VISIBLE_DEVICES,
// or the i-th entry of the list already in it), since each process uses its device 0.
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

export interface LaunchOptions {
  /** Workers on this machine. */
  nprocPerNode: number;
  /** Machines (default 1). */
  nnodes?: number;
  /** This machine's index in 0..nnodes-1 (default 0). */
  nodeRank?: number;
  /** Rank 0's host (default 127.0.0.1; required with nnodes > 1). */
  masterAddr?: string;
  /** Rank 0's store port (default 29500; 0 picks a free one, single machine only). */
  masterPort?: number;
  /** The worker's command line after `node` (e.g. [script.js, ...args]). */
  nodeArgs: string[];
  /** Extra environment for every worker. */
  env?: Record<string, string>;
  /** How long a stopped worker gets between SIGTERM and SIGKILL (default 3000 ms). */
  graceMs?: number;
  /** Where the launcher's own messages go (default stderr). */
  log?: (line: string) => void;
  /** GPUs on this machine (default: asked from the addon); each worker gets its own when there are enough. */
  gpuCount?: number;
}

export interface LaunchResult {
  /** 0 when every worker succeeded, else the failed worker's code (128 + signal number for a signal). */
  exitCode: number;
  /** The first worker that failed, or null. */
  failed: { rank: number; localRank: number; pid: number; code: number | null; signal: NodeJS.Signals | null } | null;
  /** The message printed about it ('' on success). */
  message: string;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15, SIGBUS: 7, SIGFPE: 8, SIGILL: 4 };

/** A TCP port free at the moment of asking. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The node arguments that run a script: TypeScript through ts-node (transpile only), JavaScript directly. */
export function scriptNodeArgs(script: string, args: string[]): string[] {
  return script.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only', script, ...args] : [script, ...args];
}

function gpuCount(): number {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { native } = require('../native') as typeof import('../native');
    return native.cudaIsAvailable() ? native.cudaDeviceCount() : 0;
  } catch {
    return 0;
  }
}

function checkInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`fsnn launch: ${name} must be an integer in ${min}..${max}, got ${v}`);
}

/** Runs the workers of this machine until they all finish, or one fails (then the others are stopped). */
export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const nnodes = o.nnodes ?? 1, nodeRank = o.nodeRank ?? 0;
  checkInt('--nproc-per-node', o.nprocPerNode, 1);
  checkInt('--nnodes', nnodes, 1);
  checkInt('--node-rank', nodeRank, 0, nnodes - 1);
  if (nnodes > 1 && !o.masterAddr)
    throw new Error("fsnn launch: with --nnodes > 1 every machine needs --master-addr (the host of node 0's rank 0), and the same --master-port");
  let port = o.masterPort ?? 29500;
  checkInt('--master-port', port, 0, 65535);
  if (port === 0) {
    if (nnodes > 1) throw new Error('fsnn launch: --master-port 0 (pick a free port) only works on one machine; give every machine the same port');
    port = await freePort();
  }
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const world = nnodes * o.nprocPerNode;
  const gpus = o.gpuCount ?? gpuCount();
  const visible = process.env.CUDA_VISIBLE_DEVICES?.split(',').filter((s) => s !== '');
  const bindGpus = gpus >= o.nprocPerNode && gpus > 0;
  const grace = o.graceMs ?? 3000;

  const children: { child: ChildProcess; rank: number; localRank: number; done: boolean }[] = [];
  let failed: LaunchResult['failed'] = null;
  let stopping = false;

  const stopAll = (why: NodeJS.Signals) => {
    for (const c of children) if (!c.done) c.child.kill(why);
    const timer = setTimeout(() => {
      for (const c of children) if (!c.done) c.child.kill('SIGKILL');
    }, grace);
    timer.unref();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stopping) log(`fsnn launch: got ${sig}; stopping the workers`);
    stopping = true;
    stopAll(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await new Promise<void>((resolveAll) => {
      let running = o.nprocPerNode;
      for (let localRank = 0; localRank < o.nprocPerNode; localRank++) {
        const rank = nodeRank * o.nprocPerNode + localRank;
        const env: Record<string, string> = {
          ...(process.env as Record<string, string>), ...(o.env ?? {}),
          RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(localRank), LOCAL_WORLD_SIZE: String(o.nprocPerNode),
          GROUP_RANK: String(nodeRank), MASTER_ADDR: o.masterAddr ?? '127.0.0.1', MASTER_PORT: String(port), FSNN_LAUNCHED: '1',
        };
        if (bindGpus) env.CUDA_VISIBLE_DEVICES = visible && visible.length >= o.nprocPerNode ? visible[localRank] : String(localRank);
        const child = spawn(process.execPath, o.nodeArgs, { env, stdio: 'inherit' });
        const entry = { child, rank, localRank, done: false };
        children.push(entry);
        child.on('error', (e) => log(`fsnn launch: rank ${rank} could not start: ${e.message}`));
        child.on('exit', (code, signal) => {
          entry.done = true;
          running--;
          const bad = code !== 0 || signal !== null;
          if (bad && !failed && !stopping) {
            failed = { rank, localRank, pid: child.pid ?? -1, code, signal };
            stopping = true;
            stopAll('SIGTERM');
          }
          if (running === 0) resolveAll();
        });
      }
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (!failed) {
    return stopping ? { exitCode: 130, failed: null, message: 'fsnn launch: interrupted' } : { exitCode: 0, failed: null, message: '' };
  }
  const f = failed as NonNullable<LaunchResult['failed']>;
  const how = f.signal ? `was killed by signal ${f.signal}` : `exited with code ${f.code}`;
  const others = o.nprocPerNode - 1;
  const message = `fsnn launch: rank ${f.rank} (local rank ${f.localRank} on node ${nodeRank}, pid ${f.pid}) ${how}` +
    (others > 0 ? `; stopped the other ${others} worker${others > 1 ? 's' : ''} on this node` : '') +
    ' (its own error output is above)';
  log(message);
  const exitCode = f.signal ? 128 + (SIGNAL_NUMBERS[f.signal] ?? 1) : (f.code ?? 1);
  return { exitCode, failed: f, message };
}

/** The directory of this package's CLI entry (for workers that run `fsnn <command>` themselves). */
export function cliEntryNodeArgs(): string[] {
  const ext = path.extname(__filename);
  const main = path.join(__dirname, `main${ext}`);
  return ext === '.ts' ? ['-r', 'ts-node/register/transpile-only', main] : [main];
}
