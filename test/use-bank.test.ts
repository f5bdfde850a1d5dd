/**
 * `dept eval` and `dept predict`: a finished run's selected bank evaluated again gives exactly the run's
 * results.json metrics and predictions.jsonl (a `dept train` run with label scoring, and a `dept fewshot` cell with
 * generation, the official flavour and the task prefix), progress on stderr, `--out` files and what they refuse to
 * overwrite, refusals of banks that do not fit the model, `dept predict` from files and stdin agreeing with `dept
 * eval`, and DePT's released SST-2 bank on a random model of its width. Tiny random models: RANDOM WEIGHTS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTaskData, splitTaskData } from '@dept/tasks';
import { DEPT_BIN, expectRefusal, runDept, tempDir, type DeptRun } from './reliability/helpers.ts';
import { REPO_ROOT, describeShared, sharedPath } from './helpers/shared.ts';

const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');
let tmp: string;
let model: string;
let runA: string; // dept train, superglue-cb, predict score, eval_batch_size 4
let runB: string; // dept fewshot cell, rte, predict generate, flavour official, add_prefix

interface Results {
  dev: Record<string, number>;
  test: Record<string, number>;
}
interface Prediction {
  index: number;
  source: string;
  target: string;
  prediction: string;
}
interface EvalJson {
  kind: string;
  examples: number;
  flavour: string;
  predict: string;
  metrics: Record<'dept' | 'official', Record<string, number>>;
  settings: Record<string, unknown>;
  run: { dir: string; results?: { same: boolean } } | null;
  random_weights: boolean;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const readLines = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

function ok(r: DeptRun): DeptRun {
  if (r.status !== 0) throw new Error(`dept exited with ${r.status}:\n${r.stderr.slice(-3000)}`);
  return r;
}

/** `dept` as a child process with `input` on stdin. */
function deptWithStdin(args: string[], input: string): DeptRun {
  const res = spawnSync(process.execPath, [DEPT_BIN, ...args], { cwd: REPO_ROOT, input, encoding: 'utf8', env: { ...process.env, CI: '1', DEPT_DATA: '' }, timeout: 120_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const TRAIN = ['--m', '4', '--r', '2', '--max-length', '32', '--max-steps', '4', '--eval-steps', '2', '--warmup-steps', '1', '--batch-size', '4', '--lr', '3', '--lora-lr', '1'];

beforeAll(async () => {
  process.env.CI = '1'; // plain progress lines, no bar
  tmp = tempDir('use');
  model = join(tmp, 'model');
  ok(await runDept(['model', 'init', '--config', 'tiny-relu', '--out', model, '--seed', '3'])); // a seed whose run predicts more than one label
  runA = join(tmp, 'run-a');
  ok(await runDept(['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--k', '8', '--seed', '13', ...TRAIN,
    '--predict', 'score', '--set', 'train.eval_batch_size=4', '--out', runA]));
  const recipe = join(tmp, 'grid.yaml');
  writeFileSync(recipe, [
    `model: {path: ${JSON.stringify(model)}}`,
    `data: {dir: ${JSON.stringify(SAMPLE)}, add_prefix: true, flavour: official}`,
    'tasks: [rte]', 'k: [8]', 'seeds: [21]',
    'train: {num_virtual_tokens: 4, r: 2, max_length: 32, max_steps: 2, eval_steps: 2, warmup_steps: 1, batch_size: 4, lr: 3, lora_lr: 1, predict: generate, max_new_tokens: 3, eval_batch_size: 8}',
    `out: ${JSON.stringify(join(tmp, 'grid'))}`, '',
  ].join('\n'));
  ok(await runDept(['fewshot', recipe]));
  runB = join(tmp, 'grid', 'rte', 'k8', 'seed21');
}, 300_000);

afterAll(() => {
  delete process.env.CI;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('dept eval of a finished run', () => {
  it("gives exactly the run's test metrics and predictions (dept train, label scoring, the run's eval_batch_size)", async () => {
    const results = readJson<Results>(join(runA, 'results.json'));
    const runPredictions = readLines<Prediction>(join(runA, 'predictions.jsonl'));
    // The check means something only when the bank's predictions differ between examples.
    expect(new Set(runPredictions.map((p) => p.prediction)).size).toBeGreaterThan(1);
    const out = join(tmp, 'eval-a');
    const r = ok(await runDept(['eval', '--bank', runA, '--out', out, '--json']));
    const record = JSON.parse(r.stdout) as EvalJson;
    expect(record.metrics.dept).toEqual(results.test);
    expect(record.flavour).toBe('dept');
    expect(record.predict).toBe('score');
    expect(record.settings.eval_batch_size).toBe(4);
    expect(record.run?.results?.same).toBe(true);
    expect(readLines<Prediction>(join(out, 'predictions.jsonl'))).toEqual(runPredictions);
    expect(readJson<EvalJson>(join(out, 'eval.json'))).toEqual(record);
    expect(r.stderr).toContain(`the same as ${join(runA, 'results.json')} (test, dept)`);
    expect(r.stderr).toContain('RANDOM WEIGHTS — not a result');
    expect(record.random_weights).toBe(true);
  });

  it("gives the run's dev metrics with --split dev, and its bank/ folder works as well as the run folder", async () => {
    const results = readJson<Results>(join(runA, 'results.json'));
    const r = ok(await runDept(['eval', '--bank', join(runA, 'bank'), '--split', 'dev', '--json']));
    const record = JSON.parse(r.stdout) as EvalJson;
    expect(record.metrics.dept).toEqual(results.dev);
    expect(record.run?.results?.same).toBe(true);
  });

  it('a dept fewshot cell: generation, the official flavour and the task prefix come from the run', async () => {
    const results = readJson<Results>(join(runB, 'results.json'));
    const runPredictions = readLines<Prediction>(join(runB, 'predictions.jsonl'));
    expect(runPredictions[0]?.source.startsWith('rte sentence1: ')).toBe(true);
    const out = join(tmp, 'eval-b');
    const r = ok(await runDept(['eval', '--bank', runB, '--out', out, '--json']));
    const record = JSON.parse(r.stdout) as EvalJson;
    expect(record.flavour).toBe('official');
    expect(record.predict).toBe('generate');
    expect(record.metrics.official).toEqual(results.test);
    expect(Object.keys(record.metrics.dept).length).toBeGreaterThan(0);
    expect(readLines<Prediction>(join(out, 'predictions.jsonl'))).toEqual(runPredictions);
  });

  it("flags override the run's settings, and the rest stay the run's", async () => {
    const r = ok(await runDept(['eval', '--bank', runB, '--predict', 'score', '--max-length', '16', '--batch-size', '3', '--flavour', 'dept', '--json']));
    const record = JSON.parse(r.stdout) as EvalJson;
    expect(record.predict).toBe('score');
    expect(record.flavour).toBe('dept');
    expect(record.settings).toMatchObject({ max_length: 16, eval_batch_size: 3, add_prefix: true, max_new_tokens: 3, data_dir: SAMPLE });
  });

  it('shows progress with done/total and an ETA on stderr, and --max-eval-examples takes the first n', async () => {
    const r = ok(await runDept(['eval', '--bank', runA, '--max-eval-examples', '6', '--batch-size', '2', '--json']));
    const record = JSON.parse(r.stdout) as EvalJson;
    expect(record.examples).toBe(6);
    expect(record.settings.max_eval_examples).toBe(6);
    expect(record.run?.results).toBeUndefined(); // a part of the split is not compared with the run
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('eval superglue-cb test: '));
    expect(lines[0]).toBe('eval superglue-cb test: 0/6 examples');
    expect(lines.some((l) => /^eval superglue-cb test: [24]\/6 examples \(ETA \d+s\)$/.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^eval superglue-cb test: 6\/6 examples \(done in \d+s\)$/);
  });
});

describe('dept eval refuses', () => {
  it('an --out holding an earlier evaluation unless --overwrite, and a run folder always; nothing is changed', async () => {
    const out = join(tmp, 'eval-a');
    const before = readFileSync(join(out, 'eval.json'), 'utf8');
    expectRefusal(await runDept(['eval', '--bank', runA, '--out', out]), `${out}: already holds an evaluation`, '--overwrite');
    expect(readFileSync(join(out, 'eval.json'), 'utf8')).toBe(before);
    ok(await runDept(['eval', '--bank', runA, '--out', out, '--overwrite']));

    const runPredictions = readFileSync(join(runA, 'predictions.jsonl'), 'utf8');
    expectRefusal(await runDept(['eval', '--bank', runA, '--out', runA, '--overwrite']), `${runA}: holds predictions.jsonl that dept eval did not write`);
    expect(readFileSync(join(runA, 'predictions.jsonl'), 'utf8')).toBe(runPredictions);
    expect(existsSync(join(runA, 'eval.json'))).toBe(false);
  });

  it('inputs longer than the rows of A, bad flags, and a bank without a task or model to go with it', async () => {
    expectRefusal(await runDept(['eval', '--bank', runA, '--max-length', '64']), '--max-length 64 is more than the bank\'s max_length 32', 'A [32, 2]', 'use --max-length 32 or less');
    expectRefusal(await runDept(['eval', '--bank', runA, '--split', 'train']), '--split is "train", expected dev or test');
    expectRefusal(await runDept(['eval', '--bank', runA, '--predict', 'beam']), '--predict is "beam", expected generate or score');
    expectRefusal(await runDept(['eval', '--bank', join(runA, 'bank', 'adapter_model.safetensors'), '--model', model]), '--task is required');
    expectRefusal(await runDept(['eval', '--bank', join(runA, 'checkpoint'), '--task', 'rte']), '--model is required');
    expectRefusal(await runDept(['eval', '--bank', runA, '--model', 'org/never-fetched']), '--model org/never-fetched: no such folder, and no model org/never-fetched fetched into the hub cache', 'dept model fetch org/never-fetched');
  });
});

describe('dept predict', () => {
  it('labels the rows of a file as dept eval predicts them, with label names and scores whose best is the prediction', async () => {
    const evalPredictions = readLines<Prediction>(join(tmp, 'eval-a', 'predictions.jsonl'));
    const r = ok(await runDept(['predict', '--bank', runA, '--input', join(SAMPLE, 'CB', 'val.jsonl'), '--json']));
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { prediction: string; label_name: string; scores: Record<string, number>; random_weights?: boolean });
    expect(lines).toHaveLength(30); // every row of val.jsonl, in file order
    const names = ['entailment', 'contradiction', 'neutral']; // super_glue/cb's ClassLabel names
    for (const p of lines) {
      expect(Object.keys(p.scores).sort()).toEqual(['0', '1', '2']);
      const best = Object.entries(p.scores).reduce((a, b) => (b[1] > a[1] ? b : a));
      expect(p.prediction).toBe(best[0]);
      expect(p.label_name).toBe(names[Number(p.prediction)]);
      expect(p.random_weights).toBe(true);
    }
    // The test split is rows of val.jsonl (DePT's split): the same predictions as the evaluation.
    const plan = splitTaskData(await loadTaskData('superglue-cb', { dataDir: SAMPLE }));
    expect(plan.test.source).toBe('validation');
    expect(plan.test.indices.map((row) => lines[row]?.prediction)).toEqual(evalPredictions.map((p) => p.prediction));
  });

  it('reads JSON lines and plain text on stdin, and refuses plain text for a task with two fields', () => {
    const cb = deptWithStdin(['predict', '--bank', runA, '--predict', 'generate', '--max-new-tokens', '2', '--json'], '{"premise": "It rained all day.", "hypothesis": "The ground is wet."}\n\n{"premise": "A cat sat.", "hypothesis": "A dog sat.", "label": "neutral"}\n');
    expect(cb.status, cb.stderr).toBe(0);
    const out = cb.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(2);
    for (const p of out) {
      expect(typeof p.prediction).toBe('string');
      expect(p).not.toHaveProperty('scores');
    }
    const sst2 = deptWithStdin(['predict', '--bank', runA, '--task', 'sst2', '--predict', 'score', '--json'], 'a gorgeous, witty film\nthe worst movie of the year\n');
    expect(sst2.status, sst2.stderr).toBe(0);
    const labels = sst2.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { label_name: string }).label_name);
    expect(labels).toHaveLength(2);
    for (const l of labels) expect(['negative', 'positive']).toContain(l);

    expectRefusal(deptWithStdin(['predict', '--bank', runA, '--task', 'superglue-cb'], 'just a sentence\n'),
      'stdin:1: a plain text line, but superglue-cb takes premise, hypothesis', '{"premise": …, "hypothesis": …}');
    expectRefusal(deptWithStdin(['predict', '--bank', runA], '{"premise": "only this"}\n'), 'stdin:1: missing column "hypothesis"');
  });
});

describeShared("DePT's released SST-2 bank (t5-base width) on a random model of that width", () => {
  let wide: string;
  beforeAll(async () => {
    // t5-base's d_model and heads, one layer, a tiny vocabulary: ~30 MB of RANDOM WEIGHTS.
    const config = join(tmp, 'wide-config.json');
    writeFileSync(config, JSON.stringify({ model_type: 't5', vocab_size: 128, d_model: 768, d_kv: 64, d_ff: 64, num_layers: 1, num_heads: 12, feed_forward_proj: 'relu', tie_word_embeddings: true }));
    wide = join(tmp, 'wide');
    ok(await runDept(['model', 'init', '--config', config, '--out', wide, '--seed', '1']));
  }, 120_000);

  it('refuses it for a model of another width, naming both and what would fit', async () => {
    expectRefusal(await runDept(['eval', '--model', model, '--bank', sharedPath('banks', 'dept-sst2'), '--task', 'sst2']),
      "dept-sst2: the bank's prompt is 768 wide (token_dim; made for t5-base)", `${model} has d_model 32`, 'use a model with d_model 768 (t5-base, t5-v1_1-base, flan-t5-base)');
  });

  it('evaluates it as released and converted to our folder alike, and predicts with it', async () => {
    const data = sharedPath('data', 'glue-pretrain');
    const converted = join(tmp, 'sst2-bank');
    ok(await runDept(['bank', 'convert', sharedPath('banks', 'dept-sst2'), '--to', 'dept', '--out', converted]));
    const args = ['--model', wide, '--task', 'sst2', '--data-dir', data, '--predict', 'score', '--max-eval-examples', '4', '--json'];
    const direct = ok(await runDept(['eval', '--bank', sharedPath('banks', 'dept-sst2'), ...args, '--out', join(tmp, 'eval-sst2')]));
    const viaFolder = ok(await runDept(['eval', '--bank', converted, ...args]));
    const a = JSON.parse(direct.stdout) as EvalJson & { bank_format: string };
    const b = JSON.parse(viaFolder.stdout) as EvalJson & { bank_format: string };
    expect(a.bank_format).toBe('dept');
    expect(b.bank_format).toBe('ours');
    expect(a.examples).toBe(4);
    expect(a.settings.max_length).toBe(256);
    expect(a.random_weights).toBe(true);
    expect(direct.stderr).toContain('RANDOM WEIGHTS — not a result');
    expect(b.metrics).toEqual(a.metrics);
    expect(readLines<Prediction>(join(tmp, 'eval-sst2', 'predictions.jsonl')).every((p) => p.source.startsWith('sentence: '))).toBe(true);

    const p = deptWithStdin(['predict', '--model', wide, '--bank', converted, '--task', 'sst2', '--predict', 'score', '--json'], 'a gorgeous, witty film\n');
    expect(p.status, p.stderr).toBe(0);
    const line = JSON.parse(p.stdout) as { label_name: string; random_weights: boolean };
    expect(['negative', 'positive']).toContain(line.label_name);
    expect(line.random_weights).toBe(true);
  });
});
