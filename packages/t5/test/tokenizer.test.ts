/**
 * tokenizer.json fields that index something are checked when it is read, and long texts are truncated to
 * max_length tokens without tokenising all of them (issue 15). No tfjs here.
 */
import { describe, expect, it, vi } from 'vitest';
import { DeptError, Rng } from '@dept/core';
import { MAX_TEXT_CHARS, MAX_WORD_CHARS, T5Tokenizer, buildDemoTokenizerJson } from '../src/tokenizer.ts';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';

const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'house', 'good', 'bad', 'yes', 'no', 'Zürich', 'café', '42', '3.8', 'e.g.', '(maybe)', 'naïve'];
const demo = () => buildDemoTokenizerJson([WORDS.join(' ')], 96);

/** `n` random words joined by assorted white space (runs of spaces, tabs, newlines). */
function randomText(rng: Rng, n: number): string {
  const seps = [' ', ' ', ' ', '  ', '\t', '\n', ' \n '];
  let out = '';
  for (let i = 0; i < n; i++) out += WORDS[rng.int(WORDS.length)] + seps[rng.int(seps.length)];
  return out;
}

/** What DePT's tokenizer call gives: everything tokenised, then the first maxLength - 1 ids and </s>. */
function cutFull(tok: T5Tokenizer, text: string, maxLength: number): number[] {
  const ids = tok.encode(text);
  return ids.length > maxLength ? [...ids.slice(0, maxLength - 1), tok.eosTokenId] : ids;
}

/** The inner tokenizer's encode, spied on until `stop()`: the lengths of the texts it was given. */
function spyLengths(tok: T5Tokenizer): { lengths: () => number[]; stop: () => void } {
  const inner = (tok as unknown as { tokenizer: { encode: (t: string) => unknown } }).tokenizer;
  const spy = vi.spyOn(inner, 'encode');
  return { lengths: () => spy.mock.calls.map((c) => (c[0] as string).length), stop: () => spy.mockRestore() };
}

const refusal = (json: Record<string, unknown>, config: Record<string, unknown> = {}): string => {
  try {
    new T5Tokenizer(json, config, 'm/tokenizer.json');
  } catch (error) {
    expect(error).toBeInstanceOf(DeptError);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('tokenizer.json fields that index something', () => {
  it('model.type must be one T5 checkpoints use and the library implements', () => {
    const j = demo();
    expect(refusal({ ...j, model: { ...(j.model as object), type: 'WordLevel' } })).toBe('m/tokenizer.json: field "model.type" is "WordLevel", expected one of Unigram, BPE (the tokenizer models T5 checkpoints use)');
    const { type: _t, ...untyped } = j.model as Record<string, unknown>;
    expect(refusal({ ...j, model: untyped })).toContain('field "model.type" is null');
  });
  it('added_tokens entries need an integer id ≥ 0; an id past the model vocabulary is refused against config.json', () => {
    const j = demo();
    const added = j.added_tokens as Record<string, unknown>[];
    expect(refusal({ ...j, added_tokens: [...added, { ...added[0], id: -3, content: 'x' }] })).toContain('"added_tokens" entry 3 is');
    const tok = new T5Tokenizer({ ...j, added_tokens: [...added, { ...added[0], id: 500, content: '<extra>' }] }, {}, 'm/tokenizer.json');
    expect(tok.maxTokenId).toBe(500);
    expect(() => tok.checkFits({ vocab_size: 128, eos_token_id: 1 }, 'm/config.json')).toThrow('m/tokenizer.json: produces token ids up to 500, but m/config.json has vocab_size 128; expected ids below 128');
    expect(() => tok.checkFits({ vocab_size: 501, eos_token_id: 1 })).not.toThrow();
  });
  it('the pad and end-of-sequence tokens must exist, and </s> must be the model\'s eos_token_id', () => {
    const j = demo();
    const vocab = (j.model as { vocab: [string, number][] }).vocab.map(([p, s]) => [p === '</s>' ? '</z>' : p, s]);
    const added = (j.added_tokens as { content: string }[]).filter((t) => t.content !== '</s>');
    expect(refusal({ ...j, added_tokens: added, model: { ...(j.model as object), vocab } })).toContain('has no token "</s>", expected it in the vocabulary');
    expect(refusal(j, { eos_token: { content: '<eos>' } })).toContain('has no token "<eos>"');
    expect(() => new T5Tokenizer(j).checkFits({ vocab_size: 96, eos_token_id: 2 }, 'm/config.json')).toThrow('the end-of-sequence token has id 1, but m/config.json has eos_token_id 2');
  });
});

describe('truncation to max_length tokens', () => {
  const tok = new T5Tokenizer(demo());
  it('gives exactly what tokenising everything and cutting gives, for short and long texts', () => {
    const rng = new Rng(15);
    for (const n of [3, 200, 20_000]) {
      const text = randomText(rng, n);
      for (const maxLength of [1, 2, 5, 64, 300]) expect(tok.encodeTruncated(text, maxLength)).toEqual(cutFull(tok, text, maxLength));
    }
  });
  it('tokenises a bounded prefix of an 8 MB text, not the text', () => {
    const text = randomText(new Rng(1), 1_800_000);
    expect(text.length).toBeGreaterThan(8e6);
    const seen = spyLengths(tok);
    const ids = tok.encodeTruncated(text, 256);
    expect(ids).toHaveLength(256);
    expect(Math.max(...seen.lengths())).toBeLessThanOrEqual(16 * 256 + 1024 + 16);
    seen.stop();
    expect(ids).toEqual(cutFull(tok, text.slice(0, 200_000), 256));
  });
  it('a word longer than MAX_WORD_CHARS ends the text there: the tokenizer never sees a longer one', () => {
    for (const word of ['cat'.repeat(MAX_WORD_CHARS), '字'.repeat(3 * MAX_WORD_CHARS)]) {
      const text = `start ${word} end`;
      const seen = spyLengths(tok);
      const ids = tok.encodeTruncated(text, 16);
      expect(Math.max(...seen.lengths())).toBeLessThanOrEqual(6 + MAX_WORD_CHARS);
      seen.stop();
      expect(ids).toEqual(cutFull(tok, text.slice(0, 6 + MAX_WORD_CHARS), 16));
    }
  });
  it('a text whose first MAX_TEXT_CHARS characters give too few tokens is cut there', () => {
    const text = `${' '.repeat(4 * MAX_TEXT_CHARS)}the cat`;
    const seen = spyLengths(tok);
    const ids = tok.encodeTruncated(text, 16);
    expect(Math.max(...seen.lengths())).toBeLessThanOrEqual(MAX_TEXT_CHARS + MAX_WORD_CHARS);
    seen.stop();
    expect(ids).toEqual([1]); // only white space was read: no token, then </s>
    expect(tok.encode(text)).toHaveLength(3); // all of it: ▁the, ▁cat and </s>
  });
  it('encodeBatch pads and truncates with it', () => {
    const text = randomText(new Rng(2), 5000);
    const batch = tok.encodeBatch([text, 'the cat'], 10);
    expect(batch.input_ids[0]).toEqual(cutFull(tok, text, 10));
    expect(batch.attention_mask[1]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describeShared('truncation with the real T5 tokenizer', () => {
  it('equals tokenising everything, on 300,000 characters of mixed text', () => {
    const tok = T5Tokenizer.fromFolder(sharedPath('models', 't5-tokenizer'));
    const text = randomText(new Rng(7), 50_000);
    const full = tok.encode(text);
    for (const maxLength of [1, 16, 256, 512]) {
      const want = full.length > maxLength ? [...full.slice(0, maxLength - 1), 1] : full;
      expect(tok.encodeTruncated(text, maxLength)).toEqual(want);
    }
  });
});
