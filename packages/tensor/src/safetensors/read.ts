/**
 * Reading safetensors files and buffers into float32 host tensors: F32, F16, BF16 and F64 are converted, any other
 * dtype is refused with a message naming the tensor. Files are read by range, so only the tensors asked for are
 * loaded (the header is validated in full).
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { DeptError, openRegularFile } from '@dept/core';
import { type HostTensor, shapeSize } from '../host.ts';
import { f16Lookup } from './dtypes.ts';
import { checkHeaderLength, decodeHeaderText, parseSafetensorsHeader, type SafetensorsEntry, type SafetensorsHeader } from './header.ts';

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

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1; // (os.endianness() is Node-only)

export function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new DeptError('safetensors: this reader needs a little-endian machine');
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
    // Non-blocking, and refused unless fstat shows a regular file: a FIFO here would block the open for ever.
    return openRegularFile(path, 'a .safetensors file');
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
