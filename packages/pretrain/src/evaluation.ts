/**
 * Evaluation of a task mixture: the dev (or test) examples of every source task in one list, each carrying its
 * `task`; metrics are computed per task with the task's own rules and reported as `<task>_<metric>`, plus
 * `average`, the mean over tasks of each task's selection metric, which picks the best shared bank.
 */
import { DeptError } from '@dept/core';
import { getTask, labelsList, selectionMetric, type Example } from '@dept/tasks';
import { exampleMetrics, type Evaluation, type TextExample } from '@dept/train';

/** The key of the mean of the per-task selection metrics. */
export const AVERAGE_METRIC = 'average';

/**
 * The label strings every task shares, or null when they differ (label scoring needs one label set).
 *
 * @example
 * sharedLabels(['qqp', 'qnli']); // ['0', '1']
 * sharedLabels(['mnli', 'qnli']); // null
 */
export function sharedLabels(tasks: readonly string[]): string[] | null {
  let first: string[] | null = null;
  for (const name of tasks) {
    const task = getTask(name);
    if (task.labelKind !== 'class') return null;
    const labels = labelsList(task);
    if (first === null) first = labels;
    else if (first.length !== labels.length || first.some((l, i) => l !== labels[i])) return null;
  }
  return first;
}

/**
 * The trainer's evaluation for a mixture of `tasks`: each example must carry `task` (as `loadDeptDataset`'s
 * examples do). Metrics are `<task>_<metric>` for every task present plus `average` (the selection metric).
 *
 * @example
 * const evaluation = mixtureEvaluation(['qqp', 'qnli']);
 * evaluation.metrics(['1', '0', '0'], [{ task: 'qqp', source: '…', target: '1' }, { task: 'qqp', source: '…', target: '1' }, { task: 'qnli', source: '…', target: '0' }]);
 * // { qqp_f1: 66.67, qqp_accuracy: 50, qnli_accuracy: 100, average: 75 }
 */
export function mixtureEvaluation(tasks: readonly string[], flavour: 'dept' | 'official' = 'dept'): Evaluation {
  if (tasks.length === 0) throw new DeptError('mixture evaluation: no tasks; expected at least one source task');
  const names = tasks.map((t) => getTask(t).name);
  const labels = sharedLabels(names);
  return {
    metrics: (predictions, examples) => {
      const byTask = new Map<string, { predictions: string[]; examples: (TextExample & Partial<Example>)[] }>();
      for (const name of names) byTask.set(name, { predictions: [], examples: [] });
      examples.forEach((e, i) => {
        const ex = e as TextExample & Partial<Example>;
        const slot = ex.task === undefined ? undefined : byTask.get(ex.task);
        if (!slot) throw new DeptError(`mixture evaluation: example ${i} has task ${JSON.stringify(ex.task)}; expected one of ${names.join(', ')}`);
        slot.predictions.push(predictions[i] as string);
        slot.examples.push(ex);
      });
      const out: Record<string, number> = {};
      const selected: number[] = [];
      for (const [name, slot] of byTask) {
        if (slot.examples.length === 0) continue;
        const metrics = exampleMetrics(name, slot.predictions, slot.examples, flavour);
        for (const [k, v] of Object.entries(metrics)) out[`${name}_${k}`] = v;
        selected.push(metrics[selectionMetric(name, flavour)] as number);
      }
      if (selected.length === 0) throw new DeptError('mixture evaluation: no examples to evaluate');
      out[AVERAGE_METRIC] = selected.reduce((a, b) => a + b, 0) / selected.length;
      return out;
    },
    selectionMetric: AVERAGE_METRIC,
    ...(labels ? { labels } : {}),
  };
}

/**
 * Splits `<task>_<metric>` keys back into one record per task (the `average` key is left out).
 *
 * @example
 * metricsByTask({ qqp_accuracy: 50, qnli_accuracy: 100, average: 75 }, ['qqp', 'qnli']);
 * // { qqp: { accuracy: 50 }, qnli: { accuracy: 100 } }
 */
export function metricsByTask(metrics: Readonly<Record<string, number>>, tasks: readonly string[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  // Longest names first, so a task whose name prefixes another's never takes its keys.
  const ordered = [...tasks].sort((a, b) => b.length - a.length);
  for (const [key, value] of Object.entries(metrics)) {
    const task = ordered.find((t) => key.startsWith(`${t}_`));
    if (task === undefined) continue;
    (out[task] ??= {})[key.slice(task.length + 1)] = value;
  }
  const ordered2: Record<string, Record<string, number>> = {};
  for (const t of tasks) if (out[t]) ordered2[t] = out[t];
  return ordered2;
}
