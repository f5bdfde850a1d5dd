/**
 * The progress displays of `dept train` and `dept fewshot`, fed scripted training events (no training): what a log
 * file outside a terminal gets (a line per `log_steps`, evaluation lines only for long evaluations), and what the
 * terminal bar shows after an evaluation.
 */
import { describe, expect, it } from 'vitest';
import type { TrainEvent, TrainResults } from '@dept/train';
import { plural, progressDisplay, progressReporter, type DisplayOutput } from '../src/commands/common.ts';

/** An output that keeps what is written, with a clock the test moves. */
function capture(tty: boolean): DisplayOutput & { text: () => string; advance: (seconds: number) => void } {
  let text = '';
  let clock = 1_000_000;
  const stream = { isTTY: tty, columns: 160, write: (s: string) => { text += s; return true; } } as unknown as DisplayOutput['stream'];
  return { stream, tty, now: () => clock, text: () => text, advance: (seconds) => { clock += seconds * 1000; } };
}

const results: TrainResults = {
  dev: { accuracy: 50 }, test: { accuracy: 75 }, selected_step: 3, selection_metric: 'accuracy', max_steps: 6, wall_seconds: 1,
  backend: 'cpu', predict: 'score', random_weights: true, train_examples: 24, dev_examples: 4, test_examples: 4,
};

/** A run of 6 steps, 3 an epoch, logged every 3 and evaluated at 3 and 6 on 4 dev examples in batches of 2. */
function events(onEval: (step: number) => void = () => undefined): TrainEvent[] {
  const out: TrainEvent[] = [{ type: 'start', step: 0, maxSteps: 6, resumed: false, trainExamples: 24, trainableParameters: 1 }];
  for (let step = 1; step <= 6; step++) {
    out.push({ type: 'step', step, maxSteps: 6, loss: 0.5, learningRate: 0.3, loraLearningRate: 1e-4, epoch: Math.round((step / 3) * 1e4) / 1e4 });
    if (step % 3 === 0) {
      out.push({ type: 'log', record: { loss: 0.25, learning_rate: 0.3, lora_learning_rate: 1e-4, epoch: step / 3, step } });
      onEval(step);
      for (const done of [0, 2, 4]) out.push({ type: 'progress', step, progress: { phase: 'dev', done, total: 4, unit: 'examples' } });
      out.push({ type: 'eval', step, metrics: { accuracy: 50 }, best: step === 3 });
    }
  }
  out.push({ type: 'done', results });
  return out;
}

describe('the training display outside a terminal', () => {
  it('prints a line at each log_steps step with the logged loss and epoch, never a step in between', () => {
    const out = capture(false);
    const show = progressReporter('cb k=4 seed=13', { output: out });
    for (const e of events()) show(e);
    const lines = out.text().trim().split('\n');
    expect(lines).toEqual([
      'cb k=4 seed=13: training (24 examples, 1 trainable parameter, 6 steps)',
      'cb k=4 seed=13: step 3/6 loss 0.2500 lr 3.00e-1 lora_lr 1.00e-4 epoch 1',
      'cb k=4 seed=13: step 3 dev accuracy 50.00 (best so far)',
      'cb k=4 seed=13: step 6/6 loss 0.2500 lr 3.00e-1 lora_lr 1.00e-4 epoch 2',
      'cb k=4 seed=13: step 6 dev accuracy 50.00',
      'cb k=4 seed=13: done; selected step 3; test accuracy 75.00 [random weights]',
    ]);
  });

  it('shows an evaluation that runs long: done/total with the ETA, then how long it took', () => {
    const out = capture(false);
    const show = progressReporter('sst2', { output: out });
    // Each batch of the step-6 evaluation takes 20 s.
    for (const e of events()) {
      if (e.type === 'progress' && e.step === 6 && e.progress.done > 0) out.advance(20);
      show(e);
    }
    const lines = out.text().trim().split('\n').filter((l) => l.includes(' dev at step '));
    expect(lines).toEqual(['sst2 dev at step 6: 2/4 examples (ETA 20s)', 'sst2 dev at step 6: 4/4 examples (done in 40s)']);
  });
});

describe('the training display on a terminal', () => {
  it('brings the step bar back after an evaluation with its values, never its bare template', () => {
    const out = capture(true);
    const show = progressReporter('rte', { output: out });
    for (const e of events()) show(e);
    const text = out.text();
    expect(text).toContain('rte dev at step 3 [');
    expect(text).toContain('loss 0.5000 | lr 3.00e-1 | lora_lr 1.00e-4');
    expect(text).not.toMatch(/\{(loss|lr|loraLr)\}/);
    expect(text).toContain('rte: step 3 dev accuracy 50.00 (best so far)\n');
  });
});

describe('counts', () => {
  it('says 1 cell and 8 cells', () => {
    expect(plural(1, 'cell')).toBe('1 cell');
    expect(plural(8, 'cell')).toBe('8 cells');
    expect(plural(0, 'sub-run')).toBe('0 sub-runs');
  });

  it('progressDisplay without quietSeconds still prints the start of every phase (dept eval)', () => {
    const out = capture(false);
    const show = progressDisplay('eval cb', { output: out });
    show({ phase: 'test', done: 0, total: 2 });
    show({ phase: 'test', done: 2, total: 2 });
    expect(out.text()).toBe('eval cb test: 0/2 examples\neval cb test: 2/2 examples (done in 0s)\n');
  });
});
