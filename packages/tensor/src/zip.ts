/**
 * A defensive reader for zip archives (the container of PyTorch `torch.save` files). It reads the central
 * directory itself, refuses entry names that could escape a folder (`..`, absolute paths, drive letters),
 * encrypted or duplicate entries, checks every local header against its directory entry (name, method, CRC and
 * sizes) and refuses entries that share or overlap their data, and inflates with fflate's streaming `Inflate`,
 * aborting as soon as an entry grows past the size the directory states (zip-bomb protection). The bytes inflated
 * are bounded per entry and in total ({@link expansionBudget}). CRC-32 is checked.
 */
import { Inflate } from 'fflate';
import * as zlib from 'node:zlib';
import { DeptError } from '@dept/core';

/** One entry of a zip central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Offset of the entry's local header. */
  localOffset: number;
  /** Offset of the entry's (compressed) data, after its local header. */
  dataOffset: number;
}

/** Limits for {@link ZipReader}. */
export interface ZipLimits {
  /** Largest decompressed size of one entry (default 4 GiB − 1). */
  maxEntryBytes?: number;
  /** Most entries in the archive (default 100,000). */
  maxEntries?: number;
  /** Most bytes inflated from deflated entries, all reads together (default {@link expansionBudget} of the archive). */
  maxTotalBytes?: number;
}

/** An archive may expand to this many times its own size... */
export const EXPANSION_FACTOR = 8;
/** ...or to this many bytes, whichever is larger (so a small file is never refused). */
export const EXPANSION_FLOOR = 64 * 2 ** 20;

/**
 * The most bytes reading a file of `fileBytes` bytes may produce, `max(8 × fileBytes, 64 MiB)`: for a zip, the
 * bytes inflated; for a torch file, those plus 4 bytes per float32 value of the tensors read.
 *
 * @example
 * expansionBudget(308_609);       // 67108864 (the 64 MiB floor)
 * expansionBudget(1_000_000_000); // 8000000000
 */
export function expansionBudget(fileBytes: number): number {
  return Math.max(EXPANSION_FACTOR * fileBytes, EXPANSION_FLOOR);
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOC = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
/** DEFLATE cannot expand data by more than about 1032:1; anything claiming more is a bomb. */
const MAX_DEFLATE_RATIO = 1100;

let crcTable: Uint32Array | null = null;
/** CRC-32 (IEEE) of bytes, as zip stores it. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (crcTable[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** True when a zip entry name stays inside the folder it is extracted to. */
export function isSafeEntryName(name: string): boolean {
  if (name === '' || name.includes('\0')) return false;
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return false;
  return !name.split(/[/\\]/).some((part) => part === '..');
}

/**
 * Reads a zip archive held in memory, entry by entry.
 *
 * @example
 * const zip = new ZipReader(bytes, 'adapter_model.bin');
 * zip.names();                         // ['adapter_model/data.pkl', 'adapter_model/data/0', ...]
 * zip.read('adapter_model/data.pkl');  // Uint8Array
 */
export class ZipReader {
  readonly entries: Map<string, ZipEntry>;
  private readonly view: DataView;
  private readonly maxEntryBytes: number;
  private readonly maxTotalBytes: number;
  private inflated = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    limits: ZipLimits = {},
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxEntryBytes = limits.maxEntryBytes ?? 2 ** 32 - 1;
    this.maxTotalBytes = limits.maxTotalBytes ?? expansionBudget(bytes.byteLength);
    this.entries = this.readDirectory(limits.maxEntries ?? 100_000);
  }

  /** Bytes inflated from deflated entries so far (stored entries are views of the archive and cost nothing). */
  get expandedBytes(): number {
    return this.inflated;
  }

  private fail(what: string): never {
    throw new DeptError(`${this.file}: ${what}`);
  }

  private u16(at: number): number {
    if (at + 2 > this.bytes.byteLength) this.fail('zip archive is truncated');
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    if (at + 4 > this.bytes.byteLength) this.fail('zip archive is truncated');
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    if (at + 8 > this.bytes.byteLength) this.fail('zip archive is truncated');
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('zip64 field too large');
    return Number(v);
  }

  private readDirectory(maxEntries: number): Map<string, ZipEntry> {
    const n = this.bytes.byteLength;
    let eocd = -1;
    for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
      if (this.view.getUint32(i, true) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('not a zip archive (no end-of-central-directory record)');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== SIG_EOCD64_LOC) this.fail('zip64 archive without a zip64 locator');
      const at = this.u64(loc + 8);
      if (this.u32(at) !== SIG_EOCD64) this.fail('zip64 end-of-central-directory record not found');
      count = this.u64(at + 32);
      cdSize = this.u64(at + 40);
      cdOffset = this.u64(at + 48);
    }
    if (count > maxEntries) this.fail(`zip archive has ${count} entries, more than the limit of ${maxEntries}`);
    if (cdOffset + cdSize > n) this.fail('zip central directory runs past the end of the file');
    const entries = new Map<string, ZipEntry>();
    const rawNames = new Map<string, Uint8Array>();
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let p = cdOffset;
    for (let k = 0; k < count; k++) {
      if (this.u32(p) !== SIG_CENTRAL) this.fail(`zip central directory entry ${k} is corrupt`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localOffset = this.u32(p + 42);
      if (p + 46 + nameLen > n) this.fail('zip archive is truncated');
      const rawName = this.bytes.subarray(p + 46, p + 46 + nameLen);
      let name: string;
      try {
        name = flags & 0x800 ? decoder.decode(rawName) : Buffer.from(rawName).toString('latin1');
      } catch {
        this.fail(`zip entry ${k} has a name that is not valid UTF-8`);
      }
      // zip64 extra field: the 64-bit values of the fields saturated at 0xffffffff, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) (size = this.u64(q)), (q += 8);
          if (compressedSize === 0xffffffff) (compressedSize = this.u64(q)), (q += 8);
          if (localOffset === 0xffffffff) localOffset = this.u64(q);
        }
        e += 4 + len;
      }
      if (!isSafeEntryName(name)) this.fail(`refused zip entry ${JSON.stringify(name)} (entry names must stay inside the archive: no "..", no absolute paths)`);
      if (flags & 1) this.fail(`zip entry "${name}" is encrypted`);
      if (method !== 0 && method !== 8) this.fail(`zip entry "${name}" uses compression method ${method} (only stored and deflate are read)`);
      if (entries.has(name)) this.fail(`zip archive holds "${name}" twice`);
      entries.set(name, { name, method, compressedSize, size, crc32: crc, localOffset, dataOffset: 0 });
      rawNames.set(name, rawName);
      p += 46 + nameLen + extraLen + commentLen;
    }
    const byOffset = [...entries.values()].sort((a, b) => a.localOffset - b.localOffset);
    for (let i = 1; i < byOffset.length; i++) {
      const prev = byOffset[i - 1] as ZipEntry;
      const e = byOffset[i] as ZipEntry;
      if (e.localOffset === prev.localOffset) {
        this.fail(`zip entries "${prev.name}" and "${e.name}" point at the same local header (offset ${e.localOffset}); each entry must have data of its own`);
      }
    }
    for (const entry of entries.values()) this.checkLocalHeader(entry, rawNames.get(entry.name) as Uint8Array, cdOffset);
    for (let i = 1; i < byOffset.length; i++) {
      const prev = byOffset[i - 1] as ZipEntry;
      const e = byOffset[i] as ZipEntry;
      if (e.localOffset < prev.dataOffset + prev.compressedSize) {
        this.fail(`zip entry "${e.name}" (offset ${e.localOffset}) lies inside the data of "${prev.name}"; entries may not overlap`);
      }
    }
    return entries;
  }

  /**
   * Checks an entry's local header against its directory entry (signature, name, method; CRC and sizes unless
   * the entry defers them to a data descriptor) and sets its `dataOffset`; its data must end before the directory.
   */
  private checkLocalHeader(entry: ZipEntry, rawName: Uint8Array, cdOffset: number): void {
    const at = entry.localOffset;
    const name = entry.name;
    if (at + 30 > cdOffset || this.u32(at) !== SIG_LOCAL) this.fail(`zip entry "${name}" has no local header at offset ${at}`);
    const flags = this.u16(at + 6);
    const nameLen = this.u16(at + 26);
    const extraLen = this.u16(at + 28);
    if (at + 30 + nameLen > cdOffset || Buffer.compare(this.bytes.subarray(at + 30, at + 30 + nameLen), rawName) !== 0) {
      const local = Buffer.from(this.bytes.subarray(at + 30, Math.min(at + 30 + nameLen, cdOffset, at + 30 + 200))).toString('latin1');
      this.fail(`zip entry "${name}": its local header (offset ${at}) names ${JSON.stringify(local)}; directory and local header must agree`);
    }
    const method = this.u16(at + 8);
    if (method !== entry.method) this.fail(`zip entry "${name}": its local header says compression method ${method}, the directory ${entry.method}`);
    let size = this.u32(at + 22);
    let compressedSize = this.u32(at + 18);
    if (size === 0xffffffff || compressedSize === 0xffffffff) {
      // zip64 local extra field: uncompressed then compressed size, both 64-bit.
      let e = at + 30 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        if (this.u16(e) === 0x0001 && this.u16(e + 2) >= 16) {
          size = this.u64(e + 4);
          compressedSize = this.u64(e + 12);
        }
        e += 4 + this.u16(e + 2);
      }
    }
    const deferred = (flags & 0x08) !== 0; // CRC and sizes in a data descriptor after the data (torch writes these)
    const agrees = (local: number, central: number): boolean => local === central || (deferred && local === 0);
    if (!agrees(this.u32(at + 14), entry.crc32) || !agrees(compressedSize, entry.compressedSize) || !agrees(size, entry.size)) {
      this.fail(
        `zip entry "${name}": its local header states CRC ${this.u32(at + 14)}, ${compressedSize} compressed and ${size} bytes, the directory CRC ${entry.crc32}, ${entry.compressedSize} and ${entry.size}`,
      );
    }
    if (entry.method === 8 && entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      this.fail(`zip entry "${name}" claims ${entry.size} bytes from ${entry.compressedSize} compressed (impossible for deflate: a zip bomb?)`);
    }
    entry.dataOffset = at + 30 + nameLen + extraLen;
    if (entry.dataOffset + entry.compressedSize > cdOffset) this.fail(`zip entry "${name}" runs past the start of the central directory`);
  }

  /** Entry names in directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** True when the archive has an entry of this name. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The decompressed bytes of an entry. Stored entries are returned as a view of the archive (no copy).
   * Deflated entries are inflated in chunks and abandoned as soon as they grow past their stated size.
   */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`zip entry "${name}" not found`);
    const { size, compressedSize, dataOffset: start, method } = entry;
    if (size > this.maxEntryBytes) this.fail(`zip entry "${name}" states ${size} bytes, more than the limit of ${this.maxEntryBytes}`);
    const raw = this.bytes.subarray(start, start + compressedSize);
    let out: Uint8Array;
    if (method === 0) {
      if (compressedSize !== size) this.fail(`zip entry "${name}" is stored with ${compressedSize} bytes but states ${size}`);
      out = raw;
    } else {
      if (this.inflated + size > this.maxTotalBytes) {
        this.fail(`zip entry "${name}" would bring the bytes inflated from this archive past ${this.maxTotalBytes} (refused as a zip bomb)`);
      }
      this.inflated += size;
      out = new Uint8Array(size);
      let written = 0;
      const inflater = new Inflate((chunk) => {
        if (written + chunk.length > size) {
          this.fail(`zip entry "${name}" inflates past its stated ${size} bytes (refused as a zip bomb)`);
        }
        out.set(chunk, written);
        written += chunk.length;
      });
      const step = 16384;
      try {
        for (let i = 0; i < raw.length; i += step) inflater.push(raw.subarray(i, Math.min(raw.length, i + step)), i + step >= raw.length);
        if (raw.length === 0) inflater.push(new Uint8Array(0), true);
      } catch (error) {
        if (error instanceof DeptError) throw error;
        this.fail(`zip entry "${name}" is not valid deflate data (${(error as Error).message})`);
      }
      if (written !== size) this.fail(`zip entry "${name}" inflates to ${written} bytes, expected ${size}`);
    }
    if (crc32(out) !== entry.crc32) this.fail(`zip entry "${name}" fails its CRC-32 check (corrupt file)`);
    return out;
  }
}
