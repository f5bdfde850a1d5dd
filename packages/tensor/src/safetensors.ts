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
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { DeptError } from '@dept/core';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '@dept/core';
import { type HostTensor, shapeSize } from './host.ts';
import { scanJson } from '@dept/core';

/** Every dtype the safetensors format defines. */
export type SafetensorsDtype =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0' | 'F4' | 'F6_E2M3' | 'F6_E3M2'
  | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'C64' | 'F64' | 'I64' | 'U64';

/** The dtypes this reader converts to float32. */
export type ReadableDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** The dtypes this writer can store. */
export type WritableDtype = 'F32' | 'F16' | 'BF16';

/** Bits per element of each safetensors dtype. */
export const DTYPE_BITS: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

/** The Rust reader's cap on the JSON header length. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** `[begin, end)` byte offsets relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** `__metadata__` (string values only), `{}` when absent. */
  metadata: Record<string, string>;
  /** Tensors in buffer order. */
  entries: SafetensorsEntry[];
  /** Byte offset of the data buffer in the file (8 + N). */
  dataStart: number;
  /** Length of the data buffer in bytes. */
  dataBytes: number;
}

/** A safetensors file read into float32 host tensors. */
export interface SafetensorsFile {
  /** Tensors in buffer order (only those selected by `names`, when given). */
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
  /** The header entry of every tensor in the file (loaded or not), e.g. for its stored dtype. */
  entries: Map<string, SafetensorsEntry>;
}

/** Options for reading. */
export interface ReadSafetensorsOptions {
  /** Load only the tensors for which this returns true (the header is still validated in full). */
  names?: (name: string) => boolean;
}

/** Tensors to write: a record or a map from name to host tensor. */
export type TensorCollection = Record<string, HostTensor> | ReadonlyMap<string, HostTensor>;

/** Options for writing. */
export interface WriteSafetensorsOptions {
  /** Stored dtype for every tensor (default F32). F16 and BF16 round to nearest, ties to even. */
  dtype?: WritableDtype;
}

const LITTLE_ENDIAN = endianness() === 'LE';

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new DeptError('safetensors: this reader needs a little-endian machine');
}

// ---------------------------------------------------------------------------------------------------------
// F16 / BF16 conversion (round to nearest, ties to even)

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function roundShiftRight(v: number, s: number): number {
  const q = Math.floor(v / 2 ** s);
  const rem = v - q * 2 ** s;
  const half = 2 ** (s - 1);
  return rem > half || (rem === half && q % 2 === 1) ? q + 1 : q;
}

/**
 * IEEE binary16 bits of a number, rounded to nearest with ties to even (overflow gives ±Infinity, NaN stays a
 * quiet NaN).
 *
 * @example
 * f32ToF16Bits(1);        // 0x3c00
 * f32ToF16Bits(65520);    // 0x7c00 (Infinity: halfway above 65504 rounds to even)
 * f32ToF16Bits(2 ** -25); // 0x0000 (tie between 0 and the smallest subnormal goes to the even one)
 */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    return sign | roundShiftRight(mant | 0x800000, 14 - e);
  }
  return sign | roundShiftRight((e << 23) | mant, 13); // a carry runs into the exponent, up to Infinity
}

/**
 * The number that IEEE binary16 bits stand for.
 *
 * @example
 * f16BitsToF32(0x3c00); // 1
 * f16BitsToF32(0x0001); // 5.960464477539063e-8 (2^-24)
 */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * bfloat16 bits of a number (the top 16 bits of its float32, rounded to nearest with ties to even; NaN stays a
 * quiet NaN).
 *
 * @example
 * f32ToBf16Bits(1);           // 0x3f80
 * f32ToBf16Bits(1 + 2 ** -8); // 0x3f80 (tie, kept even)
 */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0] as number;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536);
}

/**
 * The number that bfloat16 bits stand for.
 *
 * @example
 * bf16BitsToF32(0x3f80); // 1
 */
export function bf16BitsToF32(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0] as number;
}

/**
 * Values rounded through bfloat16 and back (what a BF16 checkpoint of `data` will hold).
 *
 * @example
 * roundToBf16(new Float32Array([1 + 2 ** -7 + 2 ** -9])); // Float32Array [1.0078125]
 */
export function roundToBf16(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = bf16BitsToF32(f32ToBf16Bits(data[i] as number));
  return out;
}

/**
 * Values rounded through binary16 and back.
 *
 * @example
 * roundToF16(new Float32Array([0.1])); // Float32Array [0.0999755859375]
 */
export function roundToF16(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(data[i] as number));
  return out;
}

let f16Table: Float32Array | null = null;
function f16Lookup(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

// ---------------------------------------------------------------------------------------------------------
// Header parsing and validation

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validates the JSON header text of a safetensors file whose data buffer holds `dataBytes` bytes. Throws a
 * one-line `DeptError` naming `file` and the tensor at fault.
 *
 * @example
 * const h = parseSafetensorsHeader('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 'a.safetensors', 8, 8);
 * h.entries[0].shape; // [2]
 */
export function parseSafetensorsHeader(text: string, file: string, dataStart: number, dataBytes: number): SafetensorsHeader {
  if (!text.startsWith('{')) throw new DeptError(`${file}: header does not start with "{" (not a safetensors file?)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const { problem } = scanJson(text);
    const where = problem ? ` (line ${problem.line} column ${problem.column}): ${problem.message}` : '';
    throw new DeptError(`${file}: header is not valid JSON${where}`);
  }
  const { duplicate } = scanJson(text);
  if (duplicate) {
    const inside = duplicate.path.length ? ` inside "${duplicate.path.join('.')}"` : '';
    throw new DeptError(`${file}: header names "${duplicate.key}" twice${inside} (duplicate names are not allowed)`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DeptError(`${file}: header is not a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DeptError(`${file}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new DeptError(`${file}: __metadata__ "${k}" must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DeptError(`${where}: entry must be an object with dtype, shape and data_offsets`);
    const e = raw as Record<string, unknown>;
    const dtype = e.dtype;
    if (typeof dtype !== 'string') throw new DeptError(`${where}: missing dtype`);
    if (!Object.hasOwn(DTYPE_BITS, dtype)) throw new DeptError(`${where}: unknown dtype "${dtype}"`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
      throw new DeptError(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
      throw new DeptError(`${where}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new DeptError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) {
      throw new DeptError(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes)`);
    }
    const numel = shapeSize(shape as number[]);
    if (!Number.isSafeInteger(numel)) throw new DeptError(`${where}: shape ${fmtShape(shape as number[])} is too large`);
    const bits = numel * DTYPE_BITS[dtype as SafetensorsDtype];
    if (bits % 8 !== 0) throw new DeptError(`${where}: ${numel} ${dtype} elements do not fill a whole number of bytes`);
    if (end - begin !== bits / 8) {
      throw new DeptError(
        `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, expected ${bits / 8} for ${dtype} ${fmtShape(shape as number[])}`,
      );
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], dataOffsets: [begin, end] });
  }
  const sorted = [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    const [begin, end] = e.dataOffsets;
    if (begin < cursor && prev) {
      throw new DeptError(
        `${file}: tensors "${prev.name}" [${prev.dataOffsets[0]}, ${prev.dataOffsets[1]}] and "${e.name}" [${begin}, ${end}] overlap`,
      );
    }
    if (begin > cursor) {
      throw new DeptError(`${file}: data bytes [${cursor}, ${begin}) belong to no tensor (holes are not allowed)`);
    }
    cursor = end;
    prev = e;
  }
  if (cursor < dataBytes) {
    throw new DeptError(`${file}: data bytes [${cursor}, ${dataBytes}) belong to no tensor (holes are not allowed)`);
  }
  return { metadata, entries: sorted, dataStart, dataBytes };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Reads and checks the 8-byte length prefix; returns N. */
function checkHeaderLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (fileBytes < 8) throw new DeptError(`${file}: file is ${fileBytes} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new DeptError(`${file}: header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const len = Number(n);
  if (8 + len > fileBytes) {
    throw new DeptError(`${file}: header length ${len} runs past the end of the file (${fileBytes} bytes)`);
  }
  if (len === 0) throw new DeptError(`${file}: header is empty`);
  return len;
}

function decodeHeaderText(bytes: Uint8Array, file: string): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new DeptError(`${file}: header is not valid UTF-8`);
  }
}

/** Converts stored bytes of a readable dtype into float32 values. */
function toFloat32(bytes: Uint8Array, entry: SafetensorsEntry, file: string): Float32Array {
  const numel = shapeSize(entry.shape);
  // A fresh, aligned copy of exactly these bytes.
  const aligned = (): ArrayBuffer => {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return copy.buffer;
  };
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(aligned(), 0, numel);
    case 'F64': {
      const src = new Float64Array(aligned(), 0, numel);
      return Float32Array.from(src);
    }
    case 'F16': {
      const src = new Uint16Array(aligned(), 0, numel);
      const table = f16Lookup();
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = table[src[i] as number] as number;
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(aligned(), 0, numel);
      const out = new Float32Array(numel);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) bits[i] = (src[i] as number) << 16;
      return out;
    }
    default:
      throw new DeptError(
        `${file}: tensor "${entry.name}" has dtype ${entry.dtype}; only F32, F16, BF16 and F64 can be read (as float32)`,
      );
  }
}

function checkReadable(entry: SafetensorsEntry, file: string): void {
  if (entry.dtype !== 'F32' && entry.dtype !== 'F16' && entry.dtype !== 'BF16' && entry.dtype !== 'F64') {
    throw new DeptError(`${file}: tensor "${entry.name}" has dtype ${entry.dtype}; only F32, F16, BF16 and F64 can be read (as float32)`);
  }
}

/**
 * Parses a whole safetensors file held in memory. `file` names it in error messages.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes, 'adapter_model.safetensors');
 * tensors.get('prompt_embeddings')?.shape; // [60, 768]
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>', opts: ReadSafetensorsOptions = {}): SafetensorsFile {
  requireLittleEndian();
  const n = checkHeaderLength(bytes.subarray(0, 8), bytes.byteLength, file);
  const text = decodeHeaderText(bytes.subarray(8, 8 + n), file);
  const header = parseSafetensorsHeader(text, file, 8 + n, bytes.byteLength - 8 - n);
  const tensors = new Map<string, HostTensor>();
  const entries = new Map<string, SafetensorsEntry>();
  for (const e of header.entries) {
    entries.set(e.name, e);
    if (opts.names && !opts.names(e.name)) continue;
    checkReadable(e, file);
    const slice = bytes.subarray(header.dataStart + e.dataOffsets[0], header.dataStart + e.dataOffsets[1]);
    tensors.set(e.name, { data: toFloat32(slice, e, file), shape: [...e.shape] });
  }
  return { tensors, metadata: header.metadata, entries };
}

function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.byteLength) {
    const chunk = Math.min(target.byteLength - done, 1 << 30);
    const got = readSync(fd, target, done, chunk, position + done);
    if (got === 0) throw new DeptError(`${file}: file ended early while reading`);
    done += got;
  }
}

function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeptError(`${path}: file not found`, { cause: error });
    if (code === 'EACCES' || code === 'EPERM') throw new DeptError(`${path}: cannot read (permission denied)`, { cause: error });
    throw error;
  }
}

function withHeader<T>(path: string, body: (fd: number, header: SafetensorsHeader) => T): T {
  requireLittleEndian();
  const fd = openForRead(path);
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new DeptError(`${path}: is a folder, expected a .safetensors file`);
    const size = stat.size;
    const prefix = new Uint8Array(8);
    if (size >= 8) readFully(fd, prefix, 0, path);
    const n = checkHeaderLength(prefix, size, path);
    const headerBytes = new Uint8Array(n);
    readFully(fd, headerBytes, 8, path);
    const header = parseSafetensorsHeader(decodeHeaderText(headerBytes, path), path, 8 + n, size - 8 - n);
    return body(fd, header);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and validates only the header of a safetensors file (names, dtypes, shapes, metadata); no tensor data
 * is loaded.
 *
 * @example
 * readSafetensorsHeader('model.safetensors').entries.map((e) => e.name);
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withHeader(path, (_fd, header) => header);
}

/**
 * Reads a safetensors file into float32 host tensors, one tensor at a time straight from disk (the file is
 * never held in memory whole). F16, BF16 and F64 are converted to float32.
 *
 * @example
 * const { tensors } = readSafetensors('model.safetensors', { names: (n) => !n.endsWith('embed_tokens.weight') });
 * tensors.get('shared.weight')?.shape; // [32128, 768]
 */
export function readSafetensors(path: string, opts: ReadSafetensorsOptions = {}): SafetensorsFile {
  return withHeader(path, (fd, header) => {
    const tensors = new Map<string, HostTensor>();
    const entries = new Map<string, SafetensorsEntry>();
    for (const e of header.entries) {
      entries.set(e.name, e);
      if (opts.names && !opts.names(e.name)) continue;
      checkReadable(e, path);
      const bytes = e.dataOffsets[1] - e.dataOffsets[0];
      if (e.dtype === 'F32') {
        const data = new Float32Array(bytes / 4);
        readFully(fd, new Uint8Array(data.buffer), header.dataStart + e.dataOffsets[0], path);
        tensors.set(e.name, { data, shape: [...e.shape] });
      } else {
        const raw = new Uint8Array(bytes);
        readFully(fd, raw, header.dataStart + e.dataOffsets[0], path);
        tensors.set(e.name, { data: toFloat32(raw, e, path), shape: [...e.shape] });
      }
    }
    return { tensors, metadata: header.metadata, entries };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function entriesOf(tensors: TensorCollection): [string, HostTensor][] {
  const list: [string, HostTensor][] =
    tensors instanceof Map ? [...(tensors as ReadonlyMap<string, HostTensor>).entries()] : Object.entries(tensors as Record<string, HostTensor>);
  return list;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function encodeData(t: HostTensor, dtype: WritableDtype): Uint8Array {
  const n = t.data.length;
  if (dtype === 'F32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint16Array(n);
  if (dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(t.data[i] as number);
  else for (let i = 0; i < n; i++) out[i] = f32ToBf16Bits(t.data[i] as number);
  return new Uint8Array(out.buffer);
}

/**
 * Encodes tensors as a safetensors file: tensors sorted by name (byte order of their UTF-8), one dtype for all,
 * header padded with spaces to a multiple of 8 bytes, metadata `{"format":"pt"}` merged with `metadata`.
 *
 * @example
 * const bytes = encodeSafetensors({ prompt_embeddings: hostTensor(new Float32Array(6), [2, 3]) });
 * decodeSafetensors(bytes).metadata; // { format: 'pt' }
 */
export function encodeSafetensors(
  tensors: TensorCollection,
  metadata: Record<string, string> = {},
  opts: WriteSafetensorsOptions = {},
): Uint8Array {
  requireLittleEndian();
  const dtype = opts.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new DeptError(`safetensors: cannot write dtype ${String(dtype)} (use F32, F16 or BF16)`);
  const meta: Record<string, string> = { format: 'pt', ...metadata };
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new DeptError(`safetensors: metadata "${k}" must be a string, got ${JSON.stringify(v)}`);
  }
  const list = entriesOf(tensors).sort((a, b) => compareUtf8(a[0], b[0]));
  const parts: string[] = [];
  const metaText = Object.keys(meta)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`)
    .join(',');
  parts.push(`"__metadata__":{${metaText}}`);
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (name === '' || name === '__metadata__') throw new DeptError(`safetensors: "${name}" is not a valid tensor name`);
    if (seen.has(name)) throw new DeptError(`safetensors: tensor "${name}" given twice`);
    seen.add(name);
    if (!t.shape.every(isNonNegativeInt)) throw new DeptError(`safetensors: tensor "${name}" has a bad shape ${JSON.stringify(t.shape)}`);
    if (t.data.length !== shapeSize(t.shape)) {
      throw new DeptError(`safetensors: tensor "${name}" has ${t.data.length} values, expected ${shapeSize(t.shape)} for shape ${fmtShape(t.shape)}`);
    }
    const blob = encodeData(t, dtype);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + blob.byteLength}]}`);
    blobs.push(blob);
    offset += blob.byteLength;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (header.byteLength % 8)) % 8;
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + header.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.byteLength), true);
  out.set(header, 8);
  let at = 8 + header.byteLength;
  for (const b of blobs) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/**
 * Writes tensors to a safetensors file atomically (see {@link encodeSafetensors} for the layout).
 *
 * @example
 * writeSafetensors('bank/adapter_model.safetensors', { prompt_embeddings: p }, { format: 'pt' });
 * writeSafetensors('model-bf16.safetensors', weights, {}, { dtype: 'BF16' });
 */
export function writeSafetensors(
  path: string,
  tensors: TensorCollection,
  metadata: Record<string, string> = {},
  opts: WriteSafetensorsOptions = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, opts));
}

// ---------------------------------------------------------------------------------------------------------
// Sharded checkpoints

/** Name of the single-file checkpoint in a model folder. */
export const SAFETENSORS_SINGLE = 'model.safetensors';
/** Name of the index of a sharded checkpoint. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** A checkpoint read from a model folder. */
export interface Checkpoint {
  tensors: Map<string, HostTensor>;
  /** `__metadata__` of the single file, or the index's `metadata` (values turned to strings). */
  metadata: Record<string, string>;
  /** The safetensors files read, in order. */
  files: string[];
  /** Stored dtype of every tensor of the checkpoint. */
  dtypes: Map<string, SafetensorsDtype>;
}

/**
 * Reads the weights of a model folder: `model.safetensors`, or else `model.safetensors.index.json`
 * (`{"metadata": {...}, "weight_map": {name: shard file}}`) and its shards, checking that every name of the
 * weight map is present in its shard. `dir` may also be a `.safetensors` file.
 *
 * @example
 * const { tensors } = readCheckpoint('models/t5-base');
 * tensors.get('shared.weight')?.shape; // [32128, 768]
 */
export function readCheckpoint(dir: string, opts: ReadSafetensorsOptions = {}): Checkpoint {
  if (existsSync(dir) && statSync(dir).isFile()) {
    const f = readSafetensors(dir, opts);
    return { tensors: f.tensors, metadata: f.metadata, files: [dir], dtypes: dtypesOf(f.entries) };
  }
  if (!existsSync(dir)) throw new DeptError(`${dir}: folder not found`);
  const single = join(dir, SAFETENSORS_SINGLE);
  if (existsSync(single)) {
    const f = readSafetensors(single, opts);
    return { tensors: f.tensors, metadata: f.metadata, files: [single], dtypes: dtypesOf(f.entries) };
  }
  const indexPath = join(dir, SAFETENSORS_INDEX);
  if (!existsSync(indexPath)) throw new DeptError(`${dir}: holds neither ${SAFETENSORS_SINGLE} nor ${SAFETENSORS_INDEX}`);
  const index = readJsonFile<unknown>(indexPath, 'a safetensors index');
  const dup = scanJson(readFileSync(indexPath, 'utf8')).duplicate;
  if (dup) throw new DeptError(`${indexPath}: names "${dup.key}" twice${dup.path.length ? ` inside "${dup.path.join('.')}"` : ''}`);
  if (index === null || typeof index !== 'object' || Array.isArray(index)) throw new DeptError(`${indexPath}: must be a JSON object with "weight_map"`);
  const weightMap = (index as Record<string, unknown>).weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new DeptError(`${indexPath}: "weight_map" must be an object of {tensor name: shard file}`);
  }
  const byShard = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== 'string' || file === '' || file === '.' || file === '..' || /[/\\]/.test(file)) {
      throw new DeptError(`${indexPath}: weight_map "${name}" must name a shard file in the same folder, got ${JSON.stringify(file)}`);
    }
    if (opts.names && !opts.names(name)) continue;
    const list = byShard.get(file) ?? [];
    list.push(name);
    byShard.set(file, list);
  }
  const metadata: Record<string, string> = {};
  const rawMeta = (index as Record<string, unknown>).metadata;
  if (rawMeta !== null && typeof rawMeta === 'object' && !Array.isArray(rawMeta)) {
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  const files: string[] = [];
  for (const shard of [...byShard.keys()].sort()) {
    const names = new Set(byShard.get(shard));
    const path = join(dir, shard);
    if (!existsSync(path)) throw new DeptError(`${path}: file not found (${SAFETENSORS_INDEX} lists it for "${[...names][0]}")`);
    const f = readSafetensors(path, { names: (n) => names.has(n) });
    for (const n of names) {
      const t = f.tensors.get(n);
      if (!t) throw new DeptError(`${path}: tensor "${n}" is missing (${SAFETENSORS_INDEX} maps it to this shard)`);
      tensors.set(n, t);
      dtypes.set(n, (f.entries.get(n) as SafetensorsEntry).dtype);
    }
    files.push(path);
  }
  return { tensors, metadata, files, dtypes };
}

function dtypesOf(entries: Map<string, SafetensorsEntry>): Map<string, SafetensorsDtype> {
  return new Map([...entries].map(([k, e]) => [k, e.dtype]));
}

/** Options for {@link writeShardedCheckpoint}. */
export interface WriteShardedOptions extends WriteSafetensorsOptions {
  /** Largest shard in data bytes; a tensor larger than this gets a shard of its own. */
  maxShardBytes: number;
  /** Extra `__metadata__` for every shard. */
  metadata?: Record<string, string>;
}

/**
 * Writes a checkpoint as shards `model-00001-of-0000N.safetensors` plus `model.safetensors.index.json`
 * (`{"metadata": {"total_size": bytes}, "weight_map": {...}}`), filling shards greedily in name order as
 * Hugging Face does. When everything fits in one shard it writes `model.safetensors` alone. Creates `dir`.
 *
 * @example
 * writeShardedCheckpoint('out/model', weights, { maxShardBytes: 200e6, dtype: 'BF16' });
 */
export function writeShardedCheckpoint(dir: string, tensors: TensorCollection, opts: WriteShardedOptions): { files: string[]; index: string | null } {
  if (!(opts.maxShardBytes > 0)) throw new DeptError(`writeShardedCheckpoint: maxShardBytes must be positive, got ${opts.maxShardBytes}`);
  const bytesPer = (opts.dtype ?? 'F32') === 'F32' ? 4 : 2;
  const list = entriesOf(tensors).sort((a, b) => compareUtf8(a[0], b[0]));
  const shards: [string, HostTensor][][] = [];
  let current: [string, HostTensor][] = [];
  let currentBytes = 0;
  let total = 0;
  for (const item of list) {
    const size = item[1].data.length * bytesPer;
    total += size;
    if (current.length > 0 && currentBytes + size > opts.maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += size;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  mkdirSync(dir, { recursive: true });
  if (shards.length === 1) {
    const path = join(dir, SAFETENSORS_SINGLE);
    writeSafetensors(path, new Map(shards[0]), opts.metadata, opts);
    return { files: [path], index: null };
  }
  const pad = (i: number): string => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  shards.forEach((shard, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    writeSafetensors(join(dir, file), new Map(shard), opts.metadata, opts);
    for (const [name] of shard) weightMap[name] = file;
    files.push(join(dir, file));
  });
  const index = join(dir, SAFETENSORS_INDEX);
  writeJsonAtomic(index, { metadata: { total_size: total }, weight_map: weightMap }, 2, { sortKeys: true });
  return { files, index };
}
