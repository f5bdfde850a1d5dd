/**
 * A one-node Slurm cluster on this machine, for tests: munged, slurmctld and slurmd started as children of the test
 * process, on localhost only, from a slurm.conf in a temporary folder; stopped (and every process of its jobs
 * killed, and the folder removed) by `stop()`.
 *
 * What works here (Debian 12, slurm-wlm 22.05.8, munge 0.5.15, a container without systemd, as root), found by hand:
 * - munged runs as root from any folder, but its socket's folder must be traversable by all (0755): otherwise
 *   "Socket is inaccessible: execute permissions for all required". The key (0400) may sit in a 0700 folder.
 * - Slurm talks to that munged through `AuthInfo=socket=<path>`; slurmctld and slurmd run in the foreground (`-D`)
 *   with `-f <conf>`; slurmd needs `-N localhost` because the host name (`vm`) is not the node's name.
 * - cgroups are not usable: `ProctrackType=proctrack/linuxproc`, `TaskPlugin=task/none`; no accounting daemon.
 *   slurmd logs "mpi/pmix: can not load PMIx library" errors at start: harmless with `MpiDefault=none`.
 * - A requeued job waits `cred_expire + 1` seconds before it may start again (default 120 s); `cred_expire` is read
 *   at daemon start only (`scontrol reconfigure` does not change it), so it is set in AuthInfo (5 s).
 * - Slurm does not create the folder of `--output`: a job whose log folder is missing fails (JobLaunchFailure,
 *   exit code 0:53) without writing a line anywhere.
 * - With the default `--open-mode=truncate`, a requeued job's log loses its first attempt; `append` keeps both.
 * - Array variables observed: `--array=1-3` MIN 1 MAX 3 STEP 1 COUNT 3; `--array=0-5:2` MIN 0 MAX 4 STEP 2 COUNT 3;
 *   `--array=0-3%1` MIN 0 MAX 3 STEP 1 COUNT 4; `--array=1` MIN 1 MAX 1 COUNT 1; `--array=1,4,7` MIN 1 MAX 7 STEP 1
 *   COUNT 3; after `scontrol requeue` the same, plus `SLURM_RESTART_COUNT=1`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'scontrol', 'sinfo'];
/** Environment variable that marks every process of one cluster (daemons and jobs), so that stop() finds them all. */
const MARK = 'DEPT_SLURM_TEST_CLUSTER';

/** Why a Slurm cluster cannot be started here, or null when it may be. */
export function slurmUnavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (slurmd must run as root to start jobs)';
  const missing = PROGRAMS.filter((p) => spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).status !== 0);
  if (missing.length > 0) return `${missing.join(', ')} not installed (apt-get install slurm-wlm munge; .ci/run does it)`;
  return null;
}

/** One job's state in `squeue` (e.g. RUNNING, PENDING), keyed by `<job>_<task>`. */
export type QueueStates = Map<string, string>;

/** A running cluster. */
export interface SlurmCluster {
  /** Its temporary folder (configuration, state, logs). */
  dir: string;
  /** The environment for Slurm commands and jobs: `SLURM_CONF` and the cluster's mark. */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm command (sbatch, squeue, …) and returns its stdout; throws with its stderr when it fails. */
  command(program: string, args: string[], opts?: { cwd?: string; env?: Record<string, string> }): string;
  /** `sbatch --parsable …`: the job id. */
  sbatch(args: string[], opts?: { cwd?: string; env?: Record<string, string> }): string;
  /** The array tasks of `job` still in the queue, with their state. */
  queue(job: string): QueueStates;
  /** Waits until `job` has left the queue (every task ended). */
  waitGone(job: string, timeoutMs: number): Promise<void>;
  /** The end of the daemons' logs, for failure messages. */
  logs(): string;
  /** Waits until the node is idle; throws, with the daemons' logs, when the cluster does not come up. */
  ready(timeoutMs?: number): Promise<void>;
  /** Cancels every job, stops the daemons, kills what is left of the cluster's processes and removes the folder. */
  stop(): Promise<{ killed: number[] }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function until(what: string, timeoutMs: number, check: () => boolean, diagnose: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`slurm test cluster: ${what} did not happen within ${timeoutMs / 1000} s\n${diagnose()}`);
    await sleep(250);
  }
}

/** Processes (other than this one) whose environment carries `MARK=<dir>`. */
export function clusterProcesses(dir: string): number[] {
  const mark = `${MARK}=${dir}`;
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (environ.includes(mark) && !/\) Z /.test(stat)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(none)';
  }
}

/**
 * Starts the daemons of a one-node cluster (2 CPUs, partition `debug`) in a fresh temporary folder and returns at
 * once: wait with `ready()`, and `stop()` it in any case (also when `ready()` throws). If this process exits without
 * `stop()`, the daemons are killed on the way out.
 */
export async function startSlurmCluster(opts: { cpus?: number } = {}): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'dept-slurm-'));
  chmodSync(dir, 0o755);
  for (const sub of ['munge', 'state', 'spool', 'log']) mkdirSync(join(dir, sub), { mode: 0o755 });
  mkdirSync(join(dir, 'munge-key'), { mode: 0o700 });
  const key = join(dir, 'munge-key', 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const socket = join(dir, 'munge', 'munge.sock');
  const conf = join(dir, 'slurm.conf');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  writeFileSync(conf, [
    'ClusterName=depttest',
    'SlurmctldHost=localhost',
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${socket},cred_expire=5`,
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'SchedulerType=sched/backfill',
    'MpiDefault=none',
    'ReturnToService=2',
    'JobCompType=jobcomp/none',
    'AccountingStorageType=accounting_storage/none',
    'JobAcctGatherType=jobacct_gather/none',
    'KillWait=5',
    `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${opts.cpus ?? 2} RealMemory=4000 State=UNKNOWN`,
    'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n'));
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf, [MARK]: dir };
  const daemons: ChildProcess[] = [];
  const start = (program: string, args: string[]) => {
    const child = spawn(program, args, { env, stdio: 'ignore' });
    child.on('error', () => undefined); // reported by the readiness checks below
    daemons.push(child);
    return child;
  };
  const logs = () => [
    `munged: ${tail(join(dir, 'munge', 'munged.log'))}`,
    `slurmctld: ${tail(join(dir, 'log', 'slurmctld.log'))}`,
    `slurmd: ${tail(join(dir, 'log', 'slurmd.log'))}`,
  ].join('\n');
  const command = (program: string, args: string[], o: { cwd?: string; env?: Record<string, string> } = {}) => {
    const res = spawnSync(program, args, { env: { ...env, ...o.env }, cwd: o.cwd ?? dir, encoding: 'utf8', timeout: 30_000 });
    if (res.status !== 0) throw new Error(`${program} ${args.join(' ')}: exit ${res.status}: ${res.stderr || res.error?.message}`);
    return res.stdout;
  };
  const queue = (job: string): QueueStates => {
    const out = command('squeue', ['-h', '-r', '-j', job, '-o', '%i %T']);
    return new Map(out.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/) as [string, string]));
  };
  let stopped = false;
  const stop = async (): Promise<{ killed: number[] }> => {
    if (stopped) return { killed: [] };
    stopped = true;
    const alive = () => daemons.filter((d) => d.exitCode === null && d.signalCode === null);
    // Gracefully while the controller answers: cancel the jobs, wait for them to end, shut slurmctld and slurmd down.
    if (alive().length === 3 && spawnSync('scancel', ['--user', 'root'], { env, timeout: 5_000 }).status === 0) {
      const end = Date.now() + 15_000;
      for (;;) {
        const q = spawnSync('squeue', ['-h'], { env, encoding: 'utf8', timeout: 5_000 });
        if (q.status !== 0 || q.stdout.trim() === '' || Date.now() > end) break;
        await sleep(250);
      }
      spawnSync('scontrol', ['shutdown'], { env, timeout: 5_000 });
      const down = Date.now() + 10_000;
      while (Date.now() < down && alive().some((d) => d !== daemons[0])) await sleep(100);
    }
    for (const d of alive()) d.kill('SIGTERM');
    const end = Date.now() + 5_000;
    while (Date.now() < end && alive().length > 0) await sleep(100);
    for (const d of alive()) d.kill('SIGKILL');
    // Job steps (slurmstepd and what it started) are not children of slurmd: find them by the cluster's mark.
    const killed = clusterProcesses(dir);
    for (const pid of killed) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', onExit);
    return { killed };
  };
  const onExit = () => {
    for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const cluster: SlurmCluster = {
    dir,
    env,
    command,
    sbatch: (args, o) => command('sbatch', ['--parsable', ...args], o).trim().split(';')[0] as string,
    queue,
    waitGone: (job, timeoutMs) => until(`the end of job ${job}`, timeoutMs, () => queue(job).size === 0, () => `squeue: ${[...queue(job)].join(', ')}\n${logs()}`),
    logs,
    ready: async (timeout = 30_000) => {
      await until('munged', timeout, () => existsSync(socket) || daemons[0]?.exitCode !== null, logs);
      if (!existsSync(socket)) throw new Error(`slurm test cluster: munged exited\n${logs()}`);
      if (daemons.length === 1) {
        start('slurmctld', ['-D', '-f', conf]);
        start('slurmd', ['-D', '-f', conf, '-N', 'localhost']);
      }
      await until('an idle node', timeout, () => {
        if (daemons.some((d) => d.exitCode !== null)) throw new Error(`slurm test cluster: a daemon exited\n${logs()}`);
        const res = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8', timeout: 5_000 });
        return res.status === 0 && res.stdout.trim() === 'idle';
      }, logs);
    },
    stop,
  };
  start('munged', ['-F', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
    `--log-file=${join(dir, 'munge', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'munged.seed')}`]);
  return cluster;
}
