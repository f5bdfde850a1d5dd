/**
 * The output convention of every `dept` command (README, "Using it"): stdout holds the command's result and nothing
 * else — for people without `--json` (a table, a summary, a path), one JSON document with `--json` (predict: one
 * JSON object a line) — and progress, notes, warnings and "wrote …" lines go to stderr. One row per command, each
 * run both ways, in this process on a tiny random model and a fake hub on 127.0.0.1 (RANDOM WEIGHTS — not a result).
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { initBackend } from '@dept/tensor';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { FakeHub, isolateFromRealHub, type FakeFile } from '../helpers/fakehub.ts';
import { REPO_ROOT } from '../helpers/shared.ts';
import { runDept, tempDir } from '../reliability/helpers.ts';

const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');
const dir = tempDir('output');
const model = join(dir, 'model');
const run = join(dir, 'run');
const grid = join(dir, 'grid');
const batch = join(dir, 'batch.json');
let hub: FakeHub;
let restoreEnv: () => void = () => undefined;

/** A tiny training (a few steps; numbers made with it are RANDOM WEIGHTS — not a result). */
const TINY = ['--m', '2', '--r', '1', '--max-length', '8', '--batch-size', '4', '--max-steps', '2', '--eval-steps', '2', '--predict', 'score'];

const files = (folder: string): FakeFile[] => readdirSync(folder).filter((n) => !n.startsWith('.')).sort().map((n) => ({ path: n, data: readFileSync(join(folder, n)) }));

function rteParquet(n: number): FakeFile['data'] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'sentence1', data: idx.map((i) => `A sentence ${i}.`), type: 'STRING' },
      { name: 'sentence2', data: idx.map((i) => `Another ${i}.`), type: 'STRING' },
      { name: 'label', data: idx.map((i) => BigInt(i % 2)), type: 'INT64' },
      { name: 'idx', data: idx, type: 'INT32' },
    ],
  } as Parameters<typeof parquetWriteBuffer>[0]));
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', announce: false });
  restoreEnv = isolateFromRealHub(join(dir, 'hf-home')); // only 127.0.0.1 may be contacted
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync(join(SAMPLE, 'CB', 'train.jsonl'), 'utf8')] });
  const trained = await runDept(['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--k', '4', '--seed', '13', ...TINY, '--out', run]);
  expect(trained.status, trained.stderr).toBe(0);
  const gridded = await runDept(['fewshot', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--k', '4', '--seeds', '13', ...TINY, '--out', grid]);
  expect(gridded.status, gridded.stderr).toBe(0);
  writeFileSync(batch, JSON.stringify({ input_ids: [[5, 6, 7, 1, 0, 0, 0, 0]], attention_mask: [[1, 1, 1, 1, 0, 0, 0, 0]], labels: [[8, 1]] }));
  hub = new FakeHub([
    { type: 'model', id: 'org/tiny-t5', refs: { main: files(model) } },
    { type: 'model', id: 'org/cb-prompt', refs: { main: files(join(run, 'bank')) } },
    {
      type: 'dataset',
      id: 'nyu-mll/glue',
      refs: {
        main: [
          { path: 'README.md', data: Buffer.from('---\nconfigs: []\n---\n') },
          { path: 'rte/train-00000-of-00001.parquet', data: rteParquet(6), lfs: true },
          { path: 'rte/validation-00000-of-00001.parquet', data: rteParquet(4), lfs: true },
        ],
      },
    },
  ]);
  await hub.start();
  process.env.HF_ENDPOINT = hub.url;
});

afterAll(async () => {
  restoreEnv();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A command, run as `args(tag)` and `args(tag) --json` (`tag` keeps the two runs' output folders apart). */
interface Row {
  command: string;
  args: (tag: string) => string[];
  /** What the result for people looks like (stdout without --json). */
  human: RegExp;
  /** A field the JSON result holds. */
  field: string;
  /** predict: one JSON object a line. */
  lines?: boolean;
}

const ROWS: Row[] = [
  { command: 'data list', args: () => ['data', 'list', '--data-dir', SAMPLE], human: /^data directory: .*\ntask\s+hf\s+folder/, field: 'tasks' },
  { command: 'data split', args: () => ['data', 'split', '--task', 'rte', '--data-dir', SAMPLE], human: /^rte \(glue\/rte\): RTE \[glue-tsv\]\nDePT split rule: /, field: 'train' },
  { command: 'data kshot', args: () => ['data', 'kshot', '--task', 'superglue-cb', '--k', '4', '--seed', '13', '--data-dir', SAMPLE], human: /^k-shot: k=4, seed=13/m, field: 'indices' },
  { command: 'data fetch', args: (t) => ['data', 'fetch', 'glue/rte', '--data-dir', join(dir, `data-${t}`)], human: /^\/.*\/glue\/rte\n$/, field: 'folder' },
  { command: 'model init', args: (t) => ['model', 'init', '--config', 'tiny-relu', '--out', join(dir, `init-${t}`)], human: /^made a random T5 \(d_model 32, 2 layers, vocab \d+\) in \//, field: 'random_weights' },
  { command: 'model fetch', args: () => ['model', 'fetch', 'org/tiny-t5'], human: /^\/.*models--org--tiny-t5\/snapshots\/[0-9a-f]+\n$/, field: 'dir' },
  { command: 'score', args: (t) => ['score', '--model', model, '--bank', join(run, 'bank'), '--batch', batch, '--out', join(dir, `score-${t}.json`)], human: /^loss [\d.]+ \[RANDOM WEIGHTS — not a result\]\n$/, field: 'loss' },
  {
    command: 'train',
    args: (t) => ['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--k', '4', '--seed', '13', ...TINY, '--out', join(dir, `train-${t}`)],
    human: /: superglue-cb k=4 seed=13, 4 training examples, 2 steps\nselected step 2 by dev f1_multiclass [\d.]+ \[RANDOM WEIGHTS — not a result\]\ntest \(15 examples\): .* \[RANDOM WEIGHTS — not a result\]\n$/,
    field: 'selected_step',
  },
  {
    command: 'fewshot',
    args: (t) => ['fewshot', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--k', '4', '--seeds', '13', ...TINY, '--out', join(dir, `fewshot-${t}`)],
    human: /RANDOM WEIGHTS — not a result[\s\S]*\| task \(metric\) \| k=4 \|/,
    field: 'summary',
  },
  { command: 'report', args: () => ['report', grid], human: /\| task \(metric\) \| k=4 \|/, field: 'summary' },
  {
    command: 'quickstart',
    args: (t) => ['quickstart', '--task', 'superglue-cb', '--model', model, '--k', '4', '--seeds', '13', ...TINY, '--out', join(dir, `quickstart-${t}`)],
    human: /quickstart — RANDOM WEIGHTS — not a result[\s\S]*\| task \(metric\) \| k=4 \|/,
    field: 'summary',
  },
  {
    command: 'pretrain',
    args: (t) => ['pretrain', '--sources', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--max-steps', '1', '--max-train-examples', '4', '--max-eval-examples', '4',
      '--set', 'train.num_virtual_tokens=2', '--set', 'train.r=1', '--set', 'train.max_length=8', '--out', join(dir, `pretrain-${t}`)],
    human: /^\/.*pretrain-human: banks \/.*#shared\n {2}superglue-cb: shared bank dev .* \[RANDOM WEIGHTS — not a result\]\n$/,
    field: 'banks',
  },
  { command: 'eval', args: () => ['eval', '--bank', run, '--split', 'dev'], human: /^superglue-cb dev \(15 examples, predict score\): .* \[dept\] \[RANDOM WEIGHTS — not a result\]\n {2}official flavour: /, field: 'metrics' },
  {
    command: 'predict',
    args: () => ['predict', '--bank', run, '--input', join(SAMPLE, 'CB', 'val.jsonl')],
    human: /^((entailment|contradiction|neutral) \([012]\)\tscores 0 -?[\d.]+, 1 -?[\d.]+, 2 -?[\d.]+\t\[RANDOM WEIGHTS — not a result\]\n){30}$/,
    field: 'prediction',
    lines: true,
  },
  { command: 'bank inspect', args: () => ['bank', 'inspect', join(run, 'bank')], human: /^format: ours {2}\(.*\)\nconfig: peft_type PROMPT_TUNING_LORA/, field: 'tensors' },
  { command: 'bank convert', args: (t) => ['bank', 'convert', join(run, 'bank'), '--out', join(dir, `convert-${t}`)], human: /^converted ours bank \(m 2, d 32, s 8, r 1\) to dept in /, field: 'format' },
  { command: 'bank fetch', args: () => ['bank', 'fetch', 'org/cb-prompt'], human: /^\/.*models--org--cb-prompt\/snapshots\/[0-9a-f]+\n$/, field: 'format' },
];

/** Lines that say how the work goes, which belong on stderr. */
const WORK = /^(dept: |note: |wrote |\[\d+\/\d+\] |grid: |pretrain: |evaluating |predicting |.*: (step \d+|training|done;) )/m;

describe('every command: the result on stdout, for people or as JSON, and the rest on stderr', () => {
  it('lists every command (control: a new command needs a row here)', async () => {
    const { buildProgram } = await import('../../packages/cli/src/main.ts');
    const leaves: string[] = [];
    const walk = (cmd: { name(): string; commands: readonly unknown[] }, prefix: string[]) => {
      for (const sub of cmd.commands as { name(): string; commands: readonly unknown[] }[]) {
        if (sub.commands.length > 0) walk(sub, [...prefix, sub.name()]);
        else leaves.push([...prefix, sub.name()].join(' '));
      }
    };
    walk(buildProgram(), []);
    expect(ROWS.map((r) => r.command).sort()).toEqual(leaves.sort());
  });

  for (const row of ROWS) {
    it(`${row.command}: people's result on stdout; with --json, JSON only`, async () => {
      const human = await runDept(row.args('human'));
      expect(human.status, human.stderr).toBe(0);
      expect(human.stdout).toMatch(row.human);
      expect(human.stdout, 'no progress, notes or "wrote" lines on stdout').not.toMatch(WORK);
      expect(() => JSON.parse(human.stdout), 'not JSON without --json').toThrow();

      const json = await runDept([...row.args('json'), '--json']);
      expect(json.status, json.stderr).toBe(0);
      const docs = row.lines ? json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [JSON.parse(json.stdout) as Record<string, unknown>];
      for (const doc of docs) expect(doc).toHaveProperty(row.field);
      expect(json.stdout).not.toMatch(row.human);
    });
  }
});
