/**
 * fsnn.distributed: data-parallel training and sharded inference across processes, GPUs and machines
 * (PyTorch's torch.distributed): process groups on Gloo (CPU tensors) and NCCL (CUDA tensors), their
 * collectives, DistributedDataParallel and DistributedSampler. Start the processes with `fsnn launch`.
 */
export {
  initProcessGroup, destroyProcessGroup, isInitialized, getRank, getWorldSize, getLocalRank, getBackend, backendStatus,
  allReduce, broadcast, allGather, allGatherIntoTensor, reduceScatter, reduceScatterTensor, barrier,
} from './process-group';
export type { ReduceOp, Work, CollectiveOptions, BackendStatus } from './process-group';
export { DistributedDataParallel } from './ddp';
export type { DistributedDataParallelOptions } from './ddp';
export { DistributedSampler } from '../data/sampler';
export type { DistributedSamplerOptions } from '../data/sampler';
export { resolveInit, RANK_VARIABLES, WORLD_SIZE_VARIABLES, LOCAL_RANK_VARIABLES } from './env';
export type { Backend, InitProcessGroupOptions, ResolvedInit, Env } from './env';
