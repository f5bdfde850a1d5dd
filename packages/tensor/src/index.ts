/**
 * @dept/tensor: the only package that imports tfjs. Errors, randomness and atomic files are `@dept/core`'s.
 *
 * 1. Host tensors: `HostTensor`, plain float32 arrays with a shape, for files and package boundaries.
 * 2. Backends and kernels: `initBackend`, `linear`, `matMulEach`, the wasm heap guard, dropout masks, and `tf`.
 * 3. Tensor files: safetensors (read, write, sharded checkpoints), PyTorch `torch.save` archives (a safe subset), zip.
 */

// 1. Host tensors
export { type HostTensor, hostTensor, shapeSize, allFinite } from './host.ts';

// 2. Backends and kernels
export { initBackend, currentBackend, BACKEND_NAMES, type BackendName, type BackendInfo, type InitBackendOptions } from './backend.ts';
export { initBrowserBackend, type BrowserBackendName, type BrowserBackendInfo, type BrowserBackendOptions } from './browser-backend.ts';
export { activateWebGpu, describeAdapter, NoWebGpuAdapterError, type WebGpuAdapter, type ActivateWebGpuOptions } from './webgpu.ts';
export { linear, linearWeight, disposeLinearWeight, type LinearWeight } from './linear.ts';
export { registerMissingKernels, float32TensorFilled, matMulEach } from './kernels.ts';
export { guardWasmHeap, WasmHeapFullError, isWasmHeapFullError, WASM_HEAP_LIMIT_BYTES, DEFAULT_WASM_HEAP_HEADROOM_BYTES } from './heap.ts';
export { fillDropoutMultipliers, fillDropoutMultipliersJs, dropoutFillIsWasm } from './dropout.ts';
export * as tf from '@tensorflow/tfjs';

// 3. Tensor files
export {
  readSafetensors, readSafetensorsHeader, decodeSafetensors, encodeSafetensors, writeSafetensors, parseSafetensorsHeader,
  readCheckpoint, writeShardedCheckpoint, parseShardIndex, takeShardTensors, type ShardPlan, SAFETENSORS_SINGLE, SAFETENSORS_INDEX, MAX_HEADER_BYTES, DTYPE_BITS,
  f32ToF16Bits, f16BitsToF32, f32ToBf16Bits, bf16BitsToF32, roundToBf16, roundToF16,
  type SafetensorsDtype, type ReadableDtype, type WritableDtype, type SafetensorsEntry, type SafetensorsHeader,
  type SafetensorsFile, type ReadSafetensorsOptions, type WriteSafetensorsOptions, type TensorCollection,
  type Checkpoint, type WriteShardedOptions,
} from './safetensors/index.ts';
export { readTorchFile, decodeTorchFile, int64ToFloat32, type TorchFile, type TorchEntry, type ReadTorchOptions } from './torch/file.ts';
export type { TorchDtype } from './torch/pickle.ts';
export { ZipReader, isSafeEntryName, crc32, expansionBudget, EXPANSION_FACTOR, EXPANSION_FLOOR, type ZipEntry, type ZipLimits } from './zip.ts';
