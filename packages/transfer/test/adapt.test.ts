import { describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { type Bank, makeBankConfig } from '@dept/prompt';
import { adaptBank, averageBanks, chooseBestSource } from '../src/index.ts';

/** m = 3, d = 2, s = 4, r = 2 with values that name their position: P[i][j] = 10i + j, A[i][j] = 100 + 10i + j, B[i][j] = 1000 + 10i + j. */
function source(flags: { load_lora_embeddings?: boolean; load_lora_embedding_B?: boolean } = {}): Bank {
  const config = makeBankConfig({ num_virtual_tokens: 3, token_dim: 2, max_length: 4, r: 2, ...flags });
  return {
    config,
    prompt_embeddings: { data: new Float32Array([0, 1, 10, 11, 20, 21]), shape: [3, 2] },
    lora_embedding_A: { data: new Float32Array([100, 101, 110, 111, 120, 121, 130, 131]), shape: [4, 2] },
    lora_embedding_B: { data: new Float32Array([1000, 1001, 1010, 1011]), shape: [2, 2] },
  };
}

const same = { num_virtual_tokens: 3, token_dim: 2, max_length: 4, r: 2 };
const list = (t: { data: Float32Array } | null): number[] => [...(t?.data ?? [])];

describe('adaptBank', () => {
  it('copies a bank of the same sizes unchanged, with no notes', () => {
    const { bank, notes } = adaptBank(source(), same, { rng: new Rng(1) });
    expect(notes).toEqual([]);
    expect(list(bank.prompt_embeddings)).toEqual([0, 1, 10, 11, 20, 21]);
    expect(list(bank.lora_embedding_A)).toEqual([100, 101, 110, 111, 120, 121, 130, 131]);
    expect(list(bank.lora_embedding_B)).toEqual([1000, 1001, 1010, 1011]);
  });

  it('truncates a longer prompt and tiles a shorter one', () => {
    const cut = adaptBank(source(), { ...same, num_virtual_tokens: 2 }, { rng: new Rng(1) });
    expect(list(cut.bank.prompt_embeddings)).toEqual([0, 1, 10, 11]);
    expect(cut.notes).toEqual(['prompt truncated from 3 to 2 rows (kept rows 0..1)']);
    const tiled = adaptBank(source(), { ...same, num_virtual_tokens: 7 }, { rng: new Rng(1) });
    expect(list(tiled.bank.prompt_embeddings)).toEqual([0, 1, 10, 11, 20, 21, 0, 1, 10, 11, 20, 21, 0, 1]);
    expect(tiled.bank.config.num_virtual_tokens).toBe(7);
    expect(tiled.notes).toEqual(['prompt tiled from 3 to 7 rows (row i = source row i mod 3)']);
  });

  it('cuts rows of A for a shorter max length and adds fresh kaiming rows for a longer one', () => {
    const cut = adaptBank(source(), { ...same, max_length: 2 }, { rng: new Rng(1) });
    expect(list(cut.bank.lora_embedding_A)).toEqual([100, 101, 110, 111]);
    expect(list(cut.bank.lora_embedding_B)).toEqual([1000, 1001, 1010, 1011]);
    expect(cut.notes).toEqual(['A: cut rows 2..3 (max_length 4 → 2)']);
    const longer = adaptBank(source(), { ...same, max_length: 6 }, { rng: new Rng(1) });
    const A = list(longer.bank.lora_embedding_A);
    expect(A.slice(0, 8)).toEqual([100, 101, 110, 111, 120, 121, 130, 131]);
    const fresh = A.slice(8);
    expect(fresh).toHaveLength(4);
    for (const v of fresh) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(2));
    expect(new Set(fresh).size).toBe(4);
    expect(longer.notes[0]).toMatch(/^A: added fresh rows 4\.\.5 \(max_length 4 → 6, kaiming-uniform ±0\.7071\)$/);
    // the same seed draws the same fresh rows
    expect(list(adaptBank(source(), { ...same, max_length: 6 }, { rng: new Rng(1) }).bank.lora_embedding_A)).toEqual(A);
    expect(list(adaptBank(source(), { ...same, max_length: 6 }, { rng: new Rng(2) }).bank.lora_embedding_A)).not.toEqual(A);
  });

  it('cuts a rank (columns of A, rows of B)', () => {
    const { bank, notes } = adaptBank(source(), { ...same, r: 1 }, { rng: new Rng(1) });
    expect(list(bank.lora_embedding_A)).toEqual([100, 110, 120, 130]);
    expect(list(bank.lora_embedding_B)).toEqual([1000, 1001]);
    expect(bank.config.r).toBe(1);
    expect(notes).toContain('A: cut columns 1..1 (rank 2 → 1)');
    expect(notes).toContain('B: cut rows 1..1 (rank 2 → 1); A·B changes');
    expect(notes).toContain('scaling changes from 8/√2 = 5.6569 to 8/√1 = 8.0000');
  });

  it('grows a rank with fresh columns of A and zero rows of B, so A·B is unchanged', () => {
    const { bank } = adaptBank(source(), { ...same, r: 3 }, { rng: new Rng(5) });
    const A = list(bank.lora_embedding_A);
    const B = list(bank.lora_embedding_B);
    expect(bank.lora_embedding_A?.shape).toEqual([4, 3]);
    for (let i = 0; i < 4; i++) {
      expect(A.slice(3 * i, 3 * i + 2)).toEqual([100 + 10 * i, 101 + 10 * i]);
      expect(Math.abs(A[3 * i + 2] as number)).toBeLessThanOrEqual(1 / Math.sqrt(3));
    }
    expect(B).toEqual([1000, 1001, 1010, 1011, 0, 0]);
    // A·B row 0, by hand: [100·1000 + 101·1010, 100·1001 + 101·1011]
    const row0 = [0, 1].map((j) => (A[0] as number) * (B[j] as number) + (A[1] as number) * (B[2 + j] as number) + (A[2] as number) * (B[4 + j] as number));
    expect(row0).toEqual([100 * 1000 + 101 * 1010, 100 * 1001 + 101 * 1011]);
  });

  it('drops the pair for a vanilla target, and makes a fresh pair from a vanilla source', () => {
    const vanilla = adaptBank(source(), { ...same, r: 0 }, { rng: new Rng(1) });
    expect(vanilla.bank.lora_embedding_A).toBeNull();
    expect(vanilla.bank.lora_embedding_B).toBeNull();
    expect(vanilla.notes).toEqual(['dropped the low-rank pair (target r = 0: vanilla prompt tuning)']);
    const up = adaptBank(vanilla.bank, { ...same, r: 4, max_length: 5 }, { rng: new Rng(1) });
    expect(up.bank.lora_embedding_A?.shape).toEqual([5, 4]);
    for (const v of list(up.bank.lora_embedding_A)) expect(Math.abs(v)).toBeLessThanOrEqual(0.5);
    expect(list(up.bank.lora_embedding_B)).toEqual(new Array(8).fill(0));
  });

  it('honours resetA / resetB and the official load flags as defaults', () => {
    const resetB = adaptBank(source(), same, { rng: new Rng(1), resetB: true });
    expect(list(resetB.bank.lora_embedding_B)).toEqual([0, 0, 0, 0]);
    expect(list(resetB.bank.lora_embedding_A)).toEqual([100, 101, 110, 111, 120, 121, 130, 131]);
    const resetA = adaptBank(source(), same, { rng: new Rng(1), resetA: true });
    for (const v of list(resetA.bank.lora_embedding_A)) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(2));
    expect(list(resetA.bank.lora_embedding_B)).toEqual([1000, 1001, 1010, 1011]);
    const flagged = adaptBank(source({ load_lora_embedding_B: false }), same, { rng: new Rng(1) });
    expect(list(flagged.bank.lora_embedding_B)).toEqual([0, 0, 0, 0]);
    const overridden = adaptBank(source({ load_lora_embedding_B: false }), same, { rng: new Rng(1), resetB: false });
    expect(list(overridden.bank.lora_embedding_B)).toEqual([1000, 1001, 1010, 1011]);
  });

  it('refuses a different model width, naming both sizes', () => {
    expect(() => adaptBank(source(), { ...same, token_dim: 768 }, { rng: new Rng(1) })).toThrow(
      'adaptBank: the source bank has token_dim 2 but the target model has d_model 768; a prompt cannot move between model widths',
    );
  });
});

describe('averageBanks and chooseBestSource', () => {
  it('averages P, A and B element-wise', () => {
    const a = source();
    const b = source();
    b.prompt_embeddings = { data: new Float32Array([2, 3, 12, 13, 22, 23]), shape: [3, 2] };
    b.lora_embedding_B = { data: new Float32Array([0, 1, 2, 3]), shape: [2, 2] };
    const avg = averageBanks([a, b]);
    expect(list(avg.prompt_embeddings)).toEqual([1, 2, 11, 12, 21, 22]);
    expect(list(avg.lora_embedding_A)).toEqual([100, 101, 110, 111, 120, 121, 130, 131]);
    expect(list(avg.lora_embedding_B)).toEqual([500, 501, 506, 507]);
  });

  it('refuses banks of different sizes', () => {
    const small = adaptBank(source(), { ...same, r: 1 }, { rng: new Rng(1) }).bank;
    expect(() => averageBanks([source(), small])).toThrow('averageBanks: bank 1 has [m, d, s, r] = [3, 2, 4, 1] but bank 0 has [3, 2, 4, 2]; fit them to one size with adaptBank first');
    expect(() => averageBanks([])).toThrow('averageBanks: no banks given');
  });

  it('picks the lowest loss; NaN never wins; ties go to the first', async () => {
    const losses: Record<string, number> = { mnli: 0.5, qnli: 0.2, sst2: Number.NaN, qqp: 0.2 };
    const cands = Object.keys(losses).map((name) => ({ name, bank: source() }));
    const seen: string[] = [];
    const best = await chooseBestSource(cands, async (_bank, name) => {
      seen.push(name);
      return losses[name] as number;
    });
    expect(best.name).toBe('qnli');
    expect(best.index).toBe(1);
    expect(best.loss).toBe(0.2);
    expect(seen).toEqual(['mnli', 'qnli', 'sst2', 'qqp']);
    await expect(chooseBestSource(cands.slice(2, 3), async () => Number.NaN)).rejects.toThrow("every candidate's loss is NaN (sst2)");
  });
});
