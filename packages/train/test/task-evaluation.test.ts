/**
 * The trainer's task evaluation on examples as `loadDeptDataset` makes them (ReCoRD rows duplicated per answer,
 * each carrying every answer), against scores computed by hand from DePT's rules (issue 15).
 */
import { describe, expect, it } from 'vitest';
import type { Example } from '@dept/tasks';
import { exampleMetrics, taskEvaluation } from '../src/task-evaluation.ts';

/** Query q1 has two gold answers, so it is two rows; q2 has one. Every row carries its query's answers. */
const rows: Example[] = [
  { task: 'superglue-record', source: 'record query: q1', target: 'Obama', answers: ['Obama', 'Barack Obama'], split: 'validation', row: 0 },
  { task: 'superglue-record', source: 'record query: q1', target: 'Barack Obama', answers: ['Obama', 'Barack Obama'], split: 'validation', row: 0 },
  { task: 'superglue-record', source: 'record query: q2', target: 'Paris', answers: ['Paris'], split: 'validation', row: 1 },
];
const predictions = ['Barack Obama', 'Barack Obama', 'London'];

function expectScores(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [k, v] of Object.entries(expected)) expect(actual[k]).toBeCloseTo(v, 10);
}

describe('ReCoRD evaluation with the answer lists present', () => {
  it('dept flavour: each duplicated row against its own target only (DePT src/postprocessors.py Record)', () => {
    // row 1: 'barack obama' vs 'obama': EM 0, F1 = 2·(1/2)·1 / (3/2) = 2/3; row 2: 1, 1; row 3: 0, 0
    const expected = { em: 100 / 3, f1: (100 * (2 / 3 + 1)) / 3 };
    expectScores(taskEvaluation('superglue-record').metrics(predictions, rows), expected);
    expectScores(exampleMetrics('superglue-record', predictions, rows, 'dept'), expected);
  });
  it('official flavour: each row takes the max over all of its answers', () => {
    // rows 1 and 2 both match 'Barack Obama' exactly: 1, 1; row 3: 0, 0
    expectScores(taskEvaluation('superglue-record', 'official').metrics(predictions, rows), { exact_match: 200 / 3, f1: 200 / 3 });
  });
});
