/**
 * The T5 tokenizer, read from a Hugging Face `tokenizer.json` (fast-tokenizer format) with
 * `@huggingface/tokenizers`: `encode` appends `</s>` (id 1), pad is 0. For demos where no real tokenizer exists,
 * {@link buildDemoTokenizerJson} writes a small T5-style Unigram tokenizer from a text sample.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DeptError, parseJsonText } from '@dept/core';

/** A padded batch of token ids. */
export interface TokenBatch {
  /** `[b][len]` ids. */
  input_ids: number[][];
  /** `[b][len]` 1 for real tokens, 0 for padding. */
  attention_mask: number[][];
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
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}, where = 'tokenizer.json') {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson as never, tokenizerConfig as never);
    } catch (error) {
      throw new DeptError(`${where}: not a usable tokenizer (${error instanceof Error ? error.message : String(error)})`);
    }
    const model = tokenizerJson.model as { vocab?: unknown[] } | undefined;
    this.vocabSize = Array.isArray(model?.vocab) ? model.vocab.length : 0;
    this.padTokenId = this.tokenId('<pad>') ?? 0;
    this.eosTokenId = this.tokenId('</s>') ?? 1;
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a folder. */
  static fromFolder(dir: string): T5Tokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new DeptError(`${dir}: no tokenizer.json (the fast-tokenizer file is required; spiece.model alone is not read)`);
    const json = parseJsonText<Record<string, unknown>>(readFileSync(path, 'utf8'), path);
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? parseJsonText<Record<string, unknown>>(readFileSync(configPath, 'utf8'), configPath) : {};
    return new T5Tokenizer(json, config, path);
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
   * Encodes and pads/truncates every text to exactly `maxLength` (DePT pads inputs to exactly s; truncation keeps
   * the first `maxLength - 1` tokens and then `</s>`, as HF's `truncation=True` does for T5).
   */
  encodeBatch(texts: readonly string[], maxLength: number): TokenBatch {
    const input_ids: number[][] = [];
    const attention_mask: number[][] = [];
    for (const text of texts) {
      let ids = this.encode(text);
      if (ids.length > maxLength) ids = [...ids.slice(0, maxLength - 1), this.eosTokenId];
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
