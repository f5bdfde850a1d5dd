import type { Command } from 'commander';

/**
 * Every sub-command lives in its own file under `commands/` and exports one `register<Name>(program)` function;
 * this list wires them up in the order `dept --help` shows them.
 */
export function registerCommands(program: Command): void {
  void program;
}
