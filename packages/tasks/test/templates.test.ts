/**
 * DePT's templates (DEPT.md §2.5) on rows written here by hand. Every expected string was typed from the template
 * table, not produced by the code under test.
 */
import { describe, expect, it } from 'vitest';
import { cleanRecordPassage, formatRow, getTask, markSpan, removeMarkup, seq2seqFormat, wscText } from '../src/index.ts';

const fmt = (task: string, row: Record<string, unknown>, addPrefix = false) =>
  formatRow(getTask(task), row as never, { addPrefix });

describe('DePT templates, one task at a time', () => {
  it('cola and sst2: "sentence: …", target the label id', () => {
    expect(fmt('cola', { sentence: 'The dog barked loudly.', idx: 0, label: 1 })).toEqual([
      { source: 'sentence: The dog barked loudly.', target: '1' },
    ]);
    expect(fmt('glue/sst2', { sentence: 'a dull , lifeless film .', idx: 3, label: 0 })).toEqual([
      { source: 'sentence: a dull , lifeless film .', target: '0' },
    ]);
  });

  it('mrpc, rte, wnli: "sentence1: … sentence2: …"', () => {
    expect(fmt('mrpc', { sentence1: 'He left at noon .', sentence2: 'He went away at twelve .', idx: 0, label: 1 })[0]).toEqual({
      source: 'sentence1: He left at noon . sentence2: He went away at twelve .',
      target: '1',
    });
    expect(fmt('rte', { sentence1: 'A cat sat on the mat.', sentence2: 'A cat sat.', idx: 0, label: 0 })[0]).toEqual({
      source: 'sentence1: A cat sat on the mat. sentence2: A cat sat.',
      target: '0',
    });
    expect(fmt('glue/wnli', { sentence1: 'Sam hid the key because he was afraid.', sentence2: 'Sam was afraid.', idx: 0, label: 1 })[0]).toEqual({
      source: 'sentence1: Sam hid the key because he was afraid. sentence2: Sam was afraid.',
      target: '1',
    });
  });

  it('qqp and qnli use their own field names', () => {
    expect(fmt('qqp', { question1: 'How do I cook rice?', question2: 'What is the best way to cook rice?', idx: 0, label: 1 })[0].source).toBe(
      'question1: How do I cook rice? question2: What is the best way to cook rice?',
    );
    expect(fmt('qnli', { question: 'Where is Oslo?', sentence: 'Oslo is in Norway.', idx: 0, label: 0 })[0]).toEqual({
      source: 'question: Where is Oslo? sentence: Oslo is in Norway.',
      target: '0',
    });
  });

  it('stsb: the score rounded to one decimal, Python-style ("5.0", half to even)', () => {
    const row = (label: number) => ({ sentence1: 'A man plays.', sentence2: 'A man is playing.', idx: 0, label });
    expect(fmt('stsb', row(Math.fround(3.8)))[0]).toEqual({ source: 'sentence1: A man plays. sentence2: A man is playing.', target: '3.8' });
    expect(fmt('stsb', row(5))[0]!.target).toBe('5.0');
    expect(fmt('stsb', row(0))[0]!.target).toBe('0.0');
    expect(fmt('stsb', row(3.875))[0]!.target).toBe('3.9');
    expect(fmt('stsb', row(1.25))[0]!.target).toBe('1.2');
    expect(fmt('stsb', row(Math.fround(2.55)))[0]!.target).toBe('2.5');
  });

  it('mnli, superglue-cb, superglue-rte: "premise: … hypothesis: …"', () => {
    expect(fmt('mnli', { premise: 'It is raining.', hypothesis: 'The ground is dry.', idx: 0, label: 2 })[0]).toEqual({
      source: 'premise: It is raining. hypothesis: The ground is dry.',
      target: '2',
    });
    expect(fmt('super_glue/cb', { premise: 'I think it will snow.', hypothesis: 'it will snow', idx: 0, label: 2 })[0]).toEqual({
      source: 'premise: I think it will snow. hypothesis: it will snow',
      target: '2',
    });
    expect(fmt('superglue-rte', { premise: 'Ann owns two cats.', hypothesis: 'Ann owns a pet.', idx: 0, label: 0 })[0]!.source).toBe(
      'premise: Ann owns two cats. hypothesis: Ann owns a pet.',
    );
  });

  it('snli keeps DePT\'s "hypothesis: " with its trailing space (two spaces follow it)', () => {
    expect(fmt('snli', { premise: 'A boy runs.', hypothesis: 'A child moves.', label: 0 })[0]).toEqual({
      source: 'premise: A boy runs. hypothesis:  A child moves.',
      target: '0',
    });
  });

  it('scitail: sentence1/sentence2 shown as premise/hypothesis, entailment "0", neutral "1"', () => {
    expect(fmt('scitail', { sentence1: 'Plants need light.', sentence2: 'Light is needed by plants.', label: 0 })[0]).toEqual({
      source: 'premise: Plants need light. hypothesis: Light is needed by plants.',
      target: '0',
    });
  });

  it('superglue-boolq: "question: … passage: …"', () => {
    expect(fmt('superglue-boolq', { question: 'is the sky blue', passage: 'Sky -- The sky looks blue.', idx: 0, label: 1 })[0]).toEqual({
      source: 'question: is the sky blue passage: Sky -- The sky looks blue.',
      target: '1',
    });
  });

  it('superglue-copa: premise and both choices; the cause/effect question is not shown', () => {
    expect(
      fmt('superglue-copa', { premise: 'The glass broke.', choice1: 'I dropped it.', choice2: 'I washed it.', question: 'cause', idx: 0, label: 0 })[0],
    ).toEqual({ source: 'premise: The glass broke. choice1: I dropped it. choice2: I washed it.', target: '0' });
  });

  it('superglue-multirc: question, answer, paragraph, with <br> as a space and <b> tags removed', () => {
    const row = {
      paragraph: '<b>Sent 1: </b>Ada lived in Paris.<br><b>Sent 2: </b>She moved to Rome.<br>',
      question: 'Where did Ada <b>move</b>?',
      answer: 'Rome',
      idx: { paragraph: 0, question: 3, answer: 1 },
      label: 1,
    };
    expect(fmt('superglue-multirc', row)[0]).toEqual({
      source: 'question: Where did Ada move? answer: Rome paragraph: Sent 1: Ada lived in Paris. Sent 2: She moved to Rome. ',
      target: '1',
    });
  });

  it('superglue-wic: sentence1, sentence2, then the word', () => {
    expect(
      fmt('superglue-wic', { word: 'bank', sentence1: 'He sat on the bank.', sentence2: 'The bank was closed.', start1: 14, start2: 4, end1: 18, end2: 8, idx: 0, label: 0 })[0],
    ).toEqual({ source: 'sentence1: He sat on the bank. sentence2: The bank was closed. word: bank', target: '0' });
  });

  it('superglue-wsc.fixed: span 1 in * *, span 2 in # # (index moved by 2 after span 1)', () => {
    const row = { text: 'Mark told Pete many lies about himself , which Pete included in his book .', span1_index: 2, span1_text: 'Pete', span2_index: 12, span2_text: 'his', idx: 0, label: 1 };
    expect(fmt('superglue-wsc.fixed', row)[0]).toEqual({
      source: 'text: Mark told * Pete * many lies about himself , which Pete included in # his # book .',
      target: '1',
    });
    // span 2 before span 1: no shift
    const before = { text: 'She said that Anna would come .', span1_index: 3, span1_text: 'Anna', span2_index: 0, span2_text: 'She', idx: 1, label: 0 };
    expect(fmt('superglue-wsc.fixed', before)[0]!.source).toBe('text: # She # said that * Anna * would come .');
  });

  it('superglue-record: one example per answer, @highlight cleaned, entities joined with ", "', () => {
    const row = {
      passage: 'Heavy rain hit the coast.\n@highlight\nRoads were closed\n@highlight\nSchools shut early',
      query: 'Officials in @placeholder warned drivers.',
      entities: ['Brest', 'Nantes'],
      entity_spans: [],
      answers: ['Brest', 'Nantes'],
      idx: { passage: 0, query: 0 },
    };
    const out = fmt('superglue-record', row);
    const source = 'record query: Officials in @placeholder warned drivers. entities: Brest, Nantes passage: Heavy rain hit the coast. Roads were closed. Schools shut early';
    expect(out).toEqual([
      { source, target: 'Brest' },
      { source, target: 'Nantes' },
    ]);
    expect(fmt('superglue-record', { ...row, answers: [] })).toEqual([{ source, target: '<unk>' }]);
    expect(fmt('superglue-record', row, true)[0]!.source).toBe(`superglue-record ${source}`);
  });

  it('addPrefix prepends DePT\'s task name', () => {
    expect(fmt('rte', { sentence1: 'A.', sentence2: 'B.', idx: 0, label: 1 }, true)[0]!.source).toBe('rte sentence1: A. sentence2: B.');
    expect(fmt('super_glue/boolq', { question: 'q', passage: 'p', idx: 0, label: 0 }, true)[0]!.source).toBe('superglue-boolq question: q passage: p');
    expect(formatRow(getTask('cola'), { sentence: 'Hi.', idx: 0, label: 1 }, { addPrefix: true, prefix: 'cola_task' })[0]!.source).toBe('cola_task sentence: Hi.');
  });

  it('unlabelled test rows give the target "-1", as DePT would', () => {
    expect(fmt('rte', { sentence1: 'A.', sentence2: 'B.', idx: 0, label: -1 })[0]!.target).toBe('-1');
  });
});

describe('template helpers', () => {
  it('seq2seqFormat joins with single spaces, keeping empty parts', () => {
    expect(seq2seqFormat(['a:', '', 'b:', 'x'], ['1'])).toEqual({ source: 'a:  b: x', target: '1' });
  });

  it('removeMarkup and cleanRecordPassage', () => {
    expect(removeMarkup('<b>A</b><br>B')).toBe('A B');
    expect(cleanRecordPassage('It rained!\n@highlight\n"Wet"\n@highlight\nEnd')).toBe('It rained! "Wet" End');
    expect(cleanRecordPassage('Calm\n@highlight\nEnd')).toBe('Calm. End');
  });

  it('markSpan leaves the text alone when the span is not at its index', () => {
    expect(markSpan('one two three', 'two', 0, '*')).toBe('one two three');
    expect(markSpan('one two three', 'two', 1, '*')).toBe('one * two * three');
  });

  it('markSpan treats the span as a regex (as DePT does) but survives one that is not valid', () => {
    expect(markSpan('Mr. Bond came .', 'Mr. Bond', 0, '*')).toBe('* Mr. Bond * came .');
    expect(markSpan('a (b c .', '(b', 1, '#')).toBe('a # (b # c .');
  });

  it('wscText', () => {
    expect(wscText({ text: 'Bob paid Al because he was kind .', span1_index: 0, span1_text: 'Bob', span2_index: 4, span2_text: 'he' })).toBe(
      '* Bob * paid Al because # he # was kind .',
    );
  });
});
