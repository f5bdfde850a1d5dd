import type { Command } from 'commander';
import { registerBank } from './bank.ts';
import { registerData } from './data.ts';
import { registerEval } from './eval.ts';
import { registerFetch } from './fetch.ts';
import { registerFewshot } from './fewshot.ts';
import { registerModel } from './model.ts';
import { registerPredict } from './predict.ts';
import { registerPretrain } from './pretrain.ts';
import { registerQuickstart } from './quickstart.ts';
import { registerReport } from './report.ts';
import { registerScore } from './score.ts';
import { registerTrain } from './train.ts';

/**
 * Every sub-command lives in its own file under `commands/` and exports one `register<Name>(program)` function;
 * this list wires them up in the order `dept --help` shows them.
 */
export function registerCommands(program: Command): void {
  registerData(program);
  registerModel(program);
  registerScore(program);
  registerTrain(program);
  registerFewshot(program);
  registerEval(program);
  registerPredict(program);
  registerPretrain(program);
  registerReport(program);
  registerQuickstart(program);
  registerBank(program);
  registerFetch(program);
}
