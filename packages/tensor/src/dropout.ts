/**
 * Dropout multipliers, fast. A training step of t5-small draws about 50 million of them (every hidden state, the
 * feed-forward activations and every attention probability), and a JavaScript loop spends about 3 ns on each: a
 * tenth of the step, on one core. On the wasm backend the values are written by a small WebAssembly SIMD function
 * straight into the tensor's buffer on the wasm heap (a fraction of a nanosecond per value); elsewhere by the
 * JavaScript loop. Both give the same values, bit for bit.
 *
 * The stream: four xorshift32 lanes (13, 17, 5), lane j seeded with `fmix32(seed + j·0x9e3779b9)` (MurmurHash3's
 * finaliser; a zero seed becomes 0x9e3779b9). Value i takes lane i mod 4 after its ⌊i/4⌋ + 1-th step, and is kept,
 * as `1 / (1 − rate)`, when that 32-bit state is below `⌊(1 − rate) · 2³²⌋`; otherwise it is 0.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmHeapMemory } from './heap.ts';

/** The few members of the WebAssembly JavaScript API used here (the project's TypeScript lib has no DOM types). */
declare namespace WebAssembly {
  class Memory {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}

/** MurmurHash3's 32-bit finaliser (a bijection that mixes all bits). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** The four lane seeds of a site seed (int32 bit patterns, never 0). */
function laneSeeds(seed: number): [number, number, number, number] {
  const lane = (j: number) => fmix32((seed + Math.imul(j, 0x9e3779b9)) | 0) || (0x9e3779b9 | 0);
  return [lane(0), lane(1), lane(2), lane(3)];
}

/** The keep threshold and the kept value's float32 bits for a rate in [0, 1). */
function keepRule(rate: number): { threshold: number; scale: number; scaleBits: number } {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`);
  const keep = 1 - rate;
  const scale = 1 / keep;
  // Rate 0 gives 2³², which no 32-bit comparison can hold: the fills treat it as "keep everything".
  const threshold = Math.floor(keep * 4294967296);
  return { threshold, scale, scaleBits: new Uint32Array(new Float32Array([scale]).buffer)[0] as number };
}

/** The JavaScript form of the stream (any backend; the reference the wasm form is tested against). */
export function fillDropoutMultipliersJs(values: Float32Array, rate: number, seed: number): void {
  const { threshold, scale } = keepRule(rate);
  if (threshold >= 4294967296) {
    values.fill(scale);
    return;
  }
  const s = laneSeeds(seed | 0);
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const j = i & 3;
    let x = s[j] as number;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s[j] = x;
    values[i] = x >>> 0 < threshold ? scale : 0;
  }
}

// ---- the WebAssembly SIMD form ----------------------------------------------------------------------------------
//
// (func (export "fill") (param $ptr i32) (param $n i32) (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $s3 i32)
//                       (param $thr i32) (param $bits i32)
//   (local $s v128) (local $t v128) (local $b v128) (local $g i32) (local $x v128)
//   s = [s0, s1, s2, s3]; t = splat(thr); b = splat(bits); g = n >>> 2
//   block loop
//     g == 0 → break
//     s ^= s << 13; s ^= s >>> 17; s ^= s << 5
//     v128.store ptr ((s <u t) & b); ptr += 16; g -= 1; continue
//   end end
//   r = n & 3; r == 0 → return
//   one more step of s; x = (s <u t) & b
//   store lane 0 of x at ptr; r == 1 → return; lane 1 at ptr + 4; r == 2 → return; lane 2 at ptr + 8)

const I32 = 0x7f;
const V128 = 0x7b;
const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
const OP = {
  localGet: (i: number) => [0x20, i], localSet: (i: number) => [0x21, i], i32: (v: number) => [0x41, ...sleb(v)],
  block: [0x02, 0x40], loop: [0x03, 0x40], end: [0x0b], br: (d: number) => [0x0c, d], brIf: (d: number) => [0x0d, d],
  i32Eqz: [0x45], i32Eq: [0x46], i32Add: [0x6a], i32Sub: [0x6b], i32And: [0x71], i32ShrU: [0x76],
  splat: simd(0x11), replaceLane: (l: number) => [...simd(0x1c), l], ltU: simd(0x3a), and: simd(0x4e), xor: simd(0x51),
  shl: simd(0xab), shrU: simd(0xad), store: [...simd(0x0b), 2, 0], storeLane: (offset: number, lane: number) => [...simd(0x5a), 2, offset, lane],
};

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(byte & 0x40)) || (v === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const uleb = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...uleb(v >>> 7)]);
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/** The module's bytes, importing `env.memory` as shared (threaded wasm) or not. */
export function dropoutModuleBytes(sharedMemory: boolean): Uint8Array {
  const [ptr, n, s0, s1, s2, s3, thr, bits] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [s, t, b, g, x] = [8, 9, 10, 11, 12];
  const step = [
    ...OP.localGet(s), ...OP.localGet(s), ...OP.i32(13), ...OP.shl, ...OP.xor, ...OP.localSet(s),
    ...OP.localGet(s), ...OP.localGet(s), ...OP.i32(17), ...OP.shrU, ...OP.xor, ...OP.localSet(s),
    ...OP.localGet(s), ...OP.localGet(s), ...OP.i32(5), ...OP.shl, ...OP.xor, ...OP.localSet(s),
  ];
  const masked = [...OP.localGet(s), ...OP.localGet(t), ...OP.ltU, ...OP.localGet(b), ...OP.and];
  const body = [
    ...vector([[3, V128], [1, I32], [1, V128]]), // locals: s t b (v128), g (i32), x (v128)
    ...OP.localGet(s0), ...OP.splat, ...OP.localGet(s1), ...OP.replaceLane(1), ...OP.localGet(s2), ...OP.replaceLane(2),
    ...OP.localGet(s3), ...OP.replaceLane(3), ...OP.localSet(s),
    ...OP.localGet(thr), ...OP.splat, ...OP.localSet(t), ...OP.localGet(bits), ...OP.splat, ...OP.localSet(b),
    ...OP.localGet(n), ...OP.i32(2), ...OP.i32ShrU, ...OP.localSet(g),
    ...OP.block, ...OP.loop,
    ...OP.localGet(g), ...OP.i32Eqz, ...OP.brIf(1),
    ...step,
    ...OP.localGet(ptr), ...masked, ...OP.store,
    ...OP.localGet(ptr), ...OP.i32(16), ...OP.i32Add, ...OP.localSet(ptr),
    ...OP.localGet(g), ...OP.i32(1), ...OP.i32Sub, ...OP.localSet(g),
    ...OP.br(0), ...OP.end, ...OP.end,
    ...OP.localGet(n), ...OP.i32(3), ...OP.i32And, ...OP.i32Eqz, ...OP.brIf(0),
    ...step, ...masked, ...OP.localSet(x),
    ...OP.localGet(ptr), ...OP.localGet(x), ...OP.storeLane(0, 0),
    ...OP.localGet(n), ...OP.i32(3), ...OP.i32And, ...OP.i32(1), ...OP.i32Eq, ...OP.brIf(0),
    ...OP.localGet(ptr), ...OP.localGet(x), ...OP.storeLane(4, 1),
    ...OP.localGet(n), ...OP.i32(3), ...OP.i32And, ...OP.i32(2), ...OP.i32Eq, ...OP.brIf(0),
    ...OP.localGet(ptr), ...OP.localGet(x), ...OP.storeLane(8, 2),
    ...OP.end,
  ];
  // Shared memories must declare a maximum (65536 pages = 4 GiB, the most a 32-bit heap has).
  const limits = sharedMemory ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, ...vector(Array.from({ length: 8 }, () => [I32])), 0x00]])),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vector([[0x00]])),
    ...section(7, vector([[...name('fill'), 0x00, 0x00]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
}

type FillFunction = (ptr: number, n: number, s0: number, s1: number, s2: number, s3: number, thr: number, bits: number) => void;
const instances = new WeakMap<WebAssembly.Memory, FillFunction | null>();

/** The fill function bound to the wasm backend's memory, or null where WebAssembly SIMD is not available. */
function wasmFill(memory: WebAssembly.Memory): FillFunction | null {
  let fill = instances.get(memory);
  if (fill === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const module = new WebAssembly.Module(dropoutModuleBytes(shared));
      fill = new WebAssembly.Instance(module, { env: { memory } }).exports.fill as FillFunction;
    } catch {
      fill = null;
    }
    instances.set(memory, fill);
  }
  return fill;
}

/** The wasm backend's heap memory, or null. */
function backendMemory(): WebAssembly.Memory | null {
  if (tf.getBackend() !== 'wasm') return null;
  const memory = wasmHeapMemory((tf.backend() as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } } }).wasm);
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** The wasm backend's heap memory, when `values` lies in it. */
function heapMemoryOf(values: Float32Array): WebAssembly.Memory | null {
  const memory = backendMemory();
  return memory && memory.buffer === values.buffer ? memory : null;
}

/**
 * Fills `values` with dropout multipliers (0 with probability `rate`, else `1 / (1 − rate)`) from one 32-bit
 * seed; see the module comment for the stream. Values on the wasm heap are written by WebAssembly SIMD.
 *
 * @example
 * const mask = new Float32Array(1024);
 * fillDropoutMultipliers(mask, 0.1, 12345);
 */
export function fillDropoutMultipliers(values: Float32Array, rate: number, seed: number): void {
  const { threshold, scaleBits } = keepRule(rate);
  const memory = threshold < 4294967296 ? heapMemoryOf(values) : null;
  const fill = memory ? wasmFill(memory) : null;
  if (!fill) {
    fillDropoutMultipliersJs(values, rate, seed);
    return;
  }
  const [s0, s1, s2, s3] = laneSeeds(seed | 0);
  fill(values.byteOffset, values.length, s0, s1, s2, s3, threshold | 0, scaleBits | 0);
}

/** Whether {@link fillDropoutMultipliers} writes with WebAssembly on the current backend (for tests and reports). */
export function dropoutFillIsWasm(): boolean {
  const memory = backendMemory();
  return memory !== null && wasmFill(memory) !== null;
}
