import { describe, expect, it } from 'vitest';
import { TASKS, getTask, id2label, isTaskName, label2id, labelToId, labelsList } from '../src/index.ts';

describe('task names', () => {
  it('accepts DePT names and Hugging Face names for the same task', () => {
    const pairs: [string, string][] = [
      ['rte', 'glue/rte'],
      ['stsb', 'glue/stsb'],
      ['mnli', 'glue/mnli'],
      ['superglue-cb', 'super_glue/cb'],
      ['superglue-wsc.fixed', 'super_glue/wsc.fixed'],
      ['superglue-record', 'super_glue/record'],
      ['superglue-rte', 'super_glue/rte'],
      ['superglue-multirc', 'super_glue/multirc'],
      ['scitail', 'scitail/snli_format'],
    ];
    for (const [dept, hf] of pairs) {
      expect(getTask(hf).name).toBe(dept);
      expect(getTask(dept).hf).toBe(hf);
    }
    expect(getTask('RTE').name).toBe('rte');
    expect(getTask('nyu-mll/glue/qnli').name).toBe('qnli');
    expect(getTask('aps/super_glue/boolq').name).toBe('superglue-boolq');
  });

  it('lists every task of the issue', () => {
    const names = TASKS.map((t) => t.name);
    for (const n of ['cola', 'sst2', 'mrpc', 'qqp', 'stsb', 'mnli', 'qnli', 'rte', 'wnli', 'superglue-boolq', 'superglue-cb', 'superglue-copa', 'superglue-multirc', 'superglue-wic', 'superglue-wsc.fixed', 'superglue-record', 'superglue-rte', 'scitail']) {
      expect(names).toContain(n);
    }
  });

  it('rejects an unknown name with one line listing the known ones', () => {
    expect(() => getTask('glue/rtee')).toThrow(/unknown task "glue\/rtee"; expected one of cola, sst2/);
    expect(isTaskName('squad')).toBe(false);
    expect(isTaskName('super_glue/cb')).toBe(true);
  });
});

describe('labels in Hugging Face order', () => {
  it('CB is entailment, contradiction, neutral (not MNLI order)', () => {
    expect(getTask('superglue-cb').labelNames).toEqual(['entailment', 'contradiction', 'neutral']);
    expect(getTask('mnli').labelNames).toEqual(['entailment', 'neutral', 'contradiction']);
    expect(label2id(getTask('superglue-cb'))).toEqual({ entailment: 0, contradiction: 1, neutral: 2 });
  });

  it('WNLI is reversed against RTE', () => {
    expect(id2label(getTask('wnli'))).toEqual({ 0: 'not_entailment', 1: 'entailment' });
    expect(id2label(getTask('rte'))).toEqual({ 0: 'entailment', 1: 'not_entailment' });
  });

  it('the other tasks', () => {
    expect(getTask('cola').labelNames).toEqual(['unacceptable', 'acceptable']);
    expect(getTask('qqp').labelNames).toEqual(['not_duplicate', 'duplicate']);
    expect(getTask('mrpc').labelNames).toEqual(['not_equivalent', 'equivalent']);
    expect(getTask('qnli').labelNames).toEqual(['entailment', 'not_entailment']);
    expect(getTask('superglue-copa').labelNames).toEqual(['choice1', 'choice2']);
    expect(getTask('superglue-boolq').labelNames).toEqual(['False', 'True']);
    expect(getTask('scitail').labelNames).toEqual(['entailment', 'neutral']);
  });

  it('labelsList: digit strings; STS-B 0.0 … 5.0 in steps of 0.2; none for ReCoRD', () => {
    expect(labelsList(getTask('superglue-cb'))).toEqual(['0', '1', '2']);
    const stsb = labelsList(getTask('stsb'));
    expect(stsb.length).toBe(26);
    expect(stsb.slice(0, 4)).toEqual(['0.0', '0.2', '0.4', '0.6']);
    expect(stsb.at(-1)).toBe('5.0');
    expect(labelsList(getTask('superglue-record'))).toEqual([]);
  });

  it('labelToId reads names, ids, booleans and -1, and refuses anything else', () => {
    expect(labelToId(getTask('superglue-cb'), 'neutral', 'f:1')).toBe(2);
    expect(labelToId(getTask('rte'), 'not_entailment', 'f:1')).toBe(1);
    expect(labelToId(getTask('rte'), '1', 'f:1')).toBe(1);
    expect(labelToId(getTask('rte'), 1n, 'f:1')).toBe(1);
    expect(labelToId(getTask('superglue-wic'), true, 'f:1')).toBe(1);
    expect(labelToId(getTask('superglue-wic'), false, 'f:1')).toBe(0);
    expect(labelToId(getTask('scitail'), 'entails', 'f:1')).toBe(0);
    expect(labelToId(getTask('qqp'), -1, 'f:1')).toBe(-1);
    expect(labelToId(getTask('stsb'), '2.55', 'f:1')).toBe(Math.fround(2.55));
    expect(() => labelToId(getTask('superglue-cb'), 'entailed', 'val.jsonl:4')).toThrow(
      'val.jsonl:4: unknown label "entailed" for superglue-cb (expected entailment, contradiction, neutral or an id 0..2)',
    );
    expect(() => labelToId(getTask('rte'), 2, 'x:2')).toThrow(/x:2: unknown label 2 for rte/);
    expect(() => labelToId(getTask('stsb'), 'high', 'x:3')).toThrow(/x:3: unknown label "high" for stsb/);
  });
});
