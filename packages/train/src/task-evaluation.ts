/**
 * A GLUE/SuperGLUE task's evaluation for the trainer: its metrics (DePT's or the official flavour, ×100, with
 * MultiRC question groups taken from the examples, ReCoRD answer lists for the official flavour), its selection metric and its label
 * strings (for label scoring).
 */
import { computeMetrics, getTask, labelsList, selectionMetric, type Example, type TaskSpec } from '@dept/tasks';
import type { TextExample } from './evaluate.ts';
import type { Evaluation } from './trainer.ts';

/**
 * One task's metrics on its examples (×100): MultiRC question groups when every example has one; ReCoRD and QA
 * answer lists only for the `official` flavour (DePT's own scores each row against its own target).
 *
 * @example
 * exampleMetrics('superglue-cb', ['0', '1'], [{ source: '…', target: '0' }, { source: '…', target: '2' }]);
 * // { f1_multiclass: 33.33, accuracy: 50 }
 */
export function exampleMetrics(
  task: string, predictions: readonly string[], examples: readonly TextExample[], flavour: 'dept' | 'official' = 'dept',
): Record<string, number> {
  const ex = examples as readonly (TextExample & Partial<Example>)[];
  const groups = ex.every((e) => e.group !== undefined) ? ex.map((e) => e.group as number) : undefined;
  const answers = flavour === 'official' && ex.every((e) => Array.isArray(e.answers)) ? ex.map((e) => e.answers as string[]) : undefined;
  return computeMetrics(task, predictions, ex.map((e) => e.target), {
    flavour, ...(groups ? { groups } : {}), ...(answers ? { answers } : {}),
  });
}

/**
 * @example
 * const evaluation = taskEvaluation('superglue-cb'); // selects on f1_multiclass, labels "0", "1", "2"
 */
export function taskEvaluation(task: TaskSpec | string, flavour: 'dept' | 'official' = 'dept'): Evaluation {
  const spec = typeof task === 'string' ? getTask(task) : task;
  const labels = labelsList(spec);
  return {
    metrics: (predictions, examples) => exampleMetrics(spec.name, predictions, examples, flavour),
    selectionMetric: selectionMetric(spec.name, flavour),
    ...(labels.length > 0 && spec.labelKind === 'class' ? { labels } : {}),
  };
}
