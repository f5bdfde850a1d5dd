/**
 * An independent, deliberately naive float64 T5 forward pass written from the HF modeling_t5.py equations with
 * plain loops (no tfjs, no shared code with the package). Used to check the tfjs model where no shared fixture
 * exists (gated-gelu / untied v1.1 and flan models) and for finite-difference gradients. It is itself checked
 * against the Hugging Face tiny-relu fixture.
 */
import type { HostTensor } from '@dept/tensor';

export interface RefConfig {
  d_model: number;
  d_kv: number;
  num_heads: number;
  num_layers: number;
  num_decoder_layers: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  feed_forward_proj: string;
  tie_word_embeddings: boolean;
  vocab_size: number;
  decoder_start_token_id: number;
}

type Mat = number[][]; // [len][dim]

function W(t: Map<string, HostTensor>, name: string): HostTensor {
  const w = t.get(name);
  if (!w) throw new Error(`reference: missing ${name}`);
  return w;
}

/** y = x @ W^T with W [out, in] in PyTorch layout. */
function lin(x: Mat, w: HostTensor): Mat {
  const [out, inp] = w.shape as [number, number];
  return x.map((row) => {
    const y = new Array<number>(out).fill(0);
    for (let o = 0; o < out; o++) {
      let acc = 0;
      for (let i = 0; i < inp; i++) acc += (w.data[o * inp + i] as number) * (row[i] as number);
      y[o] = acc;
    }
    return y;
  });
}

function rms(x: Mat, w: HostTensor, eps: number): Mat {
  return x.map((row) => {
    const ms = row.reduce((a, v) => a + v * v, 0) / row.length;
    const k = 1 / Math.sqrt(ms + eps);
    return row.map((v, i) => v * k * (w.data[i] as number));
  });
}

/** HF's bucket rule written from the Python source (float64 here; the boundary case still lands on 2.0). */
function bucket(rel: number, bidirectional: boolean, nb: number, maxDist: number): number {
  let ret = 0;
  let n = nb;
  let rp = rel;
  if (bidirectional) {
    n = Math.floor(n / 2);
    ret += rp > 0 ? n : 0;
    rp = Math.abs(rp);
  } else {
    rp = -Math.min(rp, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (rp < maxExact) return ret + rp;
  const large = maxExact + Math.floor(Math.fround(Math.fround(Math.log(rp / maxExact)) / Math.fround(Math.log(maxDist / maxExact)) * (n - maxExact)));
  return ret + Math.min(large, n - 1);
}

function act(name: string, x: number): number {
  if (name === 'relu') return Math.max(0, x);
  // gelu_new (tanh approximation)
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

function attention(
  cfg: RefConfig, t: Map<string, HostTensor>, prefix: string, xq: Mat, xkv: Mat,
  bias: ((h: number, i: number, j: number) => number) | null, keyMask: number[], causal: boolean,
): Mat {
  const q = lin(xq, W(t, `${prefix}.q.weight`));
  const k = lin(xkv, W(t, `${prefix}.k.weight`));
  const v = lin(xkv, W(t, `${prefix}.v.weight`));
  const H = cfg.num_heads;
  const dk = cfg.d_kv;
  const out: Mat = xq.map(() => new Array<number>(H * dk).fill(0));
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < xq.length; i++) {
      const scores: number[] = [];
      for (let j = 0; j < xkv.length; j++) {
        let s = 0;
        for (let e = 0; e < dk; e++) s += (q[i]?.[h * dk + e] as number) * (k[j]?.[h * dk + e] as number);
        if (bias) s += bias(h, i, j);
        const masked = keyMask[j] === 0 || (causal && j > i);
        scores.push(masked ? -Infinity : s);
      }
      const mx = Math.max(...scores);
      const ex = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - mx)));
      const z = ex.reduce((a, b) => a + b, 0);
      for (let j = 0; j < xkv.length; j++) {
        const p = (ex[j] as number) / z;
        for (let e = 0; e < dk; e++) (out[i] as number[])[h * dk + e] += p * (v[j]?.[h * dk + e] as number);
      }
    }
  }
  return lin(out, W(t, `${prefix}.o.weight`));
}

function ffn(cfg: RefConfig, t: Map<string, HostTensor>, prefix: string, x: Mat): Mat {
  const gated = cfg.feed_forward_proj.startsWith('gated');
  const name = gated ? 'gelu_new' : cfg.feed_forward_proj;
  let h: Mat;
  if (gated) {
    const a = lin(x, W(t, `${prefix}.DenseReluDense.wi_0.weight`));
    const b = lin(x, W(t, `${prefix}.DenseReluDense.wi_1.weight`));
    h = a.map((row, i) => row.map((v, j) => act(name, v) * (b[i]?.[j] as number)));
  } else {
    h = lin(x, W(t, `${prefix}.DenseReluDense.wi.weight`)).map((row) => row.map((v) => act(name, v)));
  }
  return lin(h, W(t, `${prefix}.DenseReluDense.wo.weight`));
}

const add = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((v, j) => v + (b[i]?.[j] as number)));

/** Loss and logits of one example: encoder on `embeds [L][d]` with `mask [L]`, decoder on `labels` (-100 ignored). */
export function referenceForward(cfg: RefConfig, t: Map<string, HostTensor>, embeds: Mat, mask: number[], labels: number[]): { logits: Mat; nll: number; count: number; encoderOut: Mat } {
  const eps = cfg.layer_norm_epsilon;
  const nb = cfg.relative_attention_num_buckets;
  const md = cfg.relative_attention_max_distance;
  const encBias = W(t, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  let h = embeds.map((r) => [...r]);
  for (let l = 0; l < cfg.num_layers; l++) {
    const p = `encoder.block.${l}.layer`;
    const n0 = rms(h, W(t, `${p}.0.layer_norm.weight`), eps);
    h = add(h, attention(cfg, t, `${p}.0.SelfAttention`, n0, n0, (hh, i, j) => encBias.data[bucket(j - i, true, nb, md) * cfg.num_heads + hh] as number, mask, false));
    h = add(h, ffn(cfg, t, `${p}.1`, rms(h, W(t, `${p}.1.layer_norm.weight`), eps)));
  }
  const enc = rms(h, W(t, 'encoder.final_layer_norm.weight'), eps);
  const dec = [cfg.decoder_start_token_id, ...labels.slice(0, -1)].map((v) => (v === -100 ? 0 : v));
  const shared = W(t, 'shared.weight');
  const d = cfg.d_model;
  let g: Mat = dec.map((id) => Array.from(shared.data.subarray(id * d, (id + 1) * d)));
  const decBias = W(t, 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  const ones = dec.map(() => 1);
  for (let l = 0; l < cfg.num_decoder_layers; l++) {
    const p = `decoder.block.${l}.layer`;
    const n0 = rms(g, W(t, `${p}.0.layer_norm.weight`), eps);
    g = add(g, attention(cfg, t, `${p}.0.SelfAttention`, n0, n0, (hh, i, j) => decBias.data[bucket(j - i, false, nb, md) * cfg.num_heads + hh] as number, ones, true));
    const n1 = rms(g, W(t, `${p}.1.layer_norm.weight`), eps);
    g = add(g, attention(cfg, t, `${p}.1.EncDecAttention`, n1, enc, null, mask, false));
    g = add(g, ffn(cfg, t, `${p}.2`, rms(g, W(t, `${p}.2.layer_norm.weight`), eps)));
  }
  let out = rms(g, W(t, 'decoder.final_layer_norm.weight'), eps);
  if (cfg.tie_word_embeddings) out = out.map((r) => r.map((v) => v * d ** -0.5));
  const logits = lin(out, cfg.tie_word_embeddings ? shared : W(t, 'lm_head.weight'));
  let nll = 0;
  let count = 0;
  labels.forEach((y, i) => {
    if (y === -100) return;
    const row = logits[i] as number[];
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
    nll += lse - (row[y] as number);
    count += 1;
  });
  return { logits, nll, count, encoderOut: enc };
}
