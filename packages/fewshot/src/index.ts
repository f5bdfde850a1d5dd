/**
 * @dept/fewshot: k-shot experiments.
 *
 * 1. A cell: model source, task evaluation, one trained and evaluated run folder.
 */
export { ensureModel, taskEvaluation, runCell, type ModelSource, type CellOptions } from './cell.ts';
export { resolveSourceBank, type SourceBankOptions } from './source.ts';
