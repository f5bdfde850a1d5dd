/**
 * The safetensors header: an 8-byte little-endian length `N`, then `N` bytes of UTF-8 JSON (starting with `{`,
 * padded with spaces), checked as strictly as the Rust reader checks it (size cap, unique names, shapes and offsets
 * written as integers, byte sizes equal to dtype size × element count, tensors tiling the data buffer with no
 * overlap and no hole).
 */
import { DeptError, scanJson } from '@dept/core';
import { shapeSize } from '../host.ts';
import { DTYPE_BITS, type SafetensorsDtype } from './dtypes.ts';

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


export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function isNonNegativeInt(v: unknown): v is number {
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
  // serde reads shape and data_offsets as usize, so `1.0`, `1e0` and `-0` are refused, though JSON.parse makes
  // them the integers 1 and 0 (other non-integers are refused below, from the parsed values).
  let disguised: { name: string; field: string; token: string } | null = null;
  const { duplicate } = scanJson(text, {
    onNumber: (token, path) => {
      if (disguised || path.length !== 2 || path[0] === '__metadata__' || (path[1] !== 'shape' && path[1] !== 'data_offsets')) return;
      if (!/^(0|[1-9][0-9]*)$/.test(token) && isNonNegativeInt(Number(token))) disguised = { name: path[0] as string, field: path[1] as string, token };
    },
  });
  if (disguised) {
    const { name, field, token } = disguised as { name: string; field: string; token: string };
    throw new DeptError(`${file}: tensor "${name}": ${field} must hold non-negative integers, got ${token} (written with a fraction, an exponent or a sign)`);
  }
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
export function checkHeaderLength(prefix: Uint8Array, fileBytes: number, file: string): number {
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

export function decodeHeaderText(bytes: Uint8Array, file: string): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new DeptError(`${file}: header is not valid UTF-8`);
  }
}
