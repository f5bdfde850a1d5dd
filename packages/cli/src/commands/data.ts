/**
 * `dept data`: what data is where, DePT's split of a task, and k-shot samples.
 *
 * - `dept data list [--data-dir D] [--json]`: every task, the folders and layouts holding it, row counts.
 * - `dept data split --task T [--data-dir D] [--json]`: `{"train": {"source", "indices"}, "dev": …, "test": …}`.
 * - `dept data kshot --task T --k K --seed S [--sampler dept|balanced] [--json]`: `{"indices", "class_counts"}`.
 *
 * The result goes to stdout: a table for people, or JSON with `--json`; notes go to stderr.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DeptError, isDir } from '@dept/core';
import {
  TASKS,
  displayFolder,
  findTaskData,
  getTask,
  kshotSample,
  labelledPart,
  loadTaskData,
  resolveDataDir,
  splitRuleFor,
  splitTaskData,
  unlabelledNote,
  type KshotSampler,
  type LayoutName,
  type LoadOptions,
  type TaskData,
} from '@dept/tasks';

interface CommonOptions {
  dataDir?: string;
  layout?: string;
  subset?: string;
  json?: boolean;
}

const LAYOUTS: readonly LayoutName[] = ['glue-tsv', 'mrpc-msr', 'superglue-jsonl', 'scitail-original', 'hf-parquet', 'hf-jsonl', 'pretrain-json', 'lmbff-kshot'];

function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A line of the result (stdout). */
function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function parseInteger(value: string, flag: string, min: number): number {
  if (!/^-?\d+$/.test(value.trim())) throw new DeptError(`${flag} must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min) throw new DeptError(`${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** The data folder of `--data-dir` (else `$DEPT_DATA`, else `datasets`), refused when it is a file. */
function dataFolder(opts: CommonOptions): string {
  const dir = resolveDataDir(opts.dataDir);
  if (existsSync(dir) && !isDir(dir)) throw new DeptError(`${opts.dataDir ? '--data-dir' : 'the data directory'} ${dir}: is a file, expected a folder of task data`);
  return dir;
}

function loadOptions(opts: CommonOptions): LoadOptions {
  const out: LoadOptions = { dataDir: dataFolder(opts) };
  if (opts.layout !== undefined) {
    if (!(LAYOUTS as readonly string[]).includes(opts.layout)) {
      throw new DeptError(`--layout must be one of ${LAYOUTS.join(', ')}, got "${opts.layout}"`);
    }
    out.layout = opts.layout as LayoutName;
  }
  if (opts.subset !== undefined) out.subset = opts.subset;
  // Without an explicit layout, pick the first folder whose files DePT's split can use.
  if (opts.layout === undefined) out.requireSplittable = true;
  return out;
}

/** A plain text table with aligned columns. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')).join('\n');
}

function preview(indices: readonly number[], n = 8): string {
  return indices.length <= n ? indices.join(', ') : `${indices.slice(0, n).join(', ')}, … (${indices.length - n} more)`;
}

function describe(data: TaskData, dataDir: string): string {
  const m = data.match;
  return `${data.task.name} (${data.task.hf}): ${displayFolder(m.folder, dataDir)}${m.subset ? `/${m.subset}` : ''} [${m.layout}]`;
}

async function listAction(opts: CommonOptions): Promise<void> {
  const dataDir = dataFolder(opts);
  const report: { task: string; hf: string; found: { folder: string; layout: LayoutName; subset?: string; subsets?: string[]; rows: Record<string, number> }[] }[] = [];
  for (const task of TASKS) {
    const found = await findTaskData(task.name, dataDir);
    const entry: (typeof report)[number] = { task: task.name, hf: task.hf, found: [] };
    for (const m of found) {
      const data = await loadTaskData(task.name, { dataDir: m.folder, layout: m.layout, ...(m.subset ? { subset: m.subset } : {}) });
      const rows: Record<string, number> = {};
      for (const [split, t] of Object.entries(data.tables)) rows[split] = t.numRows();
      const f: (typeof entry.found)[number] = { folder: displayFolder(m.folder, dataDir), layout: m.layout, rows };
      if (m.subset) f.subset = m.subset;
      if (m.subsets) f.subsets = m.subsets;
      entry.found.push(f);
    }
    report.push(entry);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ data_dir: dataDir, tasks: report }, null, 2)}\n`);
    return;
  }
  const lines: string[][] = [['task', 'hf', 'folder', 'layout', 'rows']];
  for (const e of report) {
    if (e.found.length === 0) lines.push([e.task, e.hf, '-', '-', '(no data)']);
    for (const f of e.found) {
      const folder = f.subset ? `${f.folder}/${f.subset}` + (f.subsets && f.subsets.length > 1 ? ` (+${f.subsets.length - 1} seeds)` : '') : f.folder;
      lines.push([e.task, e.hf, folder, f.layout, Object.entries(f.rows).map(([k, v]) => `${k} ${v}`).join(', ')]);
    }
  }
  out(`data directory: ${dataDir}`);
  out(table(lines));
}

async function splitAction(opts: CommonOptions & { task: string }): Promise<void> {
  const lo = loadOptions(opts);
  const data = await loadTaskData(opts.task, lo);
  const plan = splitTaskData(data);
  for (const part of ['train', 'dev', 'test'] as const) {
    const { unlabelled } = labelledPart(data, plan[part], part);
    if (unlabelled) err(`note: ${unlabelledNote(unlabelled)}`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ train: plan.train, dev: plan.dev, test: plan.test })}\n`);
    return;
  }
  const rule = data.match.layout === 'lmbff-kshot' ? 'as-is (a ready-made LM-BFF split)' : `${splitRuleFor(data.task.name)} (torch.randperm, seed 42)`;
  out(describe(data, lo.dataDir as string));
  out(`DePT split rule: ${rule}`);
  out(
    table([
      ['part', 'source', 'rows', 'indices'],
      ...(['train', 'dev', 'test'] as const).map((p) => [p, plan[p].source, String(plan[p].indices.length), preview(plan[p].indices)]),
    ]),
  );
}

async function kshotAction(opts: CommonOptions & { task: string; k: string; seed: string; sampler: string }): Promise<void> {
  const k = parseInteger(opts.k, '--k', 1);
  const seed = parseInteger(opts.seed, '--seed', 0);
  if (opts.sampler !== 'dept' && opts.sampler !== 'balanced') throw new DeptError(`--sampler must be dept or balanced, got "${opts.sampler}"`);
  getTask(opts.task);
  // The seed picks its own LM-BFF <k>-<seed> folder, as dept train and dept fewshot do.
  const lo: LoadOptions = { ...loadOptions(opts), seed };
  const data = await loadTaskData(opts.task, lo);
  const plan = splitTaskData(data);
  const sample = kshotSample(data, plan, { k, seed, sampler: opts.sampler as KshotSampler });
  if (sample.unlabelled) err(`note: ${unlabelledNote(sample.unlabelled)}`);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ indices: sample.indices, class_counts: sample.classCounts })}\n`);
    return;
  }
  out(describe(data, lo.dataDir as string));
  out(`k-shot: k=${k}, seed=${seed}, sampler=${sample.sampler}${sample.examined !== undefined ? `, rows examined ${sample.examined} of ${plan.train.indices.length}` : ''}`);
  out(table([['class', 'rows'], ...Object.entries(sample.classCounts).map(([c, n]) => [c, String(n)])]));
  out(`indices (rows of the ${sample.source} file, in selection order): ${sample.indices.join(', ')}`);
}

/**
 * Registers `dept data list|split|kshot` on `program`.
 *
 * @example
 * const program = new Command();
 * registerData(program);
 * await program.parseAsync(['data', 'split', '--task', 'rte', '--data-dir', 'datasets/sample', '--json'], { from: 'user' });
 */
export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description('datasets: the layouts found, DePT splits and k-shot samples (data from --data-dir, $DEPT_DATA or datasets/)');
  const common = (cmd: Command): Command =>
    cmd
      .option('--data-dir <dir>', 'where the data lives (default: $DEPT_DATA, else datasets/)')
      .option('--json', 'print the result as JSON instead of a table (default: off)');
  const pick = (cmd: Command): Command =>
    cmd
      .option('--layout <name>', `use the folder in this layout: ${LAYOUTS.join(' | ')} (default: the first folder whose files DePT's split can use)`)
      .option('--subset <k-seed>', 'LM-BFF k-shot layout: the <k>-<seed> folder to use (default: the first)');

  common(data.command('list').description('list the tasks, the folders and layouts that hold them, and their row counts')).action(
    async (opts: CommonOptions) => listAction(opts),
  );

  pick(
    common(
      data
        .command('split')
        .description("DePT's train/dev/test of a task: the source split of each part and its row numbers, in DePT's order")
        .requiredOption('--task <name>', 'task, as DePT names it (rte, superglue-cb) or as Hugging Face does (glue/rte, super_glue/cb) (required)'),
    ),
  ).action(async (opts: CommonOptions & { task: string }) => splitAction(opts));

  pick(
    common(
      data
        .command('kshot')
        .description('a k-shot sample of the train part: train-file row numbers in selection order, and rows per class')
        .requiredOption('--task <name>', 'task, as DePT names it (rte, superglue-cb) or as Hugging Face does (glue/rte, super_glue/cb) (required)')
        .requiredOption('--k <n>', 'number of examples (required)')
        .option('--seed <n>', 'training seed (DePT shuffles the train set with it)', '42')
        .option('--sampler <name>', "dept (DePT's rule, exactly) or balanced (always k rows)", 'dept'),
    ),
  ).action(async (opts: CommonOptions & { task: string; k: string; seed: string; sampler: string }) => kshotAction(opts));
}
