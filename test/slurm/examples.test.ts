/**
 * The scheduler examples agree with themselves: the Slurm script's array has SHARDS tasks and all its `#SBATCH`
 * lines come before its first command (sbatch ignores the ones after); the Kubernetes Job's completions equal the
 * `--shards` of its command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/shared.ts';

describe('scheduler examples', () => {
  it('examples/slurm/fewshot-array.sh: --array has SHARDS tasks, every #SBATCH line before the first command', () => {
    const lines = readFileSync(join(REPO_ROOT, 'examples', 'slurm', 'fewshot-array.sh'), 'utf8').split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    const firstCommand = lines.findIndex((l, i) => i > 0 && l.trim() !== '' && !l.startsWith('#'));
    const directives = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('#SBATCH'));
    expect(directives.length).toBeGreaterThan(0);
    for (const [line, i] of directives) expect(i, line).toBeLessThan(firstCommand);
    const array = /^#SBATCH --array=(\d+)-(\d+)$/.exec(directives.find(([l]) => l.startsWith('#SBATCH --array='))?.[0] ?? '');
    expect(array, 'a plain range first..last').not.toBeNull();
    const shards = /^SHARDS="\$\{DEPT_SHARDS:-(\d+)\}"$/m.exec(lines.join('\n'));
    expect(Number(shards?.[1])).toBe(Number(array![2]) - Number(array![1]) + 1);
    expect(directives.map(([l]) => l)).toContain('#SBATCH --open-mode=append');
    expect(lines.join('\n')).toContain('--shards "$SHARDS"');
  });

  it('examples/kubernetes/fewshot-indexed-job.yaml: an indexed Job whose completions are its --shards', () => {
    const job = parse(readFileSync(join(REPO_ROOT, 'examples', 'kubernetes', 'fewshot-indexed-job.yaml'), 'utf8')) as {
      kind: string; spec: { completionMode: string; completions: number; template: { spec: { containers: { command: string[] }[] } } };
    };
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const command = job.spec.template.spec.containers[0]!.command;
    expect(command.slice(0, 4)).toEqual(['npx', '--no-install', 'dept', 'fewshot']);
    expect(Number(command[command.indexOf('--shards') + 1])).toBe(job.spec.completions);
  });
});
