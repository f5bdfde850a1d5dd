/**
 * Transfer reads banks of a pretraining folder by name (`<dir>#<name>`, or the folder with `{ name }`), and plain
 * bank paths keep working as before.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDeptError, Rng } from '@dept/core';
import { makeBankConfig, writeBank, type Bank } from '@dept/prompt';
import { importSourceBank, listSourceBanks, resolveBankRef } from '@dept/transfer';

const tmp = mkdtempSync(join(tmpdir(), 'dept-named-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bank(seed: number): Bank {
  const rng = new Rng(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  return {
    config: makeBankConfig({ num_virtual_tokens: 2, token_dim: 4, max_length: 3, r: 1 }),
    prompt_embeddings: { data: fill(8), shape: [2, 4] },
    lora_embedding_A: { data: fill(3), shape: [3, 1] },
    lora_embedding_B: { data: fill(4), shape: [1, 4] },
  };
}

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(isDeptError(error)).toBe(true);
    return error as Error;
  }
  throw new Error('expected a DeptError');
}

const dir = join(tmp, 'pre');
const shared = bank(1);
const mnli = bank(2);
writeBank(join(dir, 'banks', 'shared'), shared);
writeBank(join(dir, 'banks', 'mnli'), mnli);
writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'dept-pretrain', version: 1, banks: { shared: 'banks/shared', mnli: 'banks/mnli' } }));
const plain = join(tmp, 'plain-bank');
writeBank(plain, bank(3));

describe('named banks of a pretraining folder', () => {
  it('resolves <dir>#<name>, { name } and the default "shared"', () => {
    expect(resolveBankRef(`${dir}#mnli`)).toEqual({ path: resolve(dir, 'banks/mnli'), name: 'mnli', manifestPath: join(dir, 'manifest.json') });
    expect(resolveBankRef(dir, { name: 'mnli' }).path).toBe(resolve(dir, 'banks/mnli'));
    expect(resolveBankRef(dir).path).toBe(resolve(dir, 'banks/shared'));
    expect(listSourceBanks(dir)).toEqual({ shared: resolve(dir, 'banks/shared'), mnli: resolve(dir, 'banks/mnli') });
  });

  it('imports the named bank with its exact values', () => {
    const a = importSourceBank(`${dir}#mnli`).bank;
    expect(Array.from(a.prompt_embeddings.data)).toEqual(Array.from(mnli.prompt_embeddings.data));
    expect(Array.from(a.lora_embedding_B!.data)).toEqual(Array.from(mnli.lora_embedding_B!.data));
    const s = importSourceBank(dir);
    expect(Array.from(s.bank.prompt_embeddings.data)).toEqual(Array.from(shared.prompt_embeddings.data));
    expect(s.notes[0]).toMatch(/named bank "shared"/);
  });

  it('leaves plain bank paths alone', () => {
    expect(resolveBankRef(plain)).toEqual({ path: plain, name: null, manifestPath: null });
    expect(importSourceBank(plain).format).toBe('ours');
  });

  it('says which names exist when one is missing, and refuses names on plain folders', () => {
    expect(catchError(() => resolveBankRef(`${dir}#qqp`)).message).toMatch(/no bank named "qqp"; it holds shared, mnli/);
    expect(catchError(() => resolveBankRef(plain, { name: 'mnli' })).message).toMatch(/has no manifest\.json/);
    expect(catchError(() => resolveBankRef(`${dir}#mnli`, { name: 'qqp' })).message).toMatch(/give one/);
    expect(catchError(() => resolveBankRef(`${dir}#`)).message).toMatch(/nothing after "#"/);
  });

  it('refuses a manifest whose bank points outside its folder', () => {
    const bad = join(tmp, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ banks: { shared: '../plain-bank' } }));
    expect(catchError(() => resolveBankRef(bad)).message).toMatch(/points outside/);
  });
});
