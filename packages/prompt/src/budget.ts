/**
 * DePT's parameter budget: a decomposed prompt has `m·d + r·(s + d)` trainable parameters, against `n·d` for a
 * vanilla prompt of n tokens. With d 768, s 256: (100, 0), (80, 15), (60, 30), (40, 45), (20, 60), (0, 75) all give
 * 76,800.
 */
import { DeptError } from '@dept/core';

/**
 * Trainable parameters of a decomposed prompt.
 *
 * @example
 * promptParameterCount({ m: 60, r: 30, s: 256, d: 768 }); // 76800
 */
export function promptParameterCount(shape: { m: number; r: number; s: number; d: number }): number {
  return shape.m * shape.d + shape.r * (shape.s + shape.d);
}

/**
 * The rank that keeps a decomposed prompt of length `m` within `budget` parameters (rounded down), and whether it
 * is exact.
 *
 * @example
 * rankForBudget({ budget: 76800, m: 60, s: 256, d: 768 }); // { r: 30, exact: true, parameters: 76800 }
 */
export function rankForBudget(args: { budget: number; m: number; s: number; d: number }): { r: number; exact: boolean; parameters: number } {
  const { budget, m, s, d } = args;
  const left = budget - m * d;
  if (left < 0) throw new DeptError(`a prompt of m = ${m} tokens already has ${m * d} parameters, over the budget of ${budget}`);
  const r = Math.floor(left / (s + d));
  const parameters = promptParameterCount({ m, r, s, d });
  return { r, exact: parameters === budget, parameters };
}

/**
 * Every `(m, r)` pair with exactly `budget` parameters (m from `budget/d` down to 0).
 *
 * @example
 * budgetPairs({ budget: 100 * 768, s: 256, d: 768 }).map(p => [p.m, p.r]); // [[100,0],[80,15],[60,30],[40,45],[20,60],[0,75]]
 */
export function budgetPairs(args: { budget: number; s: number; d: number }): { m: number; r: number }[] {
  const out: { m: number; r: number }[] = [];
  for (let m = Math.floor(args.budget / args.d); m >= 0; m--) {
    const { r, exact } = rankForBudget({ budget: args.budget, m, s: args.s, d: args.d });
    if (exact) out.push({ m, r });
  }
  return out;
}
