/**
 * DePT's text-to-text templates (`src/tasks.py` of ZhengxiangShi/DePT, `preprocessor` of each task class):
 * `source = " ".join(parts)`, no task prefix unless asked for, and the label id as a digit string for the target.
 * Quirks are kept on purpose: SNLI's `"hypothesis: "` (two spaces follow it), COPA's unused `question`, STS-B's
 * no-op "round to 0.2", MultiRC's markup removal and ReCoRD's `@highlight` cleaning and one example per answer.
 */
import { DeptError } from '@dept/core';
import { stsbTargetString } from './algorithms.ts';
import type { TaskSpec } from './registry.ts';
import type { RowValue, TaskRow } from './types.ts';

/** Options for {@link formatRow}. */
export interface FormatOptions {
  /** Prepend the task name (`rte sentence1: …`), DePT's `--add_prefix` (default false, as in the paper's runs). */
  addPrefix?: boolean;
  /** The prefix to use instead of the task name. */
  prefix?: string;
}

/** A formatted pair; ReCoRD rows give one per gold answer. */
export interface SourceTarget {
  source: string;
  target: string;
}

/**
 * DePT's `seq2seq_format`: joins the parts with single spaces, optionally after the task-name prefix.
 *
 * @example
 * seq2seqFormat(['sentence:', 'It rains.'], ['1']);                              // { source: 'sentence: It rains.', target: '1' }
 * seq2seqFormat(['sentence:', 'It rains.'], ['1'], { addPrefix: true }, 'cola'); // { source: 'cola sentence: It rains.', target: '1' }
 */
export function seq2seqFormat(sources: readonly string[], targets: readonly string[], opts: FormatOptions = {}, name = ''): SourceTarget {
  const prefix = opts.prefix ?? name;
  const parts = opts.addPrefix ? [prefix, ...sources] : [...sources];
  return { source: parts.join(' '), target: targets.join(' ') };
}

/**
 * MultiRC's `remove_markup`: `<br>` becomes a space, `<b>` and `</b>` go.
 *
 * @example
 * removeMarkup('Sent 1: <b>Hi</b><br>Sent 2'); // 'Sent 1: Hi Sent 2'
 */
export function removeMarkup(text: string): string {
  return text.replace(/<br>/g, ' ').replace(/<(\/)?b>/g, '');
}

/**
 * ReCoRD's passage cleaning: `\n@highlight\n` after closing punctuation becomes a space, otherwise `. `.
 *
 * @example
 * cleanRecordPassage('A storm hit.\n@highlight\nRoads closed\n@highlight\nSchools shut'); // 'A storm hit. Roads closed. Schools shut'
 */
export function cleanRecordPassage(passage: string): string {
  return passage.replace(/(\.|\?|!|"|')\n@highlight\n/g, '$1 ').replace(/\n@highlight\n/g, '. ');
}

/**
 * T5's `_mark_span` as DePT copies it: the regex `^((?:\S+\s){N})(W)` with the span text `W` pasted in unescaped,
 * replaced by `\1<mark> \2 <mark>`. When the span is not at word `N` the text comes back unchanged. (A span that is
 * not a valid regex, which would crash DePT, is matched literally.)
 *
 * @example
 * markSpan('The cat sat .', 'cat', 1, '*'); // 'The * cat * sat .'
 */
export function markSpan(text: string, spanText: string, spanIndex: number, mark: string): string {
  let re: RegExp;
  try {
    re = new RegExp(`^((?:\\S+\\s){${spanIndex}})(${spanText})`);
  } catch {
    re = new RegExp(`^((?:\\S+\\s){${spanIndex}})(${spanText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`);
  }
  return text.replace(re, (_m, pre: string, span: string) => `${pre}${mark} ${span} ${mark}`);
}

/**
 * The WSC source text: span 1 wrapped in `*`, span 2 in `#`; span 2's word index moves by 2 when span 1 comes
 * first (the two added marks).
 *
 * @example
 * wscText({ text: 'Bob paid Al because he was kind .', span1_index: 0, span1_text: 'Bob', span2_index: 4, span2_text: 'he' });
 * // '* Bob * paid Al because # he # was kind .'
 */
export function wscText(row: { text: string; span1_index: number; span1_text: string; span2_index: number; span2_text: string }): string {
  let text = markSpan(row.text, row.span1_text, row.span1_index, '*');
  const span2 = row.span2_index + 2 * (row.span1_index < row.span2_index ? 1 : 0);
  text = markSpan(text, row.span2_text, span2, '#');
  return text;
}

/**
 * Formats one row of `task` as DePT does. Most tasks give one pair; ReCoRD gives one per gold answer (or one
 * `<unk>` target when the row has none).
 *
 * @example
 * formatRow(getTask('rte'), { sentence1: 'A dog ran.', sentence2: 'An animal ran.', label: 0, idx: 0 });
 * // [{ source: 'sentence1: A dog ran. sentence2: An animal ran.', target: '0' }]
 * formatRow(getTask('superglue-cb'), { premise: 'P.', hypothesis: 'H', label: 2, idx: 0 }, { addPrefix: true });
 * // [{ source: 'superglue-cb premise: P. hypothesis: H', target: '2' }]
 */
export function formatRow(task: TaskSpec, row: TaskRow, opts: FormatOptions = {}): SourceTarget[] {
  const s = (col: string): string => textOf(task, row, col);
  const label = (): string => String(num(task, row, 'label'));
  const one = (parts: string[], target: string): SourceTarget[] => [seq2seqFormat(parts, [target], opts, task.name)];
  switch (task.name) {
    case 'cola':
    case 'sst2':
      return one(['sentence:', s('sentence')], label());
    case 'mrpc':
    case 'rte':
    case 'wnli':
      return one(['sentence1:', s('sentence1'), 'sentence2:', s('sentence2')], label());
    case 'stsb':
      return one(['sentence1:', s('sentence1'), 'sentence2:', s('sentence2')], stsbTargetString(num(task, row, 'label')));
    case 'qqp':
      return one(['question1:', s('question1'), 'question2:', s('question2')], label());
    case 'mnli':
      return one(['premise:', s('premise'), 'hypothesis:', s('hypothesis')], label());
    case 'snli':
      // DePT writes "hypothesis: " with a trailing space, so two spaces follow it.
      return one(['premise:', s('premise'), 'hypothesis: ', s('hypothesis')], label());
    case 'qnli':
      return one(['question:', s('question'), 'sentence:', s('sentence')], label());
    case 'superglue-boolq':
      return one(['question:', s('question'), 'passage:', s('passage')], label());
    case 'superglue-rte':
    case 'superglue-cb':
      return one(['premise:', s('premise'), 'hypothesis:', s('hypothesis')], label());
    case 'superglue-copa':
      return one(['premise:', s('premise'), 'choice1:', s('choice1'), 'choice2:', s('choice2')], label());
    case 'superglue-multirc':
      return one(
        ['question:', removeMarkup(s('question')), 'answer:', removeMarkup(s('answer')), 'paragraph:', removeMarkup(s('paragraph'))],
        label(),
      );
    case 'superglue-wic':
      return one(['sentence1:', s('sentence1'), 'sentence2:', s('sentence2'), 'word:', s('word')], label());
    case 'superglue-wsc.fixed':
      return one(
        [
          'text:',
          wscText({
            text: s('text'),
            span1_index: num(task, row, 'span1_index'),
            span1_text: s('span1_text'),
            span2_index: num(task, row, 'span2_index'),
            span2_text: s('span2_text'),
          }),
        ],
        label(),
      );
    case 'superglue-record': {
      const entities = strings(task, row, 'entities');
      const answers = strings(task, row, 'answers');
      let source = `record query: ${s('query')} entities: ${entities.join(', ')} passage: ${cleanRecordPassage(s('passage'))}`;
      if (opts.addPrefix) source = `${opts.prefix ?? task.name} ${source}`;
      return (answers.length > 0 ? answers : ['<unk>']).map((target) => ({ source, target }));
    }
    case 'scitail':
      return one(['premise:', s('sentence1'), 'hypothesis:', s('sentence2')], label());
    default:
      throw new DeptError(`no template for task ${task.name}`);
  }
}

function textOf(task: TaskSpec, row: TaskRow, col: string): string {
  const v: RowValue | undefined = row[col];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new DeptError(`${task.name}: row has no text column "${col}"`);
}

function num(task: TaskSpec, row: TaskRow, col: string): number {
  const v = row[col];
  if (typeof v === 'number') return v;
  throw new DeptError(`${task.name}: row has no numeric column "${col}"`);
}

function strings(task: TaskSpec, row: TaskRow, col: string): string[] {
  const v = row[col];
  if (Array.isArray(v)) return v.map(String);
  throw new DeptError(`${task.name}: row has no list column "${col}"`);
}
