import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DeptError, environmentError, isDeptError } from '@dept/core';
import { registerCommands } from './commands/index.ts';
import { intOption } from './options.ts';

/** The version `dept --version` prints: this package's (package.json sits one folder above src/ and dist/). */
export const DEPT_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * What `--backend` takes: `@dept/tensor`'s `BACKEND_NAMES`, written out here so that parsing the command line loads
 * no tfjs (a test checks that the two lists agree).
 */
export const BACKEND_CHOICES: readonly string[] = ['webgpu', 'node-gpu', 'node', 'wasm', 'cpu'];

/** A usage error of commander's (unknown option, missing argument, ...) with the command it arose in. */
class UsageError extends CommanderError {
  constructor(error: CommanderError, readonly command: Command) {
    super(error.exitCode, error.code, error.message);
  }
}

/** `dept data split` for the `split` command under `data`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * A usage error of commander's as one line: its message with the "Did you mean …?" folded in, and where to read
 * more. `error: unknown option '--lr2'\n(Did you mean --lr?)` in `dept train` becomes
 * `unknown option '--lr2' (did you mean --lr?); see 'dept train --help'`.
 */
function usageLine(error: UsageError): string {
  const [first = '', ...rest] = error.message.replace(/^error: /, '').split('\n');
  let what = first.trim().replace(/\.$/, '').replace(/\. Expected /, '; expected ');
  const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '));
  if (suggestion) what += ` (did you mean ${suggestion[1]}?)`;
  return `${what}; see '${commandPath(error.command)} --help'`;
}

/** Calls `fn` on `cmd` and every command below it. */
function eachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) eachCommand(sub, fn);
}

/**
 * The `dept` program with every command registered; nothing runs until it is parsed. Commander's own errors are
 * thrown (as {@link CommanderError}s naming their command) instead of printed with the help.
 *
 * @example
 * const program = buildProgram();
 * program.commands.map((c) => c.name()); // ['data', 'model', 'score', 'train', ...]
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('dept')
    .description('Decomposed Prompt Tuning (DePT) on a frozen T5: few-shot experiments, prompt banks, transfer')
    .version(DEPT_VERSION, '-V, --version', 'print the version of dept')
    .option('--backend <name>', `tensor backend: ${BACKEND_CHOICES.join(' | ')} (default: $DEPT_BACKEND, else the fastest available, webgpu only on a GPU adapter)`)
    .option('--threads <n>', 'wasm backend threads (default: $DEPT_WASM_THREADS, else one per core)')
    .option('--verbose', 'print stack traces with errors (default: off)');
  program.hook('preAction', (thisCommand) => {
    const { backend, threads } = thisCommand.opts<{ backend?: string; threads?: string }>();
    if (backend !== undefined) {
      if (!BACKEND_CHOICES.includes(backend)) throw new DeptError(`--backend is "${backend}", expected one of ${BACKEND_CHOICES.join(', ')}`);
      process.env.DEPT_BACKEND = backend;
    }
    if (threads !== undefined) process.env.DEPT_WASM_THREADS = String(intOption(threads, '--threads', { min: 1 }));
  });
  // Errors are printed by main() as one line; help goes where commander sends it (stdout, or stderr for `dept`
  // without a command).
  program.configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => undefined });
  registerCommands(program);
  eachCommand(program, (cmd) => cmd.exitOverride((error) => {
    throw new UsageError(error, cmd);
  }));
  return program;
}

/**
 * Runs the `dept` command line and returns its exit status: 0 on success, 2 for bad input (a usage error is one
 * line, `dept: error: <what>; see 'dept <command> --help'`) and for errors of the environment (a full disk, a
 * read-only file system: one line on stderr naming the path, the stack only with `--verbose`), 1 for anything
 * unexpected. SIGINT and SIGTERM during training end the process with 130 and 143 (see interrupt.ts).
 *
 * @example
 * const status = await main(['data', 'list', '--data-dir', '../shared/data']);
 */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      process.stderr.write(`dept: error: ${error instanceof UsageError ? usageLine(error) : error.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    // A full disk, a read-only file system, a file where a folder should be: the user's environment, not a bug.
    const refusal = isDeptError(error) ? error : environmentError(error);
    if (refusal) {
      process.stderr.write(`dept: error: ${refusal.message}\n`);
      if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      return refusal.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`dept: internal error: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    else process.stderr.write('(run again with --verbose for the stack trace)\n');
    return 1;
  }
}
