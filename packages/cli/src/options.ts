/** Parsing of command-line option values, with errors that name the flag and what was expected. */
import { DeptError } from '@dept/core';

/**
 * An integer flag value.
 *
 * @example
 * intOption('16', '--k', { min: 1 }); // 16
 */
export function intOption(value: string, flag: string, range: { min?: number; max?: number } = {}): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new DeptError(`${flag} is "${value}", expected an integer`);
  if (range.min !== undefined && n < range.min) throw new DeptError(`${flag} is ${n}, expected at least ${range.min}`);
  if (range.max !== undefined && n > range.max) throw new DeptError(`${flag} is ${n}, expected at most ${range.max}`);
  return n;
}

/** A number flag value (finite; optionally strictly positive). */
export function numberOption(value: string, flag: string, opts: { positive?: boolean; min?: number } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new DeptError(`${flag} is "${value}", expected a number`);
  if (opts.positive && !(n > 0)) throw new DeptError(`${flag} is ${n}, expected a number > 0`);
  if (opts.min !== undefined && n < opts.min) throw new DeptError(`${flag} is ${n}, expected at least ${opts.min}`);
  return n;
}

/** A comma-separated list of integers (`4,16,32`). */
export function intListOption(value: string, flag: string, range: { min?: number } = {}): number[] {
  return value.split(',').map((v) => intOption(v.trim(), flag, range));
}
