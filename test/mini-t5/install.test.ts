/**
 * scripts/mini_t5/install_model.ts on a run folder made here from the stand-in fixture (the same files
 * device_run.sh brings back: shards, parity.safetensors, bundle.tar.gz with summary.json and the small files):
 * it installs, the folder loads, the card's placeholders take the summary's values (except the few-shot table),
 * and it refuses a second install without --replace, a damaged shard, a stand-in without --allow-stand-in and a run
 * of another corpus, each with one line and exit 2, leaving the target as it was.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'mini-t5-standin');
const root = mkdtempSync(join(tmpdir(), 'mini-t5-install-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A corpus folder with a manifest, and a "files_at" folder as device_run.sh leaves it. */
function makeRun(name: string, opts: { model?: string; corpusSha?: string } = {}): { files: string; corpus: string } {
  const corpus = join(root, `${name}-corpus`);
  mkdirSync(corpus);
  const manifest = {
    tool: 'mini-t5-build-corpus', tokenizer: { tokenizer_json_sha256: 'x' },
    sources: [{ name: 'kjv', origin: 'Debian bible-kjv-text', version: '4.38', documents_train: 1177, documents_val: 12, tokens_train: 1139659, tokens_val: 13098, duplicates_dropped: 0, evaluation_overlaps_dropped: 0 }],
    supervised: { per_task: { mnli: { train: 8860, val: 80, tokens_train: 439261, tokens_val: 4131 } }, evaluation_overlaps_dropped: 663 },
    totals: { text_tokens_train: 1139659, text_tokens_val: 13098, supervised_tokens_train: 439261, supervised_tokens_val: 4131 },
  };
  writeFileSync(join(corpus, 'manifest.json'), JSON.stringify(manifest));
  const files = join(root, `${name}-files`);
  const run = join(root, `${name}-work`, 'mini-t5');
  mkdirSync(files);
  mkdirSync(run, { recursive: true });
  const shards = readdirSync(FIXTURE).filter((n) => n.startsWith('model-'));
  for (const n of [...shards, 'parity.safetensors']) copyFileSync(join(FIXTURE, n), join(files, n));
  for (const n of ['config.json', 'model.safetensors.index.json', 'parity.json']) copyFileSync(join(FIXTURE, n), join(run, n));
  writeFileSync(join(run, 'train_log.jsonl'), '{"kind": "val", "step": 1234}\n');
  writeFileSync(join(run, 'loss.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as Record<string, unknown>;
  const fileShas: Record<string, { bytes: number; sha256: string }> = {};
  for (const n of [...shards, 'parity.safetensors']) fileShas[n] = { bytes: 0, sha256: sha(join(files, n)) };
  for (const n of ['config.json', 'model.safetensors.index.json', 'parity.json', 'train_log.jsonl', 'loss.svg']) fileShas[n] = { bytes: 0, sha256: sha(join(run, n)) };
  const summary = {
    model: opts.model ?? 'stand-in', config, parameters: 13712, device: 'NVIDIA H200 (test value)', versions: { python: '3.12', torch: '2.11', transformers: '5.17' },
    corpus: { manifest_sha256: opts.corpusSha ?? sha(join(corpus, 'manifest.json')) },
    objective: { span_corruption: { inputs_length: 256, raw_chunk_length: 284 }, supervised_rate: 0.25 },
    optimiser: { peak_lr: 0.002, weight_decay: 0.01, clip: 1, warmup_steps: 300 }, batch: { span_corruption: 128, supervised: 256 },
    steps: 1234, train_time_s: 400.1, wall_time_s: 431.5, tokens_seen: { input: 1000000, target: 250000 }, examples_seen: { span: 4000, supervised: 900 },
    final: { span_val_loss: 3.25, supervised_val_loss: 0.75 }, last_train: { span_loss: 3.125, supervised_loss: 0.5 },
    best: { step: 1200, span_val_loss: 3.2, supervised_val_loss: 0.7 }, parity: { loss: 6.0, roundtrip_max_abs_diff: 0 }, files: fileShas,
  };
  writeFileSync(join(run, 'summary.json'), JSON.stringify(summary));
  const tar = spawnSync('tar', ['czf', join(files, 'bundle.tar.gz'), '-C', join(root, `${name}-work`), 'mini-t5'], { encoding: 'utf8' });
  expect(tar.status, tar.stderr).toBe(0);
  return { files, corpus };
}

function target(name: string): string {
  const to = join(root, name, 'mini-t5');
  mkdirSync(to, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'models', 'mini-t5', 'README.md'), join(to, 'README.md'));
  return to;
}

function install(files: string, corpus: string, to: string, ...extra: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/mini_t5/install_model.ts'), files, '--to', to, '--corpus', corpus, '--tokenizer', 'none', ...extra], {
    encoding: 'utf8', cwd: REPO_ROOT, env: { ...process.env, DEPT_WASM_THREADS: '1' },
  });
}

const listing = (dir: string) => readdirSync(dir).sort().map((n) => `${n}:${sha(join(dir, n))}`);

describe('install_model.ts', () => {
  const run = makeRun('ok');
  const to = target('a');

  it('installs the run, fills the card from summary.json and the manifest, leaves the few-shot table', () => {
    const res = install(run.files, run.corpus, to, '--allow-stand-in');
    expect(res.stderr).toMatch(/^install_model: installed /);
    expect(res.status).toBe(0);
    const names = readdirSync(to);
    expect(names).toEqual(expect.arrayContaining(['config.json', 'model.safetensors.index.json', 'model-00001-of-00007.safetensors', 'parity.safetensors', 'parity.json', 'summary.json', 'corpus-manifest.json', 'README.md']));
    const card = readFileSync(join(to, 'README.md'), 'utf8');
    expect(card).toContain('> **Status: installed** from the GPU run of NVIDIA H200 (test value)');
    expect(card).toContain('| steps | 1,234 |');
    expect(card).toContain('| tokens seen | 1,250,000 (1,000,000 input + 250,000 target tokens, padding excluded) |');
    expect(card).toContain('| validation, at the kept step | 3.2000 | 0.7000 |');
    expect(card).toContain('| kjv (Debian bible-kjv-text 4.38) | 1,177 / 12 | 1,139,659 / 13,098 | 0 | 0 |');
    expect(card).toContain('| d_model / d_kv / d_ff | 16 / 8 / 32 |');
    expect(card).toMatch(/max \|logit difference\| \d\.\d\de-\d+/);
    expect(card.match(/\{\{\w+\}\}/g)).toEqual(['{{fewshot_table}}', '{{fewshot_table}}']); // the table and the status note naming it
  });

  it('refuses a second install without --replace, and changes nothing', () => {
    const before = listing(to);
    const res = install(run.files, run.corpus, to, '--allow-stand-in');
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([`install_model: error: ${to}: already holds model-00001-of-00007.safetensors (an installed model); pass --replace to install over it`]);
    expect(listing(to)).toEqual(before);
  });

  it('refuses a damaged shard, a stand-in without --allow-stand-in, and a run of another corpus', () => {
    const to2 = target('b');
    const before = listing(to2);
    const bad = makeRun('bad');
    const shard = join(bad.files, 'model-00003-of-00007.safetensors');
    const bytes = readFileSync(shard);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(shard, bytes);
    const r1 = install(bad.files, bad.corpus, to2, '--allow-stand-in');
    expect(r1.status).toBe(2);
    expect(r1.stderr.trim()).toBe(`install_model: error: ${shard}: sha256 differs from the one in summary.json (a damaged or mixed-up file)`);
    const r2 = install(run.files, run.corpus, to2);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/summary.json says model "stand-in"; only the Hugging Face model \("hf"\) is installed/);
    const other = makeRun('other', { corpusSha: '0'.repeat(64) });
    const r3 = install(other.files, other.corpus, to2, '--allow-stand-in');
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/manifest.json: sha256 differs from the corpus the run used/);
    expect(listing(to2)).toEqual(before);
  });
});
