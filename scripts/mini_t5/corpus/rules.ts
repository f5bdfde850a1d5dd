/**
 * Which files of `../shared/data` the mini-T5 corpus may read.
 *
 * The rule, by file name only (so it cannot be talked round by a file's contents):
 * - a **training file** is one whose name is `train.tsv`, `train.json` or `train.jsonl` (glue-pretrain,
 *   glue-kshot `16-<seed>/`, superglue-fewglue, glue-full/STS-B);
 * - everything else is **held out**: `dev*.tsv|json|jsonl` (glue-pretrain's dev, LM-BFF's dev, `dev_matched`,
 *   FewGLUE's `dev32`), `val.jsonl` (the official SuperGLUE validation), `test*.tsv` (the official GLUE dev sets in
 *   glue-kshot, GLUE test sets) and `msr_paraphrase_test.txt`;
 * - `msr_paraphrase_train.txt` is refused although its name says train: it contains GLUE's MRPC dev set (408
 *   rows, see datasets/README.md), which is an evaluation set here.
 *
 * Held-out files are still read, but only to collect their texts, so that any training text equal to an
 * evaluation text (after normalisation) can be dropped: {@link heldOutTextFiles}.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

/** What the corpus may do with a file of `../shared/data`. */
export type DataFileUse = 'train' | 'held-out' | 'not-data';

const TRAIN_NAMES = new Set(['train.tsv', 'train.json', 'train.jsonl']);
const HELD_OUT_NAME = /^(dev|dev_matched|dev_mismatched|dev32|val|validation|test|test_matched|test_mismatched)\.(tsv|json|jsonl)$/;
const CONTAINS_EVALUATION = new Map([['msr_paraphrase_train.txt', 'it contains GLUE\'s MRPC dev set (408 rows)']]);

/**
 * Classifies one file by its name.
 *
 * @example
 * dataFileUse('glue-kshot/RTE/16-13/train.tsv'); // 'train'
 * dataFileUse('superglue-fewglue/CB/val.jsonl'); // 'held-out'
 * dataFileUse('glue-full/MRPC/msr_paraphrase_train.txt'); // 'held-out'
 */
export function dataFileUse(path: string): DataFileUse {
  const name = basename(path);
  if (TRAIN_NAMES.has(name)) return 'train';
  if (HELD_OUT_NAME.test(name) || CONTAINS_EVALUATION.has(name) || name === 'msr_paraphrase_test.txt') return 'held-out';
  return 'not-data';
}

/** Error for reading a file that is not a training file (the message names the file and the rule). */
export class HeldOutFileError extends Error {
  constructor(readonly file: string) {
    const name = basename(file);
    const why = CONTAINS_EVALUATION.get(name) ?? 'only train.tsv, train.json and train.jsonl are training files';
    super(`${file}: not a training file (${why}); the corpus reads dev, validation and test files only to drop overlapping texts`);
    this.name = 'HeldOutFileError';
  }
}

/**
 * Throws {@link HeldOutFileError} unless `path` is a training file. Every read of training text goes through this.
 *
 * @example
 * assertTrainingFile('../shared/data/glue-pretrain/MNLI/train.json'); // ok
 * assertTrainingFile('../shared/data/glue-pretrain/MNLI/dev.json');   // throws
 */
export function assertTrainingFile(path: string): void {
  if (dataFileUse(path) !== 'train') throw new HeldOutFileError(path);
}

/** Every file under `dataDir` (relative paths, sorted), with its use. */
export function classifyDataDir(dataDir: string): { path: string; use: DataFileUse }[] {
  const out: { path: string; use: DataFileUse }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: relative(dataDir, p), use: dataFileUse(p) });
    }
  };
  walk(dataDir);
  return out;
}

/** The held-out files of `dataDir` whose texts are collected for the overlap filter. */
export function heldOutTextFiles(dataDir: string): string[] {
  return classifyDataDir(dataDir).filter((f) => f.use === 'held-out').map((f) => join(dataDir, f.path));
}
