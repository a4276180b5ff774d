// InferenceRunner: compiles a wrapped sequential f-SNN into a native plan and runs whole forward
// passes on the libuv thread pool (an N-API AsyncWorker), so a service's event loop keeps answering
// while a batch runs. No autograd state and no membrane history are kept: memory is the forward's
// working set only.
import type { PlanStep } from '../../types/native';
import { buildKernel, FractionalMethod } from '../fractional/kernel';
import { native } from '../native';
import { AvgPool2d, Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d, Sequential } from '../nn/layers';
import { Module } from '../nn/module';
import { BaseNeuron } from '../snn/neurons';
import { loadModel } from '../snn/model-io';
import { SNNWrapper } from '../snn/wrapper';
import { Device, Tensor } from '../tensor';

/** Options of InferenceRunner. */
export interface RunnerOptions {
  /** Discretisation (default 'l1', or 'euler' for integer-order models). */
  method?: FractionalMethod;
  /** History window (default: the full history). */
  memory?: number;
  /** Time step h (default 1). */
  h?: number;
  /** Average the model's output over time (the usual classification readout; default true). */
  meanOverTime?: boolean;
}

const pair = (v: unknown, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : (v as [number, number]));

/**
 * A trained SNNWrapper compiled to a native plan: predict() runs the whole forward pass on the libuv
 * thread pool, so the event loop stays free (for servers).
 */
export class InferenceRunner {
  /** Neuron kernels by (T, orders, coefficients): rebuilt only when the model's alphas change. */
  private readonly kernels = new Map<string, Float64Array>();
  private disposed = false;
  /** The discretisation in use. */
  readonly method: FractionalMethod;

  /**
   * @param net The trained model (put into eval mode).
   * @param options Method and history window of the forward pass.
   */
  constructor(readonly net: SNNWrapper, readonly options: RunnerOptions = {}) {
    if (!(net.model instanceof Sequential)) throw new Error('InferenceRunner: the wrapped model must be an nn.Sequential of built-in layers');
    this.method = options.method ?? (net.integrator === 'odeint' ? 'euler' : 'l1');
  }

  /** Loads a self-describing checkpoint (saveModel) and prepares a runner for it. */
  static fromCheckpoint(path: string, opts: RunnerOptions & { device?: Device } = {}): InferenceRunner {
    const { net, spec } = loadModel(path, { device: opts.device });
    net.eval();
    return new InferenceRunner(net, { method: spec.input?.method, memory: spec.input?.memory, h: spec.input?.h, ...opts });
  }

  /**
   * The plan for inputs of T steps, read from the model's current state on every call: the layers'
   * current parameter tensors (so loadStateDict, to() and optimizer steps are followed) and the
   * current orders (kernels are cached by value, so an unchanged model rebuilds none).
   */
  plan(T: number): PlanStep[] {
    if (this.disposed) throw new Error('InferenceRunner: this runner was disposed; create a new InferenceRunner for the model');
    const h = this.options.h ?? 1;
    const alphas = this.net.getPerLayerAlpha(), coefs = this.net.getPerLayerCoefficient();
    let neuronIndex = 0;
    const steps: PlanStep[] = [];
    for (const m of (this.net.model as Sequential).children()) steps.push(...this.stepsFor(m, T, h, () => neuronIndex++, alphas, coefs));
    if (this.options.meanOverTime ?? true) steps.push({ kind: 'meanOverTime' });
    return steps;
  }

  private kernel(T: number, h: number, alpha: Tensor, coef: Tensor): Float64Array {
    const a = Float64Array.from(alpha.toFloat32Array()), c = Float64Array.from(coef.toFloat32Array());
    const key = `${T}|${h}|${Array.from(a).join(',')}|${Array.from(c).join(',')}`;
    let K = this.kernels.get(key);
    if (!K) {
      K = buildKernel(this.method, a, c, h, T).K;
      if (this.kernels.size >= 64) this.kernels.clear();
      this.kernels.set(key, K);
    }
    return K;
  }

  /** Drops the runner's caches; predict() afterwards is an error. The model itself is not disposed. */
  dispose(): void {
    this.kernels.clear();
    this.disposed = true;
  }

  private stepsFor(m: Module, T: number, h: number, nextNeuron: () => number, alphas: Tensor[], coefs: Tensor[]): PlanStep[] {
    if (m instanceof Linear) return [{ kind: 'linear', weight: m.weight.handle, bias: m.bias ? m.bias.handle : null }];
    if (m instanceof BaseNeuron) {
      const i = nextNeuron();
      const K = this.kernel(T, h, alphas[i], coefs[i]);
      return [{ kind: 'fractional', K, params: { kind: m.kind, tau: m.effectiveTau(), threshold: m.threshold, surrogate: m.surrogate, scale: m.surrogateScale, memory: Math.min(this.options.memory ?? T + 1, T + 1) } }];
    }
    if (m instanceof Flatten) {
      if (m.endDim !== -1) throw new Error('InferenceRunner: Flatten with an endDim is not supported in plans');
      return [{ kind: 'flatten', startDim: m.startDim }];
    }
    if (m instanceof Conv2d) {
      const [sh, sw] = pair(m.options.stride, 1), [ph, pw] = pair(m.options.padding, 0), [dh, dw] = pair(m.options.dilation, 1);
      return [{ kind: 'conv2d', weight: m.weight.handle, bias: m.bias ? m.bias.handle : null, args: { strideH: sh, strideW: sw, padH: ph, padW: pw, dilH: dh, dilW: dw, groups: m.options.groups ?? 1 } }];
    }
    if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
      const [kh, kw] = pair(m.kernelSize, 2), [sh, sw] = pair(m.options.stride ?? [kh, kw], 1), [ph, pw] = pair(m.options.padding, 0);
      return [{ kind: m instanceof MaxPool2d ? 'maxpool2d' : 'avgpool2d', args: { kH: kh, kW: kw, strideH: sh, strideW: sw, padH: ph, padW: pw, ceilMode: !!m.options.ceilMode, countIncludePad: m.options.countIncludePad ?? true } }];
    }
    if (m instanceof Identity || m instanceof Dropout) return [];
    throw new Error(`InferenceRunner: layer ${m.constructor.name} is not supported in inference plans (supported: Linear, Conv2d, pools, Flatten, Dropout, Identity, LIF/IF neurons)`);
  }

  private checkInput(x: Tensor): void {
    if (!x || !x.__isTensor || x.ndim < 2 || x.shape[0] < 1)
      throw new Error('InferenceRunner: input must be a time-major Tensor [T, B, ...] with T >= 1');
  }

  /** Runs the forward pass off the JavaScript thread; resolves with the output ([B, classes] by default). */
  async predict(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    return new Tensor(await native.runPlanAsync(this.plan(x.shape[0]), x.handle));
  }

  /** The same forward pass, on the calling thread. */
  predictSync(x: Tensor): Tensor {
    this.checkInput(x);
    return new Tensor(native.runPlan(this.plan(x.shape[0]), x.handle));
  }
}
