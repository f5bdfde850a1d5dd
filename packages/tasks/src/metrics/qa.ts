/**
 * Question-answering and MultiRC metrics: SQuAD normalisation, exact match and token F1 (T5 / DePT
 * `qa_utils.py` and the official SQuAD v1.1 / ReCoRD scripts, which agree), and the official MultiRC
 * scores (EM per question, F1 over all answer options, macro F1 per question).
 * All return fractions; `computeMetrics` scales by 100.
 */
import { DeptError } from '@dept/core';
import { pySplit } from './python.ts';
import { binaryF1, flipInvalidBinary, macroF1 } from './stats.ts';

/** Python `string.punctuation`. */
export const PY_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const PUNCT = new Set(PY_PUNCTUATION);
// Python's Unicode `\b` around a|an|the: word characters are letters, numbers and '_'.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/**
 * SQuAD answer normalisation: lower-case, drop ASCII punctuation, replace the words a/an/the by a space,
 * collapse whitespace.
 *
 * @example
 * normalizeSquad('The  Eiffel-Tower!'); // 'eiffeltower'
 * normalizeSquad('An apple a day'); // 'apple day'
 */
export function normalizeSquad(answer: string): string {
  let out = '';
  for (const ch of answer.toLowerCase()) if (!PUNCT.has(ch)) out += ch;
  return pySplit(out.replace(ARTICLES, ' ')).join(' ');
}

/**
 * Token F1 of one normalised prediction against one normalised target (0 when nothing is shared,
 * including when both are empty, as in SQuAD v1.1 and T5).
 *
 * @example
 * squadTokenF1('eiffel tower', 'tower'); // precision 1/2, recall 1 -> 2/3
 */
export function squadTokenF1(target: string, prediction: string): number {
  const pTok = pySplit(prediction);
  const tTok = pySplit(target);
  const tCount = new Map<string, number>();
  for (const t of tTok) tCount.set(t, (tCount.get(t) ?? 0) + 1);
  let same = 0;
  for (const p of pTok) {
    const c = tCount.get(p) ?? 0;
    if (c > 0) {
      same++;
      tCount.set(p, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pTok.length;
  const recall = same / tTok.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Per-example exact match and F1, maximised over the gold answers (all normalised here). */
export interface QaScores {
  em: number;
  f1: number;
}

/**
 * SQuAD EM and F1 averaged over examples, each the max over its gold answers
 * (T5/DePT `squad` + `qa_metrics`; also the official SQuAD v1.1 and ReCoRD scores).
 *
 * @param predictions raw predictions (normalised here).
 * @param golds the gold answers of each example (normalised here); at least one each.
 * @example
 * qaScores(['the Eiffel Tower', 'Paris'], [['Eiffel Tower'], ['London', 'paris']]); // { em: 1, f1: 1 }
 */
export function qaScores(predictions: readonly string[], golds: readonly (readonly string[])[]): QaScores {
  if (predictions.length !== golds.length) {
    throw new DeptError(`qaScores: ${predictions.length} predictions but ${golds.length} gold lists; expected the same number`);
  }
  if (predictions.length === 0) return { em: Number.NaN, f1: Number.NaN };
  let em = 0;
  let f1 = 0;
  predictions.forEach((raw, i) => {
    const gold = golds[i] as readonly string[];
    if (gold.length === 0) throw new DeptError(`qaScores: example ${i} has no gold answer; expected at least one`);
    const p = normalizeSquad(raw);
    let bestEm = 0;
    let bestF1 = 0;
    for (const g of gold) {
      const t = normalizeSquad(g);
      if (t === p) bestEm = 1;
      bestF1 = Math.max(bestF1, squadTokenF1(t, p));
    }
    em += bestEm;
    f1 += bestF1;
  });
  return { em: em / predictions.length, f1: f1 / predictions.length };
}

/** Official MultiRC scores (HF evaluate `super_glue` "multirc"). */
export interface MultircScores {
  /** Fraction of questions whose answer options are all right. */
  exact_match: number;
  /** Mean over questions of sklearn macro F1 (labels present in that question). */
  f1_m: number;
  /** Binary F1 (positive "1") over all answer options. */
  f1_a: number;
}

/**
 * Official MultiRC metrics: options grouped by question id; a prediction other than "0"/"1" is
 * replaced by the opposite of its target first (so it always counts wrong), as DePT does for F1.
 *
 * @param groups one question id per answer option (e.g. `${paragraph}-${question}`).
 * @example
 * multircScores(['1', '0', '1', '1'], ['1', '0', '0', '1'], ['q1', 'q1', 'q2', 'q2']);
 * // exact_match 0.5, f1_a 0.8, f1_m (1 + 1/3) / 2
 */
export function multircScores(
  predictions: readonly string[],
  targets: readonly string[],
  groups: readonly (string | number)[],
): MultircScores {
  if (groups.length !== targets.length) {
    throw new DeptError(`multircScores: ${groups.length} group ids but ${targets.length} targets; expected one per answer option`);
  }
  const preds = flipInvalidBinary(predictions, targets);
  const byQuestion = new Map<string, { p: string[]; t: string[] }>();
  groups.forEach((g, i) => {
    const key = String(g);
    let q = byQuestion.get(key);
    if (q === undefined) {
      q = { p: [], t: [] };
      byQuestion.set(key, q);
    }
    q.p.push(preds[i] as string);
    q.t.push(targets[i] as string);
  });
  let em = 0;
  let f1m = 0;
  for (const q of byQuestion.values()) {
    if (q.p.every((p, i) => p === q.t[i])) em++;
    f1m += macroF1(q.p, q.t);
  }
  const nq = byQuestion.size;
  return {
    exact_match: nq === 0 ? Number.NaN : em / nq,
    f1_m: nq === 0 ? Number.NaN : f1m / nq,
    f1_a: binaryF1(preds, targets, '1'),
  };
}
