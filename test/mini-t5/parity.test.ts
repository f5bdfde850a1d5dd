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
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, initBackend, readSafetensors } from '@dept/tensor';
import { loadPretrainedT5 } from '@dept/t5';
import { REPO_ROOT } from '../helpers/shared.ts';

interface ParityJson {
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  labels: number[][];
  loss: number;
  greedy: { rows: number[]; max_new_tokens: number; ids: number[][] };
  logits_shape: number[];
}

/** What {@link miniT5Parity} measures. */
interface ParityResult {
  maxAbsLogitDiff: number;
  maxAbsLogit: number;
  loss: number;
  expectedLoss: number;
  greedy: number[][];
  expectedGreedy: number[][];
  unusedTensors: string[];
  shardFiles: number;
}

/** Python pads a finished row after `</s>`; packages/t5 returns it up to and including `</s>`. */
function untilEos(row: number[]): number[] {
  const at = row.indexOf(1);
  return at < 0 ? row : row.slice(0, at + 1);
}

/** Our forward on the folder's fixed batch, against the logits PyTorch wrote. */
async function miniT5Parity(dir: string): Promise<ParityResult> {
  const batch = JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as ParityJson;
  const expected = readSafetensors(join(dir, 'parity.safetensors')).tensors.get('logits');
  if (!expected) throw new Error(`${dir}/parity.safetensors: no "logits"`);
  expect(expected.shape).toEqual(batch.logits_shape);
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  const { model, unusedTensors } = loadPretrainedT5(dir);
  const t = {
    ids: tf.tensor2d(batch.input_ids, undefined, 'int32'),
    mask: tf.tensor2d(batch.attention_mask, undefined, 'float32'),
    dec: tf.tensor2d(batch.decoder_input_ids, undefined, 'int32'),
    labels: tf.tensor2d(batch.labels, undefined, 'int32'),
  };
  try {
    const { got, loss } = tf.tidy(() => {
      const logits = model.decode(t.dec, model.encode(model.embed(t.ids), t.mask), t.mask);
      return { got: logits.dataSync(), loss: model.crossEntropy(logits, t.labels).dataSync()[0] as number };
    });
    expect(got.length).toBe(expected.data.length);
    let maxAbsLogitDiff = 0;
    let maxAbsLogit = 0;
    for (let i = 0; i < got.length; i++) {
      maxAbsLogitDiff = Math.max(maxAbsLogitDiff, Math.abs((got[i] as number) - (expected.data[i] as number)));
      maxAbsLogit = Math.max(maxAbsLogit, Math.abs(expected.data[i] as number));
    }
    const rows = tf.tensor1d(batch.greedy.rows, 'int32');
    const gMask = tf.gather(t.mask, rows) as tf.Tensor2D;
    const gHidden = tf.tidy(() => model.encode(model.embed(tf.gather(t.ids, rows) as tf.Tensor2D), gMask));
    const greedy = await model.generate(gHidden, gMask, { maxNewTokens: batch.greedy.max_new_tokens });
    tf.dispose([rows, gMask, gHidden]);
    return {
      maxAbsLogitDiff, maxAbsLogit, loss, expectedLoss: batch.loss, greedy, expectedGreedy: batch.greedy.ids.map(untilEos), unusedTensors,
      shardFiles: new Set(Object.values(index.weight_map)).size,
    };
  } finally {
    tf.dispose(Object.values(t));
    model.dispose();
  }
}

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
