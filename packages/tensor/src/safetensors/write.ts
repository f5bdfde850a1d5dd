/**
 * Writing safetensors: tensors sorted by name, the header padded with spaces to a multiple of 8 bytes, the metadata
 * stored as given (`{"format": "pt"}` by default), F16 and BF16 rounded to nearest, ties to even. Files are written
 * atomically.
 */
import { DeptError, writeFileAtomic } from '@dept/core';
import { type HostTensor, shapeSize } from '../host.ts';
import { f32ToBf16Bits, f32ToF16Bits, type WritableDtype } from './dtypes.ts';
import { fmtShape, isNonNegativeInt } from './header.ts';
import { requireLittleEndian } from './read.ts';

/** Tensors to write: a record or a map from name to host tensor. */
export type TensorCollection = Record<string, HostTensor> | ReadonlyMap<string, HostTensor>;

/** Options for writing. */
export interface WriteSafetensorsOptions {
  /** Stored dtype for every tensor (default F32). F16 and BF16 round to nearest, ties to even. */
  dtype?: WritableDtype;
}


export function entriesOf(tensors: TensorCollection): [string, HostTensor][] {
  const list: [string, HostTensor][] =
    tensors instanceof Map ? [...(tensors as ReadonlyMap<string, HostTensor>).entries()] : Object.entries(tensors as Record<string, HostTensor>);
  return list;
}

export function compareUtf8(a: string, b: string): number {
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
