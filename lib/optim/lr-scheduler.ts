// Learning-rate schedulers with PyTorch's semantics (torch.optim.lr_scheduler): each parameter group keeps
// its own base lr (group.initialLr, set on first use, as PyTorch's 'initial_lr'); the constructor applies
// epoch 0; call step() once after each epoch (after optimizer.step()); getLastLr() is the lr per group.
import { Optimizer, OptimizerOptions, ParamGroup } from './optimizer';

/** A scheduler's serialisable state: its counters, the base and last lr per group, and its own options. */
export interface LRSchedulerStateDict {
  /** Epochs stepped (0 after the constructor). */
  lastEpoch: number;
  /** Calls of step(), the constructor's included. */
  stepCount: number;
  /** Initial lr of each group. */
  baseLrs: number[];
  /** Last computed lr of each group. */
  lastLr: number[];
  [option: string]: unknown;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;

function checkLastEpoch(name: string, lastEpoch: unknown): number {
  if (typeof lastEpoch !== 'number' || !Number.isInteger(lastEpoch) || lastEpoch < -1)
    throw new Error(`${name}: lastEpoch must be an integer >= -1 (-1 starts a new schedule), got ${String(lastEpoch)}`);
  return lastEpoch;
}

function checkOptions(name: string, options: unknown, known: string[]): Record<string, unknown> {
  if (!isPlainObject(options)) throw new TypeError(`${name}: options must be an object { ${known.join(', ')} }`);
  for (const k of Object.keys(options))
    if (!known.includes(k)) throw new Error(`${name}: unknown option '${k}'; the options are ${known.join(', ')} (camelCase)`);
  return options;
}

/** Base class of the learning-rate schedulers (PyTorch semantics): call step() once per epoch, after optimizer.step(). */
export abstract class LRScheduler {
  /** The optimizer whose groups' lr this scheduler sets. */
  readonly optimizer: Optimizer<OptimizerOptions>;
  /** The index of the last epoch (-1 before the constructor's initial step, 0 after it). */
  lastEpoch: number;
  /** The lr each group started from (its initialLr). */
  baseLrs: number[];
  /** The lr of each group after the last step. */
  protected lastLr: number[] = [];
  /** How many times step() ran, the constructor's initial step included. */
  protected stepCount = 0;
  /** Class name, for messages. */
  protected readonly name: string;

  /** Subclasses call initialStep() at the end of their constructor, once their own options are set. */
  protected constructor(optimizer: Optimizer<OptimizerOptions>, lastEpoch: number, name: string) {
    this.name = name;
    if (!(optimizer instanceof Optimizer))
      throw new TypeError(`${name}: the first argument must be an optimizer (SGD, Adam, AdamW, ...), got ${optimizer === null ? 'null' : typeof optimizer}`);
    this.optimizer = optimizer;
    this.lastEpoch = checkLastEpoch(name, lastEpoch);
    const groups = optimizer.paramGroups as ParamGroup[];
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (typeof g.initialLr !== 'number')
          throw new Error(`${name}: lastEpoch is ${lastEpoch} but paramGroups[${i}] has no initialLr; when resuming, load the optimizer's stateDict (which holds initialLr) first, or start with lastEpoch -1`);
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
  }

  /** The lr of each group at epoch this.lastEpoch (called by step() after it advanced lastEpoch). */
  protected abstract computeLr(): number[];

  /** Applies epoch 0; subclasses call it at the end of their constructor. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch and sets each group's lr. Call it after optimizer.step(), once per epoch. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length)
      throw new Error(`${this.name}.step: the optimizer has ${groups.length} parameter group(s) but the scheduler was made for ${this.baseLrs.length}; create the scheduler after adding every group`);
    const lrs = this.computeLr();
    groups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = lrs.slice();
  }

  /** The lr of each group, as last set by this scheduler. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The scheduler's own options, for the state dict. */
  protected abstract options(): Record<string, number>;
  /** Checks and applies options from a state dict. */
  protected abstract setOptions(o: Record<string, unknown>): void;

  /** A serialisable snapshot of the counters and options (restore with loadStateDict()). */
  stateDict(): LRSchedulerStateDict {
    return { ...this.options(), lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: this.baseLrs.slice(), lastLr: this.lastLr.slice() };
  }

  /** Restores a stateDict() of the same kind of scheduler over the same number of groups (the optimizer's lr comes from its own state dict). */
  loadStateDict(sd: LRSchedulerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (!isPlainObject(sd)) throw new TypeError(`${where}: expected an object as returned by stateDict()`);
    const known = ['lastEpoch', 'stepCount', 'baseLrs', 'lastLr', ...Object.keys(this.options())];
    for (const k of Object.keys(sd))
      if (!known.includes(k)) throw new Error(`${where}: unknown entry '${k}'; a ${this.name} state holds ${known.join(', ')} (was it saved by another scheduler?)`);
    const n = this.optimizer.paramGroups.length;
    for (const key of ['baseLrs', 'lastLr'] as const) {
      const a = sd[key] as unknown;
      if (!Array.isArray(a) || !a.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new Error(`${where}: '${key}' must be an array of numbers`);
      if (a.length !== n)
        throw new Error(`${where}: '${key}' has ${a.length} entries but the optimizer has ${n} parameter group(s); load it into a scheduler over the same groups`);
    }
    const lastEpoch = checkLastEpoch(where, sd.lastEpoch);
    if (typeof sd.stepCount !== 'number' || !Number.isInteger(sd.stepCount) || sd.stepCount < 0)
      throw new Error(`${where}: stepCount must be an integer >= 0, got ${String(sd.stepCount)}`);
    const opts: Record<string, unknown> = {};
    for (const k of Object.keys(this.options())) {
      if (!(k in sd)) throw new Error(`${where}: the state dict lacks '${k}'`);
      opts[k] = sd[k];
    }
    this.setOptions(opts);  // checks before assigning
    this.lastEpoch = lastEpoch;
    this.stepCount = sd.stepCount;
    this.baseLrs = sd.baseLrs.slice();
    this.lastLr = sd.lastLr.slice();
  }
}

/** Options of StepLR. */
export interface StepLROptions {
  /** Decay the lr every stepSize epochs (a positive integer). */
  stepSize: number;
  /** The factor of each decay (default 0.1). */
  gamma?: number;
  /** The last epoch index when resuming (default -1: a new schedule). */
  lastEpoch?: number;
}

/**
 * Multiplies each group's lr by gamma every stepSize epochs: lr = baseLr * gamma^floor(epoch / stepSize).
 * As PyTorch's (chainable form), it scales the group's current lr at each boundary, so it composes with
 * manual lr changes.
 */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  stepSize!: number;
  /** Factor applied at each decay. */
  gamma!: number;

  constructor(optimizer: Optimizer<OptimizerOptions>, options: StepLROptions) {
    const o = checkOptions('StepLR', options, ['stepSize', 'gamma', 'lastEpoch']);
    super(optimizer, (o.lastEpoch as number | undefined) ?? -1, 'StepLR');
    this.setOptions({ stepSize: o.stepSize, gamma: o.gamma ?? 0.1 });
    this.initialStep();
  }

  protected options(): Record<string, number> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected setOptions(o: Record<string, unknown>): void {
    if (typeof o.stepSize !== 'number' || !Number.isInteger(o.stepSize) || o.stepSize < 1)
      throw new Error(`${this.name}: stepSize must be a positive integer (epochs between decays), got ${String(o.stepSize)}`);
    if (typeof o.gamma !== 'number' || !Number.isFinite(o.gamma) || o.gamma < 0)
      throw new Error(`${this.name}: gamma must be a finite number >= 0 (the decay factor), got ${String(o.gamma)}`);
    this.stepSize = o.stepSize;
    this.gamma = o.gamma;
  }

  protected computeLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

/** Options of CosineAnnealingLR. */
export interface CosineAnnealingLROptions {
  /** The number of epochs of a half cosine period (a positive integer). */
  tMax: number;
  /** The minimum lr (default 0). */
  etaMin?: number;
  /** The last epoch index when resuming (default -1: a new schedule). */
  lastEpoch?: number;
}

/**
 * Cosine annealing from each group's base lr down to etaMin over tMax epochs (and back up after, periodically),
 * in closed form: lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2. It equals PyTorch's
 * recursive form when nothing else changes the lr; a manual change of group.lr is overwritten at the next step()
 * (except that epoch 0 keeps the groups' lr, as PyTorch).
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Epochs of the half cosine. */
  tMax!: number;
  /** Lowest learning rate. */
  etaMin!: number;

  constructor(optimizer: Optimizer<OptimizerOptions>, options: CosineAnnealingLROptions) {
    const o = checkOptions('CosineAnnealingLR', options, ['tMax', 'etaMin', 'lastEpoch']);
    super(optimizer, (o.lastEpoch as number | undefined) ?? -1, 'CosineAnnealingLR');
    this.setOptions({ tMax: o.tMax, etaMin: o.etaMin ?? 0 });
    this.initialStep();
  }

  protected options(): Record<string, number> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected setOptions(o: Record<string, unknown>): void {
    if (typeof o.tMax !== 'number' || !Number.isInteger(o.tMax) || o.tMax < 1)
      throw new Error(`${this.name}: tMax must be a positive integer (epochs from the base lr down to etaMin), got ${String(o.tMax)}`);
    if (typeof o.etaMin !== 'number' || !Number.isFinite(o.etaMin) || o.etaMin < 0)
      throw new Error(`${this.name}: etaMin must be a finite number >= 0 (the minimum lr), got ${String(o.etaMin)}`);
    this.tMax = o.tMax;
    this.etaMin = o.etaMin;
  }

  protected computeLr(): number[] {
    // Epoch 0 (the constructor's step) keeps the groups' lr, as PyTorch: a scheduler made after loading an
    // optimizer's state dict does not overwrite the restored lr before its own loadStateDict.
    if (this.lastEpoch === 0) return this.optimizer.paramGroups.map((g) => g.lr);
    const c = (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax)) / 2;
    return this.baseLrs.map((base) => this.etaMin + (base - this.etaMin) * c);
  }
}
