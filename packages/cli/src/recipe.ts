/**
 * Recipe files: YAML or JSON experiments validated with a zod schema. Every error names the file, the field path
 * and what is allowed. Command-line flags and `--set key=value` override recipe values; the resolved recipe is
 * written into the run folder so any run can be replayed from its own files.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { DeptError, parseJsonText, readRegularFile, withEnvironmentErrors } from '@dept/core';
import { DEFAULT_TRAIN_CONFIG } from '@dept/train/config';
import { LAYOUT_PRIORITY, type LayoutName } from '@dept/tasks';

const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);
const positive = z.number().positive();

/** The training hyper-parameters (DEPT.md §1.4 defaults). */
export const TrainSchema = z.strictObject({
  num_virtual_tokens: nonNegativeInt.describe('m: soft prompt length').default(DEFAULT_TRAIN_CONFIG.num_virtual_tokens),
  r: nonNegativeInt.describe('rank of A·B; 0 = vanilla prompt tuning').default(DEFAULT_TRAIN_CONFIG.r),
  max_length: positiveInt.describe('s: input length').default(DEFAULT_TRAIN_CONFIG.max_length),
  pad_to_max_length: z.boolean().describe('pad every input to s as DePT does (same results, slower); default: cut each batch to its longest input').default(DEFAULT_TRAIN_CONFIG.pad_to_max_length),
  lora_alpha: positive.default(DEFAULT_TRAIN_CONFIG.lora_alpha),
  prompt_init: z.enum(['TEXT', 'SAMPLE_VOCAB', 'RANDOM']).default(DEFAULT_TRAIN_CONFIG.prompt_init),
  prompt_init_text: z.string().default(DEFAULT_TRAIN_CONFIG.prompt_init_text),
  lr: positive.describe('learning rate of P').default(DEFAULT_TRAIN_CONFIG.lr),
  lora_lr: positive.describe('learning rate of A and B').default(DEFAULT_TRAIN_CONFIG.lora_lr),
  weight_decay: z.number().min(0).default(DEFAULT_TRAIN_CONFIG.weight_decay),
  warmup_steps: nonNegativeInt.default(DEFAULT_TRAIN_CONFIG.warmup_steps),
  max_steps: positiveInt.default(DEFAULT_TRAIN_CONFIG.max_steps),
  batch_size: positiveInt.default(DEFAULT_TRAIN_CONFIG.batch_size),
  micro_batch_size: nonNegativeInt.describe('gradient accumulation chunks; 0 = whole batch').default(DEFAULT_TRAIN_CONFIG.micro_batch_size),
  eval_batch_size: positiveInt.default(DEFAULT_TRAIN_CONFIG.eval_batch_size),
  max_grad_norm: positive.default(DEFAULT_TRAIN_CONFIG.max_grad_norm),
  eval_steps: positiveInt.default(DEFAULT_TRAIN_CONFIG.eval_steps),
  save_steps: positiveInt.default(DEFAULT_TRAIN_CONFIG.save_steps),
  log_steps: positiveInt.default(DEFAULT_TRAIN_CONFIG.log_steps),
  dropout: z.boolean().default(DEFAULT_TRAIN_CONFIG.dropout),
  predict: z.enum(['generate', 'score']).default(DEFAULT_TRAIN_CONFIG.predict),
  max_new_tokens: positiveInt.default(DEFAULT_TRAIN_CONFIG.max_new_tokens),
  max_target_length: nonNegativeInt.default(DEFAULT_TRAIN_CONFIG.max_target_length),
});

/** `train` fields a search may not vary: the seed comes from `seeds`, and memory settings may change on a resume. */
const NOT_SEARCHED = new Set(['micro_batch_size', 'eval_batch_size']);

/**
 * A hyper-parameter search: `train` field → its values (recipe order: the first field varies slowest; ties go to the
 * first setting). Each value is checked as the `train` field itself.
 */
export const SearchSchema = z.record(z.string(), z.array(z.union([z.number(), z.string(), z.boolean()])).min(1, 'expected a list of at least one value'))
  .superRefine((space, ctx) => {
    const shape = TrainSchema.shape as Record<string, z.ZodType>;
    for (const [field, values] of Object.entries(space)) {
      if (!(field in shape)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `unknown train field "${field}"; a search runs over: ${Object.keys(shape).filter((k) => !NOT_SEARCHED.has(k)).join(', ')}` });
        continue;
      }
      if (NOT_SEARCHED.has(field)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `"${field}" bounds memory only and cannot be searched` });
        continue;
      }
      const inner = unwrap(shape[field] as z.ZodType);
      values.forEach((value, i) => {
        const checked = inner.safeParse(value);
        if (!checked.success) {
          const issue = checked.error.issues[0] as z.core.$ZodIssue;
          const message = issue.code === 'invalid_value' && 'values' in issue ? `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message;
          ctx.addIssue({ code: 'custom', path: [field, i], message });
        }
        if (values.indexOf(value) !== i) ctx.addIssue({ code: 'custom', path: [field, i], message: `${JSON.stringify(value)} is listed twice` });
      });
    }
  });

/** Where the frozen model comes from: an existing HF folder, or a random one made on first use. */
export const ModelSchema = z.strictObject({
  path: z.string().min(1).describe('Hugging Face T5 folder (config.json, model.safetensors, tokenizer.json)'),
  /** When `path` does not exist, write a random checkpoint there (demos and tests; results are labelled random). */
  init: z.strictObject({
    preset: z.string().min(1),
    seed: nonNegativeInt.default(0),
    tokenizer: z.string().optional(),
  }).optional(),
});

/** A source bank to initialise from (transfer). */
export const BankSourceSchema = z.strictObject({
  /** One bank folder/file, or several (averaged, or the best by dev loss). */
  paths: z.array(z.string().min(1)).min(1),
  mode: z.enum(['single', 'average', 'best']).default('single'),
  reset_A: z.boolean().default(false),
  reset_B: z.boolean().default(false),
});

export const DataSchema = z.strictObject({
  dir: z.string().min(1).describe('data folder (or $DEPT_DATA)').optional(),
  /** Read each task from the folder in this layout when several hold it (default: the first by layout priority, as `dept data`). */
  layout: z.enum(LAYOUT_PRIORITY as readonly LayoutName[] as [LayoutName, ...LayoutName[]]).optional(),
  /** LM-BFF k-shot layout: the `<k>-<seed>` folder (default: each run's seed's own). */
  subset: z.string().regex(/^\d+-\d+$/, 'expected a <k>-<seed> folder name such as 16-13').optional(),
  /** Evaluate on at most n dev and n test examples (a seed-42 subsample, the same for every cell; default: all, as DePT). */
  max_eval_examples: positiveInt.optional(),
  add_prefix: z.boolean().default(false),
  flavour: z.enum(['dept', 'official']).default('dept'),
});

/** A few-shot experiment (and, with one task/k/seed, a single training run). */
export const RecipeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').default('run'),
  description: z.string().optional(),
  model: ModelSchema,
  data: DataSchema.default({ add_prefix: false, flavour: 'dept' }),
  tasks: z.array(z.string().min(1)).min(1),
  k: z.array(positiveInt).min(1).default([4, 16, 32]),
  seeds: z.array(nonNegativeInt).min(1).default([13, 21, 42]),
  sampler: z.enum(['dept', 'balanced']).default('dept'),
  bank: BankSourceSchema.optional(),
  train: TrainSchema.default(TrainSchema.parse({})),
  /** Search these train fields in every cell (`dept fewshot` only): a sub-run per setting, the best on dev kept. */
  search: SearchSchema.optional(),
  out: z.string().min(1).optional(),
});

export type Recipe = z.output<typeof RecipeSchema>;
export type RecipeInput = z.input<typeof RecipeSchema>;

/** A zod issue as one readable line: `file: field.path: message`. */
function formatIssue(where: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${where}: ${path === '(top level)' ? '' : `${path}: `}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `${where}: ${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${where}: ${path}: ${issue.message}`;
}

/** Known keys of the schema below a dotted path (for "allowed" hints on unknown fields). */
function allowedKeys(path: (string | number | symbol)[]): string[] {
  let schema: z.ZodType = RecipeSchema;
  for (const p of path) {
    const unwrapped = unwrap(schema);
    if (unwrapped instanceof z.ZodObject) schema = (unwrapped.shape as Record<string, z.ZodType>)[String(p)] ?? schema;
  }
  const obj = unwrap(schema);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 5; i++) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else break;
  }
  return s;
}

/** Which words of the command line set which recipe fields (dotted path → `--set k=abc`, `--sampler x`). */
export type Origins = Map<string, string>;

/** Names what set a field (or the group above it), for a refusal: the words the user typed, else undefined. */
export type Blame = (path: readonly PropertyKey[]) => string | undefined;

/**
 * The {@link Blame} of a set of origins: the deepest recorded field at or above the refused path, else one below it.
 *
 * @example
 * blameOf(new Map([['k', '--set k=abc']]))(['k', 0]); // '--set k=abc'
 */
export function blameOf(origins: Origins): Blame {
  return (path) => {
    for (let n = path.length; n > 0; n--) {
      const origin = origins.get(path.slice(0, n).map(String).join('.'));
      if (origin !== undefined) return origin;
    }
    // `--set seeds.x=1` made the group `seeds` that is refused.
    const below = `${path.map(String).join('.')}.`;
    return [...origins].find(([key]) => key.startsWith(below))?.[1];
  };
}

/** The path an issue is about (an unknown field: that field's own path). */
export function issuePath(issue: z.core.$ZodIssue): PropertyKey[] {
  return issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : [...issue.path];
}

/**
 * Validates a recipe object; errors name the file (or, through `blame`, the flag or `--set` that set the field) and
 * the field path, and list the allowed values or fields.
 *
 * @example
 * const recipe = validateRecipe({ model: { path: 'models/t5-base' }, tasks: ['superglue-cb'] }, 'my.yaml');
 */
export function validateRecipe(raw: unknown, where: string, blame?: Blame): Recipe {
  const result = RecipeSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    let line = formatIssue(blame?.(issuePath(issue)) ?? where, issue);
    if (issue.code === 'unrecognized_keys') line += `; allowed: ${allowedKeys(issue.path).join(', ')}`;
    throw new DeptError(line);
  }
  return result.data;
}

/**
 * Parses YAML holding plain values only: a syntax error, or a warning such as an unresolved tag
 * (`!!js/function`, `!!python/object`), is thrown instead of printed, so a recipe can never smuggle in anything
 * but data; alias bombs are refused by the parser's alias limit.
 */
function plainYaml(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new Error(problem.message.split('\n')[0]);
  return doc.toJS({ maxAliasCount: 100 });
}

/** Reads a YAML or JSON recipe file (not yet validated: overrides come first). */
export function readRecipeFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new DeptError(`${path}: recipe file not found`);
  const text = withEnvironmentErrors(path, 'read the recipe', () => readRegularFile(path, 'a recipe file (.yaml or .json)')).toString('utf8'); // a folder or FIFO is refused, not waited on
  let raw: unknown;
  if (path.endsWith('.json')) raw = parseJsonText(text, path); // names line and column, never echoes the text
  else {
    try {
      raw = plainYaml(text);
    } catch (error) {
      // The first line of yaml's message says what and where; the lines after it quote the text: not echoed.
      throw new DeptError(`${path}: not valid YAML: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]?.replace(/:\s*$/, '')}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DeptError(`${path}: a recipe must be a mapping of fields`);
  return raw as Record<string, unknown>;
}

/**
 * Sets `dotted.path` in a plain object (creating objects on the way). Values from `--set` are parsed as YAML
 * scalars/flows, so `--set train.lr=0.3`, `--set k=[4,16]` and `--set train.dropout=false` do what they say.
 *
 * @example
 * setPath(recipe, 'train.lr', '0.3');
 */
export function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) {
    throw new DeptError(`--set ${dotted}: not a valid field path`);
  }
  let node: Record<string, unknown> = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null) node[part] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) throw new DeptError(`--set ${dotted}: "${part}" is not a group of fields`);
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Setting a field from the command line; `origin` (what the user typed) is named if the field is refused. */
export type OverrideSetter = (key: string, value: unknown, origin?: string) => void;

/**
 * Applies `--set` to a raw recipe and returns the setter for the flags that come after it; `origins` notes which
 * words set which field, for {@link blameOf}.
 *
 * @example
 * const { origins, set } = commandLineOverrides(raw, ['k=[4]']);
 * set('sampler', 'balanced', '--sampler balanced');
 */
export function commandLineOverrides(raw: Record<string, unknown>, sets: readonly string[]): { origins: Origins; set: OverrideSetter } {
  const origins: Origins = new Map();
  applySets(raw, sets, origins);
  const set: OverrideSetter = (key, value, origin) => {
    if (value === undefined) return;
    setPath(raw, key, value);
    if (origin) origins.set(key, origin);
  };
  return { origins, set };
}

/**
 * Refuses a command line without a recipe file that lacks a required field, naming the flags that give them.
 *
 * @example
 * requireFlags({ tasks: ['rte'] }, { model: '--model <dir>', tasks: '--task <name>' }, 'train'); // throws: --model <dir> is required …
 */
export function requireFlags(raw: Record<string, unknown>, flags: Record<string, string>, command: string, hint = ''): void {
  const missing = Object.entries(flags).filter(([key]) => raw[key] === undefined).map(([, flag]) => flag);
  if (missing.length === 0) return;
  throw new DeptError(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required without a recipe file${hint}; see 'dept ${command} --help'`);
}

/** Applies `key=value` overrides (`--set`), noting in `origins` which `--set` set which field. */
export function applySets(target: Record<string, unknown>, sets: readonly string[], origins?: Origins): void {
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new DeptError(`--set "${s}": expected key=value, e.g. --set train.lr=0.3`);
    const key = s.slice(0, eq).trim();
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = plainYaml(text);
    } catch {
      value = text;
    }
    setPath(target, key, value === null && text.trim() !== 'null' && text.trim() !== '~' ? text : value);
    origins?.set(key, `--set ${s}`);
  }
}

/**
 * Applies `--search field=v1,v2` (repeatable): sets `search.<field>` to the listed values, each read as a YAML
 * scalar (`0.3`, `5e-3`, `true`), or a YAML flow list when it starts with `[` (values holding commas). `train.` in
 * front of the field is optional.
 *
 * @example
 * applySearches(recipe, ['lr=0.3,0.4', 'train.lora_lr=5e-3,5e-4']); // recipe.search = { lr: [0.3, 0.4], lora_lr: [0.005, 0.0005] }
 */
export function applySearches(target: Record<string, unknown>, entries: readonly string[], origins?: Origins): void {
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const field = eq > 0 ? entry.slice(0, eq).trim().replace(/^train\./, '') : '';
    if (!/^[a-z][a-z0-9_]*$/.test(field)) throw new DeptError(`--search "${entry}": expected field=v1,v2 with a train field, e.g. --search lr=0.3,0.4`);
    const text = entry.slice(eq + 1).trim();
    let values: unknown;
    try {
      values = text.startsWith('[') ? plainYaml(text) : text.split(',').map((part) => plainYaml(part.trim()));
    } catch (error) {
      throw new DeptError(`--search "${entry}": not a list of values (${(error instanceof Error ? error.message : String(error)).split('\n')[0]})`);
    }
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => v === null || v === undefined)) {
      throw new DeptError(`--search "${entry}": expected one or more values separated by commas, e.g. --search ${field}=0.3,0.4`);
    }
    setPath(target, `search.${field}`, values);
    origins?.set(`search.${field}`, `--search ${entry}`);
  }
}
