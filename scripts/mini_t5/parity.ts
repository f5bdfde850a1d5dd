/**
 * packages/t5's forward against the logits that scripts/mini_t5/train.py wrote beside a model folder
 * (`parity.json`: the fixed batch; `parity.safetensors`: PyTorch's float32 logits `[b, t, vocab]`). Used by the
 * parity test and by install_model.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError } from '@dept/core';
import { readSafetensors, tf } from '@dept/tensor';
import { greedyGenerate, loadPretrainedT5 } from '@dept/t5';

/** The fixed batch of `parity.json`. */
export interface ParityBatch {
  note: string;
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  labels: number[][];
  loss: number;
  greedy: { rows: number[]; max_new_tokens: number; ids: number[][] };
  logits_shape: number[];
}

/** What {@link miniT5Parity} measures. */
export interface ParityResult {
  maxAbsLogitDiff: number;
  maxAbsLogit: number;
  loss: number;
  expectedLoss: number;
  greedy: number[][];
  expectedGreedy: number[][];
  unusedTensors: string[];
  shardFiles: number;
  note: string;
}

/** Python pads a finished row after `</s>` (id 1); packages/t5 returns it up to and including `</s>`. */
function untilEos(row: number[]): number[] {
  const at = row.indexOf(1);
  return at < 0 ? row : row.slice(0, at + 1);
}

/**
 * Loads `dir` with `loadPretrainedT5` and compares our float32 logits, loss and greedy ids for the fixed batch with
 * the ones written there. Needs an initialised tfjs backend.
 *
 * @example
 * const r = await miniT5Parity('models/mini-t5'); // r.maxAbsLogitDiff < 1e-4
 */
export async function miniT5Parity(dir: string): Promise<ParityResult> {
  const batch = JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as ParityBatch;
  const expected = readSafetensors(join(dir, 'parity.safetensors')).tensors.get('logits');
  if (!expected) throw new DeptError(`${join(dir, 'parity.safetensors')}: no tensor "logits"`);
  if (expected.shape.join(',') !== batch.logits_shape.join(',')) {
    throw new DeptError(`${join(dir, 'parity.safetensors')}: logits have shape [${expected.shape.join(', ')}], parity.json says [${batch.logits_shape.join(', ')}]`);
  }
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
    if (got.length !== expected.data.length) throw new DeptError(`${dir}: our logits have ${got.length} values, parity.safetensors ${expected.data.length}`);
    let maxAbsLogitDiff = 0;
    let maxAbsLogit = 0;
    for (let i = 0; i < got.length; i++) {
      maxAbsLogitDiff = Math.max(maxAbsLogitDiff, Math.abs((got[i] as number) - (expected.data[i] as number)));
      maxAbsLogit = Math.max(maxAbsLogit, Math.abs(expected.data[i] as number));
    }
    const rows = tf.tensor1d(batch.greedy.rows, 'int32');
    const gMask = tf.gather(t.mask, rows) as tf.Tensor2D;
    const gHidden = tf.tidy(() => model.encode(model.embed(tf.gather(t.ids, rows) as tf.Tensor2D), gMask));
    const greedy = await greedyGenerate(model, gHidden, gMask, { maxNewTokens: batch.greedy.max_new_tokens });
    tf.dispose([rows, gMask, gHidden]);
    return {
      maxAbsLogitDiff, maxAbsLogit, loss, expectedLoss: batch.loss, greedy, expectedGreedy: batch.greedy.ids.map(untilEos), unusedTensors,
      shardFiles: new Set(Object.values(index.weight_map)).size, note: batch.note,
    };
  } finally {
    tf.dispose(Object.values(t));
    model.dispose();
  }
}
