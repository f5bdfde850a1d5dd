/**
 * A full wasm heap (`WasmHeapFullError` from @dept/tensor) names the setting that fixes it: which step or
 * evaluation, how many rows of how many input tokens did not fit, and a value of `micro_batch_size` or
 * `eval_batch_size` that halves them.
 */
import { DeptError } from '@dept/core';
import { isWasmHeapFullError } from '@dept/tensor';

/** Where a batch ran and which setting bounds it. */
export interface HeapContext {
  /** e.g. `step 12`, `evaluation`. */
  where: string;
  /** e.g. `micro-batch`, `batch`. */
  what: string;
  rows: number;
  /** Input tokens per row (before the prompt). */
  width: number;
  setting: 'micro_batch_size' | 'eval_batch_size';
  /** The setting's value (0: the whole batch). */
  value: number;
}

function advise(error: unknown, c: HeapContext): unknown {
  if (!isWasmHeapFullError(error)) return error;
  const advice = c.rows > 1
    ? `set ${c.setting} to ${Math.floor(c.rows / 2)} or less (it is ${c.value === 0 ? '0, the whole batch' : c.value})`
    : 'one row already: use a shorter max_length or a backend without the 4 GiB limit (--backend node)';
  return new DeptError(`${c.where}: a ${c.what} of ${c.rows} rows × ${c.width} input tokens does not fit in the wasm heap; ${advice} (${error.message})`, { cause: error });
}

/**
 * Runs `pass` (sync or async); a full wasm heap becomes a {@link DeptError} naming `context`'s batch and setting.
 *
 * @example
 * const out = withHeapAdvice({ where: 'step 3', what: 'micro-batch', rows: 8, width: 120, setting: 'micro_batch_size', value: 0 }, () => forward());
 */
export function withHeapAdvice<T>(context: HeapContext, pass: () => T): T {
  let result: T;
  try {
    result = pass();
  } catch (error) {
    throw advise(error, context);
  }
  if (result instanceof Promise) return result.catch((error: unknown) => { throw advise(error, context); }) as T;
  return result;
}
