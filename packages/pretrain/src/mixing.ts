/**
 * The task mixture of multitask source training (T5, Raffel et al. 2020, §3.5.2):
 *
 * - examples-proportional mixing with a cap K: rate_t ∝ min(n_t, K) (no cap: rate_t ∝ n_t);
 * - temperature mixing: rate_t ∝ min(n_t, K)^(1/T) (T = 1 is proportional, T → ∞ is equal mixing).
 *
 * Rates sum to 1. A batch is drawn with replacement: each task's rate is spread evenly over its examples.
 */
import { DeptError } from '@dept/core';

/** How tasks are mixed. */
export type MixingKind = 'proportional' | 'temperature';

/** Options of {@link mixingRates}. */
export interface MixingOptions {
  kind: MixingKind;
  /** K: counts above it count as K (default: no cap). */
  cap?: number | null;
  /** T of temperature mixing (default 1; must be > 0). Ignored by `proportional`. */
  temperature?: number;
}

function checkOptions(opts: MixingOptions, where: string): { cap: number; temperature: number } {
  if (opts.kind !== 'proportional' && opts.kind !== 'temperature') {
    throw new DeptError(`${where}: mixing kind is ${JSON.stringify(opts.kind)}, expected proportional or temperature`);
  }
  const cap = opts.cap ?? Infinity;
  if (!(cap > 0) || Number.isNaN(cap)) throw new DeptError(`${where}: mixing cap is ${String(opts.cap)}, expected a number > 0 (or none)`);
  const temperature = opts.kind === 'temperature' ? (opts.temperature ?? 1) : 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new DeptError(`${where}: mixing temperature is ${String(opts.temperature)}, expected a finite number > 0`);
  }
  return { cap, temperature };
}

/**
 * Sampling rate of each task from its number of training examples; the rates sum to 1 and keep the order of
 * `counts`.
 *
 * @example
 * mixingRates({ mnli: 300, sst2: 100 }, { kind: 'proportional' });             // { mnli: 0.75, sst2: 0.25 }
 * mixingRates({ mnli: 300, sst2: 100 }, { kind: 'proportional', cap: 200 });   // { mnli: 2/3, sst2: 1/3 }
 * mixingRates({ mnli: 400, sst2: 100 }, { kind: 'temperature', temperature: 2 }); // { mnli: 2/3, sst2: 1/3 }
 */
export function mixingRates(counts: Readonly<Record<string, number>>, opts: MixingOptions, where = 'mixing'): Record<string, number> {
  const { cap, temperature } = checkOptions(opts, where);
  const names = Object.keys(counts);
  if (names.length === 0) throw new DeptError(`${where}: no source tasks to mix; expected at least one`);
  const raw: number[] = names.map((name) => {
    const n = counts[name] as number;
    if (!Number.isInteger(n) || n <= 0) throw new DeptError(`${where}: task "${name}" has ${n} training examples, expected a positive integer`);
    return Math.min(n, cap) ** (1 / temperature);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {};
  names.forEach((name, i) => (out[name] = (raw[i] as number) / total));
  return out;
}

/**
 * One sampling weight per training example: the example's task rate divided by the task's example count, so
 * that a batch drawn with these weights picks task t with probability rate_t (and its examples uniformly).
 *
 * @param tasks the task of each training example, in training order.
 * @example
 * exampleWeights(['a', 'a', 'b'], { a: 0.5, b: 0.5 }); // [0.25, 0.25, 0.5]
 */
export function exampleWeights(tasks: readonly string[], rates: Readonly<Record<string, number>>): number[] {
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t, (counts.get(t) ?? 0) + 1);
  return tasks.map((t) => {
    const rate = rates[t];
    if (rate === undefined) throw new DeptError(`mixing: training example of task "${t}" has no rate; the rates name ${Object.keys(rates).join(', ')}`);
    return rate / (counts.get(t) as number);
  });
}
