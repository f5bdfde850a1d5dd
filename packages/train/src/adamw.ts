/**
 * HF `transformers.AdamW` (betas 0.9/0.999, eps 1e-6, bias correction, decoupled weight decay applied after the
 * Adam update with the group's learning rate), on host float32 arrays. DePT's trainable state is small (tens of
 * thousands of values), so the update runs on the host: it is exact, backend-independent, and its state is
 * trivially saved for an exact resume. Two parameter groups: P at `lr`, A and B at `lora_lr`.
 */

/** One trainable parameter's optimiser state. */
export interface AdamWSlot {
  /** First moment (exp_avg). */
  m: Float32Array;
  /** Second moment (exp_avg_sq). */
  v: Float32Array;
}

/** Hyper-parameters of AdamW. */
export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const HF_ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0 };

/**
 * One AdamW update of `param` in place with gradient `grad`, at update number `t` (1-based) and learning rate `lr`.
 *
 * @example
 * const slot = { m: new Float32Array(n), v: new Float32Array(n) };
 * adamwUpdate(param, grad, slot, 1, 0.3, HF_ADAMW_DEFAULTS);
 */
export function adamwUpdate(param: Float32Array, grad: Float32Array, slot: AdamWSlot, t: number, lr: number, options: AdamWOptions): void {
  const { beta1, beta2, eps, weightDecay } = options;
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  const stepSize = (lr * Math.sqrt(bc2)) / bc1;
  const { m, v } = slot;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] as number;
    const mi = Math.fround(beta1 * (m[i] as number) + (1 - beta1) * g);
    const vi = Math.fround(beta2 * (v[i] as number) + (1 - beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    let p = (param[i] as number) - (stepSize * mi) / (Math.sqrt(vi) + eps);
    if (weightDecay > 0) p -= lr * weightDecay * p;
    param[i] = p;
  }
}

/**
 * torch's `clip_grad_norm_(max_norm)` over all gradients together: returns the total L2 norm before clipping and
 * scales the gradients in place by `max_norm / (norm + 1e-6)` when that is below 1.
 *
 * @example
 * const norm = clipGradNorm([gP, gA, gB], 1.0);
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += (g[i] as number) * (g[i] as number);
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * coef;
  return norm;
}
