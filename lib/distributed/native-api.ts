// The addon's distributed functions (native/distributed/dist_binding.cc). Low level: lib/distributed only.
import type { NativeHandle } from '../../types/native';
import { native } from '../native';
import type { ResolvedInit } from './env';

/** Reduce op codes of the native layer (native/distributed/gloo_plugin_api.h). */
export const REDUCE_OP_CODES = { sum: 0, avg: 1, max: 2, min: 3 } as const;

export interface NativeDistributed {
  initProcessGroup(opts: ResolvedInit): number;
  destroyProcessGroup(group: number): void;
  groupInfo(group: number): { rank: number; worldSize: number; backend: string; device: 'cpu' | 'cuda' };
  /** Each collective returns 0 when complete, else a ticket for wait(). */
  allReduce(group: number, t: NativeHandle, op: number, async: boolean): number;
  broadcast(group: number, t: NativeHandle, src: number, async: boolean): number;
  allGather(group: number, out: NativeHandle, input: NativeHandle, async: boolean): number;
  reduceScatter(group: number, out: NativeHandle, input: NativeHandle, op: number, async: boolean): number;
  barrier(group: number, async: boolean): number;
  wait(group: number, ticket: number): void;
  isCompleted(group: number, ticket: number): boolean;
  status(): { glooBuilt: boolean; gloo: string; nccl: string };
}

/** The native distributed functions; a clear error with an addon built before they existed. */
export function nativeDistributed(): NativeDistributed {
  const d = (native as unknown as { distributed?: NativeDistributed }).distributed;
  if (!d) throw new Error('fsnn.distributed: the loaded native addon has no distributed support (it predates it); rebuild it with npm run build:native');
  return d;
}
