/**
 * The original SciTail v1.1 release: `tsv_format/scitail_1.0_{train,dev,test}.tsv` (premise, hypothesis,
 * `entails`|`neutral`, no header) or `snli_format/scitail_1.0_{train,dev,test}.txt` (JSON Lines with `sentence1`,
 * `sentence2`, `gold_label`), the files Hugging Face's `scitail` builder reads. Rows use the `snli_format` names
 * `sentence1`, `sentence2`, and `label` (0 entailment, 1 neutral, DePT's `label2id`).
 */
import { labelToId, type TaskSpec } from '../registry.ts';
import type { ReadResult } from './rows.ts';
import { isObject, readJsonl } from './jsonl.ts';
import { dataError } from './text.ts';
import { readTsvRecords } from './tsv.ts';

/**
 * Reads one SciTail file (`.tsv` or snli-format `.txt`).
 *
 * @example
 * const { rows } = readSciTail('SciTailV1.1/tsv_format/scitail_1.0_dev.tsv', getTask('scitail'));
 * rows[0]; // { sentence1: '…', sentence2: '…', label: 0 }
 */
export function readSciTail(file: string, task: TaskSpec): ReadResult {
  const out: ReadResult = { rows: [], origins: [] };
  if (file.endsWith('.tsv')) {
    for (const rec of readTsvRecords(file)) {
      if (rec.fields.length !== 3) throw dataError(file, rec.line, `row has ${rec.fields.length} fields, expected 3 (premise, hypothesis, label)`);
      out.rows.push({ sentence1: rec.fields[0] as string, sentence2: rec.fields[1] as string, label: labelToId(task, rec.fields[2], `${file}:${rec.line}`) });
      out.origins.push(`${file}:${rec.line}`);
    }
    return out;
  }
  for (const rec of readJsonl(file)) {
    const o = rec.value;
    if (!isObject(o)) throw dataError(file, rec.line, 'expected a JSON object');
    for (const col of ['sentence1', 'sentence2', 'gold_label']) {
      if (typeof o[col] !== 'string') throw dataError(file, rec.line, `missing field "${col}"`);
    }
    out.rows.push({ sentence1: o.sentence1 as string, sentence2: o.sentence2 as string, label: labelToId(task, o.gold_label, `${file}:${rec.line}`) });
    out.origins.push(`${file}:${rec.line}`);
  }
  return out;
}
