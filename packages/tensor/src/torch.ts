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
import { readFileSync } from 'node:fs';
import { DeptError } from '@dept/core';
import { type HostTensor, shapeSize } from './host.ts';
import { f16BitsToF32 } from './safetensors.ts';
import { ZipReader, type ZipLimits } from './zip.ts';

/** Storage element types this reader converts to float32. */
export type TorchDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

const STORAGE_TYPES: Readonly<Record<string, { dtype: TorchDtype; bytes: number }>> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
};

const REBUILD_FUNCTIONS = new Set(['_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state']);

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

// ---------------------------------------------------------------------------------------------------------
// Pickle values

interface PTuple { kind: 'tuple'; items: PValue[] }
interface PList { kind: 'list'; items: PValue[] }
interface PDict { kind: 'dict'; entries: Map<PKey, PValue> }
interface PGlobal { kind: 'global'; module: string; name: string }
interface PStorage { kind: 'storage'; dtype: TorchDtype; bytesPer: number; key: string; numel: number }
interface PTensor { kind: 'tensor'; storage: PStorage; offset: number; shape: number[]; stride: number[] }
interface PMark { kind: 'mark' }
type PKey = string | number | boolean | null;
type PValue = null | boolean | number | bigint | string | PTuple | PList | PDict | PGlobal | PStorage | PTensor;

const MARK: PMark = { kind: 'mark' };

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x62: 'BUILD', 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x50: 'PERSID', 0x52: 'REDUCE',
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x30: 'POP', 0x31: 'POP_MARK',
  0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4c: 'LONG', 0x53: 'STRING', 0x55: 'SHORT_BINSTRING', 0x54: 'BINSTRING',
  0x56: 'UNICODE', 0x70: 'PUT', 0x67: 'GET', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8e: 'BINBYTES8',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x8b: 'LONG4', 0x64: 'DICT', 0x6c: 'LIST',
};

function describe(v: PValue | PMark): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v.kind === 'global') return `${v.module}.${v.name}`;
  return `a ${v.kind}`;
}

/** Interprets the pickle subset `torch.save` writes. Never calls anything; builds only plain values. */
class PickleMachine {
  private pos = 0;
  private stack: (PValue | PMark)[] = [];
  private marks: number[] = [];
  private memo = new Map<number, PValue>();
  private storages = new Map<string, PStorage>();

  constructor(
    private readonly data: Uint8Array,
    private readonly file: string,
  ) {}

  private fail(what: string): never {
    throw new DeptError(`${this.file}: ${what}`);
  }

  private need(n: number): number {
    if (this.pos + n > this.data.length) this.fail(`pickle ends early at byte ${this.pos} (truncated data.pkl)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.data[this.need(1)] as number;
  }

  private view(n: number): DataView {
    const at = this.need(n);
    return new DataView(this.data.buffer, this.data.byteOffset + at, n);
  }

  private text(n: number): string {
    const at = this.need(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.data.subarray(at, at + n));
    } catch {
      return this.fail(`pickle string at byte ${at} is not valid UTF-8`);
    }
  }

  private line(): string {
    const start = this.pos;
    const end = this.data.indexOf(0x0a, start);
    if (end < 0 || end - start > 256) this.fail(`pickle GLOBAL at byte ${start - 1} has no end of line`);
    this.pos = end + 1;
    return Buffer.from(this.data.subarray(start, end)).toString('latin1');
  }

  private pop(): PValue {
    const v = this.stack.pop();
    if (v === undefined || v === MARK) this.fail(`pickle stack underflow at byte ${this.pos - 1}`);
    return v as PValue;
  }

  private popMark(): PValue[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail(`pickle uses a MARK that was never set (byte ${this.pos - 1})`);
    const items = this.stack.splice(m) as PValue[];
    return items;
  }

  private top(): PValue {
    const v = this.stack.at(-1);
    if (v === undefined || v === MARK) this.fail(`pickle stack underflow at byte ${this.pos - 1}`);
    return v as PValue;
  }

  private push(v: PValue): void {
    if (this.stack.length > 1_000_000) this.fail('pickle stack too deep');
    this.stack.push(v);
  }

  private global(module: string, name: string): PGlobal {
    const allowed =
      (module === 'collections' && name === 'OrderedDict') ||
      (module === 'torch._utils' && REBUILD_FUNCTIONS.has(name)) ||
      (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name));
    if (!allowed) this.fail(`refused pickle global "${module} ${name}" (only torch tensor rebuild functions are allowed)`);
    return { kind: 'global', module, name };
  }

  private memoKey(v: PValue): PKey {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (typeof v === 'bigint') return Number(v);
    return this.fail(`pickle uses ${describe(v)} as a dict key`);
  }

  private setItems(dict: PValue, items: PValue[]): void {
    if (dict === null || typeof dict !== 'object' || dict.kind !== 'dict') this.fail(`pickle SETITEM(S) on ${describe(dict)}, not a dict`);
    if (items.length % 2 !== 0) this.fail('pickle SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) dict.entries.set(this.memoKey(items[i] as PValue), items[i + 1] as PValue);
  }

  private append(list: PValue, items: PValue[]): void {
    if (list === null || typeof list !== 'object' || list.kind !== 'list') this.fail(`pickle APPEND(S) on ${describe(list)}, not a list`);
    list.items.push(...items);
  }

  private int(v: PValue, what: string): number {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) this.fail(`pickle: ${what} must be an integer, got ${describe(v)}`);
    return n;
  }

  private intTuple(v: PValue, what: string): number[] {
    if (v === null || typeof v !== 'object' || (v.kind !== 'tuple' && v.kind !== 'list')) this.fail(`pickle: ${what} must be a tuple, got ${describe(v)}`);
    return v.items.map((x) => {
      const n = this.int(x, what);
      if (n < 0) this.fail(`pickle: ${what} holds a negative value ${n}`);
      return n;
    });
  }

  private persistentLoad(pid: PValue): PStorage {
    if (pid === null || typeof pid !== 'object' || pid.kind !== 'tuple' || pid.items[0] !== 'storage' || pid.items.length !== 5) {
      this.fail(`refused persistent id ${describe(pid)} (only ('storage', type, key, location, numel) is allowed)`);
    }
    const [, type, key, , numel] = pid.items as [PValue, PValue, PValue, PValue, PValue];
    if (type === null || typeof type !== 'object' || type.kind !== 'global' || type.module !== 'torch' || !Object.hasOwn(STORAGE_TYPES, type.name)) {
      this.fail(`persistent id names storage type ${describe(type)}, not a torch storage class`);
    }
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key) || key === '.' || key === '..') this.fail(`persistent id has a bad storage key ${describe(key)}`);
    const n = this.int(numel, 'storage size');
    const info = STORAGE_TYPES[type.name] as { dtype: TorchDtype; bytes: number };
    const existing = this.storages.get(key);
    if (existing) {
      if (existing.dtype !== info.dtype || existing.numel !== n) this.fail(`storage "${key}" is described twice with different types or sizes`);
      return existing;
    }
    const s: PStorage = { kind: 'storage', dtype: info.dtype, bytesPer: info.bytes, key, numel: n };
    this.storages.set(key, s);
    return s;
  }

  private reduce(fn: PValue, args: PValue): PValue {
    if (args === null || typeof args !== 'object' || args.kind !== 'tuple') this.fail(`pickle REDUCE with arguments ${describe(args)}, not a tuple`);
    if (fn === null || typeof fn !== 'object' || fn.kind !== 'global' || Object.hasOwn(STORAGE_TYPES, fn.name)) {
      this.fail(`refused REDUCE on ${describe(fn)} (only collections.OrderedDict and torch._utils tensor rebuild functions may be called)`);
    }
    const a = args.items;
    if (fn.name === 'OrderedDict') {
      if (a.length !== 0) this.fail('pickle: OrderedDict called with arguments (only OrderedDict() is read)');
      return { kind: 'dict', entries: new Map() };
    }
    if (fn.name === '_rebuild_tensor_v2') {
      if (a.length < 6 || a.length > 7) this.fail(`pickle: _rebuild_tensor_v2 takes 6 or 7 arguments, got ${a.length}`);
      const storage = a[0] as PValue;
      if (storage === null || typeof storage !== 'object' || storage.kind !== 'storage') this.fail(`pickle: _rebuild_tensor_v2 needs a storage, got ${describe(storage)}`);
      const offset = this.int(a[1] as PValue, 'storage offset');
      if (offset < 0) this.fail(`pickle: negative storage offset ${offset}`);
      const shape = this.intTuple(a[2] as PValue, 'tensor size');
      const stride = this.intTuple(a[3] as PValue, 'tensor stride');
      if (shape.length !== stride.length) this.fail(`pickle: tensor size [${shape.join(', ')}] and stride [${stride.join(', ')}] differ in length`);
      return { kind: 'tensor', storage, offset, shape, stride };
    }
    // _rebuild_parameter(data, requires_grad, backward_hooks[, state]): the parameter is its data.
    const data = a[0] as PValue;
    if (data === null || typeof data !== 'object' || data.kind !== 'tensor') this.fail(`pickle: ${fn.name} needs a tensor, got ${describe(data)}`);
    return data;
  }

  run(): PValue {
    const d = this.data;
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`pickle protocol ${v} is not supported`);
          break;
        }
        case 0x95: // FRAME
          this.view(8);
          break;
        case 0x7d: // EMPTY_DICT
          this.push({ kind: 'dict', entries: new Map() });
          break;
        case 0x5d: // EMPTY_LIST
          this.push({ kind: 'list', items: [] });
          break;
        case 0x29: // EMPTY_TUPLE
          this.push({ kind: 'tuple', items: [] });
          break;
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          this.stack.push(MARK);
          break;
        case 0x58: // BINUNICODE
          this.push(this.text(this.view(4).getUint32(0, true)));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.text(this.u8()));
          break;
        case 0x8d: { // BINUNICODE8
          const n = this.view(8).getBigUint64(0, true);
          if (n > BigInt(d.length)) this.fail(`pickle string at byte ${at} is longer than the file`);
          this.push(this.text(Number(n)));
          break;
        }
        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.view(4).getUint32(0, true), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top());
          break;
        case 0x68: // BINGET
        case 0x6a: { // LONG_BINGET
          const k = op === 0x68 ? this.u8() : this.view(4).getUint32(0, true);
          if (!this.memo.has(k)) this.fail(`pickle reads memo ${k}, which was never stored (byte ${at})`);
          this.push(this.memo.get(k) as PValue);
          break;
        }
        case 0x4a: // BININT
          this.push(this.view(4).getInt32(0, true));
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.view(2).getUint16(0, true));
          break;
        case 0x8a: { // LONG1
          const n = this.u8();
          const at2 = this.need(n);
          let v = 0n;
          for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(d[at2 + i] as number);
          if (n > 0 && ((d[at2 + n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
          this.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
          break;
        }
        case 0x47: // BINFLOAT
          this.push(this.view(8).getFloat64(0, false));
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x74: // TUPLE
          this.push({ kind: 'tuple', items: this.popMark().slice(1) });
          break;
        case 0x85: // TUPLE1
          this.push({ kind: 'tuple', items: [this.pop()] });
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          this.push({ kind: 'tuple', items: [this.pop(), b] });
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push({ kind: 'tuple', items: [this.pop(), b, c] });
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark().slice(1);
          this.setItems(this.top(), items);
          break;
        }
        case 0x61: { // APPEND
          const v = this.pop();
          this.append(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark().slice(1);
          this.append(this.top(), items);
          break;
        }
        case 0x63: { // GLOBAL
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail(`pickle STACK_GLOBAL with ${describe(module)} ${describe(name)}`);
          this.push(this.global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(this.reduce(fn, args));
          break;
        }
        case 0x51: // BINPERSID
          this.push(this.persistentLoad(this.pop()));
          break;
        case 0x2e: { // STOP
          const v = this.pop();
          return v;
        }
        default: {
          const name = OPCODE_NAMES[op];
          this.fail(
            `refused pickle opcode 0x${op.toString(16).padStart(2, '0')}${name ? ` ${name}` : ''} at byte ${at} (only the subset torch.save writes for tensors is read)`,
          );
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Materialising tensors

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
          if (typeof k !== 'string' && typeof k !== 'number') throw new DeptError(`${file}: dict key ${describe(k)} at "${name}" is not a string`);
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
    throw new DeptError(`${file}: holds ${describe(root)}, not a tensor or a dict of tensors`);
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
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeptError(`${path}: file not found`, { cause: error });
    if (code === 'EISDIR') throw new DeptError(`${path}: is a folder, expected a torch.save file`, { cause: error });
    throw error;
  }
  return decodeTorchFile(bytes, path, opts);
}
