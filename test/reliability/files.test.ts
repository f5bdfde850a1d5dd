/**
 * Hostile model and bank files fed to `dept bank inspect`, `dept bank convert`, `dept score` and `dept train
 * --bank`, in-process through `main(argv)`: each must give exit status 2 and one line naming the file, the tensor
 * or field, and what was expected (issue 8, items 1 and 6).
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { encodeSafetensors, type HostTensor } from '@dept/tensor';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { makeBankConfig, writeBank, type Bank } from '@dept/prompt';
import { HostileCounter, expectRefusal, put, rawSafetensors, remove, runDept, tempDir } from './helpers.ts';

const hostile = new HostileCounter('model and bank files');
let dir: string;
let model: string;
let bank: string;
let batch: string;
const M = 4;
const D = 32;
const S = 8;
const R = 2;

function randomTensor(rng: Rng, shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-0.5, 0.5);
  return { data, shape };
}

function goodBank(over: Partial<Bank> = {}): Bank {
  const rng = new Rng(3);
  return {
    config: makeBankConfig({ num_virtual_tokens: M, token_dim: D, max_length: S, r: R }),
    prompt_embeddings: randomTensor(rng, [M, D]),
    lora_embedding_A: randomTensor(rng, [S, R]),
    lora_embedding_B: randomTensor(rng, [R, D]),
    ...over,
  };
}

/** A copy of the good bank folder with one file replaced. */
function bankWith(name: string, files: { config?: string | Record<string, unknown>; weights?: Uint8Array }): string {
  const out = join(dir, 'banks', name);
  put(join(out, 'adapter_config.json'), readFileSync(join(bank, 'adapter_config.json')));
  put(join(out, 'adapter_model.safetensors'), readFileSync(join(bank, 'adapter_model.safetensors')));
  if (files.config !== undefined) {
    const text = typeof files.config === 'string' ? files.config : JSON.stringify({ ...JSON.parse(readFileSync(join(bank, 'adapter_config.json'), 'utf8')), ...files.config });
    writeFileSync(join(out, 'adapter_config.json'), text);
  }
  if (files.weights) writeFileSync(join(out, 'adapter_model.safetensors'), files.weights);
  return out;
}

/** A copy of the model folder with its weights or config replaced. */
function modelWith(name: string, files: { config?: Record<string, unknown>; weights?: Uint8Array }): string {
  const out = join(dir, 'models', name);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) put(join(out, f), readFileSync(join(model, f)));
  if (files.config) writeFileSync(join(out, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')), ...files.config }));
  if (files.weights) writeFileSync(join(out, 'model.safetensors'), files.weights);
  return out;
}

const f32 = (n: number) => new Uint8Array(n * 4);
const P_ENTRY = (a: number, b: number, dtype = 'F32', shape = [M, D]) => ({ dtype, shape, data_offsets: [a, b] });

beforeAll(() => {
  dir = tempDir('files');
  model = join(dir, 'model');
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: ['the cat sat on the mat', 'yes no maybe'] });
  bank = join(dir, 'bank');
  writeBank(bank, goodBank());
  batch = put(join(dir, 'batch.json'), JSON.stringify({
    input_ids: [[5, 6, 7, 1, 0, 0, 0, 0]], attention_mask: [[1, 1, 1, 1, 0, 0, 0, 0]], labels: [[8, 1]],
  }));
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

describe('the good files work (so the refusals below are about the damage)', () => {
  it('bank inspect and score accept the untouched bank and model', async () => {
    const inspect = await runDept(['bank', 'inspect', bank, '--json']);
    expect(inspect.status).toBe(0);
    expect(JSON.parse(inspect.stdout).format).toBe('ours');
    const score = await runDept(['score', '--model', model, '--bank', bank, '--batch', batch, '--out', join(dir, 'score.json')]);
    expect(score.status, score.stderr).toBe(0);
    expect(Number.isFinite(JSON.parse(readFileSync(join(dir, 'score.json'), 'utf8')).loss)).toBe(true);
  });
});

describe('damaged safetensors bank files (dept bank inspect)', () => {
  const good = () => readFileSync(join(bank, 'adapter_model.safetensors'));
  const cases: [string, () => Uint8Array, (string | RegExp)[]][] = [
    ['an empty file', () => new Uint8Array(0), ['is 0 bytes, too short for the 8-byte header length']],
    ['a 5-byte file', () => new Uint8Array(5), ['too short for the 8-byte header length']],
    ['a file truncated inside its data', () => good().subarray(0, good().length - 10), ['run past the end of the data']],
    ['a file truncated inside its header', () => good().subarray(0, 40), [/header length \d+ runs past the end of the file \(40 bytes\)/]],
    ['a header length larger than the file', () => rawSafetensors({}, new Uint8Array(0), { lengthOverride: 4096n }), ['header length 4096 runs past the end of the file']],
    ['a header length over 100 MB', () => rawSafetensors({}, new Uint8Array(0), { lengthOverride: 100_000_001n }), ['header length 100000001 exceeds the limit of 100000000 bytes']],
    ['a header length of 2^64 - 1', () => rawSafetensors({}, new Uint8Array(0), { lengthOverride: 2n ** 64n - 1n }), ['exceeds the limit of 100000000 bytes']],
    ['a header that is not JSON', () => rawSafetensors('{"prompt_embeddings": {"dtype": F32}}'), ['header is not valid JSON', 'line 1 column']],
    ['a header that does not start with {', () => rawSafetensors(' [1, 2, 3]'), ['header does not start with "{"']],
    ['a header of invalid UTF-8', () => { const b = rawSafetensors('{"a":1}'); b[10] = 0xff; return b; }, ['header is not valid UTF-8']],
    ['overlapping offsets', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512), 'prompt_encoder.lora_embedding_A': { dtype: 'F32', shape: [S, R], data_offsets: [448, 512] } }, f32(128)),
      ['"prompt_embeddings" [0, 512] and "prompt_encoder.lora_embedding_A" [448, 512] overlap']],
    ['a hole between tensors', () => rawSafetensors({ prompt_embeddings: P_ENTRY(8, 520) }, f32(130)), ['data bytes [0, 8) belong to no tensor']],
    ['a hole at the end', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512) }, f32(129)), ['data bytes [512, 516) belong to no tensor']],
    ['offsets past the end', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512) }, f32(100)), ['tensor "prompt_embeddings"', 'data_offsets [0, 512] run past the end of the data (400 bytes)']],
    ['offsets that end before they begin', () => rawSafetensors({ prompt_embeddings: P_ENTRY(512, 0) }, f32(128)), ['end before they begin']],
    ['a dtype whose byte size does not match', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512, 'F16') }, f32(128)), ['tensor "prompt_embeddings"', 'hold 512 bytes, expected 256 for F16 [4, 32]']],
    ['a shape whose byte size does not match', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512, 'F32', [5, 32]) }, f32(128)), ['hold 512 bytes, expected 640 for F32 [5, 32]']],
    ['an unknown dtype', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512, 'F33') }, f32(128)), ['tensor "prompt_embeddings"', 'unknown dtype "F33"']],
    ['a dtype that cannot be read as float', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512, 'I64', [4, 16]) }, f32(128)), ['tensor "prompt_embeddings" has dtype I64; only F32, F16, BF16 and F64 can be read']],
    ['a negative shape', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512, 'F32', [-4, -32]) }, f32(128)), ['shape must be a list of non-negative integers']],
    ['a shape written as floats ([4.0, 32.0], which JSON.parse makes integers)', () => rawSafetensors('{"prompt_embeddings":{"dtype":"F32","shape":[4.0,32.0],"data_offsets":[0,512]}}', f32(128)),
      ['tensor "prompt_embeddings": shape must hold non-negative integers, got 4.0 (written with a fraction, an exponent or a sign)']],
    ['data_offsets written with an exponent', () => rawSafetensors('{"prompt_embeddings":{"dtype":"F32","shape":[4,32],"data_offsets":[0,5.12e2]}}', f32(128)),
      ['tensor "prompt_embeddings": data_offsets must hold non-negative integers, got 5.12e2']],
    ['a shape of 2^60 elements', () => rawSafetensors({ prompt_embeddings: P_ENTRY(0, 512, 'F32', [2 ** 30, 2 ** 30]) }, f32(128)), ['tensor "prompt_embeddings": shape [1073741824, 1073741824] is too large']],
    ['duplicate names', () => rawSafetensors(`{"prompt_embeddings":${JSON.stringify(P_ENTRY(0, 512))},"prompt_embeddings":${JSON.stringify(P_ENTRY(512, 1024))}}`, f32(256)), ['header names "prompt_embeddings" twice']],
    ['metadata that is not strings', () => rawSafetensors({ __metadata__: { format: 1 }, prompt_embeddings: P_ENTRY(0, 512) }, f32(128)), ['__metadata__ "format" must be a string']],
    ['an entry that is not an object', () => rawSafetensors({ prompt_embeddings: [0, 512] }, f32(128)), ['tensor "prompt_embeddings": entry must be an object']],
  ];
  for (const [name, bytes, expected] of cases) {
    it(name, async () => {
      const b = bankWith(name.replace(/\W+/g, '-'), { weights: hostile.add(bytes()) });
      const r = await runDept(['bank', 'inspect', b]);
      expectRefusal(r, join(b, 'adapter_model.safetensors'), ...expected);
    });
  }
});

describe('banks that do not fit their config, the model or the run (dept score, dept bank convert)', () => {
  const score = (b: string, model_ = model, batch_ = batch) => runDept(['score', '--model', model_, '--bank', b, '--batch', batch_, '--out', join(dir, 'out.json')]);
  const weights = (over: Partial<Bank>, tensors?: Record<string, HostTensor>) => {
    const b = goodBank(over);
    return encodeSafetensors(tensors ?? {
      prompt_embeddings: b.prompt_embeddings,
      'prompt_encoder.lora_embedding_A': b.lora_embedding_A as HostTensor,
      'prompt_encoder.lora_embedding_B': b.lora_embedding_B as HostTensor,
    });
  };
  const withNaN = (value: number) => {
    const b = goodBank();
    b.prompt_embeddings.data[37] = value;
    return weights(b);
  };

  it('a prompt holding NaN is refused at load, naming the tensor and the index', async () => {
    const b = bankWith('nan', { weights: hostile.add(withNaN(Number.NaN)) });
    expectRefusal(await score(b), join(b, 'adapter_model.safetensors'), 'tensor "prompt_embeddings" holds a non-finite value (NaN at flat index 37)');
  });
  it('a prompt holding +Infinity is refused by convert too, and nothing is written', async () => {
    const b = bankWith('inf', { weights: hostile.add(withNaN(Number.POSITIVE_INFINITY)) });
    const out = join(dir, 'converted-inf');
    expectRefusal(await runDept(['bank', 'convert', b, '--to', 'dept', '--out', out]), 'tensor "prompt_embeddings" holds a non-finite value (Infinity at flat index 37)');
    expect(existsSync(out)).toBe(false);
  });
  it('bank inspect shows a NaN bank, says it will be refused, and exits 2 as loading it would', async () => {
    const b = bankWith('nan-inspect', { weights: hostile.add(withNaN(Number.NaN)) });
    const r = await runDept(['bank', 'inspect', b]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^dept: error: .*holds a non-finite value \(NaN at flat index 37\)/);
    expect(r.stderr).toMatch(/note: tensor "prompt_embeddings" holds 1 non-finite value \(NaN or ±Infinity\): loading this bank for training, scoring or conversion is refused/);
  });
  it('a token_dim that differs from the model d_model', async () => {
    const rng = new Rng(1);
    const wide = join(dir, 'banks', 'wide');
    writeBank(wide, { config: makeBankConfig({ num_virtual_tokens: M, token_dim: 48, max_length: S, r: R }), prompt_embeddings: randomTensor(rng, [M, 48]), lora_embedding_A: randomTensor(rng, [S, R]), lora_embedding_B: randomTensor(rng, [R, 48]) });
    hostile.add(wide);
    expectRefusal(await score(wide), join(wide, 'adapter_config.json'), 'token_dim 48 does not match the model\'s d_model 32');
  });
  it('dept train --bank with a token_dim that differs from the model d_model', async () => {
    const rng = new Rng(2);
    const wide = join(dir, 'banks', 'wide-train');
    writeBank(wide, { config: makeBankConfig({ num_virtual_tokens: M, token_dim: 48, max_length: S, r: R }), prompt_embeddings: randomTensor(rng, [M, 48]), lora_embedding_A: randomTensor(rng, [S, R]), lora_embedding_B: randomTensor(rng, [R, 48]) });
    hostile.add(wide);
    const r = await runDept(['train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--bank', wide, '--k', '4', '--m', '4', '--r', '2', '--max-length', '8', '--max-steps', '1', '--out', join(dir, 'train-wide')]);
    expectRefusal(r, join(wide, 'adapter_model.safetensors'), 'token_dim 48 does not match the model\'s d_model 32');
  });
  it('dept train --bank with another max_length adapts A with a note (documented), it does not fail', async () => {
    const r = await runDept(['train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--bank', bank, '--k', '4', '--m', '4', '--r', '2', '--max-length', '12',
      '--max-steps', '1', '--predict', 'score', '--out', join(dir, 'train-s12')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('A: added fresh rows 8..11 (max_length 8 → 12');
  });
  it('a max_length that differs from the run (the batch is padded to 10, the bank says 8)', async () => {
    const b10 = put(join(dir, 'batch10.json'), hostile.add(JSON.stringify({ input_ids: [[5, 6, 7, 1, 0, 0, 0, 0, 0, 0]], attention_mask: [[1, 1, 1, 1, 0, 0, 0, 0, 0, 0]], labels: [[8, 1]] })));
    expectRefusal(await score(bank, model, b10), b10, 'inputs have 10 positions, but the bank\'s max_length is 8');
  });
  it('a prompt whose shape differs from its config', async () => {
    const b = bankWith('shape', { config: hostile.add({ num_virtual_tokens: 5 }) });
    expectRefusal(await score(b), join(b, 'adapter_model.safetensors'), 'tensor "prompt_embeddings" has shape [4, 32], expected [5, 32] = [num_virtual_tokens, token_dim]');
  });
  it('A missing although r > 0', async () => {
    const g = goodBank();
    const b = bankWith('no-A', { weights: hostile.add(weights({}, { prompt_embeddings: g.prompt_embeddings, 'prompt_encoder.lora_embedding_B': g.lora_embedding_B as HostTensor })) });
    expectRefusal(await score(b), 'tensor "prompt_encoder.lora_embedding_A" is missing (expected [8, 2] = [max_length, r])');
  });
  it('an extra tensor', async () => {
    const g = goodBank();
    const b = bankWith('extra', { weights: hostile.add(weights({}, { prompt_embeddings: g.prompt_embeddings, 'prompt_encoder.lora_embedding_A': g.lora_embedding_A as HostTensor, 'prompt_encoder.lora_embedding_B': g.lora_embedding_B as HostTensor, 'evil': { data: new Float32Array(1), shape: [1] } })) });
    expectRefusal(await score(b), 'unexpected tensor "evil"');
  });
  const configCases: [string, string | Record<string, unknown>, string[]][] = [
    ['a config that is not JSON', '{"r": 2,', ['adapter_config.json: not valid JSON (line 1 column']],
    ['a config that is a list', '[1, 2]', ['adapter_config.json: must be a JSON object']],
    ['a config without r', JSON.stringify({ peft_type: 'PROMPT_TUNING_LORA', num_virtual_tokens: M, token_dim: D, max_length: S }), ['adapter_config.json: missing field "r"']],
    ['r given as a string', { r: '2' }, ['field "r" must be a non-negative integer, got "2"']],
    ['a negative r', { r: -2 }, ['field "r" must be a non-negative integer, got -2']],
    ['a fractional max_length', { max_length: 8.5 }, ['field "max_length" must be an integer ≥ 1, got 8.5']],
    ['another peft_type', { peft_type: 'LORA' }, ['field "peft_type" is "LORA", expected "PROMPT_TUNING_LORA"']],
    ['lora_alpha NaN (as a string)', { lora_alpha: 'NaN' }, ['field "lora_alpha" must be a finite number']],
  ];
  for (const [name, config, expected] of configCases) {
    it(name, async () => {
      const b = bankWith(name.replace(/\W+/g, '-'), { config: hostile.add(config) });
      expectRefusal(await score(b), join(b, 'adapter_config.json'), ...expected);
    });
  }
  it('a bank folder that does not exist, and a file where a folder belongs', async () => {
    expectRefusal(await score(hostile.add(join(dir, 'nope'))), join(dir, 'nope'), 'bank folder not found');
    expectRefusal(await score(hostile.add(batch)), batch, 'is a file; a bank is a folder');
  });
});

describe('T5 checkpoints that do not match their config.json (dept score --model)', () => {
  const score = (m: string) => runDept(['score', '--model', m, '--bank', bank, '--batch', batch, '--out', join(dir, 'out.json')]);
  const tensorsOf = () => {
    const bytes = readFileSync(join(model, 'model.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>, data: bytes.subarray(8 + n) };
  };
  it('a tensor missing from the checkpoint', async () => {
    const { header, data } = tensorsOf();
    const name = 'encoder.block.1.layer.1.DenseReluDense.wo.weight';
    const [a, b] = header[name]!.data_offsets;
    delete header[name];
    // shift the later tensors down so the file is valid safetensors, only incomplete for T5
    const kept = Buffer.concat([data.subarray(0, a), data.subarray(b)]);
    for (const e of Object.values(header)) if (e.data_offsets && e.data_offsets[0] >= b) e.data_offsets = [e.data_offsets[0] - (b - a), e.data_offsets[1] - (b - a)];
    const m = modelWith('missing', { weights: hostile.add(rawSafetensors(header, kept)) });
    expectRefusal(await score(m), join(m, 'model.safetensors'), `tensor "${name}" is missing (config.json implies shape [32, 64])`);
  });
  it('a config.json whose d_ff disagrees with the tensors', async () => {
    const m = modelWith('dff', { config: hostile.add({ d_ff: 96 }) });
    expectRefusal(await score(m), join(m, 'model.safetensors'), 'has shape [64, 32], expected [96, 32] from config.json');
  });
  it('a config.json whose vocab_size is smaller than the embedding', async () => {
    const m = modelWith('vocab', { config: hostile.add({ vocab_size: 100 }) });
    expectRefusal(await score(m), 'tensor "shared.weight" has shape [128, 32], expected [100, 32] from config.json');
  });
  it('a config.json that is not a T5 config', async () => {
    const m = modelWith('bert', { config: hostile.add({ model_type: 'bert' }) });
    expectRefusal(await score(m), join(m, 'config.json'), 'field "model_type" is "bert", expected "t5"');
  });
  it('a config.json with d_model as a string', async () => {
    const m = modelWith('dmodel', { config: hostile.add({ d_model: '32' }) });
    expectRefusal(await score(m), join(m, 'config.json'), 'field "d_model" is "32", expected an integer');
  });
  it('a weight holding NaN (a corrupt download) is refused at load, not trained into a NaN loss', async () => {
    const { header, data } = tensorsOf();
    const name = 'decoder.final_layer_norm.weight';
    const copy = Buffer.from(data);
    copy.writeFloatLE(Number.NaN, header[name]!.data_offsets[0] + 4 * 5);
    const m = modelWith('nan-weight', { weights: hostile.add(rawSafetensors(header, copy)) });
    expectRefusal(await score(m), join(m, 'model.safetensors'), `tensor "${name}" holds a non-finite value (NaN at flat index 5)`);
  });
  it('a model.safetensors cut short', async () => {
    const bytes = readFileSync(join(model, 'model.safetensors'));
    const m = modelWith('cut', { weights: hostile.add(bytes.subarray(0, bytes.length - 1000)) });
    expectRefusal(await score(m), join(m, 'model.safetensors'), 'run past the end of the data');
  });
  it('a shard index that points outside the folder', async () => {
    const m = join(dir, 'models', 'escape');
    for (const f of ['config.json', 'tokenizer.json']) put(join(m, f), readFileSync(join(model, f)));
    put(join(m, 'model.safetensors.index.json'), hostile.add(JSON.stringify({ metadata: {}, weight_map: { 'shared.weight': '../model/model.safetensors' } })));
    expectRefusal(await score(m), 'model.safetensors.index.json: weight_map "shared.weight" must name a shard file in the same folder, got "../model/model.safetensors"');
  });
  it('a model folder without weights', async () => {
    const m = join(dir, 'models', 'empty');
    put(join(m, 'config.json'), hostile.add(readFileSync(join(model, 'config.json'))));
    expectRefusal(await score(m), `${m}: holds neither model.safetensors nor model.safetensors.index.json`);
  });
  it('a model folder that is not there', async () => {
    expectRefusal(await score(hostile.add(join(dir, 'models', 'nowhere'))), 'no config.json (expected a Hugging Face T5 model folder)');
  });
});

describe('the pre-tokenized batch of dept score', () => {
  const cases: [string, string, string[]][] = [
    ['not JSON', '{"input_ids": [[1, 2]', ['not valid JSON (line 1 column']],
    ['ragged rows', JSON.stringify({ input_ids: [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2]], attention_mask: [[1]], labels: [[1]] }), ['field "input_ids" row 1 has 2 values, expected 8']],
    ['ids that are not integers', JSON.stringify({ input_ids: [[1.5, 2, 3, 4, 5, 6, 7, 8]], attention_mask: [[1, 1, 1, 1, 1, 1, 1, 1]], labels: [[1]] }), ['field "input_ids" must be a non-empty list of lists of integers']],
    ['an id outside the vocabulary', JSON.stringify({ input_ids: [[1, 2, 3, 4, 5, 6, 7, 999]], attention_mask: [[1, 1, 1, 1, 1, 1, 1, 1]], labels: [[1]] }), ['input id 999 is outside the vocabulary [0, 128)']],
    ['a negative id', JSON.stringify({ input_ids: [[1, 2, 3, 4, 5, 6, 7, -1]], attention_mask: [[1, 1, 1, 1, 1, 1, 1, 1]], labels: [[1]] }), ['input id -1 is outside the vocabulary']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, async () => {
      const b = put(join(dir, 'batches', `${name.replace(/\W+/g, '-')}.json`), hostile.add(text));
      expectRefusal(await runDept(['score', '--model', model, '--bank', bank, '--batch', b, '--out', join(dir, 'out.json')]), b, ...expected);
    });
  }
});

describe('writing never clobbers what is there', () => {
  it('bank convert refuses an --out folder holding other files, and leaves them alone', async () => {
    const out = join(dir, 'precious');
    put(join(out, 'thesis.tex'), 'years of work');
    hostile.add(out);
    expectRefusal(await runDept(['bank', 'convert', bank, '--to', 'dept', '--out', out]), 'exists and holds files other than a bank (thesis.tex)');
    expect(readFileSync(join(out, 'thesis.tex'), 'utf8')).toBe('years of work');
  });
  it('model init refuses a folder that already holds a model', async () => {
    hostile.add(model);
    const before = readFileSync(join(model, 'model.safetensors'));
    expectRefusal(await runDept(['model', 'init', '--config', 'tiny-relu', '--out', model]), 'already holds a model (config.json)');
    expect(readFileSync(join(model, 'model.safetensors')).equals(before)).toBe(true);
  });
  it('model init with a config.json that is not valid', async () => {
    const cfg = put(join(dir, 'bad-config.json'), hostile.add('{"d_model": 32, "num_layers": -1, "model_type": "t5"}'));
    const r = await runDept(['model', 'init', '--config', cfg, '--out', join(dir, 'm2')]);
    expectRefusal(r, cfg, 'field');
  });
  it('a bank written by convert round-trips byte for byte', async () => {
    const out = join(dir, 'roundtrip');
    const r = await runDept(['bank', 'convert', bank, '--to', 'dept', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(readFileSync(join(bank, 'adapter_model.safetensors')))).toBe(true);
    copyFileSync(join(out, 'adapter_config.json'), join(dir, 'cfg-copy.json'));
  });
});
