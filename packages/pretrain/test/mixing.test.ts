/**
 * The task mixture and the mixture evaluation, against values computed by hand.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { cumulativeWeights, weightedBatchIndices } from '@dept/train';
import { exampleWeights, limitsFor, loadSourceTask, metricsByTask, mixingRates, mixtureEvaluation, sharedLabels, sourceTaskName, subsample } from '@dept/pretrain';

function expectRates(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [k, v] of Object.entries(expected)) expect(actual[k]).toBeCloseTo(v, 12);
}

function expectDeptError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isDeptError(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('mixingRates', () => {
  it('examples-proportional without a cap: n_t / Σn', () => {
    // 300 / 1000, 100 / 1000, 600 / 1000
    expectRates(mixingRates({ a: 300, b: 100, c: 600 }, { kind: 'proportional' }), { a: 0.3, b: 0.1, c: 0.6 });
  });

  it('examples-proportional with a cap: min(n_t, K) / Σ min(n, K)', () => {
    // K = 200: 200, 100, 200 → / 500
    expectRates(mixingRates({ a: 300, b: 100, c: 600 }, { kind: 'proportional', cap: 200 }), { a: 0.4, b: 0.2, c: 0.4 });
    // a cap above every count changes nothing
    expectRates(mixingRates({ a: 300, b: 100 }, { kind: 'proportional', cap: 1000 }), { a: 0.75, b: 0.25 });
  });

  it('temperature: n_t^(1/T) normalised, with the cap applied first', () => {
    // T = 2: √400 = 20, √100 = 10 → 2/3, 1/3
    expectRates(mixingRates({ a: 400, b: 100 }, { kind: 'temperature', temperature: 2 }), { a: 2 / 3, b: 1 / 3 });
    // T = 2, K = 100: √100 = 10, √100 = 10, √25 = 5 → / 25
    expectRates(mixingRates({ a: 400, b: 100, c: 25 }, { kind: 'temperature', temperature: 2, cap: 100 }), { a: 0.4, b: 0.4, c: 0.2 });
    // T = 3: 1000^(1/3) = 10, 8^(1/3) = 2 → 10/12, 2/12
    expectRates(mixingRates({ a: 1000, b: 8 }, { kind: 'temperature', temperature: 3 }), { a: 10 / 12, b: 2 / 12 });
    // T = 1 is proportional
    expectRates(mixingRates({ a: 3, b: 1 }, { kind: 'temperature', temperature: 1 }), { a: 0.75, b: 0.25 });
  });

  it('a very high temperature mixes (almost) equally', () => {
    const r = mixingRates({ a: 1_000_000, b: 1 }, { kind: 'temperature', temperature: 1e9 });
    expect(r.a).toBeCloseTo(0.5, 6);
    expect(r.b).toBeCloseTo(0.5, 6);
  });

  it('rejects what cannot be mixed, naming the field', () => {
    expectDeptError(() => mixingRates({}, { kind: 'proportional' }), /no source tasks/);
    expectDeptError(() => mixingRates({ a: 0, b: 3 }, { kind: 'proportional' }), /task "a" has 0 training examples/);
    expectDeptError(() => mixingRates({ a: 2.5 }, { kind: 'proportional' }), /positive integer/);
    expectDeptError(() => mixingRates({ a: 2 }, { kind: 'temperature', temperature: 0 }), /temperature is 0/);
    expectDeptError(() => mixingRates({ a: 2 }, { kind: 'proportional', cap: 0 }), /cap is 0/);
    expectDeptError(() => mixingRates({ a: 2 }, { kind: 'uniform' as 'proportional' }), /expected proportional or temperature/);
  });
});

describe('exampleWeights', () => {
  it('spreads each task rate evenly over its examples', () => {
    // a: 3 examples share 0.6 → 0.2 each; b: 1 example gets 0.4
    const w = exampleWeights(['a', 'a', 'b', 'a'], { a: 0.6, b: 0.4 });
    expect(w).toHaveLength(4);
    [0.2, 0.2, 0.4, 0.2].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 12));
  });

  it('batches drawn with these weights pick each task at its rate', () => {
    // 30 examples of a, 10 of b, but b gets 3/4 of the draws (the opposite of proportional).
    const tasks = [...new Array<string>(30).fill('a'), ...new Array<string>(10).fill('b')];
    const cumulative = cumulativeWeights(exampleWeights(tasks, { a: 0.25, b: 0.75 }));
    let b = 0;
    let total = 0;
    for (let step = 0; step < 2000; step++) {
      for (const i of weightedBatchIndices({ cumulative, batchSize: 8, seed: 42, step })) {
        if (tasks[i] === 'b') b += 1;
        total += 1;
      }
    }
    // 16000 draws: the standard error of the fraction is √(0.1875/16000) ≈ 0.0034
    expect(b / total).toBeGreaterThan(0.73);
    expect(b / total).toBeLessThan(0.77);
  });

  it('refuses an example of a task without a rate', () => {
    expectDeptError(() => exampleWeights(['a', 'c'], { a: 1 }), /task "c" has no rate/);
  });
});

describe('mixtureEvaluation', () => {
  const ex = (task: string, target: string) => ({ task, source: `${task} input`, target });

  it('scores ReCoRD rows against their own targets in the dept flavour, even with answer lists (issue 15)', () => {
    const answers = ['Obama', 'Barack Obama'];
    const ex = [
      { task: 'superglue-record', source: 'q1', target: 'Obama', answers },
      { task: 'superglue-record', source: 'q1', target: 'Barack Obama', answers },
      { task: 'qnli', source: 's', target: '0' },
    ];
    // ReCoRD: (EM 0, F1 2/3) and (1, 1) -> em 50, f1 500/6; selection f1; qnli accuracy 100 -> average (250/3 + 100) / 2
    const m = mixtureEvaluation(['superglue-record', 'qnli']).metrics(['Barack Obama', 'Barack Obama', '0'], ex);
    expect(m['superglue-record_em']).toBeCloseTo(50, 10);
    expect(m['superglue-record_f1']).toBeCloseTo(500 / 6, 10);
    expect(m.average).toBeCloseTo((500 / 6 + 100) / 2, 10);
  });
  it('scores each task with its own metrics and selects on their mean', () => {
    const examples = [ex('qqp', '1'), ex('qnli', '0'), ex('qqp', '1'), ex('mnli', '2'), ex('qqp', '0'), ex('qnli', '1'), ex('qqp', '0')];
    const predictions = ['1', '0', '0', '2', '0', '0', 'yes'];
    const evaluation = mixtureEvaluation(['qqp', 'qnli', 'mnli']);
    const m = evaluation.metrics(predictions, examples);
    // qqp: predictions 1,0,0,yes vs 1,1,0,0 → accuracy 2/4; DePT F1 turns the invalid "yes" into the opposite of
    // its target ("1"): tp 1, fn 1, fp 1 → F1 0.5. qnli: 0,0 vs 0,1 → 1/2. mnli: 2 vs 2 → 1.
    expect(Object.keys(m)).toEqual(['qqp_f1', 'qqp_accuracy', 'qnli_accuracy', 'mnli_accuracy', 'average']);
    expect(m.qqp_accuracy).toBeCloseTo(50, 10);
    expect(m.qqp_f1).toBeCloseTo(50, 10);
    expect(m.qnli_accuracy).toBeCloseTo(50, 10);
    expect(m.mnli_accuracy).toBeCloseTo(100, 10);
    // selection metrics: qqp accuracy 50, qnli accuracy 50, mnli accuracy 100
    expect(m.average).toBeCloseTo(200 / 3, 10);
    expect(evaluation.selectionMetric).toBe('average');
  });

  it('scores labels only when every task has the same label set', () => {
    expect(sharedLabels(['qqp', 'glue/qnli'])).toEqual(['0', '1']);
    expect(sharedLabels(['qqp', 'mnli'])).toBeNull();
    expect(sharedLabels(['stsb'])).toBeNull();
    expect(mixtureEvaluation(['qqp', 'qnli']).labels).toEqual(['0', '1']);
    expect(mixtureEvaluation(['qqp', 'mnli']).labels).toBeUndefined();
  });

  it('refuses an example of a task outside the mixture', () => {
    const evaluation = mixtureEvaluation(['qqp']);
    expectDeptError(() => evaluation.metrics(['1'], [ex('rte', '1')]), /example 0 has task "rte"/);
  });

  it('splits the keys back per task', () => {
    expect(metricsByTask({ qqp_f1: 10, qqp_accuracy: 20, qnli_accuracy: 30, average: 25 }, ['qqp', 'qnli'])).toEqual({
      qqp: { f1: 10, accuracy: 20 },
      qnli: { accuracy: 30 },
    });
  });
});

describe('subsample and limits', () => {
  it('keeps `limit` distinct items in their original order, the same for the same seed', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = subsample(items, 6, 7);
    expect(a).toHaveLength(6);
    expect(new Set(a).size).toBe(6);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(subsample(items, 6, 7)).toEqual(a);
    expect(subsample(items, 50, 7)).toEqual(items);
    expect(subsample(items, undefined, 7)).toEqual(items);
  });

  it('per-task limits override the general ones', () => {
    expect(limitsFor({ train: 100, dev: 10, tasks: { 'glue/mnli': { train: 50 } } }, 'mnli')).toEqual({ train: 50, dev: 10 });
    expect(limitsFor({ train: 100, tasks: { mnli: { train: 50 } } }, 'qqp')).toEqual({ train: 100 });
    expect(limitsFor(undefined, 'qqp')).toEqual({});
  });
});

describe('source task names', () => {
  it('takes either spelling, knows SQuAD has no reader, and rejects unknown names', () => {
    expect(sourceTaskName('glue/mnli')).toBe('mnli');
    expect(sourceTaskName('SST2')).toBe('sst2');
    expect(sourceTaskName('super_glue/record')).toBe('superglue-record');
    expect(sourceTaskName('squad')).toBeNull();
    expectDeptError(() => sourceTaskName('mnli2'), /sources: unknown task "mnli2"/);
  });
});

describe('loadSourceTask', () => {
  it('leaves rows labelled -1 out of train, dev and test, with a note per part naming the file and the count (issue 15)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dept-source-unlabelled-'));
    try {
      mkdirSync(join(dir, 'RTE'));
      const rows = (n: number, label: (i: number) => string) => ['index\tsentence1\tsentence2\tlabel', ...Array.from({ length: n }, (_, i) => `${i}\tA${i}.\tB${i}.\t${label(i)}`)].join('\n');
      writeFileSync(join(dir, 'RTE', 'train.tsv'), rows(8, (i) => (i === 2 ? '-1' : String(i % 2))));
      writeFileSync(join(dir, 'RTE', 'dev.tsv'), rows(10, () => '-1'));
      const rte = await loadSourceTask('rte', { dataDir: dir, seed: 1 });
      expect(rte.train).toHaveLength(7);
      expect(rte.dev).toHaveLength(0);
      expect(rte.test).toHaveLength(0);
      expect(rte.notes).toEqual([
        `${join(dir, 'RTE', 'train.tsv')}: 1 of the 8 rows of the train part is labelled -1 (unlabelled); it is left out, not trained on`,
        `${join(dir, 'RTE', 'dev.tsv')}: 5 of the 5 rows of the dev part are labelled -1 (unlabelled); they are left out, not scored`,
        `${join(dir, 'RTE', 'dev.tsv')}: 5 of the 5 rows of the test part are labelled -1 (unlabelled); they are left out, not scored`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
