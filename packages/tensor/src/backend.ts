/**
 * Backend choice. tfjs has several backends; we pick the fastest one that works on this machine, once, before any
 * tensor is created: WebGPU on a real GPU adapter (Dawn in Node; see webgpu.ts), tfjs-node-gpu (CUDA), then
 * tfjs-node (libtensorflow), then wasm (SIMD XNNPACK), then the plain-JS cpu backend.
 * `DEPT_BACKEND=webgpu|wasm|cpu|node|node-gpu` (or the CLI's `--backend`) forces one; a software WebGPU adapter
 * (SwiftShader) is used only when webgpu is forced. The wasm backend runs one thread per core (`DEPT_WASM_THREADS=n`
 * or the CLI's `--threads` to choose; see wasm-threads.ts).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { DeptError } from '@dept/core';
import { registerMissingKernels } from './kernels.ts';
import { setWasmBackendThreaded, type WasmBackendModule } from './wasm-threads.ts';
import { DEFAULT_WASM_HEAP_HEADROOM_BYTES, guardWasmHeap } from './heap.ts';
import { activateWebGpu, describeWebGpu, type WebGpuAdapter } from './webgpu.ts';
import { installDawn, noAdapterHint, vulkanDrivers } from './webgpu-node.ts';

export type BackendName = 'webgpu' | 'node-gpu' | 'node' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'node-gpu', 'node', 'wasm', 'cpu'];

/** What {@link initBackend} chose. */
export interface BackendInfo {
  /** Our name of the backend. */
  name: BackendName;
  /** tfjs's own name of the registered backend (`tensorflow`, `wasm`, `cpu`). */
  tfName: string;
  /** Human description, e.g. `wasm (SIMD, 2 threads)`. */
  description: string;
  /** Threads the backend computes with (wasm: its pool size; 1 for cpu; 0 when the backend manages its own). */
  threads: number;
  /** Backends that were tried and failed, with the reason. */
  skipped: { name: BackendName; reason: string }[];
}

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /** Force a backend; defaults to `$DEPT_BACKEND`, else the fastest available. */
  backend?: BackendName;
  /** Print the choice to stderr as `dept: backend ...` (once per process). Default false: the library prints
   * nothing unless asked; the `dept` command asks. */
  announce?: boolean;
  /** wasm threads; defaults to `$DEPT_WASM_THREADS`, else the number of cores. */
  threads?: number;
}

/** The wasm thread count asked for: the option, else `$DEPT_WASM_THREADS`, else one per core. */
function wantedThreads(option: number | undefined): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1) throw new DeptError(`threads is ${option}, expected an integer ≥ 1`);
    return option;
  }
  const env = process.env.DEPT_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new DeptError(`DEPT_WASM_THREADS is "${env}", expected an integer ≥ 1`);
    return n;
  }
  return Math.max(1, os.availableParallelism());
}

function parseBackendName(value: string, where: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new DeptError(`${where}: unknown backend "${value}", expected one of ${BACKEND_NAMES.join(', ')}`);
}

/** The npm package of each native backend. */
const NATIVE_PACKAGES = { 'node-gpu': '@tensorflow/tfjs-node-gpu', node: '@tensorflow/tfjs-node' } as const;

/**
 * Why a native backend did not load and how to get it, in one line. Its package is an optional peer dependency
 * whose install script downloads libtensorflow (and the prebuilt binding): without network at install time, or
 * with the script denied (npm's `allowScripts`, `--ignore-scripts`), the package is absent or has no binding.
 *
 * @example
 * nativeBackendProblem('node', importError); // '@tensorflow/tfjs-node is not installed; ...'
 */
export function nativeBackendProblem(name: 'node-gpu' | 'node', error: unknown): string {
  const pkg = NATIVE_PACKAGES[name];
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${pkg}'`)) {
    return `${pkg} is not installed; install it with \`npm install ${pkg}@4.22.0\` (its install script downloads libtensorflow: it needs network)`;
  }
  if (message.includes('tfjs_binding.node') && /can ?not be found/.test(message)) {
    return `${pkg} is installed without its native binding (tfjs_binding.node): its install script did not run or could not download libtensorflow; `
      + `run \`npm rebuild ${pkg}\` with network, allowing its script ("allowScripts": { "${pkg}": true } in your package.json)`;
  }
  const first = message.split('\n')[0] ?? '';
  if (name === 'node-gpu' && /cuda|cudnn|libcu/i.test(first)) return `${pkg} is installed but the CUDA libraries it needs are missing (${first}); install CUDA and cuDNN as its README says, or use --backend node`;
  return `${pkg} failed on import: ${first}`;
}

async function tryNodeBinding(name: 'node-gpu' | 'node'): Promise<void> {
  // The binding registers the 'tensorflow' backend on import; it throws when it or libtensorflow is missing.
  try {
    await import(NATIVE_PACKAGES[name]);
  } catch (error) {
    throw new Error(nativeBackendProblem(name, error));
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend("tensorflow") returned false');
}

/** The wasm heap's headroom: `$DEPT_WASM_HEAP_HEADROOM_MB` MiB when set, else the default (see heap.ts). */
function wantedHeapHeadroom(): number {
  const env = process.env.DEPT_WASM_HEAP_HEADROOM_MB;
  if (env === undefined || env === '') return DEFAULT_WASM_HEAP_HEADROOM_BYTES;
  const mib = Number(env);
  if (!Number.isInteger(mib) || mib < 0 || mib > 4096) throw new DeptError(`DEPT_WASM_HEAP_HEADROOM_MB is "${env}", expected an integer number of MiB from 0 to 4096`);
  return mib * 2 ** 20;
}

let wasmThreads = 1;

async function tryWasm(threads: number, headroom: number): Promise<void> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmBackendModule;
  wasmThreads = await setWasmBackendThreaded(tf, wasm, threads);
  registerMissingKernels('wasm');
  // A full heap is otherwise silent corruption (see heap.ts).
  guardWasmHeap({ backend: tf.findBackend('wasm') as object, headroom });
}

let webGpuAdapter: WebGpuAdapter | null = null;

/**
 * WebGPU through Dawn. Forced (`forced`): any adapter, a software one included, and no adapter is a `DeptError`
 * (exit 2) saying what is missing. Automatic: only a hardware adapter, and Dawn is not even loaded on Linux when
 * the Vulkan loader would find no hardware driver (no cost, no Vulkan warnings on CPU-only machines).
 */
async function tryWebGpu(forced: boolean): Promise<void> {
  const drivers = vulkanDrivers();
  if (!forced && drivers && drivers.hardware.length === 0) {
    throw new Error(drivers.software.length ? `only software Vulkan drivers (${drivers.software.join(', ')})` : 'no Vulkan driver');
  }
  await installDawn();
  webGpuAdapter = await activateWebGpu({ allowSoftware: forced, askHint: 'ask with --backend webgpu or DEPT_BACKEND=webgpu', noAdapterHint: noAdapterHint() });
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('setBackend("cpu") returned false');
}

async function activate(name: BackendName, threads: number, headroom: number, forced: boolean): Promise<void> {
  if (name === 'webgpu') return tryWebGpu(forced);
  if (name === 'node-gpu' || name === 'node') return tryNodeBinding(name);
  if (name === 'wasm') return tryWasm(threads, headroom);
  return tryCpu();
}

function threadsOf(name: BackendName): number {
  return name === 'wasm' ? wasmThreads : name === 'cpu' ? 1 : 0;
}

function describe(name: BackendName): string {
  if (name === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${wasmThreads} thread${wasmThreads === 1 ? '' : 's'})`;
  }
  if (name === 'webgpu' && webGpuAdapter) return describeWebGpu(webGpuAdapter);
  if (name === 'node-gpu') return 'tfjs-node-gpu (CUDA)';
  if (name === 'node') return 'tfjs-node (libtensorflow, CPU)';
  return 'cpu (plain JavaScript; slow)';
}

/**
 * Chooses and activates the tensor backend once per process; later calls return the same choice. A forced
 * backend that fails to load is an error; in automatic mode failures fall through to the next backend.
 *
 * @example
 * const info = await initBackend();            // e.g. { name: 'wasm', description: 'wasm (SIMD, 2 threads)' }
 * const cpu = await initBackend({ backend: 'cpu' }); // only before the first call; afterwards the choice is fixed
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (current) {
    const wanted = options.backend ?? (process.env.DEPT_BACKEND ? parseBackendName(process.env.DEPT_BACKEND, 'DEPT_BACKEND') : undefined);
    if (wanted && wanted !== current.name) {
      await activate(wanted, wantedThreads(options.threads), wantedHeapHeadroom(), true);
      current = { name: wanted, tfName: tf.getBackend(), description: describe(wanted), threads: threadsOf(wanted), skipped: [] };
    }
    return current;
  }
  if (pending) return pending;
  pending = (async () => {
    tf.env().set('PROD', true); // silences the "you are running TensorFlow.js in Node" banner
    const forced = options.backend ?? (process.env.DEPT_BACKEND ? parseBackendName(process.env.DEPT_BACKEND, 'DEPT_BACKEND') : undefined);
    const candidates: BackendName[] = forced ? [forced] : [...BACKEND_NAMES];
    const threads = wantedThreads(options.threads);
    const headroom = wantedHeapHeadroom(); // checked before any backend is tried: a bad value is an error, not a fallback
    const skipped: { name: BackendName; reason: string }[] = [];
    for (const name of candidates) {
      try {
        await activate(name, threads, headroom, Boolean(forced));
        await tf.ready();
        current = { name, tfName: tf.getBackend(), description: describe(name), threads: threadsOf(name), skipped };
        if (options.announce === true) process.stderr.write(`dept: backend ${current.description}\n`);
        return current;
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
        if (forced) throw new DeptError(`backend "${name}" could not be loaded: ${reason}`);
        skipped.push({ name, reason });
      }
    }
    throw new DeptError(`no tensor backend could be loaded (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`);
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

/** The active backend, or null before {@link initBackend}. */
export function currentBackend(): BackendInfo | null {
  return current;
}
