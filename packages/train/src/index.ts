/**
 * @dept/train: the optimisation loop of one DePT run.
 *
 * 1. Recipe: `TrainConfig`, defaults from DEPT.md, validation.
 * 2. Pieces: HF AdamW on host arrays, clipping, the warm-up/decay schedule, deterministic batches.
 * 3. The loop: `trainPrompt` (eval + best-on-dev selection, test evaluation, run folder, exact resume).
 * 4. Predictions: greedy generation or label scoring.
 */
export {
  type TrainConfig, type KshotDefaultField, DEFAULT_TRAIN_CONFIG, resolveTrainConfig, checkModelLimits, maxInputPositions, withoutMemorySettings, kshotTrainDefaults, trainConfigWarnings,
} from './config.ts';
export { adamwUpdate, clipGradNorm, HF_ADAMW_DEFAULTS, type AdamWOptions, type AdamWSlot } from './adamw.ts';
export { linearWarmupDecay } from './schedule.ts';
export { batchIndices, weightedBatchIndices, cumulativeWeights, derivedSeed } from './batches.ts';
export {
  encodeExamples, targetLengthFor, newPromptOptimiser, promptStep, PARAM_NAMES, type EncodedExamples, type PromptOptimiser, type StepInputs, type StepResult,
} from './step.ts';
export { trainPrompt, TrainingStopped, RUN_KIND, RUN_ENTRIES, type TrainOptions, type TrainResults, type TrainEvent, type EvaluationPhase, type Evaluation } from './trainer.ts';
export { predict, predictWithScores, devLoss, type TextExample, type PredictionMode, type PredictOptions, type ScoredPredictions } from './evaluate.ts';
export { loadCheckpoint, saveCheckpoint, checkpointPath, removeStaleRunTemporaries, type CheckpointState, type LoadedCheckpoint } from './checkpoint.ts';
export { acquireRunLock, createExclusive, lockHolder, releaseHeldLocks, type LockHolder } from './runlock.ts';
export { taskEvaluation, exampleMetrics } from './task-evaluation.ts';
