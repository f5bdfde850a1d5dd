import { existsSync, readdirSync } from 'node:fs';
import type { Command } from 'commander';
import { DeptError, isDir, parseTempName } from '@dept/core';
import type { BankInspection, ImportBankOptions } from '@dept/transfer';
import { intOption } from '../options.ts';

function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(10);
}

/** The human table of `dept bank inspect` (its notes go to stderr); `scaling` is lora_alpha/√r when the bank has A and B. */
function formatInspection(info: BankInspection, scaling: number | null): string {
  const lines: string[] = [`format: ${info.format}  (${info.path})`];
  const c = info.config;
  if (c) {
    const keys = ['peft_type', 'num_virtual_tokens', 'token_dim', 'max_length', 'r', 'lora_alpha', 'num_transformer_submodules', 'num_tasks', 'base_model_name_or_path'];
    const parts = keys.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => `${k} ${typeof c[k] === 'string' ? c[k] : JSON.stringify(c[k])}`);
    lines.push(`config: ${parts.join(', ')}`);
    if (scaling !== null) lines.push(`scaling: ${scaling.toFixed(6)}`);
  } else lines.push('config: none');
  const rows = Object.entries(info.tensors).map(([name, t]) => [
    name,
    `[${t.shape.join(', ')}]`,
    t.dtype,
    fmtNum(t.sum),
    fmtNum(t.l2),
    t.first.map((v) => v.toPrecision(8)).join(', '),
  ]);
  const header = ['tensor', 'shape', 'dtype', 'sum', 'l2', 'first values'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((x, i) => x.padEnd(widths[i] as number)).join('  ').trimEnd();
  lines.push(line(header), ...rows.map(line));
  return `${lines.join('\n')}\n`;
}

/**
 * `bank convert` writes only a new `--out` (or an empty folder); an existing bank is replaced only with `--force`,
 * and a folder holding anything but bank files never.
 */
function refuseExistingOut(out: string, force: boolean, bankFiles: readonly string[]): void {
  if (!existsSync(out)) return;
  if (!isDir(out)) throw new DeptError(`--out ${out}: exists and is not a folder (expected a bank folder)`);
  const entries = readdirSync(out).filter((n) => parseTempName(n) === null);
  const others = entries.filter((n) => !bankFiles.includes(n));
  const list = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;
  if (others.length > 0) throw new DeptError(`--out ${out}: exists and holds files other than a bank (${list(others)}); refusing to replace it: choose another --out`);
  if (entries.length > 0 && !force) throw new DeptError(`--out ${out}: already holds a bank (${list(entries)}); use --force to replace it, or another --out`);
}

/**
 * `dept bank inspect PATH [--json]` and `dept bank convert SRC [--to dept|peft] --out DIR [--force]`: read banks of
 * any supported format (DePT `.bin`, ATTEMPT `.pt`, PEFT, PEFT multitask, ours) and write ours (the default) or
 * plain PEFT. The result goes to stdout (a table or a line; `--json`: JSON), notes to stderr. inspect exits with
 * status 2 (after showing the bank) when loading it would be refused.
 */
export function registerBank(program: Command): void {
  const bank = program.command('bank').description('inspect and convert prompt banks (DePT .bin, ATTEMPT .pt, PEFT, ours)');
  bank
    .command('inspect')
    .description('show the format, config and per-tensor statistics (float64 sum, L2, first values) of a bank')
    .argument('<path>', 'a bank folder or weights file, or a hub id fetched with dept bank fetch (org/name[@revision])')
    .option('--json', 'print the result as JSON instead of a table (default: off)')
    .action(async (path: string, opts: { json?: boolean }) => {
      const { inspectBank, resolveBankRef } = await import('@dept/transfer');
      const { bankScaling } = await import('@dept/prompt');
      const info = inspectBank(resolveBankRef(path).path); // a hub id (dept bank fetch) or dir#name reads that bank
      const c = info.config;
      const scaling = c && typeof c.r === 'number' && c.r > 0 ? bankScaling({ r: c.r, lora_alpha: typeof c.lora_alpha === 'number' ? c.lora_alpha : 8 }) : null;
      if (opts.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else {
        process.stdout.write(formatInspection(info, scaling));
        for (const n of info.notes) process.stderr.write(`note: ${n}\n`);
      }
      // Shown in full, then refused as loading would refuse it: a script checking the exit status learns it too.
      if (info.problems.length > 0) throw new DeptError(`${info.problems[0]} (dept bank inspect: loading this bank for training, scoring or conversion is refused)`);
    });
  bank
    .command('convert')
    .description('convert a bank to our bank folder (--to dept) or to a plain PEFT prompt-tuning adapter (--to peft, r = 0 only)')
    .argument('<src>', 'a bank folder or weights file in any supported format, or a hub id fetched with dept bank fetch')
    .option('--to <format>', 'dept (our folder: adapter_config.json + adapter_model.safetensors) or peft', 'dept')
    .requiredOption('--out <dir>', 'output folder, new (an existing one only with --force) (required)')
    .option('--force', 'replace the bank in an existing --out; refused when it holds anything but bank files (default: off)')
    .option('--r <n>', 'for sources with a prompt only: add a fresh A and B = 0 of this rank (default: the config r, else 0)')
    .option('--max-length <n>', 'for sources with a prompt only: s, the rows of A (default: the config max_length, else 256)')
    .option('--seed <n>', 'seed of the fresh A', '0')
    .option('--task <t>', 'multitask prompt tuning sources: a task index, "average" or "shared"', 'average')
    .option('--json', 'print {format, to, out, notes} as JSON instead of a line (default: off)')
    .action(async (src: string, opts: { to: string; out: string; r?: string; maxLength?: string; seed: string; task: string; json?: boolean; force?: boolean }) => {
      const { exportDept, exportPeft, importBank, resolveBankRef } = await import('@dept/transfer');
      const { BANK_FOLDER_FILES } = await import('@dept/prompt');
      if (opts.to !== 'dept' && opts.to !== 'peft') throw new DeptError(`--to is "${opts.to}", expected dept or peft`);
      refuseExistingOut(opts.out, Boolean(opts.force), BANK_FOLDER_FILES);
      const importOpts: ImportBankOptions = { seed: intOption(opts.seed, '--seed', { min: 0 }) };
      if (opts.r !== undefined) importOpts.r = intOption(opts.r, '--r', { min: 0 });
      if (opts.maxLength !== undefined) importOpts.max_length = intOption(opts.maxLength, '--max-length', { min: 1 });
      importOpts.mptTask = opts.task === 'average' || opts.task === 'shared' ? opts.task : intOption(opts.task, '--task', { min: 0 });
      const imported = importBank(resolveBankRef(src).path, importOpts);
      const notes = [...imported.notes];
      if (opts.to === 'peft') notes.push(...exportPeft(imported.bank, opts.out).notes);
      else exportDept(imported.bank, opts.out);
      const c = imported.bank.config;
      if (!opts.json) for (const n of notes) process.stderr.write(`note: ${n}\n`); // with --json they are in the JSON
      if (opts.json) process.stdout.write(`${JSON.stringify({ format: imported.format, to: opts.to, out: opts.out, notes }, null, 2)}\n`);
      else process.stdout.write(`converted ${imported.format} bank (m ${c.num_virtual_tokens}, d ${c.token_dim}, s ${c.max_length}, r ${c.r}) to ${opts.to} in ${opts.out}\n`);
    });
}
