/**
 * Ctrl-C and SIGTERM (Slurm's `scancel`, a Kubernetes eviction) during training. A run folder resumes exactly from
 * its last checkpoint after any kill, so the process does not wait for a step to end: it releases the locks it
 * holds, prints one line naming the step reached, the last checkpoint and the command that resumes, and exits at
 * once with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells report a process a signal ended.
 */
import type { TrainEvent } from '@dept/train';

/** The exit status after each signal handled. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * What a training loop has reached, followed through its events: the step done, the last checkpoint written, and
 * the folder it is in.
 *
 * @example
 * const where = new TrainProgress('runs/cb');
 * where.see({ type: 'checkpoint', step: 100 });
 * where.describe(); // 'the last checkpoint is step 100 in runs/cb/checkpoint'
 */
export class TrainProgress {
  step: number | null = null;
  maxSteps: number | null = null;
  checkpoint: number | null = null;

  constructor(readonly dir: string) {}

  /** Takes one event of the loop. */
  see(event: TrainEvent): void {
    if (event.type === 'start') {
      this.step = event.step;
      this.maxSteps = event.maxSteps;
      if (event.resumed) this.checkpoint = event.step;
    } else if (event.type === 'step') this.step = event.step;
    else if (event.type === 'checkpoint') this.checkpoint = event.step;
  }

  /** `at step 12 of 60; the last checkpoint is step 9 in <dir>/checkpoint` (or that none was written yet). */
  describe(): string {
    const at = this.step === null ? 'before the first step' : `at step ${this.step}${this.maxSteps === null ? '' : ` of ${this.maxSteps}`}`;
    const saved = this.checkpoint === null ? `no checkpoint in ${this.dir} yet` : `the last checkpoint is step ${this.checkpoint} in ${this.dir}/checkpoint`;
    return `${at}; ${saved}`;
  }
}

/** A word of a command line as a POSIX shell reads it back (quoted only when it must be). */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./#-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `dept <args>` as a line to paste into a shell. */
export function deptCommand(args: readonly string[]): string {
  return ['dept', ...args.map(shellWord)].join(' ');
}

/**
 * Handles SIGINT and SIGTERM until the returned function is called: `release` (the locks this process holds), then
 * `dept: interrupted <line()>` on stderr, then exit with {@link SIGNAL_EXIT}. Install it once the command's heavy
 * modules are loaded (a signal before that ends the process as usual: nothing was written yet).
 *
 * @example
 * const stop = onInterrupt(() => `${where.describe()}; resume with: dept train --out runs/cb --resume`, releaseHeldLocks);
 * try { await runCell(...); } finally { stop(); }
 */
export function onInterrupt(line: () => string, release: () => void): () => void {
  const handler = (signal: keyof typeof SIGNAL_EXIT) => {
    try {
      release();
    } finally {
      process.stderr.write(`dept: interrupted ${line()}\n`);
      process.exit(SIGNAL_EXIT[signal]);
    }
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}
