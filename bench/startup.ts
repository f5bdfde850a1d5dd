/**
 * Start-up time of the `dept` command: `dept --help`, `dept data list`, `dept data kshot` and `dept report` (none of
 * which may load tfjs; `dept report` aggregates a small hand-made grid folder and renders its charts), beside a process that only loads tfjs and its wasm backend (what every tensor command pays on top). Each
 * command runs as a whole process, the commands interleaved round by round so a load that drifts falls on all of
 * them; the median and fastest wall times are reported.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const DEPT = resolve(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');

/** One timed command: a label and the node arguments. */
interface StartupCommand {
  name: string;
  args: string[];
}

/** A grid folder of two finished cells, for `dept report` (RANDOM WEIGHTS: made-up numbers). */
function reportFolder(): string {
  const grid = mkdtempSync(join(tmpdir(), 'dept-startup-report-'));
  for (const [seed, accuracy] of [[13, 50], [21, 60]] as const) {
    const cell = join(grid, 'superglue-cb', 'k4', `seed${seed}`);
    mkdirSync(cell, { recursive: true });
    writeFileSync(join(cell, 'results.json'), JSON.stringify({
      dev: { accuracy }, test: { accuracy, f1_multiclass: accuracy / 2 }, selected_step: 2, selection_metric: 'accuracy', max_steps: 2,
      wall_seconds: 1, backend: 'cpu', predict: 'score', random_weights: true, train_examples: 4, dev_examples: 2, test_examples: 2,
    }));
  }
  return grid;
}

const COMMANDS: StartupCommand[] = [
  { name: 'help', args: [DEPT, '--help'] },
  { name: 'data_list', args: [DEPT, 'data', 'list', '--data-dir', resolve(REPO_ROOT, 'datasets')] },
  { name: 'data_kshot', args: [DEPT, 'data', 'kshot', '--task', 'superglue-cb', '--data-dir', resolve(REPO_ROOT, 'datasets'), '--k', '16', '--seed', '13', '--json'] },
  { name: 'report', args: [DEPT, 'report', '<grid>'] },
  { name: 'load_tfjs', args: ['--input-type=module', '-e', "await import('@tensorflow/tfjs'); await import('@tensorflow/tfjs-backend-wasm');"] },
];

/** Median and fastest start-up time in seconds per command, `reps` runs each. */
export function measureStartup(reps = 5): Record<string, { median_s: number; min_s: number }> {
  const times = new Map<string, number[]>(COMMANDS.map((c) => [c.name, []]));
  const grid = reportFolder();
  try {
    measureRounds(reps, grid, times);
  } finally {
    rmSync(grid, { recursive: true, force: true });
  }
  const out: Record<string, { median_s: number; min_s: number }> = {};
  for (const [name, list] of times) {
    const sorted = [...list].sort((a, b) => a - b);
    out[name] = { median_s: sorted[Math.floor(sorted.length / 2)] as number, min_s: sorted[0] as number };
  }
  return out;
}

/** `reps` rounds of every command, interleaved, into `times`; `<grid>` in the arguments is the report folder. */
function measureRounds(reps: number, grid: string, times: Map<string, number[]>): void {
  for (let i = 0; i < reps; i++) {
    for (const c of i % 2 === 0 ? COMMANDS : [...COMMANDS].reverse()) {
      const args = c.args.map((a) => (a === '<grid>' ? grid : a));
      const t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (res.status !== 0) throw new Error(`startup bench: ${c.name} exited ${res.status}: ${res.stderr.toString().trim().split('\n').pop()}`);
      times.get(c.name)?.push(seconds);
    }
  }
}
