/**
 * safetensors read and write on host tensors (spec: huggingface/safetensors README "Format" and
 * `safetensors/src/tensor.rs`). A file is an 8-byte little-endian header length `N`, an `N`-byte UTF-8 JSON
 * header (starting with `{`, padded with spaces), then the data buffer that the header indexes with
 * `data_offsets` relative to the buffer's start.
 *
 * Reading is strict, as the Rust reader is: the header must fit in the file and stay under 100,000,000 bytes,
 * names must be unique, every tensor's byte size must equal dtype size × element count, and the tensors must
 * tile the buffer with no overlap and no hole. F32, F16, BF16 and F64 are read into float32; any other dtype is
 * refused with a message naming the tensor. Writing sorts tensors by name, pads the header with spaces to a
 * multiple of 8 bytes, stores `{"format":"pt"}` metadata, and converts to F16/BF16 with round-to-nearest-even.
 */
export {
  DTYPE_BITS, f32ToF16Bits, f16BitsToF32, f32ToBf16Bits, bf16BitsToF32, roundToBf16, roundToF16,
  type SafetensorsDtype, type ReadableDtype, type WritableDtype,
} from './dtypes.ts';
export { parseSafetensorsHeader, MAX_HEADER_BYTES, type SafetensorsEntry, type SafetensorsHeader } from './header.ts';
export { readSafetensors, readSafetensorsHeader, decodeSafetensors, type SafetensorsFile, type ReadSafetensorsOptions } from './read.ts';
export { encodeSafetensors, writeSafetensors, type TensorCollection, type WriteSafetensorsOptions } from './write.ts';
export { parseShardIndex, takeShardTensors, type ShardPlan } from './shards.ts';
export { readCheckpoint, writeShardedCheckpoint, SAFETENSORS_SINGLE, SAFETENSORS_INDEX, type Checkpoint, type WriteShardedOptions } from './checkpoint.ts';
