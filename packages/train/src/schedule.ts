/**
 * HF's `get_linear_schedule_with_warmup`: the multiplier rises linearly from 0 to 1 over `warmup` steps, then
 * falls linearly to 0 at `maxSteps`. As in HF Trainer, optimiser update number t (1-based) uses the multiplier at
 * t − 1, so the very first update has learning rate 0 when there is a warm-up.
 */

/**
 * The schedule multiplier at scheduler step `step` (0-based).
 *
 * @example
 * linearWarmupDecay(250, 500, 30000); // 0.5
 * linearWarmupDecay(15250, 500, 30000); // 0.5
 */
export function linearWarmupDecay(step: number, warmup: number, maxSteps: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (maxSteps - step) / Math.max(1, maxSteps - warmup));
}
