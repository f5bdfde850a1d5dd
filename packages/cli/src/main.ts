import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { environmentError, isDeptError } from '@dept/core';
import { registerCommands } from './commands/index.ts';
import { intOption } from './options.ts';

/** The version `dept --version` prints: this package's (package.json sits one folder above src/ and dist/). */
export const DEPT_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Runs the `dept` command line and returns its exit status: 0 on success, 2 for bad input and for errors of the
 * environment (a full disk, a read-only file system: one line on stderr naming the path, the stack only with
 * `--verbose`), 1 for anything unexpected.
 *
 * @example
 * const status = await main(['data', 'list', '--data-dir', '../shared/data']);
 */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const program = new Command();
  program
    .name('dept')
    .description('Decomposed Prompt Tuning (DePT) on a frozen T5: few-shot experiments, prompt banks, transfer')
    .version(DEPT_VERSION, '-V, --version', 'print the version of dept')
    .option('--backend <name>', 'tensor backend: webgpu | node-gpu | node | wasm | cpu (default: the fastest available, webgpu only on a GPU adapter; env DEPT_BACKEND)')
    .option('--threads <n>', 'wasm backend threads (default: one per core; env DEPT_WASM_THREADS)')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', (thisCommand) => {
    const { backend, threads } = thisCommand.opts<{ backend?: string; threads?: string }>();
    if (backend) process.env.DEPT_BACKEND = backend;
    if (threads) process.env.DEPT_WASM_THREADS = String(intOption(threads, '--threads', { min: 1 }));
  });
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2; // commander already printed the message
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
