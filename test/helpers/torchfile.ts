/**
 * Test helpers that build PyTorch `torch.save` files byte by byte: a pickle assembler and a tiny zip writer
 * (independent of the code under test; CRC from node:zlib, deflate from node:zlib).
 */
import { crc32, deflateRawSync } from 'node:zlib';

/** Assembles a pickle from opcodes. */
export class PickleWriter {
  private bytes: number[] = [];

  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  text(s: string): this {
    return this.raw(...Buffer.from(s, 'latin1'));
  }
  proto(v = 2): this {
    return this.raw(0x80, v);
  }
  global(module: string, name: string): this {
    return this.text(`c${module}\n${name}\n`);
  }
  unicode(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.raw(0x58, ...len, ...b);
  }
  shortUnicode(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.raw(0x8c, b.length, ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.raw(0x4a, ...b);
  }
  ints(ns: number[]): this {
    this.mark();
    for (const n of ns) this.int(n);
    return this.raw(0x74); // TUPLE
  }
  mark(): this {
    return this.raw(0x28);
  }
  put(i: number): this {
    return this.raw(0x71, i);
  }
  get(i: number): this {
    return this.raw(0x68, i);
  }
  stop(): Uint8Array {
    this.raw(0x2e);
    return new Uint8Array(this.bytes);
  }
  /** `_rebuild_tensor_v2(persistent_load(('storage', torch.<type>, key, 'cpu', numel)), offset, shape, stride, False, OrderedDict())` */
  tensor(storageType: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.mark();
    this.mark().unicode('storage').global('torch', storageType).unicode(key).unicode('cpu').int(numel).raw(0x74).raw(0x51); // TUPLE, BINPERSID
    this.int(offset).ints(shape).ints(stride).raw(0x89); // NEWFALSE
    this.global('collections', 'OrderedDict').raw(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    return this.raw(0x74, 0x52); // TUPLE, REDUCE
  }
}

/** One entry for {@link makeZip}. */
export interface ZipItem {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflate. */
  method?: 0 | 8;
  /** Uncompressed size to write in the headers instead of the real one (to fake a zip bomb). */
  statedSize?: number;
  /** CRC to write instead of the real one. */
  crc?: number;
  /** Write no data: point this directory entry at the local header of the (earlier) item of that name. */
  aliasOf?: string;
  /** Name to write in the local header instead of `name` (the directory keeps `name`). */
  localName?: string;
  /** Uncompressed size to write in the local header only. */
  localSize?: number;
  /** Compression method to write in the local header only. */
  localMethod?: number;
}

/** Writes a zip archive (no zip64). */
export function makeZip(items: ZipItem[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets = new Map<string, { offset: number; compressed: number }>();
  let offset = 0;
  for (const it of items) {
    const name = Buffer.from(it.name, 'utf8');
    const body = it.method === 8 ? deflateRawSync(it.data) : Buffer.from(it.data);
    const crc = it.crc ?? crc32(it.data);
    const size = it.statedSize ?? it.data.length;
    const alias = it.aliasOf === undefined ? undefined : offsets.get(it.aliasOf);
    if (it.aliasOf !== undefined && !alias) throw new Error(`makeZip: no earlier item ${it.aliasOf}`);
    if (alias) {
      centrals.push(centralHeader(it, name, crc, alias.compressed, size, alias.offset), name);
      continue;
    }
    offsets.set(it.name, { offset, compressed: body.length });
    const localName = it.localName === undefined ? name : Buffer.from(it.localName, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(it.localMethod ?? it.method ?? 0, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(it.localSize ?? size, 22);
    local.writeUInt16LE(localName.length, 26);
    locals.push(local, localName, body);
    centrals.push(centralHeader(it, name, crc, body.length, size, offset), name);
    offset += 30 + localName.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(centrals.length / 2, 8);
  eocd.writeUInt16LE(centrals.length / 2, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, eocd]));
}

function centralHeader(it: ZipItem, name: Buffer, crc: number, compressed: number, size: number, offset: number): Buffer {
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x800, 8);
  central.writeUInt16LE(it.method ?? 0, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(compressed, 20);
  central.writeUInt32LE(size, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE(offset, 42);
  return central;
}

/** A torch-style archive: `<prefix>/data.pkl`, `<prefix>/data/<key>` storages, `<prefix>/version`. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, prefix = 'archive'): Uint8Array {
  return makeZip([
    { name: `${prefix}/data.pkl`, data: pickle },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${prefix}/data/${k}`, data })),
    { name: `${prefix}/version`, data: new Uint8Array(Buffer.from('3\n')) },
  ]);
}

/** Little-endian float32 bytes. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
