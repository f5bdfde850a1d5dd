/**
 * T5's relative position buckets, computed exactly as Hugging Face's `T5Attention._relative_position_bucket`,
 * including its float32 arithmetic for the log-spaced buckets (at the boundary |16| of a 32/128 table HF's float32
 * log gives exactly 2.0 and so bucket 10; a float64 port would agree here, but a port that rounds down would not).
 */

const f32 = Math.fround;

/**
 * Bucket of one relative position `key_pos - query_pos`.
 *
 * @example
 * relativePositionBucket(16, true, 32, 128); // 26
 * relativePositionBucket(-3, false, 32, 128); // 3
 */
export function relativePositionBucket(
  relativePosition: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  let buckets = 0;
  let n = numBuckets;
  let rp = relativePosition;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (rp > 0) buckets += n;
    rp = Math.abs(rp);
  } else {
    rp = -Math.min(rp, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (rp < maxExact) return buckets + rp;
  // torch: log(rp.float() / max_exact) / math.log(max_distance / max_exact) * (n - max_exact), in float32.
  const ratio = f32(f32(rp) / maxExact);
  const logRatio = f32(Math.log(ratio));
  const scaled = f32(logRatio / f32(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f32(scaled * (n - maxExact)));
  return buckets + Math.min(large, n - 1);
}

/**
 * The bucket table `[queryLength, keyLength]` (row-major Int32Array) for query positions
 * `queryOffset .. queryOffset + queryLength - 1` against key positions `0 .. keyLength - 1`.
 *
 * @example
 * const table = bucketTable(5, 5, true, 32, 128); // encoder, 5 tokens
 */
export function bucketTable(
  queryLength: number,
  keyLength: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
  queryOffset = 0,
): Int32Array {
  const out = new Int32Array(queryLength * keyLength);
  for (let i = 0; i < queryLength; i++) {
    for (let j = 0; j < keyLength; j++) {
      out[i * keyLength + j] = relativePositionBucket(j - (i + queryOffset), bidirectional, numBuckets, maxDistance);
    }
  }
  return out;
}
