/**
 * Kernels that a backend lacks or runs badly.
 * - The wasm backend has no `UnsortedSegmentSum`, which the gradient of `gather` needs; we register a small
 *   JavaScript one. (The model keeps frozen gathers out of the differentiated path, so this only matters for user
 *   code that differentiates a gather.)
 * - tfjs-backend-wasm 4.22's `Slice` (and `SplitV`/`Unpack`, built on it) reads its input with `readSync`, which
 *   copies the whole input out of the wasm heap for every slice: splitting a tensor into n parts costs n full
 *   copies. Our replacements copy straight from a heap view, so a split costs one pass over the data (about 10× faster on
 *   a `[16, 316, 316]` split). The attention code no longer splits heads at all (see `matMulEach` below).
 * - tfjs-backend-wasm's `Identity` (behind `tf.clone`) copies the whole tensor. The engine clones every tensor a
 *   gradient saves (`save([...])` in a custom gradient, and each kernel's saved inputs), so a training step copied
 *   every attention probability and dropout mask once more. Tensors are immutable and the backend counts
 *   references (its `Reshape` shares data the same way), so our `Identity` shares the data, as the CPU backend's does.
 * - tfjs-backend-wasm runs a batched or transposed matMul in a plain loop: `matMulEach` runs XNNPACK's 2-D product
 *   per batch entry on views of the operands, in one kernel call. `float32TensorFilled` writes values made in
 *   JavaScript straight into a heap buffer.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's module that {@link matMulEach} uses (the same calls tfjs's own kernels make). */
interface WasmModule {
  cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
}

interface WasmLikeBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  incRef(dataId: object): void;
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type HeapArray = Float32Array | Int32Array | Uint8Array;

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = (out[i + 1] as number) * (shape[i + 1] as number);
  return out;
}

/** Copies the box `begin`/`size` of `src` (shape `shape`) into `dst`, row by contiguous innermost run. */
function copyBox(src: HeapArray, shape: readonly number[], begin: readonly number[], size: readonly number[], dst: HeapArray): void {
  const rank = shape.length;
  const st = strides(shape);
  // Collapse trailing dimensions that are copied whole into one contiguous run.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === shape[inner]) inner--;
  const run = size.slice(inner).reduce((a, b) => a * b, 1);
  const outer = size.slice(0, inner);
  const count = outer.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(inner).fill(0);
  let out = 0;
  for (let c = 0; c < count; c++) {
    let offset = (begin[inner] as number) * (st[inner] as number);
    for (let d = 0; d < inner; d++) offset += ((begin[d] as number) + (idx[d] as number)) * (st[d] as number);
    dst.set(src.subarray(offset, offset + run), out);
    out += run;
    for (let d = inner - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (outer[d] as number)) break;
      idx[d] = 0;
    }
  }
}

/** One slice, reading the input through a heap view taken after the output is allocated (growth-safe). */
function heapSlice(backend: WasmLikeBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (size.some((s) => s === 0)) return out;
  copyBox(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

function registerHeapSlices(): void {
  const override = (name: string, kernelFunc: tf.KernelFunc) => {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  };
  override('Slice', ({ inputs, backend, attrs }) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    if (x.dtype === 'string') throw new Error('Slice of string tensors is not supported on wasm');
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, (attrs as unknown as { begin: number[] }).begin, (attrs as unknown as { size: number[] }).size);
    return heapSlice(backend as unknown as WasmLikeBackend, x, begin, size);
  });
  override('SplitV', ({ inputs, backend, attrs }) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number[] | number; axis: number };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[ax] = s;
      const out = heapSlice(backend as unknown as WasmLikeBackend, x, [...begin], size);
      begin[ax] = (begin[ax] as number) + s;
      return out;
    });
  });
  override('Unpack', ({ inputs, backend, attrs }) => {
    const value = (inputs as { value: tf.TensorInfo }).value;
    let axis = (attrs as unknown as { axis: number }).axis;
    if (axis < 0) axis += value.shape.length;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const begin = new Array<number>(value.shape.length).fill(0);
    const size = [...value.shape];
    size[axis] = 1;
    return Array.from({ length: value.shape[axis] as number }, (_, i) => {
      begin[axis] = i;
      const { dataId, dtype } = heapSlice(backend as unknown as WasmLikeBackend, value, [...begin], size);
      return { dataId, dtype, shape: outShape };
    });
  });
}

function registerSharedIdentity(): void {
  if (tf.getKernel('Identity', 'wasm')) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      (backend as unknown as WasmLikeBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    },
  });
}

/**
 * A float32 tensor of `shape` whose values `write` fills in place: on the wasm backend straight into a buffer on the
 * wasm heap (no JavaScript array, no copy into the heap afterwards), elsewhere into a fresh array. For values made
 * in JavaScript in bulk, such as dropout masks (tens of millions of values a training step).
 *
 * @example
 * const ramp = float32TensorFilled([2, 3], (v) => v.forEach((_, i) => { v[i] = i; }));
 */
export function float32TensorFilled(shape: number[], write: (values: Float32Array) => void): tf.Tensor {
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as unknown as WasmLikeBackend;
    const info = backend.makeOutput(shape, 'float32');
    write(backend.typedArrayFromHeap(info) as Float32Array);
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  write(values);
  return tf.tensor(values, shape, 'float32');
}

const MATMUL_EACH = 'DeptMatMulEach';
const wasmMatMuls = new WeakMap<object, (...args: unknown[]) => void>();

/**
 * `[B, n, k] × [B, k, m] → [B, n, m]` on wasm: XNNPACK's 2-D product (the fast path, on the thread pool) for each
 * entry, run on views of the inputs and the output. Each view is registered with the backend's C++ side at an offset
 * inside the tensor's buffer, used for one product and unregistered (which also frees the XNNPACK operator cached
 * on it), so no entry is copied out of its batch and no result is copied back in. tfjs's own batched matMul runs a
 * plain loop instead (about 15× slower); splitting into 2-D tensors costs a copy of every entry, a kernel call per
 * entry and a concat.
 */
function matMulEachWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: object }): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const wasm = backend as unknown as WasmLikeBackend;
  const [batch, n, k] = a.shape as [number, number, number];
  const m = b.shape[2] as number;
  const out = wasm.makeOutput([batch, n, m], 'float32');
  if (batch * n * m === 0) return out;
  if (k === 0) {
    wasm.typedArrayFromHeap(out).fill(0);
    return out;
  }
  let product = wasmMatMuls.get(backend);
  if (!product) {
    product = wasm.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    wasmMatMuls.set(backend, product);
  }
  const offset = (t: tf.TensorInfo) => (wasm.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
  const [aBase, bBase, outBase] = [offset(a), offset(b), offset(out)];
  const shapeBytes = (rows: number, cols: number) => new Uint8Array(new Int32Array([1, rows, cols]).buffer);
  const aShape = shapeBytes(n, k);
  const bShape = shapeBytes(k, m);
  const { tfjs } = wasm.wasm;
  for (let i = 0; i < batch; i++) {
    const ids = [wasm.dataIdNextNumber++, wasm.dataIdNextNumber++, wasm.dataIdNextNumber++] as const;
    tfjs.registerTensor(ids[0], n * k, aBase + 4 * i * n * k);
    tfjs.registerTensor(ids[1], k * m, bBase + 4 * i * k * m);
    tfjs.registerTensor(ids[2], n * m, outBase + 4 * i * n * m);
    try {
      product(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2]);
    } finally {
      ids.forEach((id) => tfjs.disposeData(id));
    }
  }
  return out;
}

/**
 * Independent 2-D products for every batch entry, `a [B, n, k] × b [B, k, m] → [B, n, m]` (float32), on the
 * fastest path the backend has: on wasm, XNNPACK's product per entry on views (see the kernel above); elsewhere
 * `tf.matMul`. Differentiable (the gradient uses `tf.matMul`; the attention code calls this inside its own
 * custom gradient).
 *
 * @example
 * const scores = matMulEach(queries, keysTransposed); // [b·h, q, d_kv] × [b·h, d_kv, k] → [b·h, q, k]
 */
export function matMulEach(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`matMulEach: shapes [${a.shape}] and [${b.shape}] do not multiply entry by entry`);
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('matMulEach: float32 tensors only');
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(MATMUL_EACH, 'wasm')) return tf.matMul(a, b);
  return tf.engine().runKernel(MATMUL_EACH, { a, b } as unknown as tf.NamedTensorMap) as tf.Tensor3D;
}

function registerMatMulEach(): void {
  if (tf.getKernel(MATMUL_EACH, 'wasm')) return;
  tf.registerKernel({ kernelName: MATMUL_EACH, backendName: 'wasm', kernelFunc: matMulEachWasm as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: MATMUL_EACH,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [a, b] = saved as [tf.Tensor3D, tf.Tensor3D];
      const g = dy as tf.Tensor3D;
      return { a: () => tf.matMul(g, b, false, true), b: () => tf.matMul(a, g, true, false) };
    },
  });
}

const registered = new Set<string>();

/** Registers the missing kernels for `backendName` (idempotent). */
export function registerMissingKernels(backendName: string): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);
  if (backendName !== 'wasm') return;
  registerHeapSlices();
  registerSharedIdentity();
  registerMatMulEach();
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const b = backend as unknown as WasmLikeBackend;
      const values = b.readSync(x.dataId);
      const ids = b.readSync(segmentIds.dataId);
      const rowSize = ids.length === 0 ? 0 : values.length / ids.length;
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = b.makeOutput(outShape, x.dtype);
      const outValues = b.typedArrayFromHeap(out);
      outValues.fill(0);
      for (let i = 0; i < ids.length; i++) {
        const seg = ids[i] as number;
        if (seg < 0 || seg >= numSegments) continue;
        const src = i * rowSize;
        const dst = seg * rowSize;
        for (let j = 0; j < rowSize; j++) outValues[dst + j] += values[src + j] as number;
      }
      return out;
    },
  });
}
