/**
 * A safe reader for PyTorch `torch.save` files (the zip format of torch ≥ 1.6): DePT's `adapter_model.bin` (an
 * OrderedDict of tensors, also as `torch.save(module.state_dict())` writes it) and ATTEMPT's `*.pt` prompts (a
 * single tensor).
 *
 * Nothing in the file is ever executed. The pickle `<archive>/data.pkl` is interpreted by a small machine that knows
 * only the opcodes torch writes for tensors, and only these globals: `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the typed storage classes
 * (`torch.FloatStorage`, `HalfStorage`, `BFloat16Storage`, `DoubleStorage`, `LongStorage`, `IntStorage`,
 * `ByteStorage`, `BoolStorage`). Any other global (`os.system`, `builtins.eval`, ...), a call of anything but those
 * functions, any object-building opcode (INST, OBJ, NEWOBJ) and BUILD on anything but an OrderedDict with a plain
 * state are refused with a `DeptError`. Storages are the raw little-endian zip entries `<archive>/data/<key>`.
 *
 * Every tensor view is checked against its storage first (it must lie inside it and may not hold more elements
 * than it: an `expand()`ed view is refused), then the bytes that reading the tensors asked for would cost are
 * summed and refused past the file's budget ({@link expansionBudget}: 8 × its size, at least 64 MiB); only then is anything inflated or
 * converted, and only the tensors asked for.
 */
import { DeptError, readRegularFile } from '@dept/core';
import { type HostTensor, shapeSize } from '../host.ts';
import { bf16BitsToF32, f16Lookup } from '../safetensors/dtypes.ts';
import { EXPANSION_FACTOR, EXPANSION_FLOOR, ZipReader, expansionBudget, type ZipLimits } from '../zip.ts';
import { PickleMachine, describeValue, type PTensor, type PValue, type TorchDtype } from './pickle.ts';

/** Options for reading a torch file. */
export interface ReadTorchOptions extends ZipLimits {
  /** Name of the tensor when the file holds a single tensor (default `tensor`). */
  singleTensorName?: string;
  /** Read only the tensors for which this returns true (every tensor's view is still checked). */
  names?: (name: string) => boolean;
  /** The most bytes reading may expand to (default {@link expansionBudget} of the file's size). */
  maxBytes?: number;
}

/** A tensor found in a torch file, read or not. */
export interface TorchEntry {
  dtype: TorchDtype;
  shape: number[];
}

/** What a torch file held. */
export interface TorchFile {
  /** Tensors read, by name: dict keys (nested dicts joined with "."), or `singleTensorName`. */
  tensors: Map<string, HostTensor>;
  /** Stored element type of every tensor read. */
  dtypes: Map<string, TorchDtype>;
  /** Every tensor in the file, read or not (`names`), in pickle order. */
  entries: Map<string, TorchEntry>;
  /** `dict` for a (nested) dict of tensors, `tensor` for a single tensor, `list` for a list or tuple. */
  kind: 'dict' | 'tensor' | 'list';
  /** Dict entries that were not tensors (numbers, strings, None), left out of `tensors`. */
  skipped: string[];
  /** The archive's folder name (`adapter_model`, `archive`, ...). */
  archiveName: string;
}

/** Most entries the walk over the unpickled structure visits (shared references can multiply the paths). */
const MAX_WALK = 2_000_000;

const fmt = (a: readonly number[]): string => `[${a.join(', ')}]`;

/**
 * The float32 nearest to a 64-bit integer, rounded once (ties to even), as torch's `t.float()` does. Going
 * through `Number()` first would round twice above 2^53.
 *
 * @example
 * int64ToFloat32(2n ** 60n + 2n ** 36n + 1n); // 1152921642045800448 (2^60 + 2^37); via Number(): 2^60
 */
export function int64ToFloat32(v: bigint): number {
  const n = Number(v);
  if (Number.isSafeInteger(n)) return Math.fround(n); // exact in float64, so rounded only here
  const neg = v < 0n;
  const m = neg ? -v : v;
  const shift = m.toString(2).length - 24; // keep the top 24 bits (float32's significand)
  const s = BigInt(shift);
  let q = m >> s;
  const rem = m - (q << s);
  const half = 1n << (s - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  const r = Number(q) * 2 ** shift; // q ≤ 2^24: exact
  return neg ? -r : r;
}

/** Reads element `i` of a storage's little-endian bytes as the float torch's `.float()` gives. */
function elementReader(view: DataView, dtype: TorchDtype): (i: number) => number {
  switch (dtype) {
    case 'F32':
      return (i) => view.getFloat32(4 * i, true);
    case 'F64':
      return (i) => view.getFloat64(8 * i, true);
    case 'I32':
      return (i) => view.getInt32(4 * i, true);
    case 'I64':
      return (i) => int64ToFloat32(view.getBigInt64(8 * i, true));
    case 'F16': {
      const table = f16Lookup();
      return (i) => table[view.getUint16(2 * i, true)] as number;
    }
    case 'BF16':
      return (i) => bf16BitsToF32(view.getUint16(2 * i, true));
    case 'U8':
      return (i) => view.getUint8(i);
    case 'BOOL': // torch reads any nonzero byte as True
      return (i) => (view.getUint8(i) === 0 ? 0 : 1);
  }
}

/**
 * Checks a view against its storage: size, offset and stride must stay inside the storage, and the view may not
 * hold more elements than the storage (stride 0 over a long dimension, as `expand()` writes, repeats elements and
 * would cost memory the file does not hold).
 */
function checkView(t: PTensor, name: string, file: string): number {
  const numel = shapeSize(t.shape);
  if (numel === 0) return 0;
  if (!Number.isSafeInteger(numel) || numel > 2 ** 31 - 1) throw new DeptError(`${file}: tensor "${name}" has shape ${fmt(t.shape)}, too large to read`);
  let last = t.offset;
  for (let i = 0; i < t.shape.length; i++) last += ((t.shape[i] as number) - 1) * (t.stride[i] as number);
  const where = `tensor "${name}" (offset ${t.offset}, shape ${fmt(t.shape)}, stride ${fmt(t.stride)})`;
  if (!Number.isSafeInteger(last) || last >= t.storage.numel) {
    throw new DeptError(`${file}: ${where} needs ${last + 1} elements but storage "${t.storage.key}" holds ${t.storage.numel}`);
  }
  if (numel > t.storage.numel) {
    throw new DeptError(
      `${file}: ${where} has ${numel} elements but storage "${t.storage.key}" holds ${t.storage.numel}: a view that repeats its storage (expand()) is refused; save it with .contiguous()`,
    );
  }
  return numel;
}

/** Copies the view `t` of a storage's raw bytes into a row-major float32 tensor. */
function materialise(t: PTensor, raw: Uint8Array): HostTensor {
  const numel = shapeSize(t.shape);
  const out = new Float32Array(numel);
  if (numel === 0) return { data: out, shape: [...t.shape] };
  let contiguous = true;
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if ((t.shape[i] as number) !== 1 && t.stride[i] !== expect) contiguous = false;
    expect *= t.shape[i] as number;
  }
  const bytesPer = t.storage.bytesPer;
  if (contiguous && t.storage.dtype === 'F32') {
    new Uint8Array(out.buffer).set(raw.subarray(t.offset * 4, (t.offset + numel) * 4));
    return { data: out, shape: [...t.shape] };
  }
  const read = elementReader(new DataView(raw.buffer, raw.byteOffset, t.storage.numel * bytesPer), t.storage.dtype);
  if (contiguous) {
    for (let k = 0; k < numel; k++) out[k] = read(t.offset + k);
    return { data: out, shape: [...t.shape] };
  }
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let k = 0; k < numel; k++) {
    let src = t.offset;
    for (let i = 0; i < idx.length; i++) src += (idx[i] as number) * (t.stride[i] as number);
    out[k] = read(src);
    for (let i = idx.length - 1; i >= 0; i--) {
      idx[i] = (idx[i] as number) + 1;
      if ((idx[i] as number) < (t.shape[i] as number)) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: [...t.shape] };
}

/** Lists the tensors of the unpickled structure with their names; non-tensor leaves go to `skipped`. */
function collect(root: PValue, file: string, singleName: string): { kind: TorchFile['kind']; found: [string, PTensor][]; skipped: string[] } {
  const found: [string, PTensor][] = [];
  const skipped: string[] = [];
  if (root !== null && typeof root === 'object' && root.kind === 'tensor') return { kind: 'tensor', found: [[singleName, root]], skipped };
  if (root === null || typeof root !== 'object' || (root.kind !== 'dict' && root.kind !== 'list' && root.kind !== 'tuple')) {
    throw new DeptError(`${file}: holds ${describeValue(root)}, not a tensor or a dict of tensors`);
  }
  let visits = 0;
  const onPath = new Set<object>();
  const walk = (v: PValue, name: string, depth: number): void => {
    if (++visits > MAX_WALK) throw new DeptError(`${file}: the pickled structure reaches more than ${MAX_WALK} entries (shared references multiply it)`);
    if (v !== null && typeof v === 'object') {
      if (v.kind === 'tensor') {
        found.push([name, v]);
        return;
      }
      if (v.kind === 'dict' || v.kind === 'list' || v.kind === 'tuple') {
        if (depth > 32 || onPath.has(v)) throw new DeptError(`${file}: the pickled structure is nested too deeply or refers to itself at "${name}"`);
        onPath.add(v);
        if (v.kind === 'dict') {
          for (const [k, x] of v.entries) {
            if (typeof k !== 'string' && typeof k !== 'number') throw new DeptError(`${file}: dict key ${describeValue(k)} at "${name}" is not a string`);
            walk(x, name ? `${name}.${k}` : String(k), depth + 1);
          }
        } else v.items.forEach((x, i) => walk(x, name ? `${name}.${i}` : String(i), depth + 1));
        onPath.delete(v);
        return;
      }
    }
    skipped.push(name);
  };
  walk(root, '', 0);
  return { kind: root.kind === 'dict' ? 'dict' : 'list', found, skipped };
}

/**
 * Reads a `torch.save` zip held in memory. `file` names it in errors.
 *
 * @example
 * const { tensors } = decodeTorchFile(readFileSync('adapter_model.bin'), 'adapter_model.bin', { names: (n) => n.startsWith('prompt') });
 * tensors.get('prompt_embeddings')?.shape; // [60, 768]
 */
export function decodeTorchFile(bytes: Uint8Array, file = '<buffer>', opts: ReadTorchOptions = {}): TorchFile {
  if (bytes.length >= 2 && bytes[0] === 0x80 && (bytes[1] as number) <= 5) {
    throw new DeptError(`${file}: is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with a current torch`);
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new DeptError(`${file}: not a PyTorch zip archive`);
  const budget = opts.maxBytes ?? expansionBudget(bytes.length);
  const zip = new ZipReader(bytes, file, { ...opts, maxTotalBytes: Math.min(budget, opts.maxTotalBytes ?? Number.POSITIVE_INFINITY) });
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
  const { kind, found, skipped } = collect(root, file, opts.singleTensorName ?? 'tensor');

  // Check every view against its storage and its zip entry (no data is read yet).
  const entries = new Map<string, TorchEntry>();
  for (const [name, t] of found) {
    checkView(t, name, file);
    const entry = zip.entries.get(`${prefix}/data/${t.storage.key}`);
    if (!entry) throw new DeptError(`${file}: storage "${t.storage.key}" is missing (no entry ${prefix}/data/${t.storage.key})`);
    const need = t.storage.numel * t.storage.bytesPer;
    if (entry.size < need) {
      throw new DeptError(`${file}: storage "${t.storage.key}" holds ${entry.size} bytes, expected ${need} for ${t.storage.numel} ${t.storage.dtype} elements`);
    }
    entries.set(name, { dtype: t.storage.dtype, shape: [...t.shape] });
  }

  // What reading the tensors asked for costs: each deflated storage inflated once, 4 bytes per value read.
  const wanted = found.filter(([name]) => !opts.names || opts.names(name));
  let cost = zip.expandedBytes;
  const inflated = new Set<string>();
  for (const [name, t] of wanted) {
    const entry = zip.entries.get(`${prefix}/data/${t.storage.key}`);
    if (entry && entry.method !== 0 && !inflated.has(t.storage.key)) {
      inflated.add(t.storage.key);
      cost += entry.size;
    }
    cost += 4 * shapeSize(t.shape);
    if (cost > budget) {
      const why = opts.maxBytes === undefined ? `${EXPANSION_FACTOR} × its ${bytes.length} bytes, at least ${EXPANSION_FLOOR / 2 ** 20} MiB` : 'the maxBytes option';
      throw new DeptError(`${file}: reading tensor "${name}" would expand the file past its budget of ${budget} bytes (${why}): refused as a memory bomb`);
    }
  }

  const raws = new Map<string, Uint8Array>();
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, TorchDtype>();
  for (const [name, t] of wanted) {
    let raw = raws.get(t.storage.key);
    if (!raw) {
      raw = zip.read(`${prefix}/data/${t.storage.key}`);
      raws.set(t.storage.key, raw);
    }
    tensors.set(name, materialise(t, raw));
    dtypes.set(name, t.storage.dtype);
  }
  return { tensors, dtypes, entries, kind, skipped, archiveName: prefix };
}

/**
 * Reads a PyTorch `torch.save` file (zip format) safely: a dict of tensors (DePT's `adapter_model.bin`) or a
 * single tensor (ATTEMPT's `*.pt`, named `opts.singleTensorName`, default `tensor`). Nothing in the file is
 * executed; anything outside the tensor subset of pickle is refused. `opts.names` picks the tensors to read.
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
