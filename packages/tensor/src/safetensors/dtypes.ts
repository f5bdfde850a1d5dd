/**
 * safetensors dtypes: the names and sizes the format defines, and float16 / bfloat16 conversion (round to nearest,
 * ties to even) for the ones this project reads and writes.
 */

/** Every dtype the safetensors format defines. */
export type SafetensorsDtype =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0' | 'F4' | 'F6_E2M3' | 'F6_E3M2'
  | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'C64' | 'F64' | 'I64' | 'U64';

/** The dtypes this reader converts to float32. */
export type ReadableDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** The dtypes this writer can store. */
export type WritableDtype = 'F32' | 'F16' | 'BF16';

/** Bits per element of each safetensors dtype. */
export const DTYPE_BITS: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};


const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function roundShiftRight(v: number, s: number): number {
  const q = Math.floor(v / 2 ** s);
  const rem = v - q * 2 ** s;
  const half = 2 ** (s - 1);
  return rem > half || (rem === half && q % 2 === 1) ? q + 1 : q;
}

/**
 * IEEE binary16 bits of a number, rounded to nearest with ties to even (overflow gives ±Infinity, NaN stays a
 * quiet NaN).
 *
 * @example
 * f32ToF16Bits(1);        // 0x3c00
 * f32ToF16Bits(65520);    // 0x7c00 (Infinity: halfway above 65504 rounds to even)
 * f32ToF16Bits(2 ** -25); // 0x0000 (tie between 0 and the smallest subnormal goes to the even one)
 */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    return sign | roundShiftRight(mant | 0x800000, 14 - e);
  }
  return sign | roundShiftRight((e << 23) | mant, 13); // a carry runs into the exponent, up to Infinity
}

/**
 * The number that IEEE binary16 bits stand for.
 *
 * @example
 * f16BitsToF32(0x3c00); // 1
 * f16BitsToF32(0x0001); // 5.960464477539063e-8 (2^-24)
 */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * bfloat16 bits of a number (the top 16 bits of its float32, rounded to nearest with ties to even; NaN stays a
 * quiet NaN).
 *
 * @example
 * f32ToBf16Bits(1);           // 0x3f80
 * f32ToBf16Bits(1 + 2 ** -8); // 0x3f80 (tie, kept even)
 */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0] as number;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536);
}

/**
 * The number that bfloat16 bits stand for.
 *
 * @example
 * bf16BitsToF32(0x3f80); // 1
 */
export function bf16BitsToF32(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0] as number;
}

/**
 * Values rounded through bfloat16 and back (what a BF16 checkpoint of `data` will hold).
 *
 * @example
 * roundToBf16(new Float32Array([1 + 2 ** -7 + 2 ** -9])); // Float32Array [1.0078125]
 */
export function roundToBf16(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = bf16BitsToF32(f32ToBf16Bits(data[i] as number));
  return out;
}

/**
 * Values rounded through binary16 and back.
 *
 * @example
 * roundToF16(new Float32Array([0.1])); // Float32Array [0.0999755859375]
 */
export function roundToF16(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(data[i] as number));
  return out;
}

let f16Table: Float32Array | null = null;
export function f16Lookup(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}
