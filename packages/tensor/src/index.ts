/**
 * @dept/tensor: the only package that imports tfjs.
 *
 * 1. Errors: `DeptError` for user-facing problems.
 * 2. Host tensors and randomness: `HostTensor`, `Rng`.
 */
export { DeptError, isDeptError } from './errors.ts';
export { type HostTensor, hostTensor, shapeSize, allFinite } from './host.ts';
export { Rng, type RngState } from './rng.ts';
