// Where a process finds its place in a job: initProcessGroup's options, then the variables set by
// `fsnn launch` / torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), then those of
// MPI launchers (Open MPI's OMPI_COMM_WORLD_*, MPICH/Intel MPI's PMI_*) and Slurm's srun (SLURM_*).
import * as os from 'os';

/** The backends: Gloo for CPU tensors, NCCL for CUDA tensors. */
export type Backend = 'gloo' | 'nccl';

/** Options of initProcessGroup (PyTorch's init_process_group). */
export interface InitProcessGroupOptions {
  /** 'gloo' (CPU tensors) or 'nccl' (CUDA tensors); default: 'nccl' when the default device is cuda, else 'gloo'. */
  backend?: Backend;
  /**
   * 'env://' (default: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), 'tcp://host:port' (rank and world
   * size from the options or the environment) or 'file:///path/to/folder' (Gloo's FileStore in a folder
   * every rank can reach, e.g. on a shared file system; use a fresh folder per run; Gloo only).
   */
  initMethod?: string;
  /** This process's rank (default: from the environment). */
  rank?: number;
  /** Number of processes (default: from the environment). */
  worldSize?: number;
  /** How long joining and each collective may wait for the others before failing (default FSNN_DIST_TIMEOUT_MS or 60000). */
  timeoutMs?: number;
}

/** Everything the native layer needs to join. */
export interface ResolvedInit {
  /** 'gloo' (CPU tensors) or 'nccl' (CUDA tensors). */
  backend: Backend;
  /** This process's rank, 0..worldSize-1. */
  rank: number;
  /** The number of processes. */
  worldSize: number;
  /** The rank on this machine (selects the GPU). */
  localRank: number;
  /** The rendezvous store's host (env:// and tcp://). */
  masterAddr?: string;
  /** The rendezvous store's port (env:// and tcp://). */
  masterPort?: number;
  /** The shared file of file:// rendezvous. */
  filePath?: string;
  /** How long any rank waits for the others before failing. */
  timeoutMs: number;
  /** The address the Gloo transport listens on. */
  hostname: string;
  /** GLOO_SOCKET_IFNAME: the network interface for Gloo's transport, when set. */
  iface?: string;
}

/** Environment variables, as process.env holds them. */
export type Env = Record<string, string | undefined>;

/** The first of `names` set in env, with the name it came from. */
function firstOf(env: Env, names: string[]): { name: string; value: string } | null {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v !== '') return { name, value: v };
  }
  return null;
}

/** Rank variables in the order tried: fsnn launch / torchrun, Open MPI, MPICH / Intel MPI (PMI), Slurm. */
export const RANK_VARIABLES = ['RANK', 'OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'SLURM_PROCID'];
/** Where the world size is read from, in order (torchrun / fsnn launch, Open MPI, MPICH, Slurm). */
export const WORLD_SIZE_VARIABLES = ['WORLD_SIZE', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'SLURM_NTASKS'];
/** Where the local rank is read from, in order (torchrun / fsnn launch, Open MPI, MPICH, Slurm). */
export const LOCAL_RANK_VARIABLES = ['LOCAL_RANK', 'OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', 'SLURM_LOCALID'];

function integer(what: string, v: string | number, min: number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`initProcessGroup: ${what} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

/** Resolves initProcessGroup's options against the environment; every missing piece is an error naming the variable. */
export function resolveInit(opts: InitProcessGroupOptions, env: Env = process.env, defaultBackend: Backend = 'gloo'): ResolvedInit {
  const backend = opts.backend ?? defaultBackend;
  if (backend !== 'gloo' && backend !== 'nccl') throw new Error(`initProcessGroup: unknown backend '${String(backend)}'; use 'gloo' (CPU tensors) or 'nccl' (CUDA tensors)`);
  const initMethod = opts.initMethod ?? 'env://';
  const need = (what: string, names: string[], given: number | undefined, min: number): number => {
    if (given !== undefined) return integer(what, given, min);
    const found = firstOf(env, names);
    if (!found)
      throw new Error(`initProcessGroup: the ${what} is not set: pass { ${what === 'rank' ? 'rank' : 'worldSize'} } or set ${names[0]} ` +
        `(fsnn launch sets it; under mpirun/srun ${names.slice(1).join(' / ')} is read)`);
    return integer(`${what} (${found.name})`, found.value, min);
  };
  const worldSize = need('world size', WORLD_SIZE_VARIABLES, opts.worldSize, 1);
  const rank = need('rank', RANK_VARIABLES, opts.rank, 0);
  if (rank >= worldSize) throw new Error(`initProcessGroup: rank ${rank} is outside 0..${worldSize - 1} (world size ${worldSize})`);
  const local = firstOf(env, LOCAL_RANK_VARIABLES);
  const localRank = local ? integer(`local rank (${local.name})`, local.value, 0) : 0;
  const timeoutMs = integer('timeoutMs', opts.timeoutMs ?? (env.FSNN_DIST_TIMEOUT_MS ? Number(env.FSNN_DIST_TIMEOUT_MS) : 60000), 1);
  const iface = env.GLOO_SOCKET_IFNAME || undefined;
  const base = { backend, rank, worldSize, localRank, timeoutMs, iface };

  if (initMethod.startsWith('file://')) {
    const filePath = initMethod.slice('file://'.length);
    if (!filePath) throw new Error("initProcessGroup: initMethod 'file://' needs a folder, e.g. 'file:///shared/run-42'");
    return { ...base, filePath, hostname: env.FSNN_DIST_HOSTNAME || os.hostname() };
  }
  let masterAddr: string, masterPort: number;
  if (initMethod.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(initMethod);
    if (!m) throw new Error(`initProcessGroup: initMethod '${initMethod}' is not tcp://host:port`);
    masterAddr = m[1].replace(/^\[|\]$/g, '');
    masterPort = integer('port of initMethod', m[2], 1);
  } else if (initMethod === 'env://') {
    if (!env.MASTER_ADDR) throw new Error("initProcessGroup: MASTER_ADDR is not set (env://): set it to rank 0's host name or address (fsnn launch sets it; under srun e.g. MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1))");
    if (!env.MASTER_PORT) throw new Error('initProcessGroup: MASTER_PORT is not set (env://): set it to a free TCP port on rank 0\'s host, e.g. 29500');
    masterAddr = env.MASTER_ADDR;
    masterPort = integer('MASTER_PORT', env.MASTER_PORT, 1);
  } else {
    throw new Error(`initProcessGroup: unknown initMethod '${initMethod}'; use 'env://', 'tcp://host:port' or 'file:///folder'`);
  }
  if (masterPort > 65535) throw new Error(`initProcessGroup: MASTER_PORT ${masterPort} is not a TCP port (1 to 65535)`);
  // The Gloo transport listens on this host's address: loopback for a loopback master (one machine),
  // else the host name (resolving to the address the other machines reach), or FSNN_DIST_HOSTNAME.
  const hostname = env.FSNN_DIST_HOSTNAME || (isLoopback(masterAddr) ? '127.0.0.1' : os.hostname());
  return { ...base, masterAddr, masterPort, hostname };
}

/** The world size the environment gives this process (1 when no launcher set one). */
export function envWorldSize(env: Env = process.env): number {
  const found = firstOf(env, WORLD_SIZE_VARIABLES);
  const n = found ? Number(found.value) : 1;
  return Number.isInteger(n) && n >= 1 ? n : 1;
}
