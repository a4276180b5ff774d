// The default process group and its collectives (PyTorch's torch.distributed, in TypeScript casing).
// Collectives are in place on float32 tensors: CPU tensors with Gloo, CUDA tensors with NCCL. With
// { asyncOp: true } they return a Work whose wait() blocks until the tensor holds the result; the
// tensor must not be read or written before that.
import { noGrad } from '../autograd/grad-mode';
import { runKernel } from '../kernels/run-kernel';
import { getDefaultDevice, Tensor } from '../tensor';
import { Backend, InitProcessGroupOptions, resolveInit, ResolvedInit } from './env';
import { nativeDistributed, REDUCE_OP_CODES } from './native-api';

/** Reductions of allReduce and reduceScatter ('avg' = sum / world size). */
/** How allReduce / reduceScatter combine the ranks' values. */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

/** Options of every collective. */
export interface CollectiveOptions {
  /** Return a Work at once instead of waiting (default false). */
  asyncOp?: boolean;
}

/** A collective in flight (PyTorch's Work). */
export interface Work {
  /** Blocks until the collective has finished (its tensors hold the result); rethrows its error. */
  wait(): void;
  /** Whether it has finished (without waiting). */
  isCompleted(): boolean;
}

interface GroupState extends ResolvedInit {
  id: number;
  device: 'cpu' | 'cuda';
}

let group: GroupState | null = null;

function current(op: string): GroupState {
  if (!group) throw new Error(`${op}: the default process group is not initialized; call distributed.initProcessGroup() first`);
  return group;
}

/**
 * Joins the job: connects this process to the others (rank 0 hosts the rendezvous store at
 * MASTER_ADDR:MASTER_PORT). Blocks until every rank has joined, or fails after timeoutMs naming the
 * ranks that did not come.
 */
export function initProcessGroup(opts: InitProcessGroupOptions = {}): void {
  if (group) throw new Error('initProcessGroup: the default process group is already initialized; call destroyProcessGroup() first');
  const r = resolveInit(opts, process.env, getDefaultDevice() === 'cuda' ? 'nccl' : 'gloo');
  const id = nativeDistributed().initProcessGroup(r);
  group = { ...r, id, device: r.backend === 'nccl' ? 'cuda' : 'cpu' };
}

/** Leaves the job and frees the group (waits for queued collectives first). */
export function destroyProcessGroup(): void {
  if (!group) return;
  const id = group.id;
  group = null;
  nativeDistributed().destroyProcessGroup(id);
}

/** Whether initProcessGroup has run (and destroyProcessGroup not since). */
export function isInitialized(): boolean {
  return group !== null;
}

/** This process's rank in 0..worldSize-1 (0 without a process group). */
export function getRank(): number {
  return group ? group.rank : 0;
}

/** The number of processes (1 without a process group). */
export function getWorldSize(): number {
  return group ? group.worldSize : 1;
}

/** This process's rank on its machine (LOCAL_RANK; 0 without a process group). */
export function getLocalRank(): number {
  return group ? group.localRank : 0;
}

/** The backend of the default group. */
export function getBackend(): Backend {
  return current('getBackend').backend;
}

/** The device the default group's collectives take tensors on ('cpu' for Gloo, 'cuda' for NCCL). */
export function collectiveDevice(): 'cpu' | 'cuda' {
  return current('collectiveDevice').device;
}

/** Whether the native layer has Gloo and NCCL, and what loading them found (paths tried). */
/** What each backend can do in this process. */
export interface BackendStatus {
  /** The Gloo plugin was built with the addon. */
  glooBuilt: boolean;
  /** 'available', or why Gloo cannot be used. */
  gloo: string;
  /** 'available', or why NCCL cannot be used. */
  nccl: string;
}

export function backendStatus(): BackendStatus {
  return nativeDistributed().status();
}

function checkTensor(t: Tensor, op: string, what = 'tensor'): void {
  if (!t || !(t as Tensor).__isTensor) throw new Error(`${op}: ${what} must be a Tensor`);
  if (t.dtype !== 'float32') throw new Error(`${op}: ${what} must be float32, got ${t.dtype}`);
}

function work(g: GroupState, ticket: number): Work {
  const d = nativeDistributed();
  return { wait: () => d.wait(g.id, ticket), isCompleted: () => d.isCompleted(g.id, ticket) };
}

function finish(g: GroupState, ticket: number, opts: CollectiveOptions | undefined): Work | void {
  if (opts?.asyncOp) return work(g, ticket);
  if (ticket > 0) nativeDistributed().wait(g.id, ticket);
}

function opCode(op: ReduceOp, where: string): number {
  const code = REDUCE_OP_CODES[op];
  if (code === undefined) throw new Error(`${where}: unknown op '${String(op)}'; use 'sum', 'avg', 'max' or 'min'`);
  return code;
}

/** Reduces `tensor` over all ranks, in place: afterwards every rank holds the sum (avg, max, min). */
export function allReduce(tensor: Tensor, op?: ReduceOp, opts?: CollectiveOptions & { asyncOp?: false }): void;
export function allReduce(tensor: Tensor, op: ReduceOp | undefined, opts: CollectiveOptions & { asyncOp: true }): Work;
export function allReduce(tensor: Tensor, op: ReduceOp = 'sum', opts?: CollectiveOptions): Work | void {
  const g = current('allReduce');
  checkTensor(tensor, 'allReduce');
  return finish(g, nativeDistributed().allReduce(g.id, tensor.handle, opCode(op, 'allReduce'), !!opts?.asyncOp), opts);
}

/** Copies rank `src`'s tensor into the same tensor of every other rank (in place). */
export function broadcast(tensor: Tensor, src: number, opts?: CollectiveOptions & { asyncOp?: false }): void;
export function broadcast(tensor: Tensor, src: number, opts: CollectiveOptions & { asyncOp: true }): Work;
export function broadcast(tensor: Tensor, src: number, opts?: CollectiveOptions): Work | void {
  const g = current('broadcast');
  checkTensor(tensor, 'broadcast');
  return finish(g, nativeDistributed().broadcast(g.id, tensor.handle, src, !!opts?.asyncOp), opts);
}

/** Gathers every rank's `input` into `output` (worldSize x input elements, rank order; PyTorch's all_gather_into_tensor). */
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts?: CollectiveOptions & { asyncOp?: false }): void;
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts: CollectiveOptions & { asyncOp: true }): Work;
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts?: CollectiveOptions): Work | void {
  const g = current('allGather');
  checkTensor(output, 'allGather', 'output');
  checkTensor(input, 'allGather', 'input');
  return finish(g, nativeDistributed().allGather(g.id, output.handle, input.handle, !!opts?.asyncOp), opts);
}

/** A per-rank tensor list: worldSize tensors of `numel` elements each (the size of `other`). */
function checkRankList(op: string, list: Tensor[], what: string, worldSize: number, numel: number, other: string): void {
  if (!Array.isArray(list) || list.length !== worldSize)
    throw new Error(`${op}: ${what} must be a list of worldSize (${worldSize}) tensors`);
  for (const [i, t] of list.entries())
    if (t.numel !== numel) throw new Error(`${op}: ${what}[${i}] has ${t.numel} elements, ${other} ${numel}; they must match`);
}

/** Fills outputs[r] with rank r's `input` (PyTorch's all_gather(tensor_list, tensor)). */
export function allGather(outputs: Tensor[], input: Tensor): void {
  const g = current('allGather');
  checkRankList('allGather', outputs, 'outputs', g.worldSize, input.numel, 'the input');
  noGrad(() => {
    const flat = new Tensor(runKernel('full', [], { shape: [g.worldSize * input.numel], value: 0, device: input.device }));
    try {
      allGatherIntoTensor(flat, input);
      outputs.forEach((o, r) => copyRange(o, flat, r * input.numel));
    } finally {
      flat.dispose();
    }
  });
}

/** Reduces `input` (worldSize x output elements) over the ranks; rank r receives block r (PyTorch's reduce_scatter_tensor). */
export function reduceScatterTensor(output: Tensor, input: Tensor, op?: ReduceOp, opts?: CollectiveOptions & { asyncOp?: false }): void;
export function reduceScatterTensor(output: Tensor, input: Tensor, op: ReduceOp | undefined, opts: CollectiveOptions & { asyncOp: true }): Work;
export function reduceScatterTensor(output: Tensor, input: Tensor, op: ReduceOp = 'sum', opts?: CollectiveOptions): Work | void {
  const g = current('reduceScatter');
  checkTensor(output, 'reduceScatter', 'output');
  checkTensor(input, 'reduceScatter', 'input');
  return finish(g, nativeDistributed().reduceScatter(g.id, output.handle, input.handle, opCode(op, 'reduceScatter'), !!opts?.asyncOp), opts);
}

/** output = the reduction over ranks of inputs[rank] (PyTorch's reduce_scatter(output, input_list)). */
export function reduceScatter(output: Tensor, inputs: Tensor[], op: ReduceOp = 'sum'): void {
  const g = current('reduceScatter');
  checkRankList('reduceScatter', inputs, 'inputs', g.worldSize, output.numel, 'the output');
  noGrad(() => {
    const views = inputs.map((t) => runKernel('reshape', [t.handle], { shape: [t.numel] }));
    const flat = new Tensor(runKernel('concat', views, { dim: 0 }));
    for (const v of views) v.dispose();
    try {
      reduceScatterTensor(output, flat, op);
    } finally {
      flat.dispose();
    }
  });
}

/** Blocks until every rank has reached the barrier. */
export function barrier(): void {
  const g = current('barrier');
  const ticket = nativeDistributed().barrier(g.id, false);
  if (ticket > 0) nativeDistributed().wait(g.id, ticket);
}

/** dst (any shape) = src's elements [offset, offset + dst.numel) (flat). */
export function copyRange(dst: Tensor, src: Tensor, offset: number): void {
  const part = runKernel('slice', [runKernel('reshape', [src.handle], { shape: [src.numel] })], { dim: 0, start: offset, end: offset + dst.numel, step: 1 });
  const shaped = runKernel('reshape', [part], { shape: dst.shape.slice() });
  runKernel('copy', [dst.handle, shaped]);
  shaped.dispose();
  part.dispose();
}
