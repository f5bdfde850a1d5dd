/**
 * The T5 tokenizer, read from a Hugging Face `tokenizer.json` (fast-tokenizer format) with
 * `@huggingface/tokenizers`: `encode` appends `</s>` (id 1), pad is 0. For demos where no real tokenizer exists,
 * {@link buildDemoTokenizerJson} writes a small T5-style Unigram tokenizer from a text sample.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DeptError, readJsonFile } from '@dept/core';

/** A padded batch of token ids. */
export interface TokenBatch {
  /** `[b][len]` ids. */
  input_ids: number[][];
  /** `[b][len]` 1 for real tokens, 0 for padding. */
  attention_mask: number[][];
}

/** The tokenizer models dept reads: those @huggingface/tokenizers implements that T5 checkpoints use (t5, flan-t5 and
 * mt5 ship Unigram, CodeT5 ships BPE). */
export const TOKENIZER_MODEL_TYPES: readonly string[] = Object.freeze(['Unigram', 'BPE']);

/**
 * Characters tokenised per needed token before {@link T5Tokenizer.encodeTruncated} tries a longer prefix (T5 averages
 * about 4 characters a token); plus {@link PREFIX_SLACK_CHARS}.
 */
const PREFIX_CHARS_PER_TOKEN = 16;
const PREFIX_SLACK_CHARS = 1024;
/**
 * The longest run of characters without white space that is tokenised (4096: no real word is this long); a
 * longer one is cut there. @huggingface/tokenizers 0.2 needs this bound: it spends some 20 µs a character on a run
 * its vocabulary lacks, and overflows its stack on a word of a few 10^5 characters.
 */
export const MAX_WORD_CHARS = 1 << 12;
/**
 * The most characters of one text that are tokenised (2^18, some 60,000 tokens of English, over 100 times DePT's
 * longest input): a text whose first 2^18 characters give fewer than max_length tokens (white space, say) is cut
 * there, where DePT would tokenise all of it.
 */
export const MAX_TEXT_CHARS = 1 << 18;
/** Tokens a prefix must give beyond the cut, so that the special tokens a post-processor appends never matter. */
const PREFIX_TOKEN_MARGIN = 8;

/** A special token of `tokenizer_config.json` (a string, or an AddedToken object with `content`), if given. */
function configToken(config: Record<string, unknown>, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * Checks the parts of a `tokenizer.json` that index something, before the library builds it: `model.type` among
 * {@link TOKENIZER_MODEL_TYPES}, the vocabulary's ids, and every `added_tokens` entry an integer id ≥ 0 with text.
 * Returns the number of vocabulary entries and the largest id any token can produce.
 */
function checkTokenizerJson(json: Record<string, unknown>, where: string): { vocabSize: number; maxId: number } {
  const model = json.model;
  if (typeof model !== 'object' || model === null || Array.isArray(model)) throw new DeptError(`${where}: field "model" is missing, expected the tokenizer model object`);
  const m = model as Record<string, unknown>;
  if (typeof m.type !== 'string' || !TOKENIZER_MODEL_TYPES.includes(m.type)) {
    throw new DeptError(`${where}: field "model.type" is ${JSON.stringify(m.type ?? null)}, expected one of ${TOKENIZER_MODEL_TYPES.join(', ')} (the tokenizer models T5 checkpoints use)`);
  }
  let vocabSize: number;
  let maxId = -1;
  if (m.type === 'Unigram') {
    if (!Array.isArray(m.vocab) || m.vocab.length === 0) throw new DeptError(`${where}: field "model.vocab" must be a non-empty list of [piece, score] pairs for a Unigram model`);
    vocabSize = m.vocab.length;
    maxId = vocabSize - 1;
  } else {
    if (typeof m.vocab !== 'object' || m.vocab === null || Array.isArray(m.vocab)) throw new DeptError(`${where}: field "model.vocab" must be an object of {token: id} for a ${m.type} model`);
    const ids = Object.values(m.vocab as Record<string, unknown>);
    vocabSize = ids.length;
    for (const [token, id] of Object.entries(m.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new DeptError(`${where}: "model.vocab" gives token ${JSON.stringify(token)} the id ${JSON.stringify(id)}, expected an integer ≥ 0`);
      }
      if (id > maxId) maxId = id;
    }
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new DeptError(`${where}: field "added_tokens" must be a list`);
  added.forEach((t: unknown, i: number) => {
    const tok = t as { id?: unknown; content?: unknown } | null;
    if (typeof tok !== 'object' || tok === null || typeof tok.content !== 'string' || typeof tok.id !== 'number' || !Number.isSafeInteger(tok.id) || tok.id < 0) {
      throw new DeptError(`${where}: "added_tokens" entry ${i} is ${JSON.stringify(t)?.slice(0, 120)}, expected {"id": an integer ≥ 0, "content": text, ...}`);
    }
    if (tok.id > maxId) maxId = tok.id;
  });
  return { vocabSize, maxId };
}

/**
 * A T5 tokenizer.
 *
 * @example
 * const tok = T5Tokenizer.fromFolder('../shared/models/t5-tokenizer');
 * tok.encode('translate English to German: The house is wonderful.');
 * // [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]
 */
export class T5Tokenizer {
  readonly padTokenId: number;
  readonly eosTokenId: number;
  /** Number of entries of the tokenizer's vocabulary (32100 for T5; the model may have more rows). */
  readonly vocabSize: number;
  /** The largest id the tokenizer can produce (vocabulary and added tokens): it must index a row of the model. */
  readonly maxTokenId: number;
  /** The file it was read from, for messages. */
  readonly where: string;
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}, where = 'tokenizer.json') {
    const { vocabSize, maxId } = checkTokenizerJson(tokenizerJson, where);
    try {
      this.tokenizer = new Tokenizer(tokenizerJson as never, tokenizerConfig as never);
    } catch (error) {
      throw new DeptError(`${where}: not a usable tokenizer (${error instanceof Error ? error.message : String(error)})`);
    }
    this.where = where;
    this.vocabSize = vocabSize;
    this.maxTokenId = maxId;
    const id = (token: string): number => {
      const v = this.tokenId(token);
      if (v === undefined) throw new DeptError(`${where}: has no token ${JSON.stringify(token)}, expected it in the vocabulary (T5 pads with <pad> and ends every sequence with </s>)`);
      return v;
    };
    this.padTokenId = id(configToken(tokenizerConfig, 'pad_token') ?? '<pad>');
    this.eosTokenId = id(configToken(tokenizerConfig, 'eos_token') ?? '</s>');
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a folder. */
  static fromFolder(dir: string): T5Tokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new DeptError(`${dir}: no tokenizer.json (the fast-tokenizer file is required; spiece.model alone is not read)`);
    const json = readJsonFile<Record<string, unknown>>(path, 'the fast-tokenizer file');
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DeptError(`${path}: expected a JSON object`);
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJsonFile<Record<string, unknown>>(configPath, 'the tokenizer config') : {};
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new DeptError(`${configPath}: expected a JSON object`);
    return new T5Tokenizer(json, config, path);
  }

  /**
   * Refuses a tokenizer that does not fit a model, before any work: an id it can produce (vocabulary or added
   * tokens) outside the model's `vocab_size` rows, or an end-of-sequence id other than the model's `eos_token_id`
   * (generation would never stop where training taught it to).
   *
   * @example
   * tokenizer.checkFits(config, 'models/t5-base/config.json');
   */
  checkFits(config: { vocab_size: number; eos_token_id: number }, configWhere = 'config.json'): void {
    if (this.maxTokenId >= config.vocab_size) {
      throw new DeptError(`${this.where}: produces token ids up to ${this.maxTokenId}, but ${configWhere} has vocab_size ${config.vocab_size}; expected ids below ${config.vocab_size}`);
    }
    if (this.eosTokenId !== config.eos_token_id) {
      throw new DeptError(`${this.where}: the end-of-sequence token has id ${this.eosTokenId}, but ${configWhere} has eos_token_id ${config.eos_token_id}; expected the same id`);
    }
  }

  /** The id of a token string, or undefined. */
  tokenId(token: string): number | undefined {
    const ids = this.tokenizer.encode(token, { add_special_tokens: false } as never) as unknown as { ids: number[]; tokens: string[] };
    const special = (this.tokenizer as unknown as { token_to_id?: (t: string) => number | undefined }).token_to_id;
    if (special) return special.call(this.tokenizer, token) ?? undefined;
    return ids.tokens.length === 1 && ids.tokens[0] === token ? ids.ids[0] : undefined;
  }

  /** Token ids of `text`, with `</s>` appended. */
  encode(text: string): number[] {
    return (this.tokenizer.encode(text) as unknown as { ids: number[] }).ids;
  }

  /**
   * The ids of `text` cut to `maxLength` as DePT's tokenizer call (`truncation=True, max_length=s`) cuts them: the
   * first `maxLength - 1` tokens and then `</s>`; shorter texts are returned whole. A long text is not tokenised in
   * full: a prefix of about 16 characters per token (ending at white space) is tokenised, and longer ones only when
   * it gives too few tokens. Because T5's tokenizer splits at white space before anything else, the result is the
   * same as tokenising everything. Never tokenised: a word past {@link MAX_WORD_CHARS} characters (the text is cut
   * there), and more than {@link MAX_TEXT_CHARS} characters (plus the end of a word).
   *
   * @example
   * tok.encodeTruncated('a '.repeat(10_000_000), 4); // 3 tokens and </s>, from a prefix of some 1,100 characters
   */
  encodeTruncated(text: string, maxLength: number): number[] {
    const cut = (ids: number[]): number[] => (ids.length > maxLength ? [...ids.slice(0, maxLength - 1), this.eosTokenId] : ids);
    let chars = Math.min(PREFIX_CHARS_PER_TOKEN * maxLength + PREFIX_SLACK_CHARS, MAX_TEXT_CHARS);
    for (;;) {
      let end = chars >= text.length ? text.length : prefixEnd(text, chars);
      const longWord = longRunCut(text, end);
      if (longWord >= 0) end = longWord;
      if (end >= text.length) return cut(this.encode(text));
      const ids = this.encode(text.slice(0, end));
      // Enough tokens: the rest of the text cannot change them. A word cut, or MAX_TEXT_CHARS read: no further.
      if (longWord >= 0 || ids.length >= maxLength + PREFIX_TOKEN_MARGIN || chars >= MAX_TEXT_CHARS) return cut(ids);
      chars = Math.min(4 * end, MAX_TEXT_CHARS);
    }
  }

  /**
   * Encodes and pads/truncates every text to exactly `maxLength` (DePT pads inputs to exactly s; truncation keeps
   * the first `maxLength - 1` tokens and then `</s>`, as HF's `truncation=True` does for T5).
   */
  encodeBatch(texts: readonly string[], maxLength: number): TokenBatch {
    const input_ids: number[][] = [];
    const attention_mask: number[][] = [];
    for (const text of texts) {
      const ids = this.encodeTruncated(text, maxLength);
      const pad = maxLength - ids.length;
      input_ids.push([...ids, ...new Array<number>(pad).fill(this.padTokenId)]);
      attention_mask.push([...new Array<number>(ids.length).fill(1), ...new Array<number>(pad).fill(0)]);
    }
    return { input_ids, attention_mask };
  }

  /** Text of `ids`, skipping special tokens (`<pad>`, `</s>`) and trimmed, as DePT's post-processing. */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true } as never).trim();
  }
}

/** JavaScript's `\s`: the white space T5's pre-tokenizer splits at. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Where a prefix of at least `from` characters ends: at the next white space, at most {@link MAX_WORD_CHARS} on. */
function prefixEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_WORD_CHARS);
  for (let i = from; i < limit; i++) if (isSpace(text.charCodeAt(i))) return i;
  return limit;
}

/**
 * Where the first run of more than {@link MAX_WORD_CHARS} characters without white space in `text[0, end)` is cut
 * (after MAX_WORD_CHARS of them, never between the halves of a surrogate pair), or -1 when there is none.
 */
function longRunCut(text: string, end: number): number {
  let run = 0;
  for (let i = 0; i < end; i++) {
    if (isSpace(text.charCodeAt(i))) run = 0;
    else if (++run > MAX_WORD_CHARS) {
      const code = text.charCodeAt(i - 1);
      return code >= 0xd800 && code <= 0xdbff ? i - 1 : i;
    }
  }
  return -1;
}

/**
 * A small T5-style Unigram `tokenizer.json` built from sample texts: `<pad>` 0, `</s>` 1, `<unk>` 2, then `▁`, the
 * characters seen, then the most frequent words (as `▁word`), up to `vocabSize` entries. It is a stand-in for demos
 * with random weights where no real tokenizer is available; it is not the T5 vocabulary.
 *
 * @example
 * const json = buildDemoTokenizerJson(['The cat sat.', 'A dog ran.'], 512);
 */
export function buildDemoTokenizerJson(texts: readonly string[], vocabSize: number): Record<string, unknown> {
  const counts = new Map<string, number>();
  const chars = new Set<string>();
  for (const text of texts) {
    for (const word of text.split(/\s+/u)) {
      if (!word) continue;
      for (const ch of word) chars.add(ch);
      // Split punctuation off so "sat." also teaches "sat".
      for (const part of word.match(/[\p{L}\p{N}]+|[^\p{L}\p{N}]/gu) ?? []) counts.set(part, (counts.get(part) ?? 0) + 1);
    }
  }
  const vocab: [string, number][] = [['<pad>', 0], ['</s>', 0], ['<unk>', 0], ['▁', -2]];
  const seen = new Set(vocab.map((v) => v[0]));
  for (const ch of [...chars].sort()) {
    if (vocab.length >= vocabSize) break;
    if (!seen.has(ch)) {
      vocab.push([ch, -10]);
      seen.add(ch);
    }
  }
  const words = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [word, count] of words) {
    if (vocab.length >= vocabSize) break;
    const piece = `▁${word}`;
    if (!seen.has(piece)) {
      vocab.push([piece, -Math.log(1 + 1 / count)]);
      seen.add(piece);
    }
    if (vocab.length < vocabSize && !seen.has(word) && word.length > 1) {
      vocab.push([word, -3 - Math.log(1 + 1 / count)]);
      seen.add(word);
    }
  }
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<pad>'), special(1, '</s>'), special(2, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }] },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  };
}
