/**
 * Checks on run folders for the crash tests: every file that exists is complete, and what finished runs hold.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { readSafetensors } from '@dept/tensor';
import { readBank } from '@dept/prompt';

/** Names that writers leave only while they write (removed by the next process that takes the folder's lock). */
export function isTemporary(name: string): boolean {
  return /^checkpoint\.tmp-\d+(-old)?$/.test(name) || /^\..+\.(tmp|old|trash)-\d+-[0-9a-f]{8}$/.test(name);
}

function parseJsonLines(path: string): void {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  expect(lines[lines.length - 1], `${path} ends with a newline`).toBe('');
  for (const [i, line] of lines.slice(0, -1).entries()) {
    expect(() => JSON.parse(line), `${path}:${i + 1} is a complete JSON line`).not.toThrow();
  }
}

function checkCheckpoint(dir: string): number {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { step: number };
  expect(Number.isInteger(state.step)).toBe(true);
  readBank(join(dir, 'bank'));
  if (existsSync(join(dir, 'best'))) readBank(join(dir, 'best'));
  readSafetensors(join(dir, 'optimizer.safetensors'));
  return state.step;
}

/**
 * Asserts that every file of a run folder that exists is complete (JSON parses, banks and safetensors load, JSON
 * lines files hold only whole lines) and returns the checkpointed step (-1 without a checkpoint) and whether the
 * run finished. Temporaries of killed writers are skipped.
 */
export function checkRunFolder(dir: string): { step: number; finished: boolean; temporaries: string[] } {
  let step = -1;
  const temporaries: string[] = [];
  if (!existsSync(dir)) return { step, finished: false, temporaries };
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (isTemporary(name)) {
      temporaries.push(name);
      continue;
    }
    if (name === '.lock' || name.startsWith('..lock.')) continue;
    if (name.endsWith('.json')) {
      expect(() => JSON.parse(readFileSync(path, 'utf8')), `${path} is complete JSON`).not.toThrow();
    } else if (name.endsWith('.jsonl')) {
      parseJsonLines(path);
    } else if (name === 'bank') {
      readBank(path);
    } else if (name === 'checkpoint' || name === 'checkpoint.old') {
      expect(existsSync(join(path, 'state.json')), `${path} is a whole checkpoint`).toBe(true);
      step = Math.max(step, checkCheckpoint(path));
    } else if (statSync(path).isDirectory()) {
      // a cell folder of a grid: checked by the caller
    }
  }
  return { step, finished: existsSync(join(dir, 'results.json')), temporaries };
}

/** The test metrics and selection of a finished run (what must not depend on kills; wall time does). */
export function stableResults(dir: string): unknown {
  const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>;
  return { dev: r.dev, test: r.test, selected_step: r.selected_step, max_steps: r.max_steps, train_examples: r.train_examples };
}

/** The bytes of a run's final bank. */
export function bankBytes(dir: string): Buffer {
  return readFileSync(join(dir, 'bank', 'adapter_model.safetensors'));
}
