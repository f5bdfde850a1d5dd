/**
 * A GLUE/SuperGLUE task's evaluation for the trainer: its metrics (DePT's or the official flavour, ×100, with
 * MultiRC question groups and ReCoRD answer lists taken from the examples), its selection metric and its label
 * strings (for label scoring).
 */
import { computeMetrics, getTask, labelsList, selectionMetric, type Example, type TaskSpec } from '@dept/tasks';
import type { TextExample } from './evaluate.ts';
import type { Evaluation } from './trainer.ts';

/**
 * @example
 * const evaluation = taskEvaluation('superglue-cb'); // selects on f1_multiclass, labels "0", "1", "2"
 */
export function taskEvaluation(task: TaskSpec | string, flavour: 'dept' | 'official' = 'dept'): Evaluation {
  const spec = typeof task === 'string' ? getTask(task) : task;
  const labels = labelsList(spec);
  return {
    metrics: (predictions, examples) => {
      const ex = examples as readonly (TextExample & Partial<Example>)[];
      const groups = ex.every((e) => e.group !== undefined) ? ex.map((e) => e.group as number) : undefined;
      const answers = ex.every((e) => Array.isArray(e.answers)) ? ex.map((e) => e.answers as string[]) : undefined;
      return computeMetrics(spec.name, predictions, ex.map((e) => e.target), {
        flavour, ...(groups ? { groups } : {}), ...(answers ? { answers } : {}),
      });
    },
    selectionMetric: selectionMetric(spec.name, flavour),
    ...(labels.length > 0 && spec.labelKind === 'class' ? { labels } : {}),
  };
}
