/**
 * Installs what scripts/mini_t5/device_run.sh brought back from the GPU into models/mini-t5: checks every file
 * against the sha256 in the run's summary.json, checks that the run used the corpus built here (manifest sha256)
 * and that the written folder gave the in-memory model's logits, adds the tokenizer files, loads the folder with
 * `loadPretrainedT5`, measures parity against Hugging Face's logits, and fills the model card's placeholders.
 *
 *   node --conditions=dept-source --import tsx scripts/mini_t5/install_model.ts <files_at> [--to models/mini-t5] [--corpus .dept-cache/mini-t5-corpus]
 *        [--tokenizer ../shared/models/t5-tokenizer | none] [--replace] [--allow-stand-in]
 *
 * Everything is written to a temporary folder beside the target first and moved in only once it loads. A target that
 * already holds installed files is refused unless --replace. Bad input: one line `install_model: error: …`, exit 2.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeptError, writeFileAtomic } from '@dept/core';
import { initBackend } from '@dept/tensor';
import { loadPretrainedT5 } from '@dept/t5';
import { miniT5Parity, type ParityResult } from './parity.ts';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'spiece.model'];
const BUNDLED = ['config.json', 'model.safetensors.index.json', 'parity.json', 'train_log.jsonl', 'loss.svg', 'summary.json'];
/** Parity tolerance of the issue: our float32 logits within 1e-4 of Hugging Face's. */
export const PARITY_TOLERANCE = 1e-4;

interface Options {
  files: string;
  to: string;
  corpus: string;
  tokenizer: string | null;
  replace: boolean;
  allowStandIn: boolean;
}

/** The parts of train.py's summary.json that are read here. */
interface Summary {
  model: string;
  config: Record<string, number | string | boolean | string[]>;
  parameters: number;
  device: string;
  versions: Record<string, string | null>;
  corpus: { manifest_sha256: string };
  objective: { span_corruption: { inputs_length: number; raw_chunk_length: number }; supervised_rate: number };
  optimiser: { peak_lr: number; weight_decay: number; clip: number; warmup_steps: number };
  batch: { span_corruption: number; supervised: number };
  steps: number;
  train_time_s: number;
  wall_time_s: number;
  tokens_seen: { input: number; target: number };
  examples_seen: { span: number; supervised: number };
  final: { span_val_loss: number | null; supervised_val_loss: number | null };
  last_train: { span_loss: number | null; supervised_loss: number | null } | null;
  best: { step: number | null; span_val_loss: number | null; supervised_val_loss: number | null };
  parity: { loss: number; roundtrip_max_abs_diff: number };
  files: Record<string, { bytes: number; sha256: string }>;
}

/** The parts of build_corpus.ts's manifest.json that are read here. */
interface Manifest {
  tool: string;
  tokenizer: { tokenizer_json_sha256: string };
  sources: { name: string; origin: string; version: string | null; documents_train: number; documents_val: number; tokens_train: number; tokens_val: number; duplicates_dropped: number; evaluation_overlaps_dropped: number }[];
  supervised: { per_task: Record<string, { train: number; val: number; tokens_train: number; tokens_val: number }>; evaluation_overlaps_dropped: number } | null;
  totals: { text_tokens_train: number; text_tokens_val: number; supervised_tokens_train: number; supervised_tokens_val: number };
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    files: '', to: join(REPO_ROOT, 'models', 'mini-t5'), corpus: join(REPO_ROOT, '.dept-cache', 'mini-t5-corpus'),
    tokenizer: join(REPO_ROOT, '..', 'shared', 'models', 't5-tokenizer'), replace: false, allowStandIn: false,
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new DeptError(`${a}: expected a value`);
      return v;
    };
    if (a === '--to') o.to = resolve(value());
    else if (a === '--corpus') o.corpus = resolve(value());
    else if (a === '--tokenizer') {
      const v = value();
      o.tokenizer = v === 'none' ? null : resolve(v);
    } else if (a === '--replace') o.replace = true;
    else if (a === '--allow-stand-in') o.allowStandIn = true;
    else if (a.startsWith('--')) throw new DeptError(`unknown option ${a} (expected --to, --corpus, --tokenizer, --replace, --allow-stand-in)`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new DeptError('expected one argument: the folder of files device_run.sh brought back (bundle.tar.gz, model-*.safetensors, parity.safetensors)');
  o.files = resolve(rest[0] as string);
  return o;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function readJson<T>(path: string, what: string): T {
  if (!existsSync(path)) throw new DeptError(`${path}: not found (${what})`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new DeptError(`${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

const fmt = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));
const int = (x: number): string => x.toLocaleString('en-US');

/** The corpus table of the model card, from the manifest. */
export function corpusTable(m: Manifest): string {
  const lines = ['| source | documents (train / val) | tokens (train / val) | duplicates dropped | evaluation overlaps dropped |', '|---|---|---|---|---|'];
  for (const s of m.sources) {
    lines.push(`| ${s.name} (${s.origin}${s.version ? ` ${s.version}` : ''}) | ${int(s.documents_train)} / ${int(s.documents_val)} | ${int(s.tokens_train)} / ${int(s.tokens_val)} | ${int(s.duplicates_dropped)} | ${int(s.evaluation_overlaps_dropped)} |`);
  }
  lines.push(`| **span-corruption text, all** | | **${int(m.totals.text_tokens_train)} / ${int(m.totals.text_tokens_val)}** | | |`);
  if (m.supervised) {
    for (const [task, t] of Object.entries(m.supervised.per_task)) {
      lines.push(`| supervised ${task} (examples) | ${int(t.train)} / ${int(t.val)} | ${int(t.tokens_train)} / ${int(t.tokens_val)} | | |`);
    }
    lines.push(`| **supervised, all** | | **${int(m.totals.supervised_tokens_train)} / ${int(m.totals.supervised_tokens_val)}** | | ${int(m.supervised.evaluation_overlaps_dropped)} |`);
  }
  return lines.join('\n');
}

/** Placeholder values of the model card. */
export function cardValues(s: Summary, m: Manifest, parity: ParityResult, weightBytes: number, shardCount: number): Record<string, string> {
  const c = s.config;
  return {
    d_model: String(c.d_model), d_kv: String(c.d_kv), d_ff: String(c.d_ff), num_layers: String(c.num_layers), num_decoder_layers: String(c.num_decoder_layers),
    num_heads: String(c.num_heads), vocab_size: int(Number(c.vocab_size)), dropout_rate: String(c.dropout_rate), parameters: int(s.parameters),
    embedding_parameters: int(Number(c.vocab_size) * Number(c.d_model)), weight_bytes: int(weightBytes), shard_count: String(shardCount),
    inputs_length: String(s.objective.span_corruption.inputs_length), raw_chunk_length: String(s.objective.span_corruption.raw_chunk_length),
    supervised_rate: String(s.objective.supervised_rate), weight_decay: String(s.optimiser.weight_decay), peak_lr: String(s.optimiser.peak_lr),
    warmup_steps: String(s.optimiser.warmup_steps), clip: String(s.optimiser.clip), batch_span: String(s.batch.span_corruption), batch_supervised: String(s.batch.supervised),
    steps: int(s.steps), tokens_seen: int(s.tokens_seen.input + s.tokens_seen.target), input_tokens: int(s.tokens_seen.input), target_tokens: int(s.tokens_seen.target),
    span_examples: int(s.examples_seen.span), supervised_examples: int(s.examples_seen.supervised), train_time_s: String(s.train_time_s), wall_time_s: String(s.wall_time_s),
    hardware: s.device, software: Object.entries(s.versions).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', '), best_step: String(s.best.step),
    last_train_span_loss: fmt(s.last_train?.span_loss), last_train_supervised_loss: fmt(s.last_train?.supervised_loss),
    best_span_val_loss: fmt(s.best.span_val_loss), best_supervised_val_loss: fmt(s.best.supervised_val_loss),
    final_span_val_loss: fmt(s.final.span_val_loss), final_supervised_val_loss: fmt(s.final.supervised_val_loss),
    corpus_table: corpusTable(m),
    parity: `packages/t5 against \`parity.safetensors\` (${parity.note}): max |logit difference| ${parity.maxAbsLogitDiff.toExponential(2)} over ${parity.maxAbsLogit.toFixed(2)} max |logit|, loss ${parity.loss.toFixed(6)} against ${parity.expectedLoss.toFixed(6)}, greedy ids ${JSON.stringify(parity.greedy) === JSON.stringify(parity.expectedGreedy) ? 'equal' : 'DIFFERENT'} (test/mini-t5/parity.test.ts, tolerance ${PARITY_TOLERANCE}).`,
  };
}

/** Fills `{{name}}` placeholders (leaving unknown ones, e.g. the few-shot table) and replaces the TEMPLATE status note. */
export function fillCard(template: string, values: Record<string, string>, installedFrom: string): { text: string; left: string[] } {
  const left = new Set<string>();
  const body = template.replace(/> \*\*Status: TEMPLATE\.\*\*[\s\S]*?\n\n/, '<<STATUS>>\n\n');
  let text = body.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    if (name in values) return values[name] as string;
    left.add(name);
    return whole;
  });
  const still = left.size ? ` Still to fill: ${[...left].map((n) => `\`{{${n}}}\``).join(', ')}.` : '';
  text = text.replace('<<STATUS>>', `> **Status: installed** from ${installedFrom} by scripts/mini_t5/install_model.ts. The numbers below are this small model's, measured by its training run.${still}`);
  return { text, left: [...left] };
}

async function install(o: Options): Promise<void> {
  if (!existsSync(o.files)) throw new DeptError(`${o.files}: folder not found`);
  const shards = readdirSync(o.files).filter((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)).sort();
  for (const need of ['bundle.tar.gz', 'parity.safetensors']) {
    if (!existsSync(join(o.files, need))) throw new DeptError(`${join(o.files, need)}: not found (device_run.sh writes bundle.tar.gz, model-*.safetensors and parity.safetensors)`);
  }
  if (shards.length === 0) throw new DeptError(`${o.files}: no model-0000N-of-0000M.safetensors shards`);

  const unpacked = mkdtempSync(join(tmpdir(), 'mini-t5-bundle-'));
  try {
    const tar = spawnSync('tar', ['xzf', join(o.files, 'bundle.tar.gz'), '-C', unpacked], { encoding: 'utf8' });
    if (tar.status !== 0) throw new DeptError(`${join(o.files, 'bundle.tar.gz')}: not a readable tar.gz (${tar.stderr.trim()})`);
    const run = join(unpacked, 'mini-t5');
    const summary = readJson<Summary>(join(run, 'summary.json'), 'the run summary inside bundle.tar.gz');
    if (summary.model !== 'hf' && !o.allowStandIn) {
      throw new DeptError(`${join(o.files, 'bundle.tar.gz')}: summary.json says model "${summary.model}"; only the Hugging Face model ("hf") is installed (--allow-stand-in for tests)`);
    }
    if (!(summary.parity.roundtrip_max_abs_diff <= 1e-5)) {
      throw new DeptError(`summary.json: the written folder gave logits ${summary.parity.roundtrip_max_abs_diff} away from the in-memory model's (expected <= 1e-5): the shards are not the trained weights`);
    }
    const sources = new Map<string, string>();
    for (const n of [...shards, 'parity.safetensors']) sources.set(n, join(o.files, n));
    for (const n of BUNDLED) sources.set(n, join(run, n));
    for (const [name, path] of sources) {
      if (!existsSync(path)) throw new DeptError(`${path}: not found (the run lists ${name})`);
      if (name === 'summary.json') continue;
      const want = summary.files[name];
      if (!want) throw new DeptError(`summary.json: no sha256 for ${name}`);
      if (sha256(path) !== want.sha256) throw new DeptError(`${path}: sha256 differs from the one in summary.json (a damaged or mixed-up file)`);
    }
    const index = readJson<{ weight_map: Record<string, string> }>(join(run, 'model.safetensors.index.json'), 'the shard index');
    const listed = [...new Set(Object.values(index.weight_map))].sort();
    if (listed.join() !== shards.join()) throw new DeptError(`${o.files}: the shards (${shards.join(', ')}) are not the ones the index names (${listed.join(', ')})`);

    const manifestPath = join(o.corpus, 'manifest.json');
    const manifest = readJson<Manifest>(manifestPath, 'the corpus manifest; build the corpus with build_corpus.ts or pass --corpus');
    if (sha256(manifestPath) !== summary.corpus.manifest_sha256) {
      throw new DeptError(`${manifestPath}: sha256 differs from the corpus the run used (summary.json corpus.manifest_sha256); pass --corpus with the folder that was carried to the GPU`);
    }
    sources.set('corpus-manifest.json', manifestPath);
    if (o.tokenizer) {
      for (const n of TOKENIZER_FILES) sources.set(n, join(o.tokenizer, n));
      if (!existsSync(join(o.tokenizer, 'tokenizer.json'))) throw new DeptError(`${o.tokenizer}: no tokenizer.json (pass --tokenizer DIR)`);
      if (sha256(join(o.tokenizer, 'tokenizer.json')) !== manifest.tokenizer.tokenizer_json_sha256) {
        throw new DeptError(`${join(o.tokenizer, 'tokenizer.json')}: not the tokenizer the corpus was built with (sha256 differs from manifest.json)`);
      }
    }

    // The target: only our own files are ever replaced, and only with --replace.
    mkdirSync(o.to, { recursive: true });
    const cardPath = join(o.to, 'README.md');
    const card = existsSync(cardPath) ? readFileSync(cardPath, 'utf8') : '';
    if (!card.includes('{{')) throw new DeptError(`${cardPath}: no model-card template with {{placeholders}} (restore it from git)`);
    const present = [...sources.keys()].filter((n) => existsSync(join(o.to, n)));
    const oldShards = readdirSync(o.to).filter((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n));
    if ((present.length || oldShards.length) && !o.replace) {
      throw new DeptError(`${o.to}: already holds ${[...present, ...oldShards][0]} (an installed model); pass --replace to install over it`);
    }

    const staging = mkdtempSync(join(dirname(o.to), `.${basename(o.to)}-install-`));
    try {
      for (const [name, path] of sources) writeFileAtomic(join(staging, name), readFileSync(path));
      await initBackend({ backend: 'wasm', announce: false });
      const loaded = loadPretrainedT5(staging);
      loaded.model.dispose();
      const parity = await miniT5Parity(staging);
      if (!(parity.maxAbsLogitDiff <= PARITY_TOLERANCE)) {
        throw new DeptError(`${o.files}: packages/t5's logits differ from parity.safetensors by ${parity.maxAbsLogitDiff} (tolerance ${PARITY_TOLERANCE}); not installed`);
      }
      const weightBytes = shards.reduce((a, n) => a + readFileSync(join(o.files, n)).length, 0);
      const { text, left } = fillCard(card, cardValues(summary, manifest, parity, weightBytes, shards.length), `the GPU run of ${summary.device}`);
      writeFileAtomic(join(staging, 'README.md'), text);
      for (const n of oldShards) if (!sources.has(n)) rmSync(join(o.to, n));
      for (const n of readdirSync(staging)) renameSync(join(staging, n), join(o.to, n));
      process.stderr.write(`install_model: installed ${o.to}: ${summary.parameters} parameters, ${shards.length} shards, parity max |diff| ${parity.maxAbsLogitDiff.toExponential(2)}${left.length ? `; the card still has {{${left.join('}}, {{')}}}` : ''}\n`);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  try {
    await install(parseArgs(process.argv.slice(2)));
    return 0;
  } catch (error) {
    if (error instanceof DeptError) {
      process.stderr.write(`install_model: error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main();
