/**
 * @dept/tensor: the only package that imports tfjs.
 *
 * 1. Errors: `DeptError` for user-facing problems.
 * 2. Host tensors and randomness: `HostTensor`, `Rng`.
 */
export { DeptError, isDeptError } from './errors.ts';
export { type HostTensor, hostTensor, shapeSize, allFinite } from './host.ts';
export { Rng, type RngState } from './rng.ts';
export { initBackend, currentBackend, BACKEND_NAMES, type BackendName, type BackendInfo, type InitBackendOptions } from './backend.ts';
export { linear, linearWeight, disposeLinearWeight, type LinearWeight } from './linear.ts';
export { registerMissingKernels, float32TensorFilled, matMulEach } from './kernels.ts';
export { guardWasmHeap, WasmHeapFullError, isWasmHeapFullError, WASM_HEAP_LIMIT_BYTES, DEFAULT_WASM_HEAP_HEADROOM_BYTES } from './heap.ts';
export { fillDropoutMultipliers, fillDropoutMultipliersJs, dropoutFillIsWasm } from './dropout.ts';
export * as tf from '@tensorflow/tfjs';
// Files: atomic writes, JSON with located errors, safetensors, PyTorch torch.save archives (safe subset).
export { writeFileAtomic, writeJsonAtomic, writeFolderAtomic, readJsonFile, parseJsonText, sortKeysDeep, tempSiblingPath, fsyncDir } from './fsutil.ts';
export { scanJson, type JsonProblem, type JsonDuplicate } from './json.ts';
export {
  readSafetensors, readSafetensorsHeader, decodeSafetensors, encodeSafetensors, writeSafetensors, parseSafetensorsHeader,
  readCheckpoint, writeShardedCheckpoint, SAFETENSORS_SINGLE, SAFETENSORS_INDEX, MAX_HEADER_BYTES, DTYPE_BITS,
  f32ToF16Bits, f16BitsToF32, f32ToBf16Bits, bf16BitsToF32, roundToBf16, roundToF16,
  type SafetensorsDtype, type ReadableDtype, type WritableDtype, type SafetensorsEntry, type SafetensorsHeader,
  type SafetensorsFile, type ReadSafetensorsOptions, type WriteSafetensorsOptions, type TensorCollection,
  type Checkpoint, type WriteShardedOptions,
} from './safetensors.ts';
export { readTorchFile, decodeTorchFile, type TorchFile, type TorchDtype, type ReadTorchOptions } from './torch.ts';
export { ZipReader, isSafeEntryName, crc32, type ZipEntry, type ZipLimits } from './zip.ts';
// The Hugging Face hub cache (huggingface_hub's layout): downloads with @huggingface/hub, offline use, HF_* variables.
export {
  openHubSnapshot, cachedSnapshotFolder, hubCacheDir, hubSettings, hubRepoFolder, validateRepoId, HubSnapshot,
  type HubRepo, type HubRepoType, type HubFile, type HubEvent, type HubOptions, type HubSettings,
} from './hub.ts';
