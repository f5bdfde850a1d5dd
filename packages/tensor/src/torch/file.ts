/**
 * A safe reader for PyTorch `torch.save` files (the zip format of torch ≥ 1.6): DePT's `adapter_model.bin` (an
 * OrderedDict of tensors) and ATTEMPT's `*.pt` prompts (a single tensor).
 *
 * Nothing in the file is ever executed. The pickle `<archive>/data.pkl` is interpreted by a small machine that knows
 * only the opcodes torch writes for tensors, and only these globals: `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the typed storage classes
 * (`torch.FloatStorage`, `HalfStorage`, `BFloat16Storage`, `DoubleStorage`, `LongStorage`, `IntStorage`).
 * Any other global (`os.system`, `builtins.eval`, ...), a call of anything but those functions, and any
 * object-building opcode (BUILD, INST, OBJ, NEWOBJ) are refused with a `DeptError`. Storages are the raw
 * little-endian zip entries `<archive>/data/<key>`, checked against what the tensors claim.
 */
import { DeptError, readRegularFile } from '@dept/core';
import { type HostTensor, shapeSize } from '../host.ts';
import { f16BitsToF32 } from '../safetensors/dtypes.ts';
import { ZipReader, type ZipLimits } from '../zip.ts';
import { PickleMachine, describeValue, type PStorage, type PTensor, type PValue, type TorchDtype } from './pickle.ts';

/** Options for reading a torch file. */
export interface ReadTorchOptions extends ZipLimits {
  /** Name of the tensor when the file holds a single tensor (default `tensor`). */
  singleTensorName?: string;
}

/** What a torch file held. */
export interface TorchFile {
  /** Tensors by name: dict keys (nested dicts joined with "."), or `singleTensorName`. */
  tensors: Map<string, HostTensor>;
  /** Stored element type of every tensor. */
  dtypes: Map<string, TorchDtype>;
  /** `dict` for a (nested) dict of tensors, `tensor` for a single tensor, `list` for a list or tuple. */
  kind: 'dict' | 'tensor' | 'list';
  /** Dict entries that were not tensors (numbers, strings, None), left out of `tensors`. */
  skipped: string[];
  /** The archive's folder name (`adapter_model`, `archive`, ...). */
  archiveName: string;
}

function storageToFloat32(bytes: Uint8Array, s: PStorage): Float32Array {
  const n = s.numel;
  const copy = new Uint8Array(n * s.bytesPer);
  copy.set(bytes.subarray(0, n * s.bytesPer));
  switch (s.dtype) {
    case 'F32':
      return new Float32Array(copy.buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(copy.buffer));
    case 'I32':
      return Float32Array.from(new Int32Array(copy.buffer));
    case 'I64': {
      const src = new BigInt64Array(copy.buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'F16': {
      const src = new Uint16Array(copy.buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16BitsToF32(src[i] as number);
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(copy.buffer);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = (src[i] as number) << 16;
      return out;
    }
  }
}

function materialise(t: PTensor, name: string, values: Float32Array, file: string): HostTensor {
  const numel = shapeSize(t.shape);
  const fmt = (a: number[]): string => `[${a.join(', ')}]`;
  if (numel === 0) return { data: new Float32Array(0), shape: [...t.shape] };
  if (!Number.isSafeInteger(numel) || numel > 2 ** 31 - 1) throw new DeptError(`${file}: tensor "${name}" has shape ${fmt(t.shape)}, too large to read`);
  let last = t.offset;
  for (let i = 0; i < t.shape.length; i++) last += ((t.shape[i] as number) - 1) * (t.stride[i] as number);
  if (last >= t.storage.numel) {
    throw new DeptError(
      `${file}: tensor "${name}" (offset ${t.offset}, shape ${fmt(t.shape)}, stride ${fmt(t.stride)}) needs ${last + 1} elements but storage "${t.storage.key}" holds ${t.storage.numel}`,
    );
  }
  let contiguous = true;
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if ((t.shape[i] as number) !== 1 && t.stride[i] !== expect) contiguous = false;
    expect *= t.shape[i] as number;
  }
  if (contiguous) return { data: values.slice(t.offset, t.offset + numel), shape: [...t.shape] };
  const out = new Float32Array(numel);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let k = 0; k < numel; k++) {
    let src = t.offset;
    for (let i = 0; i < idx.length; i++) src += (idx[i] as number) * (t.stride[i] as number);
    out[k] = values[src] as number;
    for (let i = idx.length - 1; i >= 0; i--) {
      idx[i] = (idx[i] as number) + 1;
      if ((idx[i] as number) < (t.shape[i] as number)) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: [...t.shape] };
}

/**
 * Reads a `torch.save` zip held in memory. `file` names it in errors.
 *
 * @example
 * const { tensors } = decodeTorchFile(readFileSync('adapter_model.bin'), 'adapter_model.bin');
 * tensors.get('prompt_encoder.lora_embedding_A')?.shape; // [256, 30]
 */
export function decodeTorchFile(bytes: Uint8Array, file = '<buffer>', opts: ReadTorchOptions = {}): TorchFile {
  if (bytes.length >= 2 && bytes[0] === 0x80 && (bytes[1] as number) <= 5) {
    throw new DeptError(`${file}: is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with a current torch`);
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new DeptError(`${file}: not a PyTorch zip archive`);
  const zip = new ZipReader(bytes, file, opts);
  const pkls = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new DeptError(`${file}: expected one "<name>/data.pkl" in the archive, found ${pkls.length === 0 ? 'none' : pkls.join(', ')}`);
  }
  const prefix = (pkls[0] as string).slice(0, -'/data.pkl'.length);
  const byteorder = `${prefix}/byteorder`;
  if (zip.has(byteorder)) {
    const order = Buffer.from(zip.read(byteorder)).toString('latin1').trim();
    if (order !== 'little') throw new DeptError(`${file}: storages are ${order}-endian; only little-endian is read`);
  }
  const root = new PickleMachine(zip.read(pkls[0] as string), file).run();

  const cache = new Map<string, Float32Array>();
  const storageValues = (s: PStorage): Float32Array => {
    const hit = cache.get(s.key);
    if (hit) return hit;
    const entry = `${prefix}/data/${s.key}`;
    if (!zip.has(entry)) throw new DeptError(`${file}: storage "${s.key}" is missing (no entry ${entry})`);
    const raw = zip.read(entry);
    const need = s.numel * s.bytesPer;
    if (raw.byteLength < need) {
      throw new DeptError(`${file}: storage "${s.key}" holds ${raw.byteLength} bytes, expected ${need} for ${s.numel} ${s.dtype} elements`);
    }
    const v = storageToFloat32(raw, s);
    cache.set(s.key, v);
    return v;
  };

  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, TorchDtype>();
  const skipped: string[] = [];
  const add = (name: string, t: PTensor): void => {
    tensors.set(name, materialise(t, name, storageValues(t.storage), file));
    dtypes.set(name, t.storage.dtype);
  };
  const seen = new Set<object>();
  const walk = (v: PValue, name: string, depth: number): void => {
    if (v !== null && typeof v === 'object') {
      if (v.kind === 'tensor') return add(name, v);
      if (depth > 32 || seen.has(v)) throw new DeptError(`${file}: the pickled structure is nested too deeply or refers to itself at "${name}"`);
      if (v.kind === 'dict') {
        seen.add(v);
        for (const [k, x] of v.entries) {
          if (typeof k !== 'string' && typeof k !== 'number') throw new DeptError(`${file}: dict key ${describeValue(k)} at "${name}" is not a string`);
          walk(x, name ? `${name}.${k}` : String(k), depth + 1);
        }
        seen.delete(v);
        return;
      }
      if (v.kind === 'list' || v.kind === 'tuple') {
        seen.add(v);
        v.items.forEach((x, i) => walk(x, name ? `${name}.${i}` : String(i), depth + 1));
        seen.delete(v);
        return;
      }
    }
    skipped.push(name);
  };
  let kind: TorchFile['kind'];
  if (root !== null && typeof root === 'object' && root.kind === 'tensor') {
    kind = 'tensor';
    add(opts.singleTensorName ?? 'tensor', root);
  } else if (root !== null && typeof root === 'object' && root.kind === 'dict') {
    kind = 'dict';
    walk(root, '', 0);
  } else if (root !== null && typeof root === 'object' && (root.kind === 'list' || root.kind === 'tuple')) {
    kind = 'list';
    walk(root, '', 0);
  } else {
    throw new DeptError(`${file}: holds ${describeValue(root)}, not a tensor or a dict of tensors`);
  }
  return { tensors, dtypes, kind, skipped, archiveName: prefix };
}

/**
 * Reads a PyTorch `torch.save` file (zip format) safely: a dict of tensors (DePT's `adapter_model.bin`) or a
 * single tensor (ATTEMPT's `*.pt`, named `opts.singleTensorName`, default `tensor`). Nothing in the file is
 * executed; anything outside the tensor subset of pickle is refused.
 *
 * @example
 * const { tensors } = readTorchFile('../shared/banks/attempt-record/record_prefix_embeddings.pt');
 * tensors.get('tensor')?.shape; // [100, 768]
 */
export function readTorchFile(path: string, opts: ReadTorchOptions = {}): TorchFile {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, 'a torch.save file'); // a FIFO or device is refused, never read
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeptError(`${path}: file not found`, { cause: error });
    if (code === 'EISDIR') throw new DeptError(`${path}: is a folder, expected a torch.save file`, { cause: error });
    throw error;
  }
  return decodeTorchFile(bytes, path, opts);
}
