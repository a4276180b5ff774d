// Recording a computation into a replayable program: every kernel call made while fn runs (through
// lib/kernels/run-kernel.ts) becomes a step over numbered slots. Slot 0 is fn's input; a tensor that
// no recorded call produced (a parameter, a buffer, a constant made outside the kernel table) is
// captured as it is. What a replay could not reproduce marks the recording as not replayable, with
// the reason: a read of an input-dependent value into host memory (the forward's control flow or
// data could depend on it), or a native call outside the kernel table on an input-dependent value.
// Random kernels are an error: their numbers would repeat on every replay.
import type { KernelName, NativeHandle, NativeProgram, ProgramDesc, ProgramStep } from '../../types/native';
import { KERNEL_KINDS } from '../kernel-names';
import { KernelCall, KernelRecorder, recordKernels } from '../kernels/run-kernel';
import { native } from '../native';
import { Tensor } from '../tensor';

/** A recorded computation: the compiled program and what it captured. */
export interface RecordedProgram {
  program: NativeProgram;
  /** The tensors the program holds (parameters, buffers, constants), in slot order. */
  captured: NativeHandle[];
  steps: number;
}

/** The outcome of recordProgram: fn's own result, and the program or why there is none. */
export interface Recording<T> {
  result: T;
  recorded: RecordedProgram | null;
  /** Why the computation cannot be replayed (null when it can). */
  notReplayable: string | null;
}

// Provisional ids: steps' outputs count up from 1, captured tensors down from -1; slot 0 is the input.
class ProgramRecorder implements KernelRecorder {
  private readonly ids = new Map<NativeHandle, number>();
  /** Ids of values that depend on the input. */
  private readonly fromInput = new Set<number>([0]);
  readonly captured: NativeHandle[] = [];
  private readonly steps: { kernel: KernelName; inputs: (number | null)[]; attrs: object; outputs: (number | null)[] }[] = [];
  private produced = 0;
  problem: string | null = null;

  constructor(input: NativeHandle) {
    this.ids.set(input, 0);
  }

  private idOf(h: NativeHandle): number {
    let id = this.ids.get(h);
    if (id === undefined) {
      this.captured.push(h);
      id = -this.captured.length;
      this.ids.set(h, id);
    }
    return id;
  }

  dependsOnInput(h: unknown): boolean {
    const id = this.ids.get(h as NativeHandle);
    return id !== undefined && this.fromInput.has(id);
  }

  call(c: KernelCall): void {
    if (KERNEL_KINDS[c.name] === 'random')
      throw new Error(`InferenceRunner: the forward calls the random kernel '${c.name}' (dropout in training mode?), whose numbers ` +
        'a replay would repeat; put the model in eval mode (net.eval()) before serving it');
    const inputs = c.inputs.map((h) => (h ? this.idOf(h) : null));
    const tainted = inputs.some((id) => id !== null && this.fromInput.has(id));
    const outs = c.output === undefined ? [] : Array.isArray(c.output) ? c.output : [c.output];
    const outputs = outs.map((h) => {
      if (!h) return null;
      const id = ++this.produced;
      this.ids.set(h, id);
      if (tainted) this.fromInput.add(id);
      return id;
    });
    // An in-place kernel writes its first input: an input-dependent write taints it.
    if (KERNEL_KINDS[c.name] === 'inplace' && tainted && inputs[0] !== null) this.fromInput.add(inputs[0]);
    this.steps.push({ kernel: c.name, inputs, attrs: { ...c.attrs }, outputs });
  }

  hostRead(h: NativeHandle): void {
    if (this.problem === null && this.dependsOnInput(h))
      this.problem = `the forward reads an input-dependent tensor of shape [${h.shape}] into host memory, so its result may depend on values a replay would not see`;
  }

  /** The program description, with provisional ids turned into slots (input, captured, produced). */
  describe(input: NativeHandle, output: NativeHandle): ProgramDesc {
    const C = this.captured.length;
    const slot = (id: number | null): number | null => (id === null ? null : id === 0 ? 0 : id < 0 ? -id : C + id);
    const out = this.ids.get(output);
    if (out === undefined) throw new Error('InferenceRunner: the forward returned a tensor that no recorded kernel produced');
    const steps: ProgramStep[] = this.steps.map((s) => ({ kernel: s.kernel, inputs: s.inputs.map(slot), attrs: s.attrs, outputs: s.outputs.map(slot) }));
    return { steps, constants: this.captured, inputShape: input.shape.slice(), device: input.device, slots: 1 + C + this.produced, output: slot(out)! };
  }
}

// The addon functions that take no tensor computed in the forward or are the recorder's own.
const UNWATCHED = new Set(['runKernel', 'compileProgram', 'replay', 'replayAsync', 'storageVersions', 'fromFloat32', 'fromInt32', 'TensorHandle']);

/**
 * Watches the addon's functions other than runKernel while the recording runs: one given a tensor
 * that depends on the input makes the recording not replayable.
 */
function watchNative(rec: ProgramRecorder): () => void {
  const addon = native as unknown as Record<string, unknown>;
  const saved: [string, unknown][] = [];
  for (const key of Object.keys(addon)) {
    const fn = addon[key];
    if (typeof fn !== 'function' || UNWATCHED.has(key)) continue;
    saved.push([key, fn]);
    addon[key] = (...args: unknown[]) => {
      const flat = args.flatMap((a) => (Array.isArray(a) ? a : [a]));
      if (rec.problem === null && flat.some((a) => rec.dependsOnInput(a)))
        rec.problem = `the forward calls native.${key}, which is not a kernel of native/kernels.def, on an input-dependent tensor`;
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  return () => {
    for (const [key, fn] of saved) addon[key] = fn;
  };
}

/**
 * Runs fn(x) once, recording its kernel calls, and compiles them into a program that replays fn on
 * any input of x's shape and device. fn must return one tensor. Call it inside tidy(): the program
 * holds what it captured, the recording's intermediates can go.
 */
export function recordProgram(x: Tensor, fn: (x: Tensor) => Tensor): Recording<Tensor> {
  const rec = new ProgramRecorder(x.handle);
  const unwatch = watchNative(rec);
  let result: Tensor;
  try {
    result = recordKernels(rec, () => fn(x));
  } finally {
    unwatch();
  }
  if (rec.problem !== null) return { result, recorded: null, notReplayable: rec.problem };
  const desc = rec.describe(x.handle, result.handle);
  return { result, recorded: { program: native.compileProgram(desc), captured: desc.constants, steps: desc.steps.length }, notReplayable: null };
}
