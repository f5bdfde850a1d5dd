/**
 * `--help` shows every option's default (issue 16): each option of each command says `(default: …)` (commander's
 * for options with a default value, ours in the text where the default lives in a recipe, the run or the
 * environment) or `(required)`. Defaults in the text leave a flag's absence meaning "the recipe's value": a flag
 * given still overrides a recipe file, and a recipe file still overrides the default.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN_CONFIG } from '@dept/train/config';
import { buildProgram } from '../../packages/cli/src/main.ts';
import { resolveRecipe } from '../../packages/cli/src/commands/common.ts';
import { remove, runDept, tempDir } from '../reliability/helpers.ts';

const dir = tempDir('help');
afterAll(() => remove(dir));

/** Every command with its path (`dept data split`). */
function commands(): { path: string; cmd: Command }[] {
  const out: { path: string; cmd: Command }[] = [];
  const walk = (cmd: Command, path: string) => {
    out.push({ path, cmd });
    for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`);
  };
  walk(buildProgram(), 'dept');
  return out;
}

/** The option lines of a command's help, one line each (no wrapping). */
function optionLines(cmd: Command): string[] {
  cmd.configureHelp({ helpWidth: 100_000 });
  const help = cmd.helpInformation();
  const options = help.split(/\n\n/).find((block) => block.startsWith('Options:')) ?? '';
  return options.split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== '' && !/^-h, --help\b/.test(l) && !/^-V, --version\b/.test(l));
}

describe('--help shows the default of every option', () => {
  it('each option of each command says its default, or that it is required', () => {
    const missing: string[] = [];
    let seen = 0;
    for (const { path, cmd } of commands()) {
      for (const line of optionLines(cmd)) {
        seen++;
        if (!/\(default: [^)]|\(required\)/.test(line)) missing.push(`${path}: ${line}`);
      }
    }
    expect(seen, 'the help of every command was read').toBeGreaterThan(150);
    expect(missing).toEqual([]);
  });

  it("the defaults shown are DePT's (DEFAULT_TRAIN_CONFIG), and dept train --help prints them", async () => {
    const r = await runDept(['train', '--help']);
    expect(r.status).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    expect(text).toContain(`learning rate of P (default: the recipe's, else ${DEFAULT_TRAIN_CONFIG.lr})`);
    expect(text).toContain(`training steps (default: the recipe's, else ${DEFAULT_TRAIN_CONFIG.max_steps})`);
    expect(text).toContain(`linear warm-up steps (default: the recipe's, else ${DEFAULT_TRAIN_CONFIG.warmup_steps})`);
    expect(text).toContain("seed of the k-shot sample and the training (default: the recipe's, else 42)");
    const grid = (await runDept(['fewshot', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(grid).toContain("k values, e.g. 4,16,32 (default: the recipe's, else 4,16,32)");
    expect(grid).toContain("seeds, e.g. 13,21,42 (default: the recipe's, else 13,21,42)");
  });

  it('the recipe commands give commander no default values: a flag not given is absent, so the recipe decides', () => {
    const withValue: string[] = [];
    for (const { path, cmd } of commands().filter((c) => /^dept (train|fewshot|quickstart|pretrain)$/.test(c.path))) {
      for (const o of cmd.options) if (!o.negate && o.defaultValue !== undefined) withValue.push(`${path} ${o.long}`);
    }
    expect(withValue).toEqual([]);
  });

  it('a default in the text leaves the flag absent: the recipe file wins over it, a flag given wins over the file', () => {
    const file = join(dir, 'lr.yaml');
    writeFileSync(file, 'model: {path: m}\ntasks: [rte]\nk: [4]\ntrain: {lr: 0.5, max_steps: 7}\n');
    expect(resolveRecipe(file, {}, { grid: true }).train.lr).toBe(0.5);
    expect(resolveRecipe(file, { lr: '0.3' }, { grid: true }).train.lr).toBe(0.3);
    expect(resolveRecipe(file, { maxSteps: String(DEFAULT_TRAIN_CONFIG.max_steps) }, { grid: true }).train.max_steps).toBe(DEFAULT_TRAIN_CONFIG.max_steps);
    expect(resolveRecipe(undefined, { model: 'm', task: 'rte' }, { grid: true }).train.lr).toBe(DEFAULT_TRAIN_CONFIG.lr);
  });
});
