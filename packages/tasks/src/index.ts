/**
 * @dept/tasks: GLUE and SuperGLUE as DePT uses them.
 *
 * 1. Tasks: names (DePT's and Hugging Face's), labels, `id2label` — `getTask`, `TASKS`.
 * 2. Templates: DePT's text-to-text source and target strings — `formatRow`, `seq2seqFormat`, `wscText`.
 * 3. Readers and layouts: GLUE TSV, SuperGLUE JSONL, Hugging Face Parquet/JSONL, LM-BFF k-shot folders,
 *    `glue_pretrain` JSON, the MRPC and SciTail originals — `findTaskData`, `detectLayouts`, `loadTaskData`;
 *    rows to label from any of them or from lines of text — `readInputRows`, `rowsFromLines`.
 * 4. Datasets: DePT's split, k-shot samples and examples — `splitTaskData`, `kshotSample`, `loadDeptDataset`.
 * 5. Algorithms: torch `randperm` and numpy `permutation` ports, the split rule, the k-shot samplers, metrics.
 */

// 1. Tasks
export { TASKS, getTask, isTaskName, suggestTasks, id2label, label2id, labelsList, labelToId, type TaskSpec, type TaskFamily } from './registry.ts';
export {
  SOURCE_SPLITS,
  LAYOUT_PRIORITY,
  type SourceSplit,
  type RowValue,
  type TaskRow,
  type LabelKind,
  type Example,
  type LayoutName,
} from './types.ts';

// 2. Templates
export { formatRow, seq2seqFormat, removeMarkup, cleanRecordPassage, markSpan, wscText, type FormatOptions, type SourceTarget } from './templates.ts';

// 3. Readers and layouts
export { detectLayouts, findTaskData, layoutHoldsTask, resolveDataDir, displayFolder, matchFolder, type LayoutMatch, type DetectOptions } from './layout.ts';
export { readGlueTsv, readMrpcMsr, GLUE_TSV_COLUMNS } from './readers/glue.ts';
export { readSuperGlueJsonl, fixWst, codePointCompare } from './readers/superglue.ts';
export { readHfParquet, readHfJsonl, hfRow, plainValue } from './readers/hf.ts';
export { readPretrainJson } from './readers/pretrain.ts';
export { readSciTail } from './readers/scitail.ts';
export { readJsonl, type JsonlRecord } from './readers/jsonl.ts';
export { readTsvRecords, type TsvRecord } from './readers/tsv.ts';
export { readText, splitLines, type NumberedLine } from './readers/text.ts';
export type { ReadResult } from './readers/rows.ts';
export { readInputRows, rowsFromLines, inputFields } from './input.ts';

// 4. Datasets
export {
  loadTaskData,
  readSplitRows,
  rowsToTable,
  tableRows,
  neededSources,
  splitTaskData,
  formatExamples,
  kshotSample,
  loadDeptDataset,
  labelledPart,
  unlabelledNote,
  dataChoiceNote,
  subsample,
  type DataOrigin,
  type DataChoice,
  type PartName,
  type UnlabelledRows,
  type LoadOptions,
  type TaskData,
  type KshotSampler,
  type KshotSampleOptions,
  type KshotSample,
  type DeptDatasetOptions,
  type DeptDataset,
} from './dataset.ts';

// 5. Algorithms
export * from './algorithms.ts';

// 6. Fetching from the Hugging Face hub
export { fetchHfDataset, FETCH_RECORD, type FetchDatasetOptions, type FetchedDataset } from './fetch.ts';
