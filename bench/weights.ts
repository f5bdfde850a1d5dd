/** Random frozen weights for the benchmarks (timings only; the values do not matter). */
import type { HostTensor } from '@dept/tensor';
import { expectedTensorShapes, type T5Config } from '@dept/t5';

/** Random frozen weights, filled fast (xorshift; the values do not matter for timing). */
export function benchTensors(config: T5Config, seed: number): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  let s = seed >>> 0 || 1;
  for (const [name, shape] of expectedTensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = name.endsWith('layer_norm.weight') ? 0 : name === 'shared.weight' || name === 'lm_head.weight' ? 1 : 0.05;
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      data[i] = scale === 0 ? 1 : ((s / 4294967296) * 2 - 1) * scale;
    }
    out.set(name, { data, shape });
  }
  return out;
}

