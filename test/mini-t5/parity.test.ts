/**
 * Parity of packages/t5's forward with the PyTorch model that scripts/mini_t5/train.py wrote: the folder (bf16
 * shards + index, config.json) loads with `loadPretrainedT5`, and our float32 logits, loss and greedy ids for the
 * fixed batch in `parity.json` match those PyTorch computed from the same folder (`parity.safetensors`).
 *
 * - test/fixtures/mini-t5-standin: a tiny stand-in T5 (scripts/mini_t5/standin_t5.py: torch code written apart
 *   from ours), always run;
 * - models/mini-t5: the real mini T5 with Hugging Face's logits from the GPU run; skipped until it is installed;
 * - $MINI_T5_PARITY_DIR: any other folder train.py wrote (a CPU smoke run of the full-size stand-in, say).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@dept/tensor';
import { REPO_ROOT } from '../helpers/shared.ts';
import { miniT5Parity } from '../../scripts/mini_t5/parity.ts';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', announce: false });
});

describe('mini T5 parity: the tiny stand-in fixture (test/fixtures/mini-t5-standin)', () => {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'mini-t5-standin');

  it('loads from bf16 shards + index and gives PyTorch\'s logits, loss and greedy ids', async () => {
    const r = await miniT5Parity(dir);
    expect(r.shardFiles).toBeGreaterThan(1);
    expect(r.unusedTensors).toEqual([]);
    expect(r.maxAbsLogit).toBeGreaterThan(0.5); // trained weights, not zeros
    expect(r.maxAbsLogitDiff).toBeLessThan(1e-4);
    expect(Math.abs(r.loss - r.expectedLoss)).toBeLessThan(1e-4);
    expect(r.greedy).toEqual(r.expectedGreedy);
  });
});

const MINI = join(REPO_ROOT, 'models', 'mini-t5');
const installed = existsSync(join(MINI, 'model.safetensors.index.json')) && existsSync(join(MINI, 'parity.json'));
(installed ? describe : describe.skip)(`mini T5 parity: models/mini-t5 against Hugging Face's logits${installed ? '' : ' (skipped: not installed yet; see scripts/mini_t5/README.md)'}`, () => {
  it('gives HF\'s logits within 1e-4, its loss and its greedy ids', async () => {
    const r = await miniT5Parity(MINI);
    expect(r.unusedTensors).toEqual([]);
    expect(r.maxAbsLogitDiff).toBeLessThan(1e-4);
    expect(Math.abs(r.loss - r.expectedLoss)).toBeLessThan(1e-4);
    expect(r.greedy).toEqual(r.expectedGreedy);
  });
});

const other = process.env.MINI_T5_PARITY_DIR;
(other ? describe : describe.skip)(`mini T5 parity: $MINI_T5_PARITY_DIR${other ? ` = ${other}` : ' (not set)'}`, () => {
  it('gives the written logits within 1e-4, the loss and the greedy ids', async () => {
    const r = await miniT5Parity(other as string);
    console.log(`max |logit diff| ${r.maxAbsLogitDiff.toExponential(2)} (max |logit| ${r.maxAbsLogit.toFixed(2)}), loss ${r.loss} vs ${r.expectedLoss}, greedy ${JSON.stringify(r.greedy)}`);
    expect(r.maxAbsLogitDiff).toBeLessThan(1e-4);
    expect(Math.abs(r.loss - r.expectedLoss)).toBeLessThan(1e-4);
    expect(r.greedy).toEqual(r.expectedGreedy);
  });
});
