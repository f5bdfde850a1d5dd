/**
 * Initialising a target prompt from source banks (pure host operations): fit one bank to the target's sizes,
 * average several, or pick the source with the lowest dev loss.
 */
import { DeptError, type Rng } from '@dept/core';
import { type HostTensor } from '@dept/tensor';
import { type Bank, kaimingUniformA, makeBankConfig, validateBank } from '@dept/prompt';

/** The sizes a source bank is fitted to. */
export interface AdaptTarget {
  /** m of the target. */
  num_virtual_tokens: number;
  /** s of the target (rows of A). */
  max_length: number;
  /** r of the target (0 = vanilla prompt tuning). */
  r: number;
  /** d of the target model; must equal the source's token_dim. */
  token_dim: number;
  /** Default: the source's lora_alpha. */
  lora_alpha?: number;
}

/** Options of {@link adaptBank}. */
export interface AdaptOptions {
  /** Draws every fresh value of A. */
  rng: Rng;
  /** Start from a fresh A instead of the source's (the official `load_lora_embeddings: false`). Default: `!source.config.load_lora_embeddings`. */
  resetA?: boolean;
  /** Start from B = 0 instead of the source's (the official `load_lora_embedding_B: false`). Default: `!source.config.load_lora_embedding_B`. */
  resetB?: boolean;
  /** How a prompt of another length is fitted: first rows, or rows repeated cyclically. The only policy so far. */
  promptPolicy?: 'truncate-or-tile';
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Fits a source bank to a target's sizes and says what was done in `notes`:
 * - prompt: longer → first m rows; shorter → rows tiled cyclically (row i = source row i mod m_source);
 * - A [s, r]: rows past the source's s and columns past its r are fresh kaiming-uniform values (±1/√r of the
 *   target), extra rows or columns are cut;
 * - B [r, d]: extra rows are zero (so a larger rank starts with the source's A·B unchanged), extra rows are cut;
 * - d_model must match (a `DeptError` names both sizes).
 * Fresh values are drawn from `opts.rng` in row-major order of the new cells.
 *
 * @example
 * const { bank, notes } = adaptBank(source, { num_virtual_tokens: 40, max_length: 256, r: 45, token_dim: 768 }, { rng: new Rng(1) });
 */
export function adaptBank(source: Bank, target: AdaptTarget, opts: AdaptOptions): { bank: Bank; notes: string[] } {
  validateBank(source, 'adaptBank source');
  const src = source.config;
  const { num_virtual_tokens: m, max_length: s, r, token_dim: d } = target;
  for (const [k, v, min] of [['num_virtual_tokens', m, 0], ['max_length', s, 1], ['r', r, 0], ['token_dim', d, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new DeptError(`adaptBank: target ${k} must be an integer ≥ ${min}, got ${v}`);
  }
  if (src.token_dim !== d) {
    throw new DeptError(`adaptBank: the source bank has token_dim ${src.token_dim} but the target model has d_model ${d}; a prompt cannot move between model widths`);
  }
  if (opts.promptPolicy !== undefined && opts.promptPolicy !== 'truncate-or-tile') throw new DeptError(`adaptBank: unknown promptPolicy ${JSON.stringify(opts.promptPolicy)}`);
  const notes: string[] = [];

  // Prompt [m, d]
  const ms = src.num_virtual_tokens;
  const P = new Float32Array(m * d);
  if (m > 0 && ms === 0) throw new DeptError(`adaptBank: the source bank has no prompt rows to fill ${m} target rows`);
  for (let i = 0; i < m; i++) P.set(source.prompt_embeddings.data.subarray((i % ms) * d, (i % ms + 1) * d), i * d);
  if (m < ms) notes.push(`prompt truncated from ${ms} to ${m} rows (kept rows 0..${m - 1})`);
  else if (m > ms) notes.push(`prompt tiled from ${ms} to ${m} rows (row i = source row i mod ${ms})`);

  let A: HostTensor | null = null;
  let B: HostTensor | null = null;
  const rs = src.r;
  const ss = src.max_length;
  if (r === 0) {
    if (rs > 0) notes.push(`dropped the low-rank pair (target r = 0: vanilla prompt tuning)`);
  } else {
    const resetA = opts.resetA ?? !src.load_lora_embeddings;
    const resetB = opts.resetB ?? !src.load_lora_embedding_B;
    const bound = 1 / Math.sqrt(r);
    if (rs === 0 || resetA || !source.lora_embedding_A) {
      A = kaimingUniformA(s, r, opts.rng);
      notes.push(rs === 0 ? `the source has r = 0: fresh A [${s}, ${r}] (kaiming-uniform ±${bound.toPrecision(4)})` : `A reset: fresh A [${s}, ${r}] (kaiming-uniform ±${bound.toPrecision(4)})`);
    } else {
      const a = new Float32Array(s * r);
      const srcA = source.lora_embedding_A.data;
      for (let i = 0; i < s; i++) {
        for (let j = 0; j < r; j++) a[i * r + j] = i < ss && j < rs ? (srcA[i * rs + j] as number) : opts.rng.uniform(-bound, bound);
      }
      A = { data: a, shape: [s, r] };
      if (s < ss) notes.push(`A: cut rows ${s}..${ss - 1} (max_length ${ss} → ${s})`);
      if (s > ss) notes.push(`A: added fresh rows ${ss}..${s - 1} (max_length ${ss} → ${s}, kaiming-uniform ±${bound.toPrecision(4)})`);
      if (r < rs) notes.push(`A: cut columns ${r}..${rs - 1} (rank ${rs} → ${r})`);
      if (r > rs) notes.push(`A: added fresh columns ${rs}..${r - 1} (rank ${rs} → ${r}, kaiming-uniform ±${bound.toPrecision(4)})`);
    }
    const b = new Float32Array(r * d);
    if (rs === 0 || resetB || !source.lora_embedding_B) {
      if (rs > 0) notes.push(`B reset to 0 [${r}, ${d}]`);
      else notes.push(`B = 0 [${r}, ${d}], so A·B starts at 0`);
    } else {
      b.set(source.lora_embedding_B.data.subarray(0, Math.min(r, rs) * d));
      if (r < rs) notes.push(`B: cut rows ${r}..${rs - 1} (rank ${rs} → ${r}); A·B changes`);
      if (r > rs) notes.push(`B: added zero rows ${rs}..${r - 1} (rank ${rs} → ${r}), so the new columns of A add nothing at first`);
    }
    B = { data: b, shape: [r, d] };
    const alpha = target.lora_alpha ?? src.lora_alpha;
    if (rs > 0 && (rs !== r || alpha !== src.lora_alpha)) {
      notes.push(`scaling changes from ${src.lora_alpha}/√${rs} = ${(src.lora_alpha / Math.sqrt(rs)).toFixed(4)} to ${alpha}/√${r} = ${(alpha / Math.sqrt(r)).toFixed(4)}`);
    }
  }
  const config = makeBankConfig({ ...src, num_virtual_tokens: m, max_length: s, r, token_dim: d, lora_alpha: target.lora_alpha ?? src.lora_alpha });
  const bank: Bank = { config, prompt_embeddings: { data: P, shape: [m, d] }, lora_embedding_A: A, lora_embedding_B: B };
  validateBank(bank, 'adaptBank result');
  return { bank, notes };
}

/**
 * The element-wise mean of banks of the same sizes (P, A and B averaged separately; config of the first).
 * Fit them with {@link adaptBank} first when their sizes differ.
 *
 * @example
 * const init = averageBanks([mnli, qnli, sst2]);
 */
export function averageBanks(banks: readonly Bank[]): Bank {
  if (banks.length === 0) throw new DeptError('averageBanks: no banks given');
  const first = banks[0] as Bank;
  const sizes = (b: Bank): number[] => [b.config.num_virtual_tokens, b.config.token_dim, b.config.max_length, b.config.r];
  banks.forEach((b, i) => {
    validateBank(b, `averageBanks: bank ${i}`);
    const a = sizes(b);
    const f = sizes(first);
    if (a.some((v, k) => v !== f[k])) {
      throw new DeptError(`averageBanks: bank ${i} has [m, d, s, r] = ${fmt(a)} but bank 0 has ${fmt(f)}; fit them to one size with adaptBank first`);
    }
  });
  const mean = (pick: (b: Bank) => HostTensor | null): HostTensor | null => {
    const t0 = pick(first);
    if (!t0) return null;
    const acc = new Float64Array(t0.data.length);
    for (const b of banks) {
      const t = pick(b) as HostTensor;
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (t.data[i] as number);
    }
    const out = new Float32Array(acc.length);
    for (let i = 0; i < acc.length; i++) out[i] = (acc[i] as number) / banks.length;
    return { data: out, shape: [...t0.shape] };
  };
  return {
    config: { ...first.config },
    prompt_embeddings: mean((b) => b.prompt_embeddings) as HostTensor,
    lora_embedding_A: mean((b) => b.lora_embedding_A),
    lora_embedding_B: mean((b) => b.lora_embedding_B),
  };
}

/** A named source bank. */
export interface NamedBank {
  name: string;
  bank: Bank;
}

/** The result of {@link chooseBestSource}. */
export interface BestSource extends NamedBank {
  /** The winner's loss. */
  loss: number;
  index: number;
  /** Every candidate's loss, in candidate order (NaN stays NaN). */
  losses: { name: string; loss: number }[];
}

/**
 * Scores every candidate with `scoreFn` (e.g. the target's dev loss after initialising from it; lower is
 * better), one at a time, and returns the best. NaN losses never win; ties go to the earlier candidate.
 *
 * @example
 * const best = await chooseBestSource(sources, async (bank) => devLoss(bank));
 * best.name; // 'mnli'
 */
export async function chooseBestSource(candidates: readonly NamedBank[], scoreFn: (bank: Bank, name: string) => Promise<number>): Promise<BestSource> {
  if (candidates.length === 0) throw new DeptError('chooseBestSource: no candidate banks');
  const losses: { name: string; loss: number }[] = [];
  let best = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as NamedBank;
    const loss = await scoreFn(c.bank, c.name);
    losses.push({ name: c.name, loss });
    if (!Number.isNaN(loss) && (best < 0 || loss < (losses[best] as { loss: number }).loss)) best = i;
  }
  if (best < 0) throw new DeptError(`chooseBestSource: every candidate's loss is NaN (${candidates.map((c) => c.name).join(', ')})`);
  const winner = candidates[best] as NamedBank;
  return { name: winner.name, bank: winner.bank, loss: (losses[best] as { loss: number }).loss, index: best, losses };
}
