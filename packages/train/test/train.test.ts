import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { DEFAULT_WASM_HEAP_HEADROOM_BYTES, guardWasmHeap, initBackend, WASM_HEAP_LIMIT_BYTES } from '@dept/tensor';
import { loadPretrainedT5, type PretrainedT5 } from '@dept/t5';
import { readBank } from '@dept/prompt';
import { adamwUpdate, clipGradNorm, HF_ADAMW_DEFAULTS, linearWarmupDecay, trainPrompt, type TrainConfig, type TrainEvent } from '@dept/train';
import { accuracyMetrics, sentimentExamples, writeTinyModel } from './synthetic.ts';

let pretrained: PretrainedT5;
let work: string;
const data = { train: sentimentExamples(24, 1), dev: sentimentExamples(12, 2), test: sentimentExamples(12, 3) };
const evaluation = { metrics: accuracyMetrics, selectionMetric: 'accuracy', labels: ['0', '1'] };
const base: Partial<TrainConfig> = {
  num_virtual_tokens: 4, r: 2, max_length: 12, lr: 0.3, lora_lr: 0.01, warmup_steps: 0, max_steps: 12,
  batch_size: 8, eval_batch_size: 16, eval_steps: 6, save_steps: 4, log_steps: 2, seed: 7, prompt_init: 'TEXT', predict: 'generate', max_new_tokens: 3,
};

beforeAll(async () => {
  await initBackend({ backend: 'wasm', announce: false });
  pretrained = loadPretrainedT5(writeTinyModel(0));
  work = mkdtempSync(join(tmpdir(), 'dept-train-'));
});
afterAll(() => {
  pretrained.model.dispose();
  rmSync(work, { recursive: true, force: true });
});

const run = (name: string, config: Partial<TrainConfig>, extra: Record<string, unknown> = {}) => trainPrompt({
  model: pretrained.model, tokenizer: pretrained.tokenizer!, data, evaluation, config: { ...base, ...config }, outDir: join(work, name), randomWeights: true, ...extra,
});

describe('optimiser pieces against hand computation', () => {
  it('the schedule warms up linearly then decays to 0', () => {
    // warm-up 4, 10 steps: 0, 1/4, 2/4, 3/4, 1, then (10 - t) / 6.
    const got = Array.from({ length: 11 }, (_, t) => linearWarmupDecay(t, 4, 10));
    const want = [0, 0.25, 0.5, 0.75, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 12));
  });

  it('one AdamW update equals the HF formula worked by hand', () => {
    // p = 1, g = 0.5, t = 1, lr = 0.1: m = 0.05, v = 0.00025, step = 0.1·√(1 − 0.999)/(1 − 0.9) = 0.1·0.0316228/0.1,
    // p' = 1 − 0.0316228·0.05 / (√0.00025 + 1e-6) = 1 − 0.0316228·0.05/0.0158124 = 0.900006...
    const p = new Float32Array([1]);
    const slot = { m: new Float32Array(1), v: new Float32Array(1) };
    adamwUpdate(p, new Float32Array([0.5]), slot, 1, 0.1, HF_ADAMW_DEFAULTS);
    expect(slot.m[0]).toBeCloseTo(0.05, 7);
    expect(slot.v[0]).toBeCloseTo(0.00025, 9);
    expect(p[0]).toBeCloseTo(1 - (Math.sqrt(0.001) * 0.05) / (Math.sqrt(0.00025) + 1e-6), 6);
    expect(p[0]).toBeCloseTo(0.900006, 5);
    // Decoupled weight decay 0.1 with lr 0.1 then shrinks p by lr·wd·p after the Adam step.
    const q = new Float32Array([1]);
    adamwUpdate(q, new Float32Array([0.5]), { m: new Float32Array(1), v: new Float32Array(1) }, 1, 0.1, { ...HF_ADAMW_DEFAULTS, weightDecay: 0.1 });
    expect(q[0]).toBeCloseTo(0.900006 * (1 - 0.01), 5);
  });

  it('clipping scales all gradients by max_norm / (norm + 1e-6) when the global norm is larger', () => {
    // ‖(3, 4, 12)‖ = 13.
    const a = new Float32Array([3, 4]);
    const b = new Float32Array([12]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(13, 6);
    expect(a[0]).toBeCloseTo(3 / (13 + 1e-6), 6);
    expect(b[0]).toBeCloseTo(12 / (13 + 1e-6), 6);
    const c = new Float32Array([0.3, 0.4]);
    clipGradNorm([c], 1); // norm 0.5 < 1: untouched
    expect(Array.from(c)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});

describe('trainPrompt', () => {
  it('lowers the training loss of a tiny model and writes the run folder', async () => {
    const results = await run('falls', { max_steps: 40, eval_steps: 20, save_steps: 20, log_steps: 5, dropout: false, predict: 'score' });
    const dir = join(work, 'falls');
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const losses = lines.filter((l) => 'loss' in l).map((l) => l.loss as number);
    expect(losses.length).toBe(8);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]! * 0.7);
    for (const l of lines.filter((x) => 'loss' in x)) expect(Object.keys(l).sort()).toEqual(['epoch', 'learning_rate', 'lora_learning_rate', 'loss', 'step']);
    expect(lines.some((l) => 'eval_accuracy' in l)).toBe(true);
    expect(lines.some((l) => 'test_accuracy' in l)).toBe(true);
    const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(saved).toEqual(results);
    expect(Object.keys(saved.dev)).toEqual(['accuracy']);
    expect([20, 40]).toContain(saved.selected_step);
    expect(saved.random_weights).toBe(true);
    expect(saved.backend).toBe('wasm');
    const config = JSON.parse(readFileSync(join(dir, 'config.resolved.json'), 'utf8'));
    expect(config.train.max_steps).toBe(40);
    const preds = readFileSync(join(dir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(preds.length).toBe(12);
    expect(preds.every((p) => p.prediction === '0' || p.prediction === '1')).toBe(true);
    const bank = readBank(join(dir, 'bank'));
    expect(bank.prompt_embeddings.shape).toEqual([4, 32]);
    expect(bank.lora_embedding_A!.shape).toEqual([12, 2]);
    expect(existsSync(join(dir, 'checkpoint', 'state.json'))).toBe(true);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('logs both learning rates step by step as the schedule gives them', async () => {
    await run('lrs', { max_steps: 6, warmup_steps: 2, log_steps: 1, eval_steps: 6, lr: 0.4, lora_lr: 0.002 });
    const lines = readFileSync(join(work, 'lrs', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => 'loss' in l);
    // After update t the scheduler is at t: warm-up 2 of 6 → 1/2, 1, 3/4, 1/2, 1/4, 0.
    const multipliers = [0.5, 1, 0.75, 0.5, 0.25, 0];
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    lines.forEach((l, i) => {
      expect(l.learning_rate).toBeCloseTo(0.4 * multipliers[i]!, 12);
      expect(l.lora_learning_rate).toBeCloseTo(0.002 * multipliers[i]!, 12);
    });
  });

  it('reports the progress of every evaluation (dev each eval_steps, the selected bank on dev, test) and the epoch metrics.jsonl records', async () => {
    const events: TrainEvent[] = [];
    // 24 training examples in batches of 8: 3 steps an epoch, so step 6 ends epoch 2 (HF: epoch = step / steps per epoch).
    await run('events', { max_steps: 6, eval_steps: 3, log_steps: 3, eval_batch_size: 5, predict: 'score' }, { onEvent: (e: TrainEvent) => events.push(e) });
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    const runs: string[] = [];
    for (const e of progress) if (e.progress.done === 0) runs.push(`${e.progress.phase}@${e.step}`);
    const results = JSON.parse(readFileSync(join(work, 'events', 'results.json'), 'utf8'));
    expect(runs).toEqual(['dev@3', 'dev@6', `selected dev@${results.selected_step}`, `test@${results.selected_step}`]);
    // Batches of 5 over 12 dev examples: 0, 5, 10, 12, each with the total and the unit.
    expect(progress.filter((e) => e.progress.phase === 'dev' && e.step === 3).map((e) => [e.progress.done, e.progress.total, e.progress.unit]))
      .toEqual([[0, 12, 'examples'], [5, 12, 'examples'], [10, 12, 'examples'], [12, 12, 'examples']]);
    // Each dev pass is reported before its result, and the bar's epoch is the one of metrics.jsonl.
    const firstEval = events.findIndex((e) => e.type === 'eval');
    expect(events.findIndex((e) => e.type === 'progress')).toBeLessThan(firstEval);
    const logged = readFileSync(join(work, 'events', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => 'loss' in l);
    expect(logged.map((l) => [l.step, l.epoch])).toEqual([[3, 1], [6, 2]]);
    const stepEpochs = events.flatMap((e) => (e.type === 'step' ? [[e.step, e.epoch]] : []));
    expect(stepEpochs).toEqual([[1, 1 / 3], [2, 2 / 3], [3, 1], [4, 4 / 3], [5, 5 / 3], [6, 2]].map(([s, ep]) => [s, Math.round(ep! * 1e4) / 1e4]));
  });

  it('resumes from a checkpoint to a bank byte-identical to an uninterrupted run', async () => {
    await run('straight', {});
    await expect(run('resumed', {}, { stopAfterSteps: 6 })).rejects.toThrow(/training stopped after step 6/);
    expect(JSON.parse(readFileSync(join(work, 'resumed', 'checkpoint', 'state.json'), 'utf8')).step).toBe(4);
    await expect(run('resumed', {})).rejects.toThrow(/holds an unfinished run \(checkpoint\); use --resume/);
    await run('resumed', {}, { resume: true });
    const a = readFileSync(join(work, 'straight', 'bank', 'adapter_model.safetensors'));
    const b = readFileSync(join(work, 'resumed', 'bank', 'adapter_model.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
    const ra = JSON.parse(readFileSync(join(work, 'straight', 'results.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(join(work, 'resumed', 'results.json'), 'utf8'));
    expect(rb.test).toEqual(ra.test);
    expect(rb.selected_step).toBe(ra.selected_step);
    const la = readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8');
    const lb = readFileSync(join(work, 'resumed', 'metrics.jsonl'), 'utf8');
    expect(lb).toBe(la);
  });

  it('gives the same training with micro-batches (gradient accumulation) as with whole batches', async () => {
    const cfg = { max_steps: 4, eval_steps: 4, save_steps: 4, dropout: false, predict: 'score' as const };
    await run('whole', cfg);
    await run('micro', { ...cfg, micro_batch_size: 3 });
    const a = readBank(join(work, 'whole', 'bank'));
    const b = readBank(join(work, 'micro', 'bank'));
    let maxDiff = 0;
    a.prompt_embeddings.data.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - b.prompt_embeddings.data[i]!)); });
    a.lora_embedding_B!.data.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - b.lora_embedding_B!.data[i]!)); });
    // Same data, same updates; only the order of float32 summation differs.
    expect(maxDiff).toBeLessThan(1e-4);
    const lossOf = (name: string) => JSON.parse(readFileSync(join(work, name, 'metrics.jsonl'), 'utf8').trim().split('\n')[0]!).loss as number;
    expect(Math.abs(lossOf('whole') - lossOf('micro'))).toBeLessThan(1e-4);
  });

  it('trains the same with each batch cut to its longest input as with every input padded to s', async () => {
    const cfg = { max_steps: 4, eval_steps: 4, save_steps: 4, dropout: false, predict: 'generate' as const, max_length: 16 };
    await run('padded', { ...cfg, pad_to_max_length: true });
    await run('cut', { ...cfg, pad_to_max_length: false });
    const a = readBank(join(work, 'padded', 'bank'));
    const b = readBank(join(work, 'cut', 'bank'));
    const longest = Math.max(...data.train.map((e) => pretrained.tokenizer!.encode(e.source).length));
    expect(longest).toBeLessThan(16); // so the cut runs really are shorter
    let maxDiff = 0;
    for (const key of ['prompt_embeddings', 'lora_embedding_A', 'lora_embedding_B'] as const) {
      a[key]!.data.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - b[key]!.data[i]!)); });
    }
    // The same numbers up to float32 summation order (T5 masks padding; DEPT.md §1.1).
    expect(maxDiff).toBeLessThan(1e-4);
    const results = (name: string) => JSON.parse(readFileSync(join(work, name, 'results.json'), 'utf8'));
    expect(results('cut').test).toEqual(results('padded').test);
    expect(readFileSync(join(work, 'cut', 'predictions.jsonl'), 'utf8')).toBe(readFileSync(join(work, 'padded', 'predictions.jsonl'), 'utf8'));
  });

  it('refuses to write into a finished run unless told to overwrite', async () => {
    await expect(run('straight', {})).rejects.toThrow(/already holds a finished run \(results\.json\); use --overwrite/);
    const again = await run('straight', { max_steps: 2, eval_steps: 2 }, { overwrite: true });
    expect(again.max_steps).toBe(2);
  });

  it('refuses a run folder locked by a live process, naming it, and takes over a dead one', async () => {
    const dir = join(work, 'locked');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: process.ppid, started: 'x' }));
    await expect(run('locked', {})).rejects.toThrow(new RegExp(`in use by process ${process.ppid}`));
    writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, started: 'x' }));
    const results = await run('locked', { max_steps: 2, eval_steps: 2 });
    expect(results.max_steps).toBe(2);
  });

  it('refuses decoder sizes past the model before the first step: a target longer than its positions, max_new_tokens 10^6 (issue 15)', async () => {
    // tiny-relu has 4 heads: 4096 decoder positions. 5000 words are 5000 tokens; the default max_target_length (0)
    // is the longest training target.
    const long = { train: [...data.train, { source: 'sentence: the movie was great', target: 'great '.repeat(5000) }], dev: data.dev, test: data.test };
    await expect(trainPrompt({ model: pretrained.model, tokenizer: pretrained.tokenizer!, data: long, evaluation, config: base, outDir: join(work, 'long-target') }))
      .rejects.toThrow('training example 24: its target has more than 4096 tokens, this model\'s limit of decoder positions; set train.max_target_length');
    expect(existsSync(join(work, 'long-target', 'metrics.jsonl'))).toBe(false);
    await expect(run('new-tokens', { max_new_tokens: 1e6 })).rejects.toThrow('train.max_new_tokens is 1000000, over this model\'s limit of 4096 decoder positions');
    expect(existsSync(join(work, 'new-tokens'))).toBe(false);
  });

  it('stops on a non-finite loss with a clear message and keeps the last good checkpoint', async () => {
    const error = await run('nan', { lr: 1e38, lora_lr: 1e38, max_steps: 30, save_steps: 1, eval_steps: 100 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/step \d+: the training loss is (NaN|Infinity|finite but a gradient is not); stopping; the last good checkpoint is kept in/);
    const state = JSON.parse(readFileSync(join(work, 'nan', 'checkpoint', 'state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(work, 'nan', 'results.json'))).toBe(false);
  });

  it('a micro-batch that does not fit in the wasm heap stops the run naming the step and a micro_batch_size that halves it; the run resumes with it', async () => {
    // From step 2 on, every tensor must end below the heap's first MiB (the module's own data lies there): nothing fits.
    const squeeze = (e: { type: string; step?: number }) => { if (e.type === 'step' && e.step === 1) guardWasmHeap({ headroom: WASM_HEAP_LIMIT_BYTES - 2 ** 20 }); };
    try {
      const whole = await run('heap-whole', { max_steps: 3, save_steps: 1, eval_steps: 100 }, { onEvent: squeeze }).catch((e: Error) => e);
      guardWasmHeap({ headroom: DEFAULT_WASM_HEAP_HEADROOM_BYTES });
      expect(isDeptError(whole)).toBe(true);
      expect((whole as Error).message).toMatch(/^step 2: a micro-batch of 8 rows × \d+ input tokens does not fit in the wasm heap; set micro_batch_size to 4 or less \(it is 0, the whole batch\) \(the wasm heap/);
      // What was written before stays: step 1's checkpoint.
      expect(JSON.parse(readFileSync(join(work, 'heap-whole', 'checkpoint', 'state.json'), 'utf8')).step).toBe(1);
      const micro = await run('heap-micro', { max_steps: 3, save_steps: 1, eval_steps: 100, micro_batch_size: 3 }, { onEvent: squeeze }).catch((e: Error) => e);
      expect((micro as Error).message).toMatch(/^step 2: a micro-batch of 3 rows × \d+ input tokens .*set micro_batch_size to 1 or less \(it is 3\)/);
      guardWasmHeap({ headroom: DEFAULT_WASM_HEAP_HEADROOM_BYTES });
      // The remedy the message names: resume with smaller micro-batches (a memory setting may change on resume) ...
      const resumed = await run('heap-whole', { max_steps: 3, save_steps: 1, eval_steps: 100, micro_batch_size: 4, eval_batch_size: 5 }, { resume: true });
      expect(resumed.max_steps).toBe(3);
      expect(JSON.parse(readFileSync(join(work, 'heap-whole', 'config.resolved.json'), 'utf8')).train.micro_batch_size).toBe(4);
      // Evaluation names eval_batch_size: squeezed after the last step, the dev evaluation (12 examples) cannot run.
      const squeezeLast = (e: { type: string; step?: number }) => { if (e.type === 'step' && e.step === 2) guardWasmHeap({ headroom: WASM_HEAP_LIMIT_BYTES - 2 ** 20 }); };
      const evaluation = await run('heap-eval', { max_steps: 2, save_steps: 1, eval_steps: 100, eval_batch_size: 16 }, { onEvent: squeezeLast }).catch((e: Error) => e);
      guardWasmHeap({ headroom: DEFAULT_WASM_HEAP_HEADROOM_BYTES });
      expect((evaluation as Error).message).toMatch(/^evaluation: a batch of 12 rows × \d+ input tokens does not fit in the wasm heap; set eval_batch_size to 6 or less \(it is 16\) \(the wasm heap/);
      // ... but a setting that changes the training may not.
      const changed = await run('heap-micro', { max_steps: 3, save_steps: 1, eval_steps: 100, micro_batch_size: 3, lora_lr: 0.02 }, { resume: true }).catch((e: Error) => e);
      expect((changed as Error).message).toMatch(/heap-micro: cannot resume: the setting "train\.lora_lr" differs from the checkpointed run/);
    } finally {
      guardWasmHeap({ headroom: DEFAULT_WASM_HEAP_HEADROOM_BYTES });
    }
  });
});
