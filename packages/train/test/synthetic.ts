/** A tiny synthetic text-to-text task and a tiny random T5 for training tests (random weights). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@dept/core';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import type { TextExample } from '@dept/train';

const GOOD = ['great', 'good', 'fine', 'lovely', 'fun'];
const BAD = ['bad', 'awful', 'boring', 'dull', 'poor'];
const NOUNS = ['movie', 'film', 'story', 'book', 'show'];

/** `n` examples "sentence: the movie was great" → "1" / "... bad" → "0". */
export function sentimentExamples(n: number, seed: number): TextExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const positive = rng.next() < 0.5;
    const word = (positive ? GOOD : BAD)[rng.int(5)] as string;
    return { source: `sentence: the ${NOUNS[rng.int(5)]} was ${word}`, target: positive ? '1' : '0' };
  });
}

/** Writes a tiny random T5 (d_model 32) with a demo tokenizer covering the synthetic words; returns its folder. */
export function writeTinyModel(seed = 0): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'dept-train-model-')), 'tiny');
  const texts = [...GOOD, ...BAD, ...NOUNS, 'sentence: the was 0 1', 'Classify this text is postive or not:'];
  writeRandomT5(dir, presetConfig('tiny-relu'), { seed, sampleTexts: texts });
  return dir;
}

export const accuracyMetrics = (predictions: string[], examples: readonly TextExample[]) => ({
  accuracy: (100 * predictions.filter((p, i) => p === examples[i]?.target).length) / Math.max(1, examples.length),
});
