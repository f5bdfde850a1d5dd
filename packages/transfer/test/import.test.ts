import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '@dept/tensor';
import { type Bank, makeBankConfig, readBank, writeBank } from '@dept/prompt';
import { describeShared, REPO_ROOT, sharedPath } from '../../../test/helpers/shared.ts';
import { f32Bytes, makeZip, PickleWriter, torchZip } from '../../../test/helpers/torchfile.ts';
import { exportPeft, importBank, inspectBank } from '../src/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-transfer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const list = (t: { data: Float32Array } | null | undefined): number[] => [...(t?.data ?? [])];

function rel(got: number, want: number, tol = 1e-6): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.abs(want));
}

/** A folder holding adapter_config.json (+ a safetensors file of `tensors`). */
function peftFolder(name: string, config: Record<string, unknown>, tensors: Record<string, { data: Float32Array; shape: number[] }>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
  writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  return dir;
}

const seq = (n: number, start = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => start + i);

describeShared('real banks', () => {
  const README = {
    P: { sum: 3532.1543227814, l2: 6080.4255945902 },
    A: { sum: 19.0213703489, l2: 12.4847635335 },
    B: { sum: 0.4263933187, l2: 13.236554885 },
    attempt: { sum: -193.1550205154, l2: 281.329740086 },
  };

  it('imports the DePT SST-2 checkpoint with its config', () => {
    const { format, bank, notes } = importBank(sharedPath('banks', 'dept-sst2'));
    expect(format).toBe('dept');
    expect(notes).toEqual([]);
    expect(bank.config).toMatchObject({ num_virtual_tokens: 60, token_dim: 768, max_length: 256, r: 30, lora_alpha: 8, prompt_tuning_init: 'TEXT', base_model_name_or_path: 't5-base' });
    expect(bank.lora_embedding_A?.shape).toEqual([256, 30]);
    expect(bank.lora_embedding_B?.shape).toEqual([30, 768]);
    expect(list(bank.prompt_embeddings).slice(0, 4).map((v) => Number(v.toPrecision(8)))).toEqual([1.5252949, -20.557514, -26.551119, -18.385263]);
  });

  it('inspects it with the README statistics', () => {
    const info = inspectBank(sharedPath('banks', 'dept-sst2'));
    expect(info.format).toBe('dept');
    expect(info.config?.r).toBe(30);
    const t = info.tensors;
    expect(Object.keys(t)).toEqual(['prompt_embeddings', 'prompt_encoder.lora_embedding_A', 'prompt_encoder.lora_embedding_B']);
    expect(t.prompt_embeddings?.dtype).toBe('F32');
    rel(t.prompt_embeddings?.sum as number, README.P.sum);
    rel(t.prompt_embeddings?.l2 as number, README.P.l2);
    rel(t['prompt_encoder.lora_embedding_A']?.sum as number, README.A.sum);
    rel(t['prompt_encoder.lora_embedding_A']?.l2 as number, README.A.l2);
    rel(t['prompt_encoder.lora_embedding_B']?.sum as number, README.B.sum);
    rel(t['prompt_encoder.lora_embedding_B']?.l2 as number, README.B.l2);
  });

  it('import → export (our format) → import gives identical tensors', () => {
    const first = importBank(sharedPath('banks', 'dept-sst2')).bank;
    const dir = join(tmp, 'sst2-ours');
    writeBank(dir, first);
    const again = importBank(dir);
    expect(again.format).toBe('ours');
    expect(again.bank).toEqual(first);
    expect(readBank(dir)).toEqual(first);
    rel(inspectBank(dir).tensors.prompt_embeddings?.sum as number, README.P.sum);
  });

  it('imports the ATTEMPT prompt as vanilla prompt tuning, or with a fresh pair', () => {
    const plain = importBank(sharedPath('banks', 'attempt-record'));
    expect(plain.format).toBe('attempt');
    expect(plain.bank.prompt_embeddings.shape).toEqual([100, 768]);
    expect(plain.bank.config.r).toBe(0);
    expect(plain.bank.lora_embedding_A).toBeNull();
    expect(plain.notes).toEqual(['the source has a prompt only: imported as vanilla prompt tuning (r = 0)']);
    const info = inspectBank(sharedPath('banks', 'attempt-record', 'record_prefix_embeddings.pt'));
    rel(info.tensors.prompt_embeddings?.sum as number, README.attempt.sum);
    rel(info.tensors.prompt_embeddings?.l2 as number, README.attempt.l2);
    const paired = importBank(sharedPath('banks', 'attempt-record'), { r: 4, max_length: 16, seed: 3 });
    expect(paired.bank.lora_embedding_A?.shape).toEqual([16, 4]);
    for (const v of list(paired.bank.lora_embedding_A)) expect(Math.abs(v)).toBeLessThanOrEqual(0.5);
    expect(list(paired.bank.lora_embedding_B).every((v) => v === 0)).toBe(true);
    expect(paired.notes[0]).toBe('the source has a prompt only: added a fresh A [16, 4] (kaiming-uniform ±0.5000) and B = 0 [4, 768], so A·B starts at 0');
    expect(list(importBank(sharedPath('banks', 'attempt-record'), { r: 4, max_length: 16, seed: 3 }).bank.lora_embedding_A)).toEqual(list(paired.bank.lora_embedding_A));
  });
});

describe('PEFT prompt tuning', () => {
  it('keeps the encoder half of a seq2seq prompt with num_transformer_submodules 2', () => {
    const dir = peftFolder('peft2', { peft_type: 'PROMPT_TUNING', task_type: 'SEQ_2_SEQ_LM', num_virtual_tokens: 2, token_dim: 3, num_transformer_submodules: 2, prompt_tuning_init: 'RANDOM' }, {
      prompt_embeddings: { data: seq(12), shape: [4, 3] },
    });
    const { format, bank, notes } = importBank(dir);
    expect(format).toBe('peft');
    expect(bank.prompt_embeddings.shape).toEqual([2, 3]);
    expect(list(bank.prompt_embeddings)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(notes).toContain('num_transformer_submodules 2: kept the encoder prompt (rows 0..1); the decoder prompt (rows 2..3) was dropped, as DePT prompts the encoder only');
  });

  it('refuses a prompt whose rows disagree with the config, and adapters that are not prompt tuning', () => {
    const dir = peftFolder('peft-bad', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 3, token_dim: 3, num_transformer_submodules: 2 }, { prompt_embeddings: { data: seq(12), shape: [4, 3] } });
    expect(() => importBank(dir)).toThrow('prompt_embeddings has 4 rows, expected num_virtual_tokens × 2 = 6');
    const lora = peftFolder('peft-lora', { peft_type: 'LORA' }, { prompt_embeddings: { data: seq(3), shape: [1, 3] } });
    expect(() => importBank(lora)).toThrow('peft_type "LORA" is not a prompt-tuning adapter');
    const nan = peftFolder('peft-nan', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 1, token_dim: 3 }, { prompt_embeddings: { data: new Float32Array([1, Number.NaN, 3]), shape: [1, 3] } });
    expect(() => importBank(nan)).toThrow('tensor "prompt_embeddings" holds a non-finite value (NaN at flat index 1)');
    const wide = peftFolder('peft-wide', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 1, token_dim: 4 }, { prompt_embeddings: { data: seq(3), shape: [1, 3] } });
    expect(() => importBank(wide)).toThrow('prompt_embeddings has width 3 but');
  });

  it('exports an r = 0 bank as plain PEFT (sorted config, prompt only) that imports back identically', () => {
    const bank: Bank = {
      config: makeBankConfig({ num_virtual_tokens: 2, token_dim: 3, max_length: 8, r: 0, prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'hi', tokenizer_name_or_path: 't5-small' }),
      prompt_embeddings: { data: seq(6, -2), shape: [2, 3] },
      lora_embedding_A: null,
      lora_embedding_B: null,
    };
    const dir = join(tmp, 'peft-out');
    expect(exportPeft(bank, dir).notes).toEqual([]);
    const text = readFileSync(join(dir, 'adapter_config.json'), 'utf8');
    const cfg = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(cfg)).toEqual([...Object.keys(cfg)].sort());
    expect(cfg).toMatchObject({ peft_type: 'PROMPT_TUNING', task_type: 'SEQ_2_SEQ_LM', num_virtual_tokens: 2, token_dim: 3, num_transformer_submodules: 1, prompt_tuning_init: 'TEXT', tokenizer_name_or_path: 't5-small' });
    const st = readSafetensors(join(dir, 'adapter_model.safetensors'));
    expect([...st.tensors.keys()]).toEqual(['prompt_embeddings']);
    expect(st.metadata).toEqual({ format: 'pt' });
    const back = importBank(dir);
    expect(back.format).toBe('peft');
    expect(back.bank.prompt_embeddings).toEqual(bank.prompt_embeddings);
  });

  it('refuses to export a bank with r > 0 as plain PEFT', () => {
    const bank: Bank = {
      config: makeBankConfig({ num_virtual_tokens: 1, token_dim: 2, max_length: 2, r: 1 }),
      prompt_embeddings: { data: seq(2), shape: [1, 2] },
      lora_embedding_A: { data: seq(2), shape: [2, 1] },
      lora_embedding_B: { data: seq(2), shape: [1, 2] },
    };
    expect(() => exportPeft(bank, join(tmp, 'no'))).toThrow(
      'cannot export a bank with r = 1 as plain PEFT prompt tuning: its offset scaling·(A @ B) is added to the input embeddings by position and cannot be folded into the prompt',
    );
  });
});

describe('PEFT multitask prompt tuning', () => {
  // P = [[1, 2], [3, 4]]; cols[0] = [[1], [2]], cols[1] = [[3], [4]]; rows[0] = [[1, 10]], rows[1] = [[2, 20]]
  const dir = peftFolder('mpt', { peft_type: 'MULTITASK_PROMPT_TUNING', num_virtual_tokens: 2, token_dim: 2, num_tasks: 2, num_ranks: 1, num_transformer_submodules: 1 }, {
    prompt_embeddings: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] },
    prefix_task_cols: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2, 1] },
    prefix_task_rows: { data: new Float32Array([1, 10, 2, 20]), shape: [2, 1, 2] },
  });

  it('takes one task: P ⊙ (cols[t] @ rows[t])', () => {
    // task 0: cols@rows = [[1, 10], [2, 20]] → [[1, 20], [6, 80]]; task 1: [[6, 60], [8, 80]] → [[6, 120], [24, 320]]
    const t0 = importBank(dir, { mptTask: 0 });
    expect(t0.format).toBe('peft-mpt');
    expect(list(t0.bank.prompt_embeddings)).toEqual([1, 20, 6, 80]);
    expect(list(importBank(dir, { mptTask: 1 }).bank.prompt_embeddings)).toEqual([6, 120, 24, 320]);
    expect(() => importBank(dir, { mptTask: 2 })).toThrow('task index 2 is out of range (the file holds 2 tasks: 0..1)');
  });

  it('averages the task factors, or takes the shared prompt', () => {
    // mean cols = [[2], [3]], mean rows = [[1.5, 15]] → [[3, 30], [4.5, 45]] → P ⊙ = [[3, 60], [13.5, 180]]
    const avg = importBank(dir);
    expect(list(avg.bank.prompt_embeddings)).toEqual([3, 60, 13.5, 180]);
    expect(avg.notes[0]).toBe('multitask prompt: averaged the task factors over 2 tasks, P ⊙ (mean cols @ mean rows) (AVERAGE_SOURCE_TASKS)');
    expect(list(importBank(dir, { mptTask: 'shared' }).bank.prompt_embeddings)).toEqual([1, 2, 3, 4]);
    const info = inspectBank(dir);
    expect(Object.keys(info.tensors)).toEqual(['prefix_task_cols', 'prefix_task_rows', 'prompt_embeddings']);
    expect(info.tensors.prefix_task_rows).toMatchObject({ shape: [2, 1, 2], sum: 33, l2: Math.sqrt(1 + 100 + 4 + 400) });
  });
});

describe('DePT banks saved as torch.save(module.state_dict())', () => {
  it('import (the pickle sets the OrderedDict _metadata with BUILD); values as torch.load gives them', () => {
    const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'torch');
    const want = (JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as { files: Record<string, Record<string, { shape: number[]; values: number[] }>> })
      .files['dept-module/adapter_model.bin'] as Record<string, { shape: number[]; values: number[] }>;
    const { format, bank, notes } = importBank(join(fixtures, 'dept-module'));
    expect(format).toBe('dept');
    expect(notes).toEqual([]);
    expect(bank.prompt_embeddings.shape).toEqual(want.prompt_embeddings?.shape);
    expect(list(bank.prompt_embeddings)).toEqual(want.prompt_embeddings?.values);
    expect(list(bank.lora_embedding_A)).toEqual(want['prompt_encoder.lora_embedding_A']?.values);
    expect(list(bank.lora_embedding_B)).toEqual(want['prompt_encoder.lora_embedding_B']?.values);
  });
});

describe('only the bank tensors of a torch file are read', () => {
  it('a large tensor beside them is checked and named, never inflated (it alone would pass the file budget)', () => {
    const dir = join(tmp, 'dept-extra');
    mkdirSync(dir);
    const n = 9 * 2 ** 20; // 36 MiB of zeros, deflated to about 36 kB: inflated and converted, past the 64 MiB budget
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    p.unicode('prompt_embeddings').tensor('FloatStorage', '0', 4, 0, [2, 2], [2, 1]);
    p.unicode('optimizer.exp_avg').tensor('FloatStorage', '1', n, 0, [n], [1]);
    writeFileSync(join(dir, 'adapter_model.bin'), makeZip([
      { name: 'adapter_model/data.pkl', data: p.raw(0x75).stop() },
      { name: 'adapter_model/data/0', data: f32Bytes([1, 2, 3, 4]) },
      { name: 'adapter_model/data/1', data: new Uint8Array(4 * n), method: 8 },
    ]));
    const { bank, notes } = importBank(dir, { seed: 1 });
    expect(list(bank.prompt_embeddings)).toEqual([1, 2, 3, 4]);
    expect(notes[0]).toBe(`ignored tensor "optimizer.exp_avg" [${n}] (not part of a prompt bank)`);
  });
});

describe('older DePT checkpoints holding only a prompt', () => {
  it('get a fresh A and B = 0, with a note', () => {
    const dir = join(tmp, 'dept-old');
    mkdirSync(dir);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'PROMPT_TUNING_LORA', task_type: 'SEQ_2_SEQ_LM', num_virtual_tokens: 2, token_dim: 2, max_length: 5, r: 3, lora_alpha: 8 }));
    const pkl = new PickleWriter().proto(2).raw(0x7d).put(0).mark().unicode('prompt_embeddings').tensor('FloatStorage', '0', 4, 0, [2, 2], [2, 1]).raw(0x75).stop();
    writeFileSync(join(dir, 'adapter_model.bin'), torchZip(pkl, { '0': f32Bytes([1, 2, 3, 4]) }, 'adapter_model'));
    const { format, bank, notes } = importBank(dir, { seed: 9 });
    expect(format).toBe('dept');
    expect(list(bank.prompt_embeddings)).toEqual([1, 2, 3, 4]);
    expect(bank.lora_embedding_A?.shape).toEqual([5, 3]);
    for (const v of list(bank.lora_embedding_A)) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(3));
    expect(list(bank.lora_embedding_B)).toEqual(new Array(6).fill(0));
    expect(notes).toEqual(['the source has a prompt only: added a fresh A [5, 3] (kaiming-uniform ±0.5774) and B = 0 [3, 2], so A·B starts at 0']);
  });
});

describe('dept bank (command line)', () => {
  const cli = join(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });

  it('refuses a malicious pickle with exit status 2 and the message on one line', () => {
    const dir = join(tmp, 'evil');
    mkdirSync(dir);
    const marker = join(tmp, 'pwned');
    const pkl = new PickleWriter().proto(2).global('os', 'system').unicode(`touch ${marker}`).raw(0x85, 0x52).stop();
    writeFileSync(join(dir, 'adapter_model.bin'), torchZip(pkl, {}, 'adapter_model'));
    const r = run('bank', 'inspect', join(dir, 'adapter_model.bin'), '--json');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`dept: error: ${join(dir, 'adapter_model.bin')}: refused pickle global "os system" (only torch tensor rebuild functions are allowed)\n`);
  });

  it('converts a bank to our format and refuses an unknown --to', () => {
    const src = peftFolder('cli-src', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 2, token_dim: 3, num_transformer_submodules: 2 }, { prompt_embeddings: { data: seq(12), shape: [4, 3] } });
    const out = join(tmp, 'cli-out');
    const r = run('bank', 'convert', src, '--to', 'dept', '--out', out, '--r', '2', '--max-length', '4', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as { format: string; notes: string[] };
    expect(res.format).toBe('peft');
    const bank = readBank(out);
    expect(list(bank.prompt_embeddings)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bank.lora_embedding_A?.shape).toEqual([4, 2]);
    const bad = run('bank', 'convert', src, '--to', 'onnx', '--out', join(tmp, 'x'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--to is "onnx", expected dept or peft');
  });
});

describeShared('dept bank inspect on a real bank (command line)', () => {
  it('prints JSON with the README statistics', () => {
    const cli = join(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');
    const r = spawnSync(process.execPath, [cli, 'bank', 'inspect', sharedPath('banks', 'dept-sst2'), '--json'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout) as { format: string; tensors: Record<string, { shape: number[]; sum: number; l2: number; first: number[] }> };
    expect(info.format).toBe('dept');
    expect(info.tensors['prompt_encoder.lora_embedding_A']?.shape).toEqual([256, 30]);
    rel(info.tensors.prompt_embeddings?.sum as number, 3532.1543227814);
    rel(info.tensors['prompt_encoder.lora_embedding_B']?.l2 as number, 13.236554885);
    expect(info.tensors.prompt_embeddings?.first.map((v) => Number(v.toPrecision(8)))).toEqual([1.5252949, -20.557514, -26.551119, -18.385263]);
  });
});
