/**
 * Start-up time of the `dept` command: `dept --help`, `dept data list` and `dept data kshot` (none of which may load
 * tfjs), beside a process that only loads tfjs and its wasm backend (what every tensor command pays on top). Each
 * command runs as a whole process, the commands interleaved round by round so a load that drifts falls on all of
 * them; the median and fastest wall times are reported.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const DEPT = resolve(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');

/** One timed command: a label and the node arguments. */
interface StartupCommand {
  name: string;
  args: string[];
}

const COMMANDS: StartupCommand[] = [
  { name: 'help', args: [DEPT, '--help'] },
  { name: 'data_list', args: [DEPT, 'data', 'list', '--data-dir', resolve(REPO_ROOT, 'datasets')] },
  { name: 'data_kshot', args: [DEPT, 'data', 'kshot', '--task', 'superglue-cb', '--data-dir', resolve(REPO_ROOT, 'datasets'), '--k', '16', '--seed', '13', '--json'] },
  { name: 'load_tfjs', args: ['--input-type=module', '-e', "await import('@tensorflow/tfjs'); await import('@tensorflow/tfjs-backend-wasm');"] },
];

/** Median and fastest start-up time in seconds per command, `reps` runs each. */
export function measureStartup(reps = 5): Record<string, { median_s: number; min_s: number }> {
  const times = new Map<string, number[]>(COMMANDS.map((c) => [c.name, []]));
  for (let i = 0; i < reps; i++) {
    for (const c of i % 2 === 0 ? COMMANDS : [...COMMANDS].reverse()) {
      const t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, c.args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (res.status !== 0) throw new Error(`startup bench: ${c.name} exited ${res.status}: ${res.stderr.toString().trim().split('\n').pop()}`);
      times.get(c.name)?.push(seconds);
    }
  }
  const out: Record<string, { median_s: number; min_s: number }> = {};
  for (const [name, list] of times) {
    const sorted = [...list].sort((a, b) => a - b);
    out[name] = { median_s: sorted[Math.floor(sorted.length / 2)] as number, min_s: sorted[0] as number };
  }
  return out;
}
