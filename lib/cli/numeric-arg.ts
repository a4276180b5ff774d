// The one value check commander lacks: a number flag (integer or real, with a lower bound).
// Choices, defaults, presets and booleans are commander's own (Option.choices/default/preset).
import { InvalidArgumentError } from 'commander';

/** What a numeric flag accepts. */
export interface NumericRule {
  /** Whole numbers only. */
  integer?: boolean;
  /** Smallest accepted value (inclusive). */
  min?: number;
  /** Values must be > 0 (for rates, scales, time constants). */
  positive?: boolean;
}

/**
 * A commander argument parser for `--name <n>`: the number, or InvalidArgumentError naming the rule
 * (commander prints "option '--name <n>' argument 'x' is invalid. <reason>").
 */
export function numericArg(name: string, rule: NumericRule): (v: string) => number {
  const what = rule.integer ? `an integer >= ${rule.min ?? 0}` : rule.positive ? 'a positive number (e.g. 0.001)' : `a number >= ${rule.min ?? 0}`;
  return (v) => {
    const s = v.trim();
    const n = Number(s);
    const ok = s !== '' && Number.isFinite(n) && (!rule.integer || (/^[+-]?\d+$/.test(s) && Number.isSafeInteger(n))) &&
      (rule.min === undefined || n >= rule.min) && (!rule.positive || n > 0);
    if (!ok) throw new InvalidArgumentError(`${name} must be ${what}.`);
    return n;
  };
}
