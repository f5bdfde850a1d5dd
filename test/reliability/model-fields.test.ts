/**
 * Model folders whose config.json or tokenizer.json index or size something wrongly, files that are not regular
 * files, training sizes past the model, and data rows labelled -1, through the command line (issue 15). Each bad
 * field is refused in one line before any work: no run folder is made.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { makeBankConfig, writeBank } from '@dept/prompt';
import { REPO_ROOT } from '../helpers/shared.ts';
import { HostileCounter, expectRefusal, put, remove, runDept, spawnDeptSync, tempDir } from './helpers.ts';

const hostile = new HostileCounter('model fields');
let dir: string;
let model: string;
const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');

/** A copy of the tiny model with config fields overridden and/or tokenizer.json edited. */
function variant(name: string, edit: { config?: Record<string, unknown>; tokenizer?: (json: Record<string, unknown>) => void }): string {
  const out = join(dir, 'models', name);
  const config = { ...JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')), ...(edit.config ?? {}) };
  const tokenizer = JSON.parse(readFileSync(join(model, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  edit.tokenizer?.(tokenizer);
  put(join(out, 'config.json'), hostile.add(JSON.stringify(config)));
  put(join(out, 'tokenizer.json'), JSON.stringify(tokenizer));
  cpSync(join(model, 'model.safetensors'), join(out, 'model.safetensors'));
  return out;
}

/** `dept train` on the CB sample, tiny sizes; returns the run and the --out folder. */
async function train(modelDir: string, extra: string[] = [], dataDir = SAMPLE): Promise<{ r: Awaited<ReturnType<typeof runDept>>; out: string }> {
  const out = join(dir, 'runs', `r${Math.random().toString(36).slice(2)}`);
  const r = await runDept(['train', '--task', 'superglue-cb', '--data-dir', dataDir, '--model', modelDir, '--m', '2', '--r', '1', '--max-length', '16',
    '--max-steps', '1', '--predict', 'score', '--out', out, ...extra]);
  return { r, out };
}

beforeAll(() => {
  dir = tempDir('fields');
  model = join(dir, 'model');
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync(join(SAMPLE, 'CB', 'train.jsonl'), 'utf8')] });
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

describe('config.json and tokenizer.json fields that index or size something (dept train)', () => {
  const addedToken = (id: number) => (t: Record<string, unknown>) => {
    (t.added_tokens as unknown[]).push({ id, content: '<zz>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  };
  const cases: [string, Parameters<typeof variant>[1], string[]][] = [
    ['decoder_start_token_id past the vocabulary (was GatherV2, exit 1)', { config: { decoder_start_token_id: 500 } }, ['config.json: field "decoder_start_token_id" is 500, expected a token id in [0, 128)']],
    ['pad_token_id negative', { config: { pad_token_id: -1 } }, ['field "pad_token_id" is -1, expected a token id in [0, 128)']],
    ['eos_token_id past the vocabulary', { config: { eos_token_id: 128 } }, ['field "eos_token_id" is 128']],
    ['a million layers (was 72 s and 3 GB)', { config: { num_layers: 1e6 } }, ['field "num_layers" is 1000000, expected at most 1024 layers']],
    ['a negative layer_norm_epsilon', { config: { layer_norm_epsilon: -1e-6 } }, ['field "layer_norm_epsilon" is -0.000001, expected a number > 0']],
    ['relative attention with no exact bucket', { config: { relative_attention_num_buckets: 2 } }, ['field "relative_attention_num_buckets" is 2, expected at least 4']],
    ['an added token id past the vocabulary (was GatherV2, exit 1)', { tokenizer: addedToken(9999) }, ['tokenizer.json: produces token ids up to 9999, but', 'config.json has vocab_size 128']],
    ['an unknown tokenizer model.type (was an error at evaluation, after training)', { tokenizer: (t) => { (t.model as Record<string, unknown>).type = 'WordLevel'; } }, ['tokenizer.json: field "model.type" is "WordLevel", expected one of Unigram, BPE']],
    ['a tokenizer without </s>', { tokenizer: (t) => {
      t.added_tokens = (t.added_tokens as { content: string }[]).filter((a) => a.content !== '</s>');
      const m = t.model as { vocab: [string, number][] };
      m.vocab = m.vocab.map(([p, s]) => [p === '</s>' ? '</z>' : p, s]);
    } }, ['tokenizer.json: has no token "</s>"']],
  ];
  for (const [name, edit, expected] of cases) {
    it(name, async () => {
      const m = variant(name.replace(/\W+/g, '-').slice(0, 40), edit);
      const { r, out } = await train(m);
      expectRefusal(r, m, ...expected);
      expect(existsSync(out), 'no run folder is made: the model is refused before any work').toBe(false);
    });
  }
  it('dept score refuses a negative layer_norm_epsilon (it used to exit 0 with loss NaN)', async () => {
    const m = variant('eps-score', { config: { layer_norm_epsilon: -1 } });
    const batch = put(join(dir, 'batch.json'), JSON.stringify({ input_ids: [[5, 6, 1, 0]], attention_mask: [[1, 1, 1, 0]], labels: [[8, 1]] }));
    const bank = join(dir, 'bank');
    const values = (n: number) => ({ data: new Float32Array(n).fill(0.01), shape: [] as number[] });
    writeBank(bank, {
      config: makeBankConfig({ num_virtual_tokens: 2, token_dim: 32, max_length: 4, r: 1 }),
      prompt_embeddings: { ...values(64), shape: [2, 32] }, lora_embedding_A: { ...values(4), shape: [4, 1] }, lora_embedding_B: { ...values(32), shape: [1, 32] },
    });
    const r = await runDept(['score', '--model', m, '--bank', bank, '--batch', batch, '--out', join(dir, 'score.json')]);
    expectRefusal(r, join(m, 'config.json'), 'field "layer_norm_epsilon" is -1, expected a number > 0');
    expect(existsSync(join(dir, 'score.json'))).toBe(false);
  });
  it('max_target_length 3e6 is refused against the model before the data is read', async () => {
    const { r, out } = await train(model, ['--set', hostile.add('train.max_target_length=3000000')]);
    expectRefusal(r, 'train.max_target_length is 3000000, over this model\'s limit of 4096 decoder positions');
    expect(existsSync(out)).toBe(false);
  });
});

describe('dept model init checks the config before writing', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['d_model 1e9', { d_model: 1e9 }, '= 1 × [32128, 1000000000]'],
    ['vocab_size 1e9', { vocab_size: 1e9 }, '= 1 × [1000000000, 512]'],
    ['decoder_start_token_id past the vocabulary', { vocab_size: 64, decoder_start_token_id: 64 }, 'field "decoder_start_token_id" is 64'],
  ];
  for (const [name, config, expected] of cases) {
    it(name, async () => {
      const cfg = put(join(dir, 'init', `${name.replace(/\W+/g, '-')}.json`), hostile.add(JSON.stringify({ model_type: 't5', ...config })));
      const out = join(dir, 'init', `out-${name.replace(/\W+/g, '-')}`);
      expectRefusal(await runDept(['model', 'init', '--config', cfg, '--out', out]), cfg, expected);
      expect(existsSync(out)).toBe(false);
    });
  }
  it('a model too large to write here is refused before the folder is made', async () => {
    // 6.1e10 parameters pass the parameter limit (1e11), but one [3e7, 512] tensor is 61 GB as float32
    const cfg = put(join(dir, 'init', 'wide.json'), hostile.add(JSON.stringify({ model_type: 't5', d_model: 512, d_ff: 30_000_000, num_layers: 1 })));
    const out = join(dir, 'init', 'out-wide');
    expectRefusal(await runDept(['model', 'init', '--config', cfg, '--out', out]), out, 'one tensor of this model holds 15360000000 values', 'more than the 4294967296 bytes one file can be written in');
    expect(existsSync(out)).toBe(false);
  });
});

describe('a FIFO where a file belongs is refused, never opened the blocking way (child processes, 60 s limit)', () => {
  const fifo = (path: string) => {
    execFileSync('mkfifo', [hostile.add(path)]);
    return path;
  };
  it('model.safetensors', () => {
    const m = join(dir, 'models', 'fifo-weights');
    for (const f of ['config.json', 'tokenizer.json']) cpSync(join(model, f), join(m, f));
    const weights = fifo(join(m, 'model.safetensors'));
    const r = spawnDeptSync(['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', m, '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '1', '--out', join(dir, 'runs', 'fifo-w')], { timeoutMs: 60_000 });
    expectRefusal({ ...r, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('dept: backend')).join('\n') }, `${weights}: is a FIFO (named pipe), expected a .safetensors file`);
  });
  it('config.json and tokenizer.json', () => {
    const m = join(dir, 'models', 'fifo-config');
    cpSync(join(model, 'model.safetensors'), join(m, 'model.safetensors'));
    cpSync(join(model, 'tokenizer.json'), join(m, 'tokenizer.json'));
    const config = fifo(join(m, 'config.json'));
    expectRefusal(spawnDeptSync(['model', 'init', '--config', config, '--out', join(dir, 'init', 'x')], { timeoutMs: 60_000 }), `${config}: is a FIFO (named pipe), expected a JSON file`);
    const m2 = join(dir, 'models', 'fifo-tokenizer');
    for (const f of ['config.json', 'model.safetensors']) cpSync(join(model, f), join(m2, f));
    const tok = fifo(join(m2, 'tokenizer.json'));
    const r = spawnDeptSync(['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', m2, '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '1', '--out', join(dir, 'runs', 'fifo-t')], { timeoutMs: 60_000 });
    expectRefusal({ ...r, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('dept: backend')).join('\n') }, `${tok}: is a FIFO (named pipe), expected a JSON file`);
  });
  it('a data file (named by the reader, not passed over by the layout search)', () => {
    const data = join(dir, 'fifo-data');
    cpSync(join(SAMPLE, 'CB'), join(data, 'CB'), { recursive: true });
    execFileSync('rm', [join(data, 'CB', 'train.jsonl')]);
    const file = fifo(join(data, 'CB', 'train.jsonl'));
    expectRefusal(spawnDeptSync(['data', 'split', '--task', 'superglue-cb', '--data-dir', data], { timeoutMs: 60_000 }), `${file}: is a FIFO (named pipe), expected a data file`);
  });
});

describe('rows labelled -1 (dept train)', () => {
  it('are left out of train, dev and test with a note naming the file and the count; dev and test count only labelled rows', async () => {
    const data = join(dir, 'unlabelled');
    cpSync(join(SAMPLE, 'CB'), join(data, 'CB'), { recursive: true });
    const relabel = (file: string, rows: number[]) => {
      const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
      for (const i of rows) lines[i] = JSON.stringify({ ...JSON.parse(lines[i] as string), label: -1 });
      writeFileSync(file, hostile.add(`${lines.join('\n')}\n`));
    };
    relabel(join(data, 'CB', 'train.jsonl'), [3, 5]);
    relabel(join(data, 'CB', 'val.jsonl'), Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 === 0));
    // the k-shot sampler used to refuse: "deptKshot: train row 3 has label '-1'" without a file
    const { r, out } = await train(model, ['--k', '38', '--sampler', 'balanced'], data);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: ${join(data, 'CB', 'train.jsonl')}: 2 of the 40 rows of the train part are labelled -1 (unlabelled); they are left out, not trained on`);
    const devNote = /note: .*val\.jsonl: (\d+) of the 15 rows of the dev part (?:is|are) labelled -1 \(unlabelled\); (?:it is|they are) left out, not scored/.exec(r.stderr);
    const testNote = /note: .*val\.jsonl: (\d+) of the 15 rows of the test part (?:is|are) labelled -1 \(unlabelled\); (?:it is|they are) left out, not scored/.exec(r.stderr);
    const devDropped = Number(devNote?.[1] ?? 0);
    const testDropped = Number(testNote?.[1] ?? 0);
    expect(devDropped + testDropped).toBe(10);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.train_examples).toBe(38);
    expect(results.dev_examples).toBe(15 - devDropped);
    expect(results.test_examples).toBe(15 - testDropped);
  });
});
