/**
 * scripts/mini_t5/train.py on this machine's CPU, where a Python with torch and numpy exists (Debian's
 * python3-torch; skipped otherwise, and `transformers` is never needed): its --self-test, and the whole CPU path
 * build_corpus.ts -> train.py (stand-in model, 3 steps) -> a folder that packages/t5 loads with the logits the
 * script wrote. The Hugging Face model path of train.py runs only on the GPU machine (scripts/mini_t5/device_run.sh).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, initBackend } from '@dept/tensor';
import { loadPretrainedT5 } from '@dept/t5';
import { HAS_SHARED, REPO_ROOT, sharedPath } from '../helpers/shared.ts';

const TRAIN_PY = join(REPO_ROOT, 'scripts', 'mini_t5', 'train.py');

function findTorchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const res = spawnSync(py, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
    if (res.status === 0) return py;
  }
  return null;
}

const PY = findTorchPython();
const why = PY ? '' : ' (skipped: no python3 with torch and numpy; apt-get install -y python3-torch python3-numpy libopenblas0-pthread)';

(PY ? describe : describe.skip)(`train.py --self-test${why}`, () => {
  it('passes every check of the data pipeline, objective, schedule and writer', () => {
    const res = spawnSync(PY as string, [TRAIN_PY, '--self-test'], { encoding: 'utf8' });
    expect(res.stdout).not.toMatch(/^FAIL/m);
    expect(res.stdout.trim().split('\n').pop()).toMatch(/^\d+ passed, 0 failed$/);
    expect(res.status).toBe(0);
  });
});

(PY && HAS_SHARED ? describe : describe.skip)(`build_corpus.ts -> train.py (stand-in, CPU) -> packages/t5${why}`, () => {
  const root = mkdtempSync(join(tmpdir(), 'mini-t5-pipeline-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
  });

  it('trains 3 steps, writes a folder packages/t5 loads, with the logits and loss the script computed', () => {
    const corpus = join(root, 'corpus');
    const built = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/mini_t5/build_corpus.ts'), '--sources', 'glue-train,supervised', '--max-docs', '300', '--out', corpus, '--shared', sharedPath()], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(built.status, built.stderr).toBe(0);
    const out = join(root, 'model');
    const args = [TRAIN_PY, '--corpus', corpus, '--out', out, '--model', 'stand-in', '--steps', '3', '--batch-size', '2', '--supervised-batch-size', '4',
      '--inputs-length', '64', '--d-model', '16', '--d-kv', '8', '--d-ff', '32', '--num-layers', '1', '--num-decoder-layers', '1', '--num-heads', '2',
      '--log-every', '1', '--warmup-steps', '1', '--quiet', '--max-shard-bytes', '600000'];
    const res = spawnSync(PY as string, args, { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { steps: number; parameters: number; examples_seen: Record<string, number>; parity: { roundtrip_max_abs_diff: number } };
    expect(summary.steps).toBe(3);
    // With the default rate 0.25 the first supervised step is step 3 (0-based), so 3 steps are all span corruption.
    expect(summary.examples_seen).toEqual({ span: 6, supervised: 0 });
    // Counted by hand: the 32128 x 16 embedding; an encoder layer (q, k, v, o 16x16, wi 32x16, wo 16x32, 2 norms);
    // a decoder layer (8 attention matrices, wi, wo, 3 norms); a 32 x 2 relative bias per stack; 2 final norms.
    expect(summary.parameters).toBe(32128 * 16 + (4 * 16 * 16 + 2 * 16 * 32 + 2 * 16) + (8 * 16 * 16 + 2 * 16 * 32 + 3 * 16) + 2 * 32 * 2 + 2 * 16);
    const log = readFileSync(join(out, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; span_loss?: number });
    expect(log.filter((r) => r.kind === 'train').length).toBe(3);
    expect(log[log.length - 1]?.kind).toBe('val');
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    expect(new Set(Object.values(index.weight_map)).size).toBe(2); // the 1 MB embedding alone exceeds 600 kB
    const { model } = loadPretrainedT5(out);
    const batch = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; labels: number[][]; decoder_input_ids: number[][]; loss: number };
    const loss = tf.tidy(() => {
      const mask = tf.tensor2d(batch.attention_mask, undefined, 'float32');
      const hidden = model.encode(model.embed(tf.tensor2d(batch.input_ids, undefined, 'int32')), mask);
      const logits = model.decode(tf.tensor2d(batch.decoder_input_ids, undefined, 'int32'), hidden, mask);
      return model.crossEntropy(logits, tf.tensor2d(batch.labels, undefined, 'int32')).dataSync()[0] as number;
    });
    model.dispose();
    expect(Math.abs(loss - batch.loss)).toBeLessThan(1e-4);
  });
});
