/**
 * Host tensors: plain float32 arrays with a shape, used wherever tensors cross a file or package boundary
 * (safetensors, PyTorch files, banks) without needing a tfjs backend.
 */
export interface HostTensor {
  /** Row-major (C order) values. */
  data: Float32Array;
  /** Dimensions; `[]` is a scalar. */
  shape: number[];
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Builds a host tensor, checking that the data length matches the shape.
 *
 * @example
 * const t = hostTensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 */
export function hostTensor(data: Float32Array, shape: number[]): HostTensor {
  if (data.length !== shapeSize(shape)) {
    throw new Error(`hostTensor: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { data, shape: [...shape] };
}

/** True when every value is finite (no NaN, no ±Infinity). */
export function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}
