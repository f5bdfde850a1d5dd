import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import { isDeptError, Rng } from '@dept/core';
import { hostTensor } from '../src/host.ts';
import {
  bf16BitsToF32,
  decodeSafetensors,
  encodeSafetensors,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  readCheckpoint,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  writeShardedCheckpoint,
} from '../src/safetensors/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A safetensors file built by hand: 8-byte length (or `lengthOverride`), header text, data bytes. */
function rawFile(header: string, data: Uint8Array | number, lengthOverride?: bigint): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

/** Asserts that both the in-memory decoder and the from-disk reader refuse `bytes` with `message`. */
function expectRefused(bytes: Uint8Array, message: string | RegExp): void {
  const path = join(tmp, 'model.safetensors');
  writeFileSync(path, bytes);
  const pattern = typeof message === 'string' ? new RegExp(escape(message)) : message;
  let caught: unknown;
  try {
    decodeSafetensors(bytes, 'model.safetensors');
  } catch (e) {
    caught = e;
  }
  expect(isDeptError(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
  caught = undefined;
  try {
    readSafetensors(path);
  } catch (e) {
    caught = e;
  }
  expect(isDeptError(caught)).toBe(true);
  expect((caught as Error).message.replace(path, 'model.safetensors')).toMatch(pattern);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const entry = (dtype: string, shape: number[], a: number, b: number): string =>
  JSON.stringify({ dtype, shape, data_offsets: [a, b] });

describe('safetensors write and read', () => {
  it('writes the exact header a hand-written file has: sorted names, metadata, space padding to 8', () => {
    const bytes = encodeSafetensors({
      b: hostTensor(new Float32Array([3]), [1]),
      a: hostTensor(new Float32Array([1, 2]), [2]),
    });
    const json =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(n).toBe(padded.length);
    expect(n % 8).toBe(0);
    expect(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')).toBe(padded);
    const data = new Float32Array(bytes.slice(8 + n).buffer);
    expect([...data]).toEqual([1, 2, 3]);
    expect(bytes.length).toBe(8 + n + 12);
  });

  it('round-trips values, shapes, metadata, scalars and empty tensors through a file', () => {
    const path = join(tmp, 'rt.safetensors');
    const tensors = new Map([
      ['w', hostTensor(new Float32Array([0.1, -2.5, 3e-8, 1e30, -0, 7]), [2, 3])],
      ['scalar', hostTensor(new Float32Array([42]), [])],
      ['empty', hostTensor(new Float32Array(0), [0, 5])],
    ]);
    writeSafetensors(path, tensors, { note: 'hello', format: 'pt' });
    const f = readSafetensors(path);
    expect(f.metadata).toEqual({ format: 'pt', note: 'hello' });
    expect(f.tensors.get('w')?.shape).toEqual([2, 3]);
    expect([...(f.tensors.get('w')?.data ?? [])]).toEqual([...new Float32Array([0.1, -2.5, 3e-8, 1e30, -0, 7])]);
    expect(f.tensors.get('scalar')).toEqual({ data: new Float32Array([42]), shape: [] });
    expect(f.tensors.get('empty')?.shape).toEqual([0, 5]);
    expect(f.entries.get('w')?.dtype).toBe('F32');
    // the temporary file of the atomic write is gone
    expect(readdirSync(tmp).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('loads only the tensors a filter selects', () => {
    const bytes = encodeSafetensors({ a: hostTensor(new Float32Array([1]), [1]), b: hostTensor(new Float32Array([2]), [1]) });
    const f = decodeSafetensors(bytes, 'x', { names: (n) => n === 'b' });
    expect([...f.tensors.keys()]).toEqual(['b']);
    expect([...f.entries.keys()]).toEqual(['a', 'b']);
  });

  it('reads a file whose header is padded with spaces and has no metadata', () => {
    const data = new Uint8Array(new Float32Array([1.5, -1]).buffer);
    const f = decodeSafetensors(rawFile(`{"x":${entry('F32', [2], 0, 8)}}      `, data));
    expect([...(f.tensors.get('x')?.data ?? [])]).toEqual([1.5, -1]);
    expect(f.metadata).toEqual({});
  });

  it('reads F16, BF16 and F64 into float32', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff]);
    const bf16 = new Uint16Array([0x3f80, 0x3dcd]);
    const f64 = new Float64Array([0.1, -3]);
    const header = `{"a":${entry('F16', [4], 0, 8)},"b":${entry('BF16', [2], 8, 12)},"c":${entry('F64', [2], 12, 28)}}`;
    const data = new Uint8Array(28);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 8);
    data.set(new Uint8Array(f64.buffer), 12); // unaligned on purpose
    const f = decodeSafetensors(rawFile(header, data));
    expect([...(f.tensors.get('a')?.data ?? [])]).toEqual([1, -2, 2 ** -24, 65504]);
    expect([...(f.tensors.get('b')?.data ?? [])]).toEqual([1, Math.fround(0.10009765625)]);
    expect([...(f.tensors.get('c')?.data ?? [])]).toEqual([Math.fround(0.1), -3]);
  });

  it('writes F16 and BF16 files with the right dtype and bits', () => {
    const bytes = encodeSafetensors({ x: hostTensor(new Float32Array([1, 0.1]), [2]) }, {}, { dtype: 'BF16' });
    const f = decodeSafetensors(bytes);
    expect(f.entries.get('x')).toMatchObject({ dtype: 'BF16', dataOffsets: [0, 4] });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect([...new Uint16Array(bytes.slice(8 + n).buffer)]).toEqual([0x3f80, 0x3dcd]);
    const h = encodeSafetensors({ x: hostTensor(new Float32Array([1, 0.1]), [2]) }, {}, { dtype: 'F16' });
    const nh = Number(new DataView(h.buffer).getBigUint64(0, true));
    expect([...new Uint16Array(h.slice(8 + nh).buffer)]).toEqual([0x3c00, 0x2e66]);
  });

  it('refuses to write a tensor whose data does not fill its shape', () => {
    expect(() => encodeSafetensors({ x: { data: new Float32Array(3), shape: [2, 2] } })).toThrow(
      'safetensors: tensor "x" has 3 values, expected 4 for shape [2, 2]',
    );
  });
});

describe('F16 and BF16 conversion (round to nearest, ties to even)', () => {
  it('matches hand-computed binary16 bit patterns', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0, 0x0000],
      [-0, 0x8000],
      [0.1, 0x2e66], // 0.0999755859375
      [65504, 0x7bff], // largest finite
      [65519, 0x7bff], // below the halfway point 65520
      [65520, 0x7c00], // halfway, rounds to even = Infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
      [3 * 2 ** -26, 0x0001], // above the tie
      [1023.5 * 2 ** -24, 0x0400], // largest subnormal + half ulp: tie, rounds up into the normals
      [1 + 2 ** -11, 0x3c00], // tie, 0x3c00 is even
      [1 + 3 * 2 ** -11, 0x3c02], // tie, 0x3c02 is even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    ];
    for (const [x, bits] of cases) expect([x, f32ToF16Bits(x)]).toEqual([x, bits]);
    expect(f32ToF16Bits(Number.NaN) & 0x7e00).toBe(0x7e00);
  });

  it('matches hand-computed bfloat16 bit patterns', () => {
    const cases: [number, number][] = [
      [1, 0x3f80],
      [-2, 0xc000],
      [0.1, 0x3dcd], // f32 0x3dcccccd: low half 0xcccd > 0x8000, rounds up
      [1 + 2 ** -8, 0x3f80], // f32 0x3f808000: tie, 0x3f80 is even
      [1 + 3 * 2 ** -8, 0x3f82], // f32 0x3f818000: tie, 0x3f82 is even
      [Infinity, 0x7f80],
      [-0, 0x8000],
      [3.4028234663852886e38, 0x7f80], // f32 max rounds up to Infinity
    ];
    for (const [x, bits] of cases) expect([x, f32ToBf16Bits(x)]).toEqual([x, bits]);
    expect(f32ToBf16Bits(Number.NaN)).toBe(0x7fc0);
  });

  it('decodes bits back to numbers', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0x2e66)).toBe(0.0999755859375);
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc000)).toBe(-2);
    expect(Number.isNaN(bf16BitsToF32(0x7fc0))).toBe(true);
  });
});

describe('hostile safetensors files are refused with a clear message', () => {
  const four = new Uint8Array(16);

  it('a truncated file', () => {
    expectRefused(new Uint8Array(5), 'model.safetensors: file is 5 bytes, too short for the 8-byte header length');
  });
  it('a header length larger than the file', () => {
    expectRefused(rawFile(`{"x":${entry('F32', [1], 0, 4)}}`, 4, 500n), /model\.safetensors: header length 500 runs past the end of the file \(\d+ bytes\)/);
  });
  it('a header length over 100,000,000 bytes (faked length field)', () => {
    expectRefused(rawFile('{}', 0, 100_000_001n), 'model.safetensors: header length 100000001 exceeds the limit of 100000000 bytes');
    expectRefused(rawFile('{}', 0, 2n ** 63n), 'exceeds the limit of 100000000 bytes');
  });
  it('a header that is not JSON', () => {
    expectRefused(rawFile('{"x": }', 0), 'model.safetensors: header is not valid JSON (line 1 column 7)');
  });
  it('a header that does not start with {', () => {
    expectRefused(rawFile(' {"x":1}', 0), 'model.safetensors: header does not start with "{"');
    expectRefused(rawFile('[1, 2]', 0), 'model.safetensors: header does not start with "{"');
  });
  it('overlapping offsets', () => {
    const h = `{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [2], 4, 12)}}`;
    expectRefused(rawFile(h, 12), 'model.safetensors: tensors "a" [0, 8] and "b" [4, 12] overlap');
  });
  it('holes between tensors and at the end', () => {
    const h = `{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`;
    expectRefused(rawFile(h, 12), 'model.safetensors: data bytes [4, 8) belong to no tensor (holes are not allowed)');
    const t = `{"a":${entry('F32', [1], 0, 4)}}`;
    expectRefused(rawFile(t, 16), 'model.safetensors: data bytes [4, 16) belong to no tensor (holes are not allowed)');
    const lead = `{"a":${entry('F32', [1], 4, 8)}}`;
    expectRefused(rawFile(lead, 8), 'model.safetensors: data bytes [0, 4) belong to no tensor');
  });
  it('offsets past the end of the data (also a file cut short in its data)', () => {
    const h = `{"a":${entry('F32', [4], 0, 16)}}`;
    expectRefused(rawFile(h, 8), 'model.safetensors: tensor "a": data_offsets [0, 16] run past the end of the data (8 bytes)');
  });
  it('a byte size that does not match dtype × shape', () => {
    const h = `{"shared.weight":${entry('F32', [8, 16], 0, 100)}}`;
    expectRefused(rawFile(h, 100), 'model.safetensors: tensor "shared.weight": data_offsets [0, 100] hold 100 bytes, expected 512 for F32 [8, 16]');
  });
  it('offsets that end before they begin, and bad shapes', () => {
    expectRefused(rawFile(`{"a":${entry('F32', [0], 8, 4)}}`, 8), 'tensor "a": data_offsets [8, 4] end before they begin');
    expectRefused(rawFile(`{"a":${entry('F32', [-1], 0, 4)}}`, 4), 'tensor "a": shape must be a list of non-negative integers, got [-1]');
  });
  it('an unknown dtype, and a known dtype that cannot be read as float32', () => {
    expectRefused(rawFile(`{"a":${entry('F7', [4], 0, 16)}}`, four), 'model.safetensors: tensor "a": unknown dtype "F7"');
    const i64 = rawFile(`{"ids":${entry('I64', [2], 0, 16)}}`, four);
    expectRefused(i64, 'model.safetensors: tensor "ids" has dtype I64; only F32, F16, BF16 and F64 can be read (as float32)');
    // skipping the tensor with a filter is fine
    expect(decodeSafetensors(i64, 'x', { names: () => false }).entries.get('ids')?.dtype).toBe('I64');
  });
  it('shapes and offsets written as floats, with an exponent or a sign (JSON.parse makes them integers; serde refuses them)', () => {
    const cases: [string, string][] = [
      ['{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', 'tensor "a": shape must hold non-negative integers, got 1.0'],
      ['{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', 'tensor "a": shape must hold non-negative integers, got 1e0'],
      ['{"a":{"dtype":"F32","shape":[1,-0],"data_offsets":[0,0]}}', 'tensor "a": shape must hold non-negative integers, got -0'],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0.0,4.0]}}', 'tensor "a": data_offsets must hold non-negative integers, got 0.0'],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4E+0]}}', 'tensor "a": data_offsets must hold non-negative integers, got 4E+0'],
    ];
    for (const [h, msg] of cases) expectRefused(rawFile(h, 4), `model.safetensors: ${msg} (written with a fraction, an exponent or a sign)`);
    // Numbers elsewhere, and the text "1.0" inside a name or the metadata, are not shapes.
    const ok = decodeSafetensors(rawFile('{"__metadata__":{"shape":"[1.0]"},"a \\"shape\\": [1.0]":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), 'x');
    expect(ok.tensors.get('a "shape": [1.0]')?.shape).toEqual([1]);
  });
  it('duplicate names (which JSON.parse would silently merge)', () => {
    const h = `{"a":${entry('F32', [2], 0, 8)},"a":${entry('F32', [2], 8, 16)}}`;
    expectRefused(rawFile(h, 16), 'model.safetensors: header names "a" twice (duplicate names are not allowed)');
    const inner = `{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}`;
    expectRefused(rawFile(inner, 8), 'header names "dtype" twice inside "a"');
  });
  it('metadata values that are not strings', () => {
    expectRefused(rawFile('{"__metadata__":{"n":3}}', 0), 'model.safetensors: __metadata__ "n" must be a string, got 3');
  });
  it('a missing file', () => {
    expect(() => readSafetensors(join(tmp, 'nope.safetensors'))).toThrow(/nope\.safetensors: file not found/);
  });
});

describe('sharded checkpoints', () => {
  /** Independent RNE reference: the nearer of the two bfloat16 neighbours, ties to the even one. */
  function bf16Reference(x: number): number {
    const f = new Float32Array([x]);
    const u = new Uint32Array(f.buffer);
    const lowBits = (u[0] as number) >>> 16;
    const down = new Float32Array(new Uint32Array([lowBits << 16]).buffer)[0] as number;
    const up = new Float32Array(new Uint32Array([((lowBits + 1) << 16) >>> 0]).buffer)[0] as number;
    const dDown = Math.abs(x - down);
    const dUp = Math.abs(up - x);
    if (dDown < dUp) return down;
    if (dUp < dDown) return up;
    return lowBits % 2 === 0 ? down : up;
  }

  const rng = new Rng(7);
  const weights = new Map<string, { data: Float32Array; shape: number[] }>();
  const shapes: [string, number[]][] = [['shared.weight', [16, 8]], ['a.w', [8, 8]], ['b.w', [3, 5]], ['c.w', [40]], ['z', []]];
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.normal() * 10;
    weights.set(name, { data, shape });
  }

  it('a sharded BF16 checkpoint loads with the values of the BF16-rounded F32 one', () => {
    const dir = join(tmp, 'sharded');
    const { files, index } = writeShardedCheckpoint(dir, weights, { maxShardBytes: 200, dtype: 'BF16' });
    expect(files.length).toBeGreaterThan(1);
    expect(index).not.toBeNull();
    expect(files.map((f) => f.slice(dir.length + 1))[0]).toBe(`model-00001-of-0000${files.length}.safetensors`);
    const idx = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(idx.metadata.total_size).toBe((128 + 64 + 15 + 40 + 1) * 2);
    expect(Object.keys(idx.weight_map).sort()).toEqual([...weights.keys()].sort());
    const ck = readCheckpoint(dir);
    expect(ck.files.length).toBe(files.length);
    for (const [name, t] of weights) {
      const got = ck.tensors.get(name);
      expect(got?.shape).toEqual(t.shape);
      expect(ck.dtypes.get(name)).toBe('BF16');
      const expected = Array.from(t.data, bf16Reference);
      expect([...(got?.data ?? [])]).toEqual(expected);
    }
  });

  it('a single-file F32 checkpoint is read from model.safetensors', () => {
    const dir = join(tmp, 'single');
    const { files, index } = writeShardedCheckpoint(dir, weights, { maxShardBytes: 1e9 });
    expect(index).toBeNull();
    expect(files).toEqual([join(dir, 'model.safetensors')]);
    const ck = readCheckpoint(dir);
    for (const [name, t] of weights) expect(ck.tensors.get(name)?.data).toEqual(t.data);
  });

  it('refuses an index whose key is missing from its shard, or that points outside the folder', () => {
    const dir = join(tmp, 'broken');
    writeShardedCheckpoint(dir, weights, { maxShardBytes: 200 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const idx = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
    const shard = idx.weight_map['a.w'] as string;
    idx.weight_map['ghost.weight'] = shard;
    writeFileSync(indexPath, JSON.stringify(idx));
    expect(() => readCheckpoint(dir)).toThrow(`${join(dir, shard)}: tensor "ghost.weight" is missing (model.safetensors.index.json maps it to this shard)`);
    delete idx.weight_map['ghost.weight'];
    idx.weight_map['a.w'] = '../elsewhere.safetensors';
    writeFileSync(indexPath, JSON.stringify(idx));
    expect(() => readCheckpoint(dir)).toThrow('weight_map "a.w" must name a shard file in the same folder, got "../elsewhere.safetensors"');
    expect(() => readCheckpoint(join(tmp, 'rt-missing'))).toThrow('folder not found');
  });
});

describeShared('the tiny-relu fixture (written by a reference writer)', () => {
  const path = sharedPath('fixtures', 'parity', 'tiny-relu', 'model.safetensors');
  const config = JSON.parse(readFileSync(sharedPath('fixtures', 'parity', 'tiny-relu', 'config.json'), 'utf8')) as Record<string, number>;

  it('reads with the shapes its config.json implies and the format metadata', () => {
    const f = readSafetensors(path);
    const d = config.d_model as number;
    const inner = (config.num_heads as number) * (config.d_kv as number);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(f.tensors.get('shared.weight')?.shape).toEqual([config.vocab_size, d]);
    expect(f.tensors.get('encoder.block.0.layer.0.SelfAttention.q.weight')?.shape).toEqual([inner, d]);
    expect(f.tensors.get('encoder.block.0.layer.0.SelfAttention.o.weight')?.shape).toEqual([d, inner]);
    expect(f.tensors.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')?.shape).toEqual([config.relative_attention_num_buckets, config.num_heads]);
    expect(f.tensors.get('encoder.block.1.layer.1.DenseReluDense.wi.weight')?.shape).toEqual([config.d_ff, d]);
    expect(f.tensors.get('decoder.block.1.layer.2.DenseReluDense.wo.weight')?.shape).toEqual([d, config.d_ff]);
    expect(f.tensors.get('decoder.final_layer_norm.weight')?.shape).toEqual([d]);
    expect(f.tensors.has('encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight')).toBe(false);
    expect(f.tensors.has('lm_head.weight')).toBe(false); // tied
  });

  it('agrees with a by-hand decoding of the raw bytes, and with the in-memory decoder', () => {
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    const [begin, end] = (header['shared.weight'] as { data_offsets: [number, number] }).data_offsets;
    const byHand: number[] = [];
    for (let o = 8 + n + begin; o < 8 + n + end; o += 4) byHand.push(bytes.readFloatLE(o));
    const fromDisk = readSafetensors(path).tensors.get('shared.weight');
    expect([...(fromDisk?.data ?? [])]).toEqual(byHand);
    const fromMemory = decodeSafetensors(new Uint8Array(bytes), 'model.safetensors').tensors.get('shared.weight');
    expect(fromMemory?.data).toEqual(fromDisk?.data);
    expect(readSafetensorsHeader(path).entries.length).toBe(Object.keys(header).length - 1);
  });

  it('re-encodes to the same bytes (same layout as the reference writer)', () => {
    const f = readSafetensors(path);
    const again = encodeSafetensors(f.tensors, f.metadata);
    expect(Buffer.compare(Buffer.from(again), readFileSync(path))).toBe(0);
  });
});
