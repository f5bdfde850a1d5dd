/**
 * Pretraining recipes (`dept pretrain <recipe>`): the source tasks, how they are mixed, the shared stage's
 * training hyper-parameters and optional per-task continuations. A strict zod schema, separate from the few-shot
 * recipe; errors name the file, the field path and what is allowed.
 */
import { z } from 'zod';
import { DeptError } from '@dept/core';
import { ModelSchema, TrainSchema, blameOf, commandLineOverrides, issuePath, readRecipeFile, requireFlags, type Blame } from './recipe.ts';

const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);

/** How source tasks are mixed (T5's rules): rate ∝ min(n, cap), or ∝ min(n, cap)^(1/temperature). */
export const MixingSchema = z.strictObject({
  kind: z.enum(['proportional', 'temperature']).default('proportional'),
  /** K: example counts above it count as K; null = no cap. */
  cap: positiveInt.nullable().default(null),
  /** T of temperature mixing (ignored by proportional). */
  temperature: z.number().positive().default(1),
});

const PartLimitsSchema = z.strictObject({
  train: nonNegativeInt.optional(),
  dev: nonNegativeInt.optional(),
  test: nonNegativeInt.optional(),
});

/** Example limits per task (a seeded subsample), with per-task exceptions under `tasks`. */
export const LimitsSchema = PartLimitsSchema.extend({
  tasks: z.record(z.string().min(1), PartLimitsSchema).optional(),
});

const trainShape = TrainSchema.shape;
type TrainShape = typeof trainShape;
type OptionalShape = { [K in keyof TrainShape]: z.ZodOptional<ReturnType<TrainShape[K]['unwrap']>> };

/** Overrides of `train` for the per-task stages: any training field, without defaults (`max_steps` is `per_task_steps`). */
export const PerTaskTrainSchema = z
  .strictObject(Object.fromEntries(Object.entries(trainShape).map(([k, v]) => [k, v.unwrap().optional()])) as OptionalShape)
  .omit({ max_steps: true });

export const PretrainDataSchema = z.strictObject({
  dir: z.string().min(1).describe('data folder (or $DEPT_DATA)').optional(),
  add_prefix: z.boolean().default(false),
  flavour: z.enum(['dept', 'official']).default('dept'),
  limits: LimitsSchema.optional(),
});

/** A multitask source pretraining. */
export const PretrainRecipeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').default('pretrain'),
  description: z.string().optional(),
  model: ModelSchema,
  data: PretrainDataSchema.default({ add_prefix: false, flavour: 'dept' }),
  /** Source task names (DePT or HF spelling; `squad` is known but has no reader). */
  sources: z.array(z.string().min(1)).min(1),
  /** A source without data (or without a reader): stop with an error, or skip it and record why. */
  missing_data: z.enum(['error', 'skip']).default('error'),
  /** The training seed: batches, dropout, prompt init and example subsamples. */
  seed: nonNegativeInt.default(42),
  mixing: MixingSchema.default({ kind: 'proportional', cap: null, temperature: 1 }),
  /** Steps of each per-task bank continued from the shared bank (0 = shared bank only). */
  per_task_steps: nonNegativeInt.default(0),
  per_task_train: PerTaskTrainSchema.optional(),
  train: TrainSchema.default(TrainSchema.parse({})),
  out: z.string().min(1).optional(),
});

export type PretrainRecipe = z.output<typeof PretrainRecipeSchema>;
export type PretrainRecipeInput = z.input<typeof PretrainRecipeSchema>;

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 6; i++) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else break;
  }
  return s;
}

function allowedKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = PretrainRecipeSchema;
  for (const p of path) {
    const obj = unwrap(schema);
    if (!(obj instanceof z.ZodObject)) return [];
    const next = (obj.shape as Record<string, z.ZodType>)[String(p)];
    if (!next) return [];
    schema = next;
  }
  const obj = unwrap(schema);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}

/**
 * Validates a pretraining recipe; the error is one line naming the file (or, through `blame`, the flag or `--set`
 * that set the field) and the field and what is allowed.
 *
 * @example
 * const recipe = validatePretrainRecipe({ model: { path: 'models/t5-base' }, sources: ['mnli', 'qqp'] }, 'pretrain.yaml');
 * recipe.mixing; // { kind: 'proportional', cap: null, temperature: 1 }
 */
export function validatePretrainRecipe(raw: unknown, file: string, blame?: Blame): PretrainRecipe {
  const result = PretrainRecipeSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const where = blame?.(issuePath(issue)) ?? file;
  const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = path === '(top level)' ? '' : `${path}: `;
    throw new DeptError(`${where}: ${prefix}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed: ${allowedKeys(issue.path).join(', ')}`);
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    throw new DeptError(`${where}: ${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  throw new DeptError(`${where}: ${path}: ${issue.message}`);
}

/** Flags of `dept pretrain` that override recipe fields. */
export interface PretrainFlags {
  sources?: string;
  dataDir?: string;
  model?: string;
  mixing?: string;
  cap?: number;
  temperature?: number;
  perTaskSteps?: number;
  maxSteps?: number;
  batchSize?: number;
  evalSteps?: number;
  saveSteps?: number;
  lr?: number;
  loraLr?: number;
  maxTrainExamples?: number;
  maxEvalExamples?: number;
  missingData?: string;
  seed?: number;
  out?: string;
  set?: string[];
}

/**
 * The pretraining recipe a command runs: the file (if any), then `--set`, then explicit flags, validated.
 *
 * @example
 * const recipe = resolvePretrainRecipe('recipes/paper/pretrain-sources.yaml', { maxSteps: 100, dataDir: '../shared/data/glue-pretrain' });
 */
export function resolvePretrainRecipe(path: string | undefined, flags: PretrainFlags): PretrainRecipe {
  const raw: Record<string, unknown> = path ? readRecipeFile(path) : {};
  const { origins, set } = commandLineOverrides(raw, flags.set ?? []);
  if (flags.sources) set('sources', flags.sources.split(',').map((t) => t.trim()).filter(Boolean));
  set('data.dir', flags.dataDir);
  if (flags.model) {
    set('model', { ...((raw.model as Record<string, unknown> | undefined) ?? {}), path: flags.model });
    origins.set('model.path', `--model ${flags.model}`);
  }
  set('mixing.kind', flags.mixing, `--mixing ${flags.mixing}`);
  set('mixing.cap', flags.cap);
  set('mixing.temperature', flags.temperature);
  set('per_task_steps', flags.perTaskSteps);
  set('train.max_steps', flags.maxSteps);
  set('train.batch_size', flags.batchSize);
  set('train.eval_steps', flags.evalSteps);
  set('train.save_steps', flags.saveSteps);
  set('train.lr', flags.lr);
  set('train.lora_lr', flags.loraLr);
  set('data.limits.train', flags.maxTrainExamples);
  if (flags.maxEvalExamples !== undefined) {
    set('data.limits.dev', flags.maxEvalExamples);
    set('data.limits.test', flags.maxEvalExamples);
  }
  set('missing_data', flags.missingData, `--missing-data ${flags.missingData}`);
  set('seed', flags.seed);
  set('out', flags.out);
  if (!path) requireFlags(raw, { model: '--model <dir>', sources: '--sources <names>' }, 'pretrain');
  return validatePretrainRecipe(raw, path ?? 'command line', blameOf(origins));
}
