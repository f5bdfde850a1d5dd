/**
 * Types shared by the readers, the registry and the dataset builder.
 */

/**
 * A split as the original data names it. GLUE's `dev.tsv` and SuperGLUE's `val.jsonl` are `validation`;
 * MNLI has matched and mismatched variants; FewGLUE adds its 32-example `dev32`.
 */
export type SourceSplit =
  | 'train'
  | 'validation'
  | 'test'
  | 'validation_matched'
  | 'validation_mismatched'
  | 'test_matched'
  | 'test_mismatched'
  | 'dev32';

/** Every {@link SourceSplit}, in display order. */
export const SOURCE_SPLITS: readonly SourceSplit[] = [
  'train',
  'validation',
  'test',
  'validation_matched',
  'validation_mismatched',
  'test_matched',
  'test_mismatched',
  'dev32',
];

/** A value in a row: text, a number, a list (ReCoRD entities) or a small record (MultiRC `idx`). */
export type RowValue = string | number | boolean | null | readonly RowValue[] | { readonly [key: string]: RowValue };

/**
 * One row of a task in the Hugging Face column layout (`sentence1`, `sentence2`, `label`, `idx` for `glue/rte`),
 * whatever file it came from. `label` is the ClassLabel id (-1 when the split has no labels), the float score for
 * STS-B, and absent for ReCoRD, which has `answers` instead.
 */
export type TaskRow = Record<string, RowValue>;

/** How a task's target is made. */
export type LabelKind = 'class' | 'score' | 'answers';

/**
 * One text-to-text example, as DePT's `seq2seq_format` builds it.
 *
 * @example
 * const ex: Example = { task: 'rte', source: 'sentence1: A cat sat. sentence2: An animal sat.', target: '0', label: 0, split: 'train', row: 0 };
 */
export interface Example {
  /** DePT's task name (`rte`, `superglue-cb`). */
  task: string;
  /** The model input, e.g. `premise: … hypothesis: …`. */
  source: string;
  /** The expected output: the label id as a string (`"0"`), the STS-B score to one decimal, or a ReCoRD answer. */
  target: string;
  /** ClassLabel id, STS-B score, or absent for ReCoRD. -1 for unlabelled test rows. */
  label?: number;
  /** The original split the row comes from. */
  split: SourceSplit;
  /** Row number in that split's table (0-based, file order). */
  row: number;
  /** MultiRC: the question id that groups answer options (DePT's `extra_fields.group`). */
  group?: number;
  /** ReCoRD: every gold answer of the query (DePT's `extra_fields.answers`). */
  answers?: string[];
}

/** The file layouts the readers understand; see `datasets/README.md`. */
export type LayoutName =
  | 'glue-tsv'
  | 'mrpc-msr'
  | 'superglue-jsonl'
  | 'scitail-original'
  | 'hf-parquet'
  | 'hf-jsonl'
  | 'pretrain-json'
  | 'lmbff-kshot';

/** Layouts in the order a task folder is preferred when several hold the same task. */
export const LAYOUT_PRIORITY: readonly LayoutName[] = [
  'glue-tsv',
  'superglue-jsonl',
  'scitail-original',
  'hf-parquet',
  'hf-jsonl',
  'pretrain-json',
  'mrpc-msr',
  'lmbff-kshot',
];
