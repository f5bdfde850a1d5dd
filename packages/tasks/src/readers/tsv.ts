/**
 * Tab-separated files as GLUE ships them and Hugging Face reads them: `csv.reader(delimiter="\t",
 * quoting=csv.QUOTE_NONE)`, so a quote character is plain text and every physical line is one record. Blank
 * lines are skipped, as `csv.DictReader` does.
 */
import { readText, splitLines } from './text.ts';

/** One record: its fields and its 1-based line number in the file. */
export interface TsvRecord {
  fields: string[];
  line: number;
}

/**
 * The records of a TSV file (header included, if it has one).
 *
 * @example
 * const records = readTsvRecords('datasets/sample/RTE/train.tsv');
 * records[0].fields; // ['index', 'sentence1', 'sentence2', 'label']
 */
export function readTsvRecords(file: string): TsvRecord[] {
  return splitLines(readText(file))
    .filter((l) => l.text !== '')
    .map((l) => ({ fields: l.text.split('\t'), line: l.line }));
}
