import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import { f32Bytes, makeZip, PickleWriter, torchZip } from '../../../test/helpers/torchfile.ts';
import { isDeptError } from '@dept/core';
import { decodeTorchFile, readTorchFile } from '../src/torch/file.ts';
import { ZipReader } from '../src/zip.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-torch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function stats(data: Float32Array): { sum: number; l2: number } {
  let sum = 0;
  let sq = 0;
  for (const v of data) {
    sum += v;
    sq += v * v;
  }
  return { sum, l2: Math.sqrt(sq) };
}

function expectRel(got: number, want: number, rel: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want));
}

function refusal(bytes: Uint8Array, file = 'file.bin'): string {
  try {
    decodeTorchFile(bytes, file);
  } catch (e) {
    expect(isDeptError(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected the file to be refused');
}

/** A one-tensor pickle {'w': tensor}: OrderedDict, SETITEMS. */
function dictOf(build: (p: PickleWriter) => void, key = 'w'): Uint8Array {
  const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').raw(0x29, 0x52).mark().unicode(key);
  build(p);
  return p.raw(0x75).stop(); // SETITEMS
}

describeShared('real torch.save files (reference statistics from banks/README.md)', () => {
  it('reads the DePT SST-2 checkpoint', () => {
    const f = readTorchFile(sharedPath('banks', 'dept-sst2', 'adapter_model.bin'));
    expect(f.kind).toBe('dict');
    expect(f.archiveName).toBe('adapter_model');
    expect([...f.tensors.keys()]).toEqual(['prompt_embeddings', 'prompt_encoder.lora_embedding_A', 'prompt_encoder.lora_embedding_B']);
    const P = f.tensors.get('prompt_embeddings');
    const A = f.tensors.get('prompt_encoder.lora_embedding_A');
    const B = f.tensors.get('prompt_encoder.lora_embedding_B');
    expect(P?.shape).toEqual([60, 768]);
    expect(A?.shape).toEqual([256, 30]);
    expect(B?.shape).toEqual([30, 768]);
    expect(f.dtypes.get('prompt_embeddings')).toBe('F32');
    const sp = stats(P?.data as Float32Array);
    expectRel(sp.sum, 3532.1543227814, 1e-6);
    expectRel(sp.l2, 6080.4255945902, 1e-6);
    const sa = stats(A?.data as Float32Array);
    expectRel(sa.sum, 19.0213703489, 1e-6);
    expectRel(sa.l2, 12.4847635335, 1e-6);
    const sb = stats(B?.data as Float32Array);
    expectRel(sb.sum, 0.4263933187, 1e-6);
    expectRel(sb.l2, 13.236554885, 1e-6);
    const first = [1.5252949, -20.557514, -26.551119, -18.385263];
    first.forEach((v, i) => expectRel(P?.data[i] as number, v, 1e-7));
  });

  it('reads the ATTEMPT ReCoRD prompt (a single tensor)', () => {
    const f = readTorchFile(sharedPath('banks', 'attempt-record', 'record_prefix_embeddings.pt'), { singleTensorName: 'prompt' });
    expect(f.kind).toBe('tensor');
    const t = f.tensors.get('prompt');
    expect(t?.shape).toEqual([100, 768]);
    const s = stats(t?.data as Float32Array);
    expectRel(s.sum, -193.1550205154, 1e-6);
    expectRel(s.l2, 281.329740086, 1e-6);
    [-0.20054048, 1.5310508, 0.92177546, -0.65181595].forEach((v, i) => expectRel(t?.data[i] as number, v, 1e-7));
  });
});

describe('torch.save files built byte by byte', () => {
  it('reads a dict with a contiguous tensor, a transposed view of the same storage and a half tensor', () => {
    // storage "0": [0, 1, 2, 3, 4, 5] as float32; w = [[0,1,2],[3,4,5]]; wt = w^T via stride (1, 3); h: half [1.0, -2.0]
    const p = new PickleWriter().proto(2).raw(0x7d).put(0).mark(); // EMPTY_DICT, MARK
    p.unicode('w').tensor('FloatStorage', '0', 6, 0, [2, 3], [3, 1]);
    p.unicode('wt').tensor('FloatStorage', '0', 6, 0, [3, 2], [1, 3]);
    p.unicode('tail').tensor('FloatStorage', '0', 6, 4, [2], [1]);
    p.unicode('h').tensor('HalfStorage', '1', 2, 0, [2], [1]);
    p.unicode('step').int(7);
    const pkl = p.raw(0x75).stop();
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer);
    const f = decodeTorchFile(torchZip(pkl, { '0': f32Bytes([0, 1, 2, 3, 4, 5]), '1': half }), 'x.pt');
    expect(f.kind).toBe('dict');
    expect([...(f.tensors.get('w')?.data ?? [])]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...(f.tensors.get('wt')?.data ?? [])]).toEqual([0, 3, 1, 4, 2, 5]);
    expect(f.tensors.get('wt')?.shape).toEqual([3, 2]);
    expect([...(f.tensors.get('tail')?.data ?? [])]).toEqual([4, 5]);
    expect([...(f.tensors.get('h')?.data ?? [])]).toEqual([1, -2]);
    expect(f.dtypes.get('h')).toBe('F16');
    expect(f.skipped).toEqual(['step']);
  });

  it('reads deflated entries, nn.Parameter, nested dicts and memo references', () => {
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    p.unicode('model').raw(0x7d).mark();
    p.unicode('p').global('torch._utils', '_rebuild_parameter').mark();
    p.tensor('FloatStorage', '0', 2, 0, [2], [1]).put(5);
    p.raw(0x88).global('collections', 'OrderedDict').raw(0x29, 0x52).raw(0x74, 0x52); // NEWTRUE, hooks, TUPLE, REDUCE
    p.unicode('again').get(5);
    p.raw(0x75); // inner SETITEMS
    const pkl = p.raw(0x75).stop();
    const bytes = makeZip([
      { name: 'm/data.pkl', data: pkl, method: 8 },
      { name: 'm/data/0', data: f32Bytes([2.5, -1]), method: 8 },
    ]);
    const f = decodeTorchFile(bytes, 'm.pt');
    expect([...f.tensors.keys()]).toEqual(['model.p', 'model.again']);
    expect([...(f.tensors.get('model.p')?.data ?? [])]).toEqual([2.5, -1]);
    expect(f.tensors.get('model.again')?.data).toEqual(f.tensors.get('model.p')?.data);
  });
});

describe('malicious or broken torch files are refused and nothing runs', () => {
  const marker = join(tmp, 'pwned');

  function payload(module: string, name: string, arg: string): Uint8Array {
    return new PickleWriter().proto(2).global(module, name).unicode(arg).raw(0x85, 0x52).stop(); // TUPLE1, REDUCE
  }

  it('os.system', () => {
    const msg = refusal(torchZip(payload('os', 'system', `touch ${marker}`), {}));
    expect(msg).toBe('file.bin: refused pickle global "os system" (only torch tensor rebuild functions are allowed)');
    expect(existsSync(marker)).toBe(false);
  });
  it('posix.system, builtins.eval, builtins.exec, subprocess.Popen', () => {
    expect(refusal(torchZip(payload('posix', 'system', `touch ${marker}`), {}))).toContain('refused pickle global "posix system"');
    expect(refusal(torchZip(payload('builtins', 'eval', '__import__("os")'), {}))).toContain('refused pickle global "builtins eval"');
    expect(refusal(torchZip(payload('builtins', 'exec', 'x'), {}))).toContain('refused pickle global "builtins exec"');
    expect(refusal(torchZip(payload('subprocess', 'Popen', 'touch'), {}))).toContain('refused pickle global "subprocess Popen"');
    expect(existsSync(marker)).toBe(false);
  });
  it('a global named on the stack (protocol 4 STACK_GLOBAL)', () => {
    const pkl = new PickleWriter().proto(4).shortUnicode('os').shortUnicode('system').raw(0x93).unicode('id').raw(0x85, 0x52).stop();
    expect(refusal(torchZip(pkl, {}))).toContain('refused pickle global "os system"');
  });
  it('a global hidden inside an allowed module', () => {
    expect(refusal(torchZip(payload('torch._utils', '_load_from_bytes', 'x'), {}))).toContain('refused pickle global "torch._utils _load_from_bytes"');
    expect(refusal(torchZip(payload('torch', 'load', 'x'), {}))).toContain('refused pickle global "torch load"');
  });
  it('REDUCE on a callable that is not allowed (a storage class, a string)', () => {
    const onStorage = new PickleWriter().proto(2).global('torch', 'FloatStorage').raw(0x29, 0x52).stop();
    expect(refusal(torchZip(onStorage, {}))).toBe(
      'file.bin: refused REDUCE on torch.FloatStorage (only collections.OrderedDict and torch._utils tensor rebuild functions may be called)',
    );
    const onString = new PickleWriter().proto(2).unicode('os.system').raw(0x29, 0x52).stop();
    expect(refusal(torchZip(onString, {}))).toContain('refused REDUCE on "os.system"');
  });
  it('object-building opcodes: BUILD (but on an OrderedDict), INST, NEWOBJ, and unknown opcodes', () => {
    const build = new PickleWriter().proto(2).raw(0x7d).raw(0x7d).raw(0x62).stop();
    expect(refusal(torchZip(build, {}))).toBe(
      "file.bin: refused pickle opcode 0x62 BUILD at byte 4 on a dict (BUILD is read only to set an OrderedDict's plain attributes, as a state_dict's _metadata)",
    );
    const inst = new PickleWriter().proto(2).mark().text('ios\nsystem\n').stop();
    expect(refusal(torchZip(inst, {}))).toContain('refused pickle opcode 0x69 INST at byte 3');
    const newobj = new PickleWriter().proto(2).raw(0x29, 0x29, 0x81).stop();
    expect(refusal(torchZip(newobj, {}))).toContain('refused pickle opcode 0x81 NEWOBJ');
    expect(refusal(torchZip(new PickleWriter().proto(2).raw(0xff).stop(), {}))).toContain('refused pickle opcode 0xff at byte 2');
  });
  it('a persistent id that is not a storage', () => {
    const pkl = new PickleWriter().proto(2).unicode('module').raw(0x85, 0x51).stop();
    expect(refusal(torchZip(pkl, {}))).toContain(`refused persistent id a tuple (only ('storage', type, key, location, numel) is allowed)`);
  });
  it('zip entry names that leave the archive folder', () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 1, 0, [1], [1]));
    for (const bad of ['archive/../../evil', '/etc/passwd', '..\\evil', 'C:/evil']) {
      const bytes = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: bad, data: f32Bytes([1]) }]);
      expect(refusal(bytes)).toBe(`file.bin: refused zip entry ${JSON.stringify(bad)} (entry names must stay inside the archive: no "..", no absolute paths)`);
    }
  });
  it('a storage shorter than its tensors claim', () => {
    const tooFewBytes = dictOf((p) => p.tensor('FloatStorage', '0', 6, 0, [2, 3], [3, 1]));
    expect(refusal(torchZip(tooFewBytes, { '0': f32Bytes([1, 2, 3]) }))).toBe('file.bin: storage "0" holds 12 bytes, expected 24 for 6 F32 elements');
    const pastEnd = dictOf((p) => p.tensor('FloatStorage', '0', 6, 2, [2, 3], [3, 1]));
    expect(refusal(torchZip(pastEnd, { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }))).toBe(
      'file.bin: tensor "w" (offset 2, shape [2, 3], stride [3, 1]) needs 8 elements but storage "0" holds 6',
    );
    const expanded = dictOf((p) => p.tensor('FloatStorage', '0', 1, 0, [100000, 100000], [0, 0]));
    expect(refusal(torchZip(expanded, { '0': f32Bytes([1]) }))).toBe('file.bin: tensor "w" has shape [100000, 100000], too large to read');
    const missing = dictOf((p) => p.tensor('FloatStorage', '7', 1, 0, [1], [1]));
    expect(refusal(torchZip(missing, {}))).toBe('file.bin: storage "7" is missing (no entry archive/data/7)');
  });
  it('a zip bomb: an entry inflating past its stated size, or claiming an impossible ratio', () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 4, 0, [4], [1]));
    const big = new Uint8Array(20_000_000); // 20 MB of zeros deflates to ~20 kB
    const lying = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: big, method: 8, statedSize: 16 }]);
    expect(refusal(lying)).toBe('file.bin: zip entry "archive/data/0" inflates past its stated 16 bytes (refused as a zip bomb)');
    const tiny = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes([1, 2, 3, 4]), method: 8, statedSize: 4_000_000_000 }]);
    expect(refusal(tiny)).toMatch(/^file\.bin: zip entry "archive\/data\/0" claims 4000000000 bytes from \d+ compressed \(impossible for deflate: a zip bomb\?\)$/);
  });
  it('corrupt data: CRC mismatch, truncated pickle, not a zip, no data.pkl', () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 1, 0, [1], [1]));
    const badCrc = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes([1]), crc: 1234 }]);
    expect(refusal(badCrc)).toBe('file.bin: zip entry "archive/data/0" fails its CRC-32 check (corrupt file)');
    expect(refusal(torchZip(pkl.subarray(0, 33), {}))).toMatch(/^file\.bin: pickle ends early at byte \d+ \(truncated data\.pkl\)$/);
    expect(refusal(new Uint8Array(Buffer.from('hello world, not a zip')))).toBe('file.bin: not a PyTorch zip archive');
    expect(refusal(makeZip([{ name: 'a/b.txt', data: new Uint8Array(1) }]))).toBe('file.bin: expected one "<name>/data.pkl" in the archive, found none');
    expect(refusal(new Uint8Array([0x80, 0x02, 0x8a, 0x0a]))).toContain('legacy (pre-1.6, non-zip) torch.save file');
  });
  it('reading from disk names the path', () => {
    const path = join(tmp, 'evil.bin');
    writeFileSync(path, torchZip(payload('os', 'system', `touch ${marker}`), {}));
    expect(() => readTorchFile(path)).toThrow(`${path}: refused pickle global "os system"`);
    expect(existsSync(marker)).toBe(false);
  });
});

/** A pickle assembled straight into bytes (PickleWriter's spread push is for small pickles). */
function bigPickle(parts: (Uint8Array | number[])[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `n` copies of the opcode bytes `op`. */
function repeat(op: number[], n: number): Uint8Array {
  const out = new Uint8Array(op.length * n);
  for (let i = 0; i < n; i++) out.set(op, i * op.length);
  return out;
}

/** The growth of ArrayBuffer memory while `fn` runs (a bomb must be refused before it allocates). */
function arrayBufferGrowth(fn: () => void): number {
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  fn();
  peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  return peak - before;
}

describe('memory and time bombs in small files', () => {
  it('40 stride-0 views [8192, 8192] of a 1-element storage (5 GB from a few kB) are refused, nothing allocated', () => {
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    for (let i = 0; i < 40; i++) p.unicode(`e${i}`).tensor('FloatStorage', '0', 1, 0, [8192, 8192], [0, 0]);
    const bytes = torchZip(p.raw(0x75).stop(), { '0': f32Bytes([1]) });
    expect(bytes.length).toBeLessThan(8_000);
    let msg = '';
    expect(arrayBufferGrowth(() => (msg = refusal(bytes)))).toBeLessThan(32 * 2 ** 20);
    expect(msg).toBe(
      'file.bin: tensor "e0" (offset 0, shape [8192, 8192], stride [0, 0]) has 67108864 elements but storage "0" holds 1: a view that repeats its storage (expand()) is refused; save it with .contiguous()',
    );
  });

  it('a view that overlaps itself but holds no more elements than its storage is read', () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 6, 0, [2, 3], [1, 1]));
    expect([...(decodeTorchFile(torchZip(pkl, { '0': f32Bytes([0, 1, 2, 3, 4, 5]) }), 'f.pt').tensors.get('w')?.data ?? [])]).toEqual([0, 1, 2, 1, 2, 3]);
  });

  it('the bytes a file expands to are bounded before anything is inflated: 5 full views of 16 MB of deflated zeros', () => {
    const n = 4 * 2 ** 20; // 4 Mi float32 = 16 MiB of zeros, deflated to about 16 kB
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    for (let i = 0; i < 5; i++) p.unicode(`v${i}`).tensor('FloatStorage', '0', n, 0, [n], [1]);
    const bytes = makeZip([
      { name: 'archive/data.pkl', data: p.raw(0x75).stop() },
      { name: 'archive/data/0', data: new Uint8Array(4 * n), method: 8 },
    ]);
    expect(bytes.length).toBeLessThan(100_000);
    let msg = '';
    expect(arrayBufferGrowth(() => (msg = refusal(bytes)))).toBeLessThan(8 * 2 ** 20);
    // 16 MiB inflated + 3 × 16 MiB of float32 fit in 64 MiB; the fourth view does not.
    expect(msg).toBe(`file.bin: reading tensor "v3" would expand the file past its budget of 67108864 bytes (8 × its ${bytes.length} bytes, at least 64 MiB): refused as a memory bomb`);
    // Asking only for what is needed stays inside the budget: the other tensors are checked, not read.
    const f = decodeTorchFile(bytes, 'file.bin', { names: (name) => name === 'v0' });
    expect([...f.tensors.keys()]).toEqual(['v0']);
    expect([...f.entries.keys()]).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(f.entries.get('v4')).toEqual({ dtype: 'F32', shape: [n] });
  });

  it('reads only the tensors asked for: a corrupt storage of a tensor not asked for is never inflated', () => {
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    p.unicode('prompt').tensor('FloatStorage', '0', 2, 0, [2], [1]);
    p.unicode('junk').tensor('FloatStorage', '1', 2, 0, [2], [1]);
    const bytes = makeZip([
      { name: 'archive/data.pkl', data: p.raw(0x75).stop() },
      { name: 'archive/data/0', data: f32Bytes([1, 2]) },
      { name: 'archive/data/1', data: f32Bytes([3, 4]), method: 8, crc: 7 },
    ]);
    expect(refusal(bytes)).toBe('file.bin: zip entry "archive/data/1" fails its CRC-32 check (corrupt file)');
    const f = decodeTorchFile(bytes, 'file.bin', { names: (n) => n === 'prompt' });
    expect([...(f.tensors.get('prompt')?.data ?? [])]).toEqual([1, 2]);
    expect(f.tensors.has('junk')).toBe(false);
  });

  it('several directory entries pointing at one deflated local entry are refused', () => {
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    for (let i = 0; i < 8; i++) p.unicode(`t${i}`).tensor('FloatStorage', String(i), 4, 0, [4], [1]);
    const data = f32Bytes([1, 2, 3, 4]);
    const bytes = makeZip([
      { name: 'archive/data.pkl', data: p.raw(0x75).stop() },
      { name: 'archive/data/0', data, method: 8 },
      ...[1, 2, 3, 4, 5, 6, 7].map((i) => ({ name: `archive/data/${i}`, data, method: 8 as const, aliasOf: 'archive/data/0' })),
    ]);
    expect(refusal(bytes)).toMatch(/^file\.bin: zip entries "archive\/data\/0" and "archive\/data\/1" point at the same local header \(offset \d+\); each entry must have data of its own$/);
  });

  it('a zip entry whose local header differs from the directory (name, size, method) is refused', () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 1, 0, [1], [1]));
    const renamed = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes([1]), localName: 'archive/data/9' }]);
    expect(refusal(renamed)).toMatch(/^file\.bin: zip entry "archive\/data\/0": its local header \(offset \d+\) names "archive\/data\/9"; directory and local header must agree$/);
    const resized = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes([1]), localSize: 400 }]);
    expect(refusal(resized)).toMatch(/^file\.bin: zip entry "archive\/data\/0": its local header states CRC \d+, 4 compressed and 400 bytes, the directory CRC \d+, 4 and 4$/);
    const remethod = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes([1]), localMethod: 8 }]);
    expect(refusal(remethod)).toBe('file.bin: zip entry "archive/data/0": its local header says compression method 8, the directory 0');
  });

  it('the zip reader bounds the bytes inflated over all entries, not only per entry', () => {
    const mb = new Uint8Array(2 ** 20);
    const bytes = makeZip([{ name: 'a', data: mb, method: 8 }, { name: 'b', data: mb, method: 8 }]);
    const zip = new ZipReader(bytes, 'z.zip', { maxTotalBytes: 1.5 * 2 ** 20 });
    expect(zip.read('a').length).toBe(2 ** 20);
    expect(zip.expandedBytes).toBe(2 ** 20);
    expect(() => zip.read('b')).toThrow('z.zip: zip entry "b" would bring the bytes inflated from this archive past 1572864 (refused as a zip bomb)');
    // The default: 8 × the archive's size, at least 64 MiB.
    expect(() => new ZipReader(bytes, 'z.zip').read('b')).not.toThrow();
  });

  it('a zip entry lying inside the data of another is refused', () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 1, 0, [1], [1]));
    // An entry whose stored data is itself a whole zip: its inner local header is listed again in the directory.
    const inner = makeZip([{ name: 'archive/data/0', data: f32Bytes([1]) }]);
    const outer = makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/blob', data: inner }]);
    const buf = Buffer.from(outer);
    // Append a directory entry for archive/data/0 pointing inside archive/blob's data.
    const eocdAt = buf.length - 22;
    const cdSize = buf.readUInt32LE(eocdAt + 12);
    const cdOffset = buf.readUInt32LE(eocdAt + 16);
    const innerAt = buf.indexOf(Buffer.from(inner.subarray(0, 30 + 'archive/data/0'.length)));
    const innerCentral = Buffer.from(inner.subarray(inner.length - 22 - (46 + 'archive/data/0'.length), inner.length - 22));
    innerCentral.writeUInt32LE(innerAt, 42);
    const eocd = Buffer.from(buf.subarray(eocdAt));
    eocd.writeUInt16LE(3, 8);
    eocd.writeUInt16LE(3, 10);
    eocd.writeUInt32LE(cdSize + innerCentral.length, 12);
    const bytes = new Uint8Array(Buffer.concat([buf.subarray(0, cdOffset + cdSize), innerCentral, eocd]));
    expect(refusal(bytes)).toMatch(/^file\.bin: zip entry "archive\/data\/0" \(offset \d+\) lies inside the data of "archive\/blob"; entries may not overlap$/);
  });

  it('a structure whose shared references multiply its paths (a DAG 21 levels deep) is refused', () => {
    // memo 0 = None; 21 times: memo 0 = (memo 0, memo 0). The root reaches 2^22 - 1 entries.
    const step = [0x6a, 0, 0, 0, 0, 0x6a, 0, 0, 0, 0, 0x86, 0x72, 0, 0, 0, 0]; // LONG_BINGET 0 ×2, TUPLE2, LONG_BINPUT 0
    const pkl = bigPickle([[0x80, 2, 0x4e, 0x72, 0, 0, 0, 0], repeat(step, 21), [0x2e]]);
    expect(refusal(torchZip(pkl, {}))).toBe('file.bin: the pickled structure reaches more than 2000000 entries (shared references multiply it)');
  });
});

describe('pickles past the stated limits are refused in one line', () => {
  it('APPENDS of 300,000 items is read (no call-stack overflow)', () => {
    // {'w': tensor, 'big': [0, 0, ...]}
    const head = new PickleWriter().proto(2).raw(0x7d).mark().unicode('w').tensor('FloatStorage', '0', 1, 0, [1], [1]).unicode('big').raw(0x5d, 0x28).stop();
    const pkl = bigPickle([head.subarray(0, head.length - 1), repeat([0x4b, 0], 300_000), [0x65, 0x75, 0x2e]]); // APPENDS, SETITEMS, STOP
    const f = decodeTorchFile(makeZip([{ name: 'a/data.pkl', data: pkl, method: 8 }, { name: 'a/data/0', data: f32Bytes([5]) }]), 'big.pt');
    expect([...(f.tensors.get('w')?.data ?? [])]).toEqual([5]);
    expect(f.skipped.length).toBe(300_000);
  });

  it('more than 2,000,000 container items in all', () => {
    const chunk = bigPickle([[0x28], repeat([0x4b, 0], 700_000), [0x65]]); // MARK, 700k × BININT1 0, APPENDS
    const pkl = bigPickle([[0x80, 2, 0x5d], chunk, chunk, chunk, [0x2e]]);
    expect(refusal(makeZip([{ name: 'a/data.pkl', data: pkl, method: 8 }]))).toMatch(/^file\.bin: pickle containers hold more than 2000000 items in all \(byte \d+\)$/);
  });

  it('more than 1,000,000 memo entries (MEMOIZE), from a deflated pickle of a few kB', () => {
    const pkl = bigPickle([[0x80, 4, 0x5d], repeat([0x94], 1_000_001), [0x2e]]);
    const bytes = makeZip([{ name: 'a/data.pkl', data: pkl, method: 8 }]);
    expect(bytes.length).toBeLessThan(10_000);
    expect(refusal(bytes)).toBe('file.bin: pickle memo holds more than 1000000 entries (byte 1000003)');
  });

  it('a stack deeper than 1,000,000 values (MARKs count)', () => {
    const pkl = bigPickle([[0x80, 2], repeat([0x28], 1_000_001), [0x2e]]);
    expect(refusal(makeZip([{ name: 'a/data.pkl', data: pkl, method: 8 }]))).toBe('file.bin: pickle stack holds more than 1000000 values (byte 1000002)');
  });
});

describe('BUILD is read only as torch.save(module.state_dict()) writes it', () => {
  /** OrderedDict() {'w': tensor}, then BUILD with the state `state` assembles. */
  function withState(state: (p: PickleWriter) => void): Uint8Array {
    const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').raw(0x29, 0x52).mark().unicode('w').tensor('FloatStorage', '0', 1, 0, [1], [1]).raw(0x75);
    state(p);
    return torchZip(p.raw(0x62).stop(), { '0': f32Bytes([3]) });
  }

  it('a plain _metadata state is checked and dropped', () => {
    const f = decodeTorchFile(withState((p) => p.raw(0x7d).unicode('_metadata').raw(0x7d).unicode('').raw(0x7d).unicode('version').int(1).raw(0x73, 0x73, 0x73)), 'f.pt');
    expect([...f.tensors.keys()]).toEqual(['w']);
    expect(f.skipped).toEqual([]);
  });

  it('a state holding a tensor, a state that is not a dict, BUILD on a tensor', () => {
    expect(refusal(withState((p) => p.raw(0x7d).unicode('x').tensor('FloatStorage', '0', 1, 0, [1], [1]).raw(0x73)))).toMatch(
      /^file\.bin: pickle BUILD at byte \d+ sets an OrderedDict attribute holding a tensor \(only plain values are allowed\)$/,
    );
    expect(refusal(withState((p) => p.raw(0x5d)))).toMatch(/^file\.bin: pickle BUILD at byte \d+ sets an OrderedDict's state to a list, not a dict$/);
    const onTensor = new PickleWriter().proto(2).tensor('FloatStorage', '0', 1, 0, [1], [1]).raw(0x7d, 0x62).stop();
    expect(refusal(torchZip(onTensor, { '0': f32Bytes([1]) }))).toMatch(/^file\.bin: refused pickle opcode 0x62 BUILD at byte \d+ on a tensor /);
  });
});
