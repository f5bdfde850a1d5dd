/**
 * Task metrics, in two flavours behind one function ({@link computeMetrics}); every value is ×100.
 *
 * - `dept`: exactly what DePT's `src/metrics.py` computes with each task class's `metric` list
 *   (`src/tasks.py`), keys in DePT's order: invalid generations count wrong; MRPC/QQP/MultiRC F1 via
 *   `f1_score_with_invalid`; STS-B `float()` with −1 default and NaN → 0; CB macro-F1 over "0","1","2";
 *   MultiRC flat F1 only; ReCoRD and MRQA SQuAD `em`/`f1`, each row against its own target only (answer lists unused).
 * - `official`: GLUE/SuperGLUE leaderboard / HF `evaluate` keys and grouping: MultiRC `exact_match`
 *   per question + `f1_m` + `f1_a`; ReCoRD/SQuAD `exact_match`/`f1` max over gold answers; MRPC/QQP
 *   accuracy + F1; STS-B pearson + spearmanr; CB accuracy + macro `f1` over the 3 classes.
 *   Text-to-text outputs outside the label set are counted wrong here too (for F1: replaced by the
 *   opposite of the target, as DePT does), since the official scripts assume valid labels.
 *
 * Predictions and targets are the decoded, `.strip()`ped strings (DePT `PostProcessor`).
 * `selection` is DePT's `metric_for_best_model = TASK_TO_METRICS[task][0]` (DEPT.md §1.4).
 */
import { DeptError } from '@dept/core';
import { multircScores, qaScores } from './metrics/qa.ts';
import { stringToFloat } from './metrics/python.ts';
import {
  accuracy,
  f1ScoreWithInvalid,
  macroF1,
  matthewsCorrcoef,
  pearsonCorrcoef,
  spearmanCorrcoef,
} from './metrics/stats.ts';

export * from './metrics/python.ts';
export * from './metrics/stats.ts';
export * from './metrics/qa.ts';

/** Which rules {@link computeMetrics} follows. */
export type MetricFlavour = 'dept' | 'official';

/** Metric keys, spelled as DePT / HF report them. */
export type MetricName =
  | 'accuracy'
  | 'f1'
  | 'f1_multiclass'
  | 'matthews_correlation'
  | 'pearson'
  | 'spearmanr'
  | 'em'
  | 'exact_match'
  | 'f1_a'
  | 'f1_m';

/** The family of a task's metrics. */
export type MetricKind = 'accuracy' | 'binary' | 'multiclass' | 'matthews' | 'regression' | 'multirc' | 'squad' | 'record';

/** A task's metrics in both flavours and the one used to pick the best checkpoint. */
export interface MetricSpec {
  /** DePT task name. */
  task: string;
  kind: MetricKind;
  /** Label strings of a multi-class task (CB: "0","1","2"). */
  labels?: readonly string[];
  /** Keys DePT reports, in its order. */
  dept: readonly MetricName[];
  /** Keys the official scripts report, in their order. */
  official: readonly MetricName[];
  /** DePT's selection metric (`TASK_TO_METRICS[task][0]`), a key of `dept`. */
  selection: MetricName;
  /** The matching key of `official`. */
  officialSelection: MetricName;
}

interface KindDefaults {
  dept: readonly MetricName[];
  official: readonly MetricName[];
  selection: MetricName;
  officialSelection: MetricName;
}

const KIND_DEFAULTS: Record<MetricKind, KindDefaults> = {
  accuracy: { dept: ['accuracy'], official: ['accuracy'], selection: 'accuracy', officialSelection: 'accuracy' },
  binary: { dept: ['f1', 'accuracy'], official: ['accuracy', 'f1'], selection: 'accuracy', officialSelection: 'accuracy' },
  multiclass: {
    dept: ['f1_multiclass', 'accuracy'],
    official: ['accuracy', 'f1'],
    selection: 'f1_multiclass',
    officialSelection: 'f1',
  },
  matthews: {
    dept: ['matthews_correlation'],
    official: ['matthews_correlation'],
    selection: 'matthews_correlation',
    officialSelection: 'matthews_correlation',
  },
  regression: { dept: ['pearson', 'spearmanr'], official: ['pearson', 'spearmanr'], selection: 'pearson', officialSelection: 'pearson' },
  multirc: { dept: ['f1'], official: ['exact_match', 'f1_m', 'f1_a'], selection: 'f1', officialSelection: 'f1_a' },
  squad: { dept: ['em', 'f1'], official: ['exact_match', 'f1'], selection: 'em', officialSelection: 'exact_match' },
  record: { dept: ['em', 'f1'], official: ['exact_match', 'f1'], selection: 'f1', officialSelection: 'f1' },
};

function spec(task: string, kind: MetricKind, labels?: readonly string[]): MetricSpec {
  const d = KIND_DEFAULTS[kind];
  return Object.freeze({ task, kind, ...(labels ? { labels: Object.freeze([...labels]) } : {}), ...d });
}

/** Metric specs keyed by DePT task name (every task of DePT `TASK_TO_METRICS`). */
export const METRICS_BY_TASK: Readonly<Record<string, MetricSpec>> = Object.freeze(
  Object.fromEntries(
    [
      spec('mrpc', 'binary'),
      spec('qqp', 'binary'),
      spec('cola', 'matthews'),
      spec('stsb', 'regression'),
      spec('superglue-cb', 'multiclass', ['0', '1', '2']),
      spec('superglue-multirc', 'multirc'),
      spec('superglue-record', 'record'),
      ...['squad', 'nq', 'hotpotqa', 'searchqa', 'newsqa', 'triviaqa'].map((t) => spec(t, 'squad')),
      ...[
        'sst2',
        'mnli',
        'mnli_mismatched',
        'mnli_matched',
        'qnli',
        'rte',
        'wnli',
        'superglue-boolq',
        'superglue-rte',
        'superglue-copa',
        'superglue-wic',
        'superglue-wsc.fixed',
        'multi_nli',
        'snli',
        'imdb',
        'winogrande',
        'scitail',
        'amazon_polarity',
        'yelp_polarity',
        'paws',
      ].map((t) => spec(t, 'accuracy')),
    ].map((s) => [s.task, s]),
  ),
);

/**
 * The metric spec of a DePT task name.
 *
 * @example
 * metricSpecFor('superglue-cb').dept; // ['f1_multiclass', 'accuracy']
 */
export function metricSpecFor(task: string): MetricSpec {
  const s = METRICS_BY_TASK[task];
  if (s === undefined) {
    throw new DeptError(`metricSpecFor: no metrics for task '${task}'; expected one of ${Object.keys(METRICS_BY_TASK).join(', ')}`);
  }
  return s;
}

/**
 * The metric that picks the best dev checkpoint (DePT: `TASK_TO_METRICS[task][0]`, greater is better).
 *
 * @example
 * selectionMetric('mrpc'); // 'accuracy'
 * selectionMetric('superglue-cb'); // 'f1_multiclass'
 * selectionMetric('superglue-multirc', 'official'); // 'f1_a'
 */
export function selectionMetric(task: string, flavour: MetricFlavour = 'dept'): MetricName {
  const s = metricSpecFor(task);
  return flavour === 'dept' ? s.selection : s.officialSelection;
}

/** Options of {@link computeMetrics}. */
export interface ComputeMetricsOptions {
  /** 'dept' (default) or 'official'. */
  flavour?: MetricFlavour;
  /** MultiRC: question id of each answer option (required for official). ReCoRD official: query id of each row; rows of one query are merged (first prediction, all targets as golds). */
  groups?: readonly (string | number)[];
  /**
   * QA, official flavour: all gold answers of each row (default: `[target]`); the score is the max over them. The
   * `dept` flavour ignores them: DePT scores each row against its own target only (its ReCoRD post-processor leaves
   * `answers` unused, `src/postprocessors.py`), so a ReCoRD row duplicated per answer is scored once per answer.
   */
  answers?: readonly (readonly string[])[];
}

function nanToZero(v: number): number {
  return Number.isNaN(v) ? 0 : v;
}

function goldsOf(targets: readonly string[], answers: ComputeMetricsOptions['answers']): (readonly string[])[] {
  if (answers === undefined) return targets.map((t) => [t]);
  if (answers.length !== targets.length) {
    throw new DeptError(`computeMetrics: ${answers.length} answer lists but ${targets.length} targets; expected one per row`);
  }
  return [...answers];
}

/** ReCoRD official: one entry per query (first prediction; golds = union of the rows' golds, in order). */
function mergeByGroup(
  predictions: readonly string[],
  golds: readonly (readonly string[])[],
  groups: readonly (string | number)[],
): { predictions: string[]; golds: string[][] } {
  if (groups.length !== predictions.length) {
    throw new DeptError(`computeMetrics: ${groups.length} group ids but ${predictions.length} predictions; expected one per row`);
  }
  const merged = new Map<string, { p: string; g: string[] }>();
  groups.forEach((id, i) => {
    const key = String(id);
    const entry = merged.get(key);
    if (entry === undefined) merged.set(key, { p: predictions[i] as string, g: [...(golds[i] as readonly string[])] });
    else for (const g of golds[i] as readonly string[]) if (!entry.g.includes(g)) entry.g.push(g);
  });
  const values = [...merged.values()];
  return { predictions: values.map((v) => v.p), golds: values.map((v) => v.g) };
}

/**
 * A task's metrics on decoded predictions, ×100, keyed as DePT (`dept`) or HF `evaluate` (`official`)
 * report them, in that order.
 *
 * @param metricSpec a spec from {@link METRICS_BY_TASK} or a DePT task name.
 * @param predictions decoded, stripped generations.
 * @param targets decoded, stripped target strings.
 * @example
 * computeMetrics('mrpc', ['1', '0', 'yes', '1'], ['1', '0', '1', '0']);
 * // { f1: 50, accuracy: 50 }: 'yes' is flipped to '0' for F1 (tp 1, fp 1, fn 1) and wrong for accuracy
 * computeMetrics('stsb', ['3.8', '1.0', 'n/a'], ['4.0', '1.2', '2.0']); // 'n/a' parses as -1
 */
export function computeMetrics(
  metricSpec: MetricSpec | string,
  predictions: readonly string[],
  targets: readonly string[],
  opts: ComputeMetricsOptions = {},
): Record<string, number> {
  const s = typeof metricSpec === 'string' ? metricSpecFor(metricSpec) : metricSpec;
  const flavour = opts.flavour ?? 'dept';
  if (flavour !== 'dept' && flavour !== 'official') {
    throw new DeptError(`computeMetrics: unknown flavour '${String(flavour)}'; expected 'dept' or 'official'`);
  }
  if (predictions.length !== targets.length) {
    throw new DeptError(
      `computeMetrics(${s.task}): ${predictions.length} predictions but ${targets.length} targets; expected the same number`,
    );
  }
  if (predictions.length === 0) throw new DeptError(`computeMetrics(${s.task}): no predictions; expected at least one`);
  const official = flavour === 'official';
  const out: Record<string, number> = {};
  const keys = official ? s.official : s.dept;
  const put = (values: Partial<Record<MetricName, number>>): Record<string, number> => {
    for (const k of keys) {
      const v = values[k];
      if (v === undefined) throw new DeptError(`computeMetrics(${s.task}): metric '${k}' is not computed for kind '${s.kind}'`);
      out[k] = 100 * v;
    }
    return out;
  };
  switch (s.kind) {
    case 'accuracy':
      return put({ accuracy: accuracy(predictions, targets) });
    case 'binary':
      return put({ accuracy: accuracy(predictions, targets), f1: f1ScoreWithInvalid(predictions, targets) });
    case 'multiclass': {
      const f1 = macroF1(predictions, targets, s.labels ?? [...new Set(targets)].sort());
      return put({ accuracy: accuracy(predictions, targets), f1_multiclass: f1, f1 });
    }
    case 'matthews':
      return put({ matthews_correlation: matthewsCorrcoef(predictions, targets) });
    case 'regression': {
      const p = predictions.map((v) => stringToFloat(v, -1));
      const t = targets.map((v) => stringToFloat(v, -1));
      return put({ pearson: nanToZero(pearsonCorrcoef(t, p)), spearmanr: nanToZero(spearmanCorrcoef(t, p)) });
    }
    case 'multirc': {
      if (!official) return put({ f1: f1ScoreWithInvalid(predictions, targets) });
      if (opts.groups === undefined) {
        throw new DeptError(`computeMetrics(${s.task}): official MultiRC needs opts.groups (the question id of each answer option)`);
      }
      return put(multircScores(predictions, targets, opts.groups));
    }
    case 'squad':
    case 'record': {
      let preds: readonly string[] = predictions;
      let golds = goldsOf(targets, official ? opts.answers : undefined);
      if (official && s.kind === 'record' && opts.groups !== undefined) {
        const merged = mergeByGroup(predictions, golds, opts.groups);
        preds = merged.predictions;
        golds = merged.golds;
      }
      const q = qaScores(preds, golds);
      return put({ em: q.em, exact_match: q.em, f1: q.f1 });
    }
    default:
      throw new DeptError(`computeMetrics: unknown metric kind '${String(s.kind)}'`);
  }
}
