// InferenceRunner: replays a trained model's own forward natively. The first prediction for an input
// shape runs net.forward once under noGrad and records its kernel calls (./record-program); later
// predictions replay that program by kernel name on the libuv thread pool (an N-API AsyncWorker), so
// a service's event loop keeps answering while a batch runs. There is one interpreter, the model's
// forward: no layer is translated. Host-side work in the forward (building the fractional kernel K
// from alpha) runs at record time and its result becomes an attribute of the recorded call.
//
// The program is recorded again when the input shape or device changes, and when the model's state
// changes: a parameter or buffer replaced (Module.to(), assigning a new Parameter) or written in place
// (loadStateDict, copy_, fill_, optimizer steps: the storage's write count, native.storageVersions).
// A forward that cannot be replayed (it reads an input-dependent value into host memory, or calls a
// native function outside the kernel table) runs directly on every call instead (`replayable` and
// `reason` say so); one that draws random numbers (dropout in training mode) is an error.
import type { NativeHandle } from '../../types/native';
import { noGrad } from '../autograd/grad-mode';
import { FractionalMethod } from '../fractional/kernel';
import type { FractionalHistory } from '../fractional/op';
import { tidy } from '../memory';
import { native } from '../native';
import { loadModel } from '../snn/model-io';
import { SNNWrapper } from '../snn/wrapper';
import { Device, Tensor } from '../tensor';
import { recordProgram, RecordedProgram } from './record-program';

/** Options of InferenceRunner. */
export interface RunnerOptions {
  /** Discretisation (default: the wrapper's method, 'l1' or 'euler' for integer-order models unless set). */
  method?: FractionalMethod;
  /** History window (default: the full history). */
  memory?: number;
  /** How the history sum is evaluated: 'exact', 'fast' or 'auto' (default: the wrapper's history option). */
  history?: FractionalHistory;
  /** Time step h (default 1). */
  h?: number;
  /** Average the model's output over time (the usual classification readout; default true). */
  meanOverTime?: boolean;
  /**
   * The input is one time step [B, ...] that holds at all `staticSteps` steps (direct coding): the
   * forward runs with { staticInput: true, steps: staticSteps } (the layers before the first neuron
   * layer once instead of T times; the same output as the repeated input [T, B, ...]). Default: the
   * input is time-major [T, B, ...].
   */
  staticSteps?: number;
}

interface Program extends RecordedProgram {
  inputShape: string;
  device: Device;
  /** The model's parameters and buffers when recorded, then the captured tensors; their write counts. */
  state: NativeHandle[];
  versions: Float64Array;
}

/**
 * A trained SNNWrapper whose forward is recorded once per input shape and replayed natively:
 * predict() runs the whole forward pass on the libuv thread pool, so the event loop stays free.
 */
export class InferenceRunner {
  private program: Program | null = null;
  private disposed = false;
  private _reason: string | null = null;
  /** The discretisation in use. */
  readonly method: FractionalMethod;

  /**
   * @param net The trained model (put into eval mode).
   * @param options Method and history window of the forward pass.
   */
  constructor(readonly net: SNNWrapper, readonly options: RunnerOptions = {}) {
    if (!net || typeof (net as { forward?: unknown }).forward !== 'function') throw new TypeError('InferenceRunner: net must be an SNNWrapper');
    const st = options.staticSteps;
    if (st !== undefined && !(Number.isInteger(st) && st >= 1))
      throw new Error(`InferenceRunner: staticSteps = ${st} must be a positive integer (the number of time steps a static input holds for)`);
    this.method = options.method ?? net.method;  // the wrapper's default: 'l1' (fdeint) / 'euler' (odeint) unless set
  }

  /** Loads a self-describing checkpoint (saveModel) and prepares a runner for it. */
  static fromCheckpoint(path: string, opts: RunnerOptions & { device?: Device } = {}): InferenceRunner {
    const { net, spec } = loadModel(path, { device: opts.device });
    net.eval();
    return new InferenceRunner(net, { method: spec.input?.method, memory: spec.input?.memory, history: spec.input?.history, h: spec.input?.h, ...opts });
  }

  /** Whether predictions replay a recorded program (false: the forward could not be recorded; see reason). */
  get replayable(): boolean {
    return this._reason === null;
  }

  /** Why the forward runs directly instead of being replayed (null while it is replayed). */
  get reason(): string | null {
    return this._reason;
  }

  /** Drops the recorded program; predict() afterwards is an error. The model itself is not disposed. */
  dispose(): void {
    this.program = null;
    this.disposed = true;
  }

  /** The model's forward as the runner runs it (what is recorded): x [T, B, ...] (or static [B, ...]) -> scores. */
  private forward(x: Tensor): Tensor {
    const st = this.options.staticSteps;
    const T = st ?? x.shape[0], h = this.options.h ?? 1;
    const times = h === 1 ? undefined : Array.from({ length: T }, (_, k) => k * h);
    const out = this.net.forward(x, times, { method: this.method, memory: this.options.memory, history: this.options.history, ...(st === undefined ? {} : { staticInput: true, steps: st }) });
    return this.options.meanOverTime ?? true ? out.mean(0) : out;
  }

  private checkInput(x: Tensor): void {
    if (this.disposed) throw new Error('InferenceRunner: this runner was disposed; create a new InferenceRunner for the model');
    if (this.options.staticSteps !== undefined) {
      if (!x || !x.__isTensor || x.ndim < 1)
        throw new Error(`InferenceRunner: with staticSteps the input must be one time step, a Tensor [B, ...] (it holds at all ${this.options.staticSteps} steps)`);
    } else if (!x || !x.__isTensor || x.ndim < 2 || x.shape[0] < 1)
      throw new Error('InferenceRunner: input must be a time-major Tensor [T, B, ...] with T >= 1');
  }

  private stateHandles(): NativeHandle[] {
    return [...this.net.parameters(), ...this.net.namedBuffers().map(([, b]) => b)].map((t) => t.handle);
  }

  /** The recorded program, if it is still valid for x and the model's current state. */
  private current(x: Tensor): Program | null {
    const p = this.program;
    if (!p || p.inputShape !== x.shape.join(',') || p.device !== x.device) return null;
    const model = this.stateHandles();
    for (let i = 0; i < model.length; i++) if (model[i] !== p.state[i]) return null;
    if (model.length + p.captured.length !== p.state.length) return null;
    const v = native.storageVersions(p.state);
    for (let i = 0; i < v.length; i++) if (v[i] !== p.versions[i]) return null;
    return p;
  }

  /** Runs the forward directly, recording it when it can be replayed later. */
  private recordOrRun(x: Tensor): Tensor {
    return noGrad(() => tidy(() => {
      const r = recordProgram(x, (input) => this.forward(input));
      this._reason = r.notReplayable;
      this.program = null;
      if (r.recorded) {
        const state = [...this.stateHandles(), ...r.recorded.captured];
        this.program = { ...r.recorded, inputShape: x.shape.join(','), device: x.device, state, versions: native.storageVersions(state) };
      }
      return r.result;
    }));
  }

  /** After a replay: the program's own in-place writes (e.g. the orders' projection) are not changes. */
  private settle(p: Program): void {
    p.versions = native.storageVersions(p.state);
  }

  /** Runs the forward pass off the JavaScript thread; resolves with the output ([B, classes] by default). */
  async predict(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    const p = this.current(x);
    if (!p) return this.recordOrRun(x);
    const out = new Tensor(await native.replayAsync(p.program, x.handle));
    this.settle(p);
    return out;
  }

  /** The same forward pass, on the calling thread. */
  predictSync(x: Tensor): Tensor {
    this.checkInput(x);
    const p = this.current(x);
    if (!p) return this.recordOrRun(x);
    const out = new Tensor(native.replay(p.program, x.handle));
    this.settle(p);
    return out;
  }
}
