/**
 * Kernels that a backend lacks. The wasm backend has no `UnsortedSegmentSum`, which the gradient of `gather`
 * needs; we register a small JavaScript one. (The model keeps frozen gathers out of the differentiated path,
 * so this only matters for user code that differentiates a gather.)
 */
import * as tf from '@tensorflow/tfjs';

interface WasmLikeBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

const registered = new Set<string>();

/** Registers the missing kernels for `backendName` (idempotent). */
export function registerMissingKernels(backendName: string): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);
  if (backendName !== 'wasm') return;
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
