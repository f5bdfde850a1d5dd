/**
 * Which process wrote a lock or a temporary file, and is it still that process? A PID alone is not enough: after a
 * reboot, or on a busy machine, the PID of a killed writer belongs to some other process. So a writer records its
 * identity as well: on Linux the boot id (`/proc/sys/kernel/random/boot_id`) and the process start time in clock
 * ticks since boot (`/proc/<pid>/stat`, field 22), which together name one process exactly. Elsewhere (macOS, the
 * BSDs) the wall-clock start time from `ps -o lstart=` is compared with the time the lock was written instead: a
 * process that started after it was written cannot be its writer.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * True when a process with this PID exists (also when it belongs to another user).
 *
 * @example
 * processAlive(process.pid); // true
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who a process is: what a lock records of its writer. Fields are null where the platform cannot tell. */
export interface ProcessIdentity {
  pid: number;
  /** Linux boot id: differs after every reboot. */
  boot_id: string | null;
  /** Linux start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  start_ticks: number | null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

let bootIdCache: string | null | undefined;

/**
 * This boot's id on Linux, else null.
 *
 * @example
 * bootId(); // 'a589c769-7fe6-4696-bc45-d69fcdd5be4d'
 */
export function bootId(): string | null {
  if (bootIdCache === undefined) bootIdCache = readText('/proc/sys/kernel/random/boot_id')?.trim() || null;
  return bootIdCache;
}

/**
 * Start time of `pid` in clock ticks since boot (Linux), or null.
 *
 * @example
 * startTicks(process.pid); // 197341
 */
export function startTicks(pid: number): number | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 2 is the command in parentheses and may hold spaces or ')': the fields after the last ')' start at 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

/**
 * The identity of a process (this one by default).
 *
 * @example
 * processIdentity(); // { pid: 4242, boot_id: 'a589c769-…', start_ticks: 197341 }
 */
export function processIdentity(pid = process.pid): ProcessIdentity {
  return { pid, boot_id: bootId(), start_ticks: startTicks(pid) };
}

/**
 * Wall-clock start time of a process in milliseconds since 1970, or null when it cannot be told. Linux: boot time
 * (`btime` of `/proc/stat`) plus the start ticks at USER_HZ = 100 ticks a second (fixed for the `/proc` interface
 * on every architecture Node runs on); elsewhere `ps -o lstart=` (1-second resolution).
 *
 * @example
 * processStartedAt(process.pid)! <= Date.now(); // true
 */
export function processStartedAt(pid: number): number | null {
  const ticks = startTicks(pid);
  if (ticks !== null) {
    const btime = /^btime (\d+)$/m.exec(readText('/proc/stat') ?? '');
    if (btime) return Number(btime[1]) * 1000 + ticks * 10;
  }
  try {
    const text = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const at = Date.parse(text.trim());
    return Number.isFinite(at) ? at : null;
  } catch {
    return null;
  }
}

/** Slack for comparing wall-clock times measured in different ways (`ps` gives whole seconds). */
const CLOCK_SLACK_MS = 2000;

/**
 * True when the process a lock or temporary names is still running: its PID is alive and is the same process.
 * With a recorded boot id and start ticks (Linux) the comparison is exact; otherwise, given `writtenAt` (when the
 * writer wrote the lock or file, ms since 1970), a process that started after that cannot be the writer.
 *
 * @example
 * writerAlive(processIdentity()); // true
 * writerAlive({ pid: 4242, boot_id: null, start_ticks: null }, Date.parse('2020-01-01')); // false if PID 4242 started later
 */
export function writerAlive(writer: { pid: number; boot_id?: string | null; start_ticks?: number | null }, writtenAt?: number): boolean {
  if (!processAlive(writer.pid)) return false;
  const boot = bootId();
  if (typeof writer.boot_id === 'string' && boot !== null && writer.boot_id !== boot) return false; // rebooted since
  if (typeof writer.start_ticks === 'number') {
    const now = startTicks(writer.pid);
    if (now !== null) return now === writer.start_ticks;
  }
  if (writtenAt !== undefined && Number.isFinite(writtenAt)) {
    const started = processStartedAt(writer.pid);
    if (started !== null && started > writtenAt + CLOCK_SLACK_MS) return false; // the PID was reused
  }
  return true;
}

/**
 * Resolves on the event loop's next turn. Loops of tensor work whose awaits resolve at once (the wasm and cpu
 * backends) never give the event loop a turn otherwise, so signal handlers (Ctrl-C, SIGTERM), timers and I/O
 * callbacks would wait until the loop ends; awaiting this once a step or a batch lets them run in between.
 *
 * @example
 * for (const batch of batches) { await step(batch); await nextTurn(); }
 */
export function nextTurn(): Promise<void> {
  // setImmediate in Node; a page (examples/browser) has none, and a zero timeout gives its event loop the turn.
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
