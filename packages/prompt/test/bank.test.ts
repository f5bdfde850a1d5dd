import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { hostTensor, readSafetensors, writeSafetensors } from '@dept/tensor';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import { type Bank, bankScaling, makeBankConfig, readBank, writeBank } from '../src/bank.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-bank-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function filled(shape: number[], rng: Rng): { data: Float32Array; shape: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-1, 1);
  return hostTensor(data, shape);
}

function makeBank(m: number, d: number, s: number, r: number, seed = 1): Bank {
  const rng = new Rng(seed);
  const config = makeBankConfig({ num_virtual_tokens: m, token_dim: d, max_length: s, r, base_model_name_or_path: 't5-small' });
  return {
    config,
    prompt_embeddings: filled([m, d], rng),
    lora_embedding_A: r > 0 ? filled([s, r], rng) : null,
    lora_embedding_B: r > 0 ? filled([r, d], rng) : null,
  };
}

describe('bank config', () => {
  it('fills the DePT defaults', () => {
    const c = makeBankConfig({ num_virtual_tokens: 60, token_dim: 768, max_length: 256, r: 30 });
    expect(c).toMatchObject({
      peft_type: 'PROMPT_TUNING_LORA',
      task_type: 'SEQ_2_SEQ_LM',
      lora_alpha: 8,
      num_transformer_submodules: 1,
      hidden_size: 768,
      bias: 'none',
      load_lora_embeddings: true,
      load_lora_embedding_B: true,
      revision: null,
    });
  });

  it('scaling is lora_alpha / sqrt(r), 0 for r = 0 (DEPT.md §1.1 values)', () => {
    expect(bankScaling({ lora_alpha: 8, r: 15 })).toBeCloseTo(2.0656, 4);
    expect(bankScaling({ lora_alpha: 8, r: 30 })).toBeCloseTo(1.4606, 4);
    expect(bankScaling({ lora_alpha: 8, r: 60 })).toBeCloseTo(1.0328, 4);
    expect(bankScaling({ lora_alpha: 8, r: 0 })).toBe(0);
  });

  it('refuses bad fields with the field name', () => {
    expect(() => makeBankConfig({ num_virtual_tokens: 60, token_dim: 768, max_length: 256, r: -1 })).toThrow('bank config: field "r" must be a non-negative integer, got -1');
    expect(() => makeBankConfig({ num_virtual_tokens: 1.5, token_dim: 768, max_length: 256, r: 1 })).toThrow('field "num_virtual_tokens" must be a non-negative integer, got 1.5');
  });
});

describe('bank folders', () => {
  it('round-trips a DePT bank exactly, with a sorted, indented config', () => {
    const bank = makeBank(5, 8, 12, 3);
    const dir = join(tmp, 'b1');
    writeBank(dir, bank);
    expect(readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const text = readFileSync(join(dir, 'adapter_config.json'), 'utf8');
    const keys = Object.keys(JSON.parse(text) as object);
    expect(keys).toEqual([...keys].sort());
    expect(text.startsWith('{\n  "base_model_name_or_path": "t5-small",\n')).toBe(true);
    const f = readSafetensors(join(dir, 'adapter_model.safetensors'));
    expect([...f.tensors.keys()]).toEqual(['prompt_embeddings', 'prompt_encoder.lora_embedding_A', 'prompt_encoder.lora_embedding_B']);
    expect(f.metadata).toEqual({ format: 'pt' });
    const back = readBank(dir);
    expect(back).toEqual(bank);
  });

  it('stores a vanilla prompt-tuning bank (r = 0) as the prompt only', () => {
    const bank = makeBank(4, 8, 12, 0);
    const dir = join(tmp, 'b0');
    writeBank(dir, bank);
    expect([...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.keys()]).toEqual(['prompt_embeddings']);
    const back = readBank(dir);
    expect(back.lora_embedding_A).toBeNull();
    expect(back.lora_embedding_B).toBeNull();
    expect(back.prompt_embeddings).toEqual(bank.prompt_embeddings);
  });

  it('replaces an existing bank atomically, but never a folder holding other files', () => {
    const dir = join(tmp, 'b2');
    writeBank(dir, makeBank(5, 8, 12, 3, 1));
    const second = makeBank(5, 8, 12, 3, 2);
    writeBank(dir, second);
    expect(readBank(dir)).toEqual(second);
    expect(readdirSync(tmp).filter((f) => f.startsWith('.'))).toEqual([]);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(() => writeBank(dir, second)).toThrow(`${dir}: exists and holds files other than a bank (notes.txt); refusing to replace it`);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });

  it('refuses tensors whose shapes disagree with the config, naming file, tensor and expectation', () => {
    const dir = join(tmp, 'b3');
    writeBank(dir, makeBank(5, 8, 12, 3));
    const cfgPath = join(dir, 'adapter_config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, r: 4 }));
    expect(() => readBank(dir)).toThrow(
      `${join(dir, 'adapter_model.safetensors')}: tensor "prompt_encoder.lora_embedding_A" has shape [12, 3], expected [12, 4] = [max_length, r] from the config`,
    );
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, r: 0 }));
    expect(() => readBank(dir)).toThrow('unexpected tensor "prompt_encoder.lora_embedding_A" (the config says r = 0)');
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, max_length: '12' }));
    expect(() => readBank(dir)).toThrow(`${cfgPath}: field "max_length" must be an integer ≥ 1, got "12"`);
    const { token_dim: _drop, ...noDim } = cfg;
    writeFileSync(cfgPath, JSON.stringify(noDim));
    expect(() => readBank(dir)).toThrow(`${cfgPath}: missing field "token_dim"`);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, peft_type: 'PROMPT_TUNING' }));
    expect(() => readBank(dir)).toThrow(`${cfgPath}: field "peft_type" is "PROMPT_TUNING", expected "PROMPT_TUNING_LORA"`);
    writeFileSync(cfgPath, '{"r": 3,');
    expect(() => readBank(dir)).toThrow(`${cfgPath}: not valid JSON (line 1 column 9)`);
  });

  it('refuses NaN and Infinity, naming the tensor', () => {
    const bank = makeBank(2, 4, 3, 1);
    (bank.lora_embedding_B as { data: Float32Array }).data[2] = Number.NaN;
    expect(() => writeBank(join(tmp, 'nan'), bank)).toThrow('tensor "prompt_encoder.lora_embedding_B" holds a non-finite value (NaN at flat index 2)');
    const dir = join(tmp, 'inf');
    mkdirSync(dir);
    const good = makeBank(2, 4, 3, 0);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(good.config));
    const p = new Float32Array(8);
    p[5] = Infinity;
    writeSafetensors(join(dir, 'adapter_model.safetensors'), { prompt_embeddings: hostTensor(p, [2, 4]) });
    expect(() => readBank(dir)).toThrow(`${join(dir, 'adapter_model.safetensors')}: tensor "prompt_embeddings" holds a non-finite value (Infinity at flat index 5)`);
  });

  it('points at the converter for a folder holding adapter_model.bin', () => {
    const dir = join(tmp, 'bin');
    mkdirSync(dir);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(makeBank(2, 4, 3, 1).config));
    writeFileSync(join(dir, 'adapter_model.bin'), 'PK');
    expect(() => readBank(dir)).toThrow('holds adapter_model.bin (a PyTorch pickle) instead of adapter_model.safetensors; convert it with `dept bank convert');
    expect(() => readBank(join(tmp, 'nothing'))).toThrow(`${join(tmp, 'nothing')}: bank folder not found`);
  });
});

describeShared('the tiny-relu fixture bank (written by a reference writer)', () => {
  it('reads with the shapes of its config', () => {
    const dir = sharedPath('fixtures', 'parity', 'tiny-relu', 'bank');
    const raw = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, number>;
    const bank = readBank(dir);
    expect(bank.prompt_embeddings.shape).toEqual([raw.num_virtual_tokens, raw.token_dim]);
    expect(bank.lora_embedding_A?.shape).toEqual([raw.max_length, raw.r]);
    expect(bank.lora_embedding_B?.shape).toEqual([raw.r, raw.token_dim]);
    expect(bank.config.prompt_tuning_init).toBe('RANDOM');
    expect(bankScaling(bank.config)).toBe(8 / Math.sqrt(4));
    // B is random and non-zero in this fixture
    expect(bank.lora_embedding_B?.data.some((v) => v !== 0)).toBe(true);
  });
});
