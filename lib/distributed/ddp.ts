// DistributedDataParallel: data-parallel training of a module across the ranks of the default process
// group (PyTorch's torch.nn.parallel.DistributedDataParallel). At construction it checks that every
// rank has the same parameter shapes and copies rank 0's parameters and buffers to the others. During
// backward, gradients are averaged over the ranks in buckets of about bucketCapMb megabytes: a bucket's
// all-reduce starts as soon as backward has produced every gradient in it (post-accumulate-grad hooks),
// while backward goes on with the layers before; when the last bucket has been started, backward
// waits for them all and writes the averages back into .grad. So after loss.backward() every rank
// holds the same averaged gradients, and the same optimizer step keeps the replicas identical.
import { keep } from '../memory';
import { native } from '../native';
import { runKernel } from '../kernels/run-kernel';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Tensor } from '../tensor';
import {
  allGatherIntoTensor, allReduce, broadcast, collectiveDevice, copyRange, getRank, getWorldSize, isInitialized, Work,
} from './process-group';

/** Options of DistributedDataParallel. */
export interface DistributedDataParallelOptions {
  /** Bucket size in megabytes (MiB, as PyTorch's bucket_cap_mb; default 25). */
  bucketCapMb?: number;
  /** Copy rank 0's buffers to every rank before each forward (default true, as PyTorch). */
  broadcastBuffers?: boolean;
}

interface Bucket {
  params: Parameter[];
  numel: number;
  /** Gradients still to come in this backward. */
  pending: number;
  flat: Tensor | null;
  work: Work | null;
}

/** Encodes names' shapes as numbers (count, then ndim and sizes of each) for the cross-rank check. */
function shapeCode(entries: [string, Tensor][]): number[] {
  const code = [entries.length];
  for (const [, t] of entries) code.push(t.shape.length, ...t.shape);
  return code;
}

/** Checks that every rank has the same list of shapes; throws naming the first parameter that differs. */
function verifyShapes(entries: [string, Tensor][], device: 'cpu' | 'cuda'): void {
  const world = getWorldSize();
  const gather = (values: number[]): Float32Array[] => {
    const input = new Tensor(native.fromFloat32(Float32Array.from(values), [values.length], device));
    const output = new Tensor(runKernel('full', [], { shape: [world * values.length], value: 0, device: device }));
    try {
      allGatherIntoTensor(output, input);
      const all = output.toFloat32Array();
      return Array.from({ length: world }, (_, r) => all.subarray(r * values.length, (r + 1) * values.length));
    } finally {
      input.dispose();
      output.dispose();
    }
  };
  const mine = shapeCode(entries);
  const lengths = gather([mine.length]).map((a) => a[0]);
  const width = Math.max(...lengths);
  const padded = mine.concat(new Array<number>(width - mine.length).fill(-1));
  const codes = gather(padded);
  const describe = (code: Float32Array, i: number): string => {
    let p = 1;
    for (let k = 0; k < i; k++) p += 1 + code[p];
    return `[${Array.from(code.subarray(p + 1, p + 1 + code[p])).join(',')}]`;
  };
  const rank = getRank();
  for (let r = 0; r < world; r++) {
    const other = codes[r];
    if (other[0] !== entries.length)
      throw new Error(`DistributedDataParallel: rank ${r} has ${other[0]} parameters and buffers, rank ${rank} has ${entries.length}; ` +
        'every rank must build the same model');
    for (let i = 0; i < entries.length; i++) {
      const theirs = describe(other, i), ours = `[${entries[i][1].shape.join(',')}]`;
      if (theirs !== ours)
        throw new Error(`DistributedDataParallel: parameter '${entries[i][0]}' has shape ${theirs} on rank ${r} but ${ours} on rank ${rank}; ` +
          'every rank must build the same model (same sizes and options)');
    }
  }
}

export class DistributedDataParallel<M extends Module = Module> extends Module {
  /** The wrapped module (save module.stateDict() / the module itself: the same checkpoint a single process writes). */
  readonly module: M;
  private readonly _buckets: Bucket[] = [];
  private readonly _bucketOf = new Map<Tensor, Bucket>();
  private readonly _broadcastBuffers: boolean;
  private _requireSync = true;
  private _nextLaunch = 0;
  private readonly _ready = new Set<Tensor>();  // parameters whose gradient this backward has produced

  constructor(module: M, opts: DistributedDataParallelOptions = {}) {
    super();
    if (!isInitialized()) throw new Error('DistributedDataParallel: call distributed.initProcessGroup() first');
    this.module = module;
    const capMb = opts.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new Error(`DistributedDataParallel: bucketCapMb must be > 0, got ${capMb}`);
    this._broadcastBuffers = opts.broadcastBuffers ?? true;
    const device = collectiveDevice();
    const named = module.namedParameters() as [string, Tensor][];
    const state: [string, Tensor][] = [...named, ...module.namedBuffers()];
    for (const [name, t] of state)
      if (t.device !== device)
        throw new Error(`DistributedDataParallel: '${name}' is on ${t.device}, but the process group's backend works on ${device} tensors; ` +
          `move the module with .to('${device}') before wrapping it, or use the ${device === 'cpu' ? "'nccl'" : "'gloo'"} backend`);
    verifyShapes(state, device);
    for (const [, t] of state) broadcast(t, 0);
    // Buckets in reverse parameter order: roughly the order backward produces the gradients.
    const capElements = Math.max(1, Math.floor((capMb * 1024 * 1024) / 4));
    let bucket: Bucket | null = null;
    for (const p of module.parameters().filter((q) => q.requiresGrad).reverse()) {
      if (!bucket || (bucket.numel > 0 && bucket.numel + p.numel > capElements)) {
        bucket = { params: [], numel: 0, pending: 0, flat: null, work: null };
        this._buckets.push(bucket);
      }
      bucket.params.push(p);
      bucket.numel += p.numel;
      bucket.pending++;
      this._bucketOf.set(p, bucket);
      p.registerPostAccumulateGradHook((t) => this.gradReady(t));
    }
  }

  /** Number of gradient buckets and their sizes in elements (for tests and tuning). */
  bucketSizes(): number[] {
    return this._buckets.map((b) => b.numel);
  }

  forward(...args: unknown[]): unknown {
    this.checkFinished();
    if (this._broadcastBuffers && getWorldSize() > 1) for (const [, b] of this.module.namedBuffers()) broadcast(b, 0);
    return (this.module.forward as (...a: unknown[]) => unknown)(...args);
  }

  /**
   * Runs fn without averaging gradients (gradient accumulation): backward passes inside only add to
   * .grad locally; the next backward outside noSync averages the accumulated sums.
   */
  noSync<T>(fn: () => T): T {
    const before = this._requireSync;
    this._requireSync = false;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this._requireSync = before;
      throw e;
    }
    if (result && typeof (result as unknown as Promise<unknown>).then === 'function')
      return (result as unknown as Promise<unknown>).finally(() => { this._requireSync = before; }) as unknown as T;
    this._requireSync = before;
    return result;
  }

  private gradReady(p: Tensor): void {
    if (!this._requireSync) return;
    const bucket = this._bucketOf.get(p)!;
    this._ready.add(p);
    bucket.pending--;
    // Buckets start in index order on every rank (collectives must be issued in the same order).
    while (this._nextLaunch < this._buckets.length && this._buckets[this._nextLaunch].pending === 0) this.launch(this._buckets[this._nextLaunch++]);
    if (this._nextLaunch === this._buckets.length) this.finish();
  }

  private launch(b: Bucket): void {
    const views = b.params.map((p) => runKernel('reshape', [p.grad!.handle], { shape: [p.numel] }));
    b.flat = keep(new Tensor(runKernel('concat', views, { dim: 0 })));
    for (const v of views) v.dispose();
    b.work = allReduce(b.flat, 'avg', { asyncOp: true });
  }

  private finish(): void {
    try {
      for (const b of this._buckets) {
        b.work!.wait();
        let offset = 0;
        for (const p of b.params) {
          copyRange(p.grad!, b.flat!, offset);
          offset += p.numel;
        }
      }
    } finally {
      for (const b of this._buckets) this.reset(b);
      this._nextLaunch = 0;
      this._ready.clear();
    }
  }

  private reset(b: Bucket): void {
    if (b.flat) b.flat.dispose();
    b.flat = null;
    b.work = null;
    b.pending = b.params.length;
  }

  /** A backward that left some gradients out (a parameter unused by the loss) leaves buckets unreduced. */
  private checkFinished(): void {
    const started = this._buckets.some((b) => b.pending < b.params.length);
    if (!started) return;
    const missing: string[] = [];
    const names = new Map<Tensor, string>(this.module.namedParameters().map(([n, p]) => [p, n] as [Tensor, string]));
    for (const b of this._buckets) if (b.pending > 0) for (const p of b.params) if (!this._ready.has(p)) missing.push(names.get(p) ?? '?');
    for (const b of this._buckets) {
      if (b.work) {
        try {
          b.work.wait();
        } catch {
          // the reduction is abandoned anyway
        }
      }
      this.reset(b);
    }
    this._nextLaunch = 0;
    this._ready.clear();
    throw new Error('DistributedDataParallel: the previous backward did not produce gradients for every parameter, so their averaging ' +
      `never finished${missing.length ? ` (no gradient: ${missing.join(', ')})` : ''}; make every parameter take part in the loss, ` +
      'or freeze the unused ones (requiresGrad_(false)) before wrapping the module');
  }
}
