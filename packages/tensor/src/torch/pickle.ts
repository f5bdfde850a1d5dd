/**
 * The pickle machine of the PyTorch reader: it interprets only the opcodes `torch.save` writes for tensors and
 * builds plain values (tuples, lists, dicts, storages, tensor views). Nothing is ever called: the few allowed globals
 * (the tensor-rebuild functions, the typed storage classes, `collections.OrderedDict`) are recognised by name, and
 * everything else is refused with a `DeptError`. `BUILD` is read only where `torch.save(module.state_dict())` writes
 * it: on an OrderedDict, with a plain state (the `_metadata` attribute), which is checked and then dropped.
 * The memo, the stack and the items held by containers are bounded ({@link PICKLE_LIMITS}).
 */
import { DeptError } from '@dept/core';

/** Storage element types this reader converts to float32. */
export type TorchDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

export const STORAGE_TYPES: Readonly<Record<string, { dtype: TorchDtype; bytes: number }>> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

/**
 * Bounds on what one pickle may build, far above what `torch.save` writes (a state dict of N tensors needs about
 * 10·N memo entries, a stack a few dozen deep and about 20·N container items).
 */
export const PICKLE_LIMITS = {
  /** Most memo entries (BINPUT, LONG_BINPUT, MEMOIZE). */
  memo: 1_000_000,
  /** Deepest stack, MARKs included. */
  stack: 1_000_000,
  /** Most items added to lists, tuples and dicts over the whole pickle. */
  items: 2_000_000,
} as const;

export const REBUILD_FUNCTIONS = new Set(['_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state']);

export interface PTuple { kind: 'tuple'; items: PValue[] }
export interface PList { kind: 'list'; items: PValue[] }
/** A dict; `ordered` for the result of `collections.OrderedDict()` (the only target BUILD accepts). */
export interface PDict { kind: 'dict'; entries: Map<PKey, PValue>; ordered: boolean }
export interface PGlobal { kind: 'global'; module: string; name: string }
export interface PStorage { kind: 'storage'; dtype: TorchDtype; bytesPer: number; key: string; numel: number }
export interface PTensor { kind: 'tensor'; storage: PStorage; offset: number; shape: number[]; stride: number[] }
interface PMark { kind: 'mark' }
export type PKey = string | number | boolean | null;
export type PValue = null | boolean | number | bigint | string | PTuple | PList | PDict | PGlobal | PStorage | PTensor;

const MARK: PMark = { kind: 'mark' };

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x62: 'BUILD', 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x50: 'PERSID', 0x52: 'REDUCE',
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x30: 'POP', 0x31: 'POP_MARK',
  0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4c: 'LONG', 0x53: 'STRING', 0x55: 'SHORT_BINSTRING', 0x54: 'BINSTRING',
  0x56: 'UNICODE', 0x70: 'PUT', 0x67: 'GET', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8e: 'BINBYTES8',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x8b: 'LONG4', 0x64: 'DICT', 0x6c: 'LIST',
};

export function describeValue(v: PValue | PMark): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v.kind === 'global') return `${v.module}.${v.name}`;
  return `a ${v.kind}`;
}

/** Interprets the pickle subset `torch.save` writes. Never calls anything; builds only plain values. */
export class PickleMachine {
  private pos = 0;
  private stack: (PValue | PMark)[] = [];
  private marks: number[] = [];
  private memo = new Map<number, PValue>();
  private storages = new Map<string, PStorage>();
  private items = 0;

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

  private push(v: PValue | PMark): void {
    if (this.stack.length >= PICKLE_LIMITS.stack) this.fail(`pickle stack holds more than ${PICKLE_LIMITS.stack} values (byte ${this.pos - 1})`);
    this.stack.push(v);
  }

  private memoize(k: number, v: PValue): void {
    if (!this.memo.has(k) && this.memo.size >= PICKLE_LIMITS.memo) this.fail(`pickle memo holds more than ${PICKLE_LIMITS.memo} entries (byte ${this.pos - 1})`);
    this.memo.set(k, v);
  }

  /** Counts `n` items added to containers against {@link PICKLE_LIMITS}.items. */
  private addItems(n: number): void {
    this.items += n;
    if (this.items > PICKLE_LIMITS.items) this.fail(`pickle containers hold more than ${PICKLE_LIMITS.items} items in all (byte ${this.pos - 1})`);
  }

  private tuple(items: PValue[]): PTuple {
    this.addItems(items.length);
    return { kind: 'tuple', items };
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
    return this.fail(`pickle uses ${describeValue(v)} as a dict key`);
  }

  private setItems(dict: PValue, items: PValue[]): void {
    if (dict === null || typeof dict !== 'object' || dict.kind !== 'dict') this.fail(`pickle SETITEM(S) on ${describeValue(dict)}, not a dict`);
    if (items.length % 2 !== 0) this.fail('pickle SETITEMS with an odd number of items');
    this.addItems(items.length / 2);
    for (let i = 0; i < items.length; i += 2) dict.entries.set(this.memoKey(items[i] as PValue), items[i + 1] as PValue);
  }

  private append(list: PValue, items: PValue[]): void {
    if (list === null || typeof list !== 'object' || list.kind !== 'list') this.fail(`pickle APPEND(S) on ${describeValue(list)}, not a list`);
    this.addItems(items.length);
    // One at a time: a spread push of a long APPENDS overflows the call stack.
    for (const v of items) list.items.push(v);
  }

  /**
   * BUILD: `torch.save(module.state_dict())` sets the OrderedDict's `_metadata` attribute this way. Accepted only on
   * an OrderedDict with a dict of plain values (None, bools, numbers, strings, and lists, tuples and dicts of them);
   * the state is checked and dropped, so nothing from it reaches the tensors.
   */
  private build(inst: PValue, state: PValue, at: number): void {
    if (inst === null || typeof inst !== 'object' || inst.kind !== 'dict' || !inst.ordered) {
      this.fail(
        `refused pickle opcode 0x62 BUILD at byte ${at} on ${describeValue(inst)} (BUILD is read only to set an OrderedDict's plain attributes, as a state_dict's _metadata)`,
      );
    }
    if (state === null || typeof state !== 'object' || state.kind !== 'dict') this.fail(`pickle BUILD at byte ${at} sets an OrderedDict's state to ${describeValue(state)}, not a dict`);
    for (const k of state.entries.keys()) if (typeof k !== 'string') this.fail(`pickle BUILD at byte ${at} sets an attribute named ${describeValue(k)}, not a string`);
    const seen = new Set<object>();
    const plain = (v: PValue, depth: number): void => {
      if (v === null || typeof v !== 'object') return;
      if (v.kind !== 'dict' && v.kind !== 'list' && v.kind !== 'tuple') this.fail(`pickle BUILD at byte ${at} sets an OrderedDict attribute holding ${describeValue(v)} (only plain values are allowed)`);
      if (seen.has(v)) return;
      if (depth > 32) this.fail(`pickle BUILD at byte ${at}: the OrderedDict's state is nested more than 32 levels deep`);
      seen.add(v);
      for (const x of v.kind === 'dict' ? v.entries.values() : v.items) plain(x, depth + 1);
    };
    plain(state, 0);
  }

  private int(v: PValue, what: string): number {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) this.fail(`pickle: ${what} must be an integer, got ${describeValue(v)}`);
    return n;
  }

  private intTuple(v: PValue, what: string): number[] {
    if (v === null || typeof v !== 'object' || (v.kind !== 'tuple' && v.kind !== 'list')) this.fail(`pickle: ${what} must be a tuple, got ${describeValue(v)}`);
    return v.items.map((x) => {
      const n = this.int(x, what);
      if (n < 0) this.fail(`pickle: ${what} holds a negative value ${n}`);
      return n;
    });
  }

  private persistentLoad(pid: PValue): PStorage {
    if (pid === null || typeof pid !== 'object' || pid.kind !== 'tuple' || pid.items[0] !== 'storage' || pid.items.length !== 5) {
      this.fail(`refused persistent id ${describeValue(pid)} (only ('storage', type, key, location, numel) is allowed)`);
    }
    const [, type, key, , numel] = pid.items as [PValue, PValue, PValue, PValue, PValue];
    if (type === null || typeof type !== 'object' || type.kind !== 'global' || type.module !== 'torch' || !Object.hasOwn(STORAGE_TYPES, type.name)) {
      this.fail(`persistent id names storage type ${describeValue(type)}, not a torch storage class`);
    }
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key) || key === '.' || key === '..') this.fail(`persistent id has a bad storage key ${describeValue(key)}`);
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
    if (args === null || typeof args !== 'object' || args.kind !== 'tuple') this.fail(`pickle REDUCE with arguments ${describeValue(args)}, not a tuple`);
    if (fn === null || typeof fn !== 'object' || fn.kind !== 'global' || Object.hasOwn(STORAGE_TYPES, fn.name)) {
      this.fail(`refused REDUCE on ${describeValue(fn)} (only collections.OrderedDict and torch._utils tensor rebuild functions may be called)`);
    }
    const a = args.items;
    if (fn.name === 'OrderedDict') {
      if (a.length !== 0) this.fail('pickle: OrderedDict called with arguments (only OrderedDict() is read)');
      return { kind: 'dict', entries: new Map(), ordered: true };
    }
    if (fn.name === '_rebuild_tensor_v2') {
      if (a.length < 6 || a.length > 7) this.fail(`pickle: _rebuild_tensor_v2 takes 6 or 7 arguments, got ${a.length}`);
      const storage = a[0] as PValue;
      if (storage === null || typeof storage !== 'object' || storage.kind !== 'storage') this.fail(`pickle: _rebuild_tensor_v2 needs a storage, got ${describeValue(storage)}`);
      const offset = this.int(a[1] as PValue, 'storage offset');
      if (offset < 0) this.fail(`pickle: negative storage offset ${offset}`);
      const shape = this.intTuple(a[2] as PValue, 'tensor size');
      const stride = this.intTuple(a[3] as PValue, 'tensor stride');
      if (shape.length !== stride.length) this.fail(`pickle: tensor size [${shape.join(', ')}] and stride [${stride.join(', ')}] differ in length`);
      return { kind: 'tensor', storage, offset, shape, stride };
    }
    // _rebuild_parameter(data, requires_grad, backward_hooks[, state]): the parameter is its data.
    const data = a[0] as PValue;
    if (data === null || typeof data !== 'object' || data.kind !== 'tensor') this.fail(`pickle: ${fn.name} needs a tensor, got ${describeValue(data)}`);
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
          this.push({ kind: 'dict', entries: new Map(), ordered: false });
          break;
        case 0x5d: // EMPTY_LIST
          this.push({ kind: 'list', items: [] });
          break;
        case 0x29: // EMPTY_TUPLE
          this.push({ kind: 'tuple', items: [] });
          break;
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          this.push(MARK);
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
          this.memoize(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memoize(this.view(4).getUint32(0, true), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memoize(this.memo.size, this.top());
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
          this.push(this.tuple(this.popMark().slice(1)));
          break;
        case 0x85: // TUPLE1
          this.push(this.tuple([this.pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          this.push(this.tuple([this.pop(), b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push(this.tuple([this.pop(), b, c]));
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
          if (typeof module !== 'string' || typeof name !== 'string') this.fail(`pickle STACK_GLOBAL with ${describeValue(module)} ${describeValue(name)}`);
          this.push(this.global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(this.reduce(fn, args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state, at);
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

