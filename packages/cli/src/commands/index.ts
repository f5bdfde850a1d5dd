import type { Command } from 'commander';
import { registerBank } from './bank.ts';
import { registerModel } from './model.ts';
import { registerScore } from './score.ts';
import { registerTrain } from './train.ts';

/**
 * Every sub-command lives in its own file under `commands/` and exports one `register<Name>(program)` function;
 * this list wires them up in the order `dept --help` shows them.
 */
export function registerCommands(program: Command): void {
  registerModel(program);
  registerScore(program);
  registerTrain(program);
  registerBank(program);
}
