/**
 * @dept/pretrain: multitask source training.
 *
 * 1. The mixture: examples-proportional (with a cap) or temperature mixing rates, per-example sampling weights.
 * 2. Sources: task names, reading and splitting their data, seeded subsamples.
 * 3. Evaluation: per-task metrics of a mixture (`<task>_<metric>`) and their mean (`average`) for selection.
 * 4. The run: the shared bank on the mixture, optional per-task banks continued from it, `manifest.json`.
 */
export { mixingRates, exampleWeights, type MixingKind, type MixingOptions } from './mixing.ts';
export {
  PAPER_SOURCES, SOURCES_WITHOUT_READER, sourceTaskName, limitsFor, hasSourceData, loadSourceTask,
  type ExampleLimits, type SourceLimits, type SourceTask, type LoadSourceOptions,
} from './sources.ts';
/** Re-exported from `@dept/tasks`, where it lives (few-shot evaluation limits use it too). */
export { subsample } from '@dept/tasks';
export { AVERAGE_METRIC, mixtureEvaluation, sharedLabels, metricsByTask } from './evaluation.ts';
export {
  PRETRAIN_MANIFEST_FORMAT, readPretrainManifest, type PretrainManifest, type SourceExamples, type StageSummary,
} from './manifest.ts';
export { runPretrain, singleTaskEvaluation, type PretrainOptions, type PretrainEvent } from './run.ts';
