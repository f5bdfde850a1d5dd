/**
 * Several threads for tfjs's wasm backend (4.22) under Node, where tfjs itself only ever runs one.
 *
 * Why one: (1) tfjs sets `WASM_HAS_MULTITHREAD_SUPPORT` false in Node; (2) with it forced on, emscripten starts
 * its 8 pool workers from `blob:` URLs (the worker script, and the module factory sent in a 'load' message), which
 * Node's `worker_threads` cannot load; (3) the factory is a rollup-transformed copy that names bundle-scope globals
 * (`commonjsGlobal`, `require$$0/1/3/4` = fs/path/perf_hooks/os, tslib's `__values`/`__read`/`__spreadArray`) absent
 * in a worker; (4) the C++ side caps the pool at `emscripten_num_logical_cores() / 2` = `os.cpus().length / 2`
 * (it assumes hyper-threading), i.e. 1 on a 2-core machine; (5) every started pthread worker is `ref()`ed and idles
 * forever, so the process would not exit.
 *
 * What this does: remembers the text of the two tfjs Blobs (a transparent `Blob` subclass), turns the worker Blob's
 * object URL into a real file (a prelude defining the globals of (3) and a worker-side `URL.createObjectURL` that
 * returns the factory's file, then the worker text), reports enough CPUs while the backend initialises (4), and
 * `unref()`s the started workers (5). The temporary files are removed as soon as the backend is up. XNNPACK splits
 * a product's output tiles among threads, each element summed in the same order, so results are bit-identical to
 * one thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type * as tfNamespace from '@tensorflow/tfjs';

/** The parts of `@tensorflow/tfjs-backend-wasm` used here. */
export interface WasmBackendModule {
  setThreadsCount(count: number): void;
  getThreadsCount(): number;
}

const MARK = 'WasmBackendModuleThreadedSimd';

/** The bundle-scope names the factory text uses, defined in each worker (must match tf-backend-wasm.node.js). */
const PRELUDE = `"use strict";
globalThis.commonjsGlobal = globalThis;
globalThis.require$$0 = require('fs');
globalThis.require$$1 = require('path');
globalThis.require$$3 = require('perf_hooks');
globalThis.require$$4 = require('os');
globalThis.__values = (o) => o[Symbol.iterator]();
globalThis.__read = (o, n) => (n === undefined ? [...o] : [...o].slice(0, n));
globalThis.__spreadArray = (to, from) => to.concat(Array.prototype.slice.call(from));
`;
const PROVIDED = new Set(['commonjsGlobal', 'require$$0', 'require$$1', 'require$$3', 'require$$4', '__values', '__read', '__spreadArray']);

/** Whether this Node shares memory with workers and validates a wasm atomics instruction (tfjs's own test). */
export function wasmThreadsSupported(): boolean {
  try {
    new MessageChannel().port1.postMessage(new SharedArrayBuffer(1));
    const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } };
    return wasmApi.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11]));
  } catch {
    return false;
  }
}

interface PatchState {
  dir: string | null;
  workerPath: string | null;
  error: Error | null;
  cleanup: () => void;
}

let state: PatchState | null = null;

function unknownGlobals(factoryText: string): string[] {
  const names = new Set(factoryText.match(/\b(?:require\$\$\d+|commonjsGlobal|__(?:values|read|spreadArray|spread|assign|awaiter|generator|extends))\b/g) ?? []);
  return [...names].filter((n) => !PROVIDED.has(n));
}

function installPatches(): PatchState {
  if (state) return state;
  const texts = new WeakMap<Blob, string>();
  let factoryText: string | null = null;
  const OriginalBlob = globalThis.Blob;
  globalThis.Blob = class Blob extends OriginalBlob {
    constructor(...args: ConstructorParameters<typeof OriginalBlob>) {
      super(...args);
      const parts = args[0];
      if (Array.isArray(parts) && parts.length > 0 && parts.every((p) => typeof p === 'string')) {
        const text = parts.join('');
        if (text.includes(MARK)) {
          texts.set(this, text);
          if (text.startsWith(`var ${MARK} =`)) factoryText = text;
        }
      }
    }
  };
  const originalCreate = URL.createObjectURL.bind(URL);
  const s: PatchState = {
    dir: null,
    workerPath: null,
    error: null,
    cleanup: () => {
      if (s.dir) rmSync(s.dir, { recursive: true, force: true });
      s.dir = null;
      s.workerPath = null;
    },
  };
  URL.createObjectURL = (blob: Blob): string => {
    const text = texts.get(blob);
    // Only the emscripten worker Blob goes through createObjectURL on the main thread.
    if (text === undefined || text.startsWith(`var ${MARK} =`)) return originalCreate(blob);
    if (!s.workerPath) {
      const missing = factoryText ? unknownGlobals(factoryText) : [];
      s.error = !factoryText ? new Error('saw the wasm worker script but not the module factory')
        : missing.length ? new Error(`the wasm module factory needs unknown bundle globals ${missing.join(', ')}`) : null;
      if (s.error) throw s.error;
      const dir = mkdtempSync(join(os.tmpdir(), 'dept-wasm-threads-'));
      const mainPath = join(dir, 'main.js');
      writeFileSync(mainPath, factoryText as unknown as string);
      // In the worker, the 'load' message's factory Blob becomes an object URL that emscripten reads with fs.
      const workerSide = `URL.createObjectURL = () => ${JSON.stringify(mainPath)};\nURL.revokeObjectURL = () => {};\n`;
      const workerPath = join(dir, 'worker.js');
      writeFileSync(workerPath, PRELUDE + workerSide + text);
      s.dir = dir;
      s.workerPath = workerPath;
      process.once('exit', s.cleanup); // backstop; normally removed as soon as the backend is up
    }
    return s.workerPath as string; // an absolute path, which worker_threads.Worker loads as a CommonJS file
  };
  state = s;
  return s;
}

/**
 * Activates the wasm backend with `count` threads (the calling thread included), instead of
 * `tf.setBackend('wasm')`; must be the process's first wasm initialisation. Returns the thread count the backend
 * runs with (1 when threads are unsupported or `count` is 1).
 *
 * @example
 * const threads = await setWasmBackendThreaded(tf, await import('@tensorflow/tfjs-backend-wasm'), 2); // 2
 */
export async function setWasmBackendThreaded(tf: typeof tfNamespace, wasm: WasmBackendModule, count: number): Promise<number> {
  const patches = count > 1 && wasmThreadsSupported() ? installPatches() : null;
  if (patches) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(count);
  const originalCpus = os.cpus;
  os.cpus = () => {
    const real = originalCpus.call(os);
    return real.length >= 2 * count ? real : Array.from({ length: 2 * count }, (_, i) => real[i % real.length] as os.CpuInfo);
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend('wasm');
  } finally {
    os.cpus = originalCpus;
    // All pool workers have read both files once setBackend settles; a later worker would get them rewritten.
    patches?.cleanup();
  }
  if (!ok) throw new Error(`setBackend("wasm") returned false${patches?.error ? ` (${patches.error.message})` : ''}`);
  // The started pthread workers idle forever in Atomics.wait: unref them so the process can exit.
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers?: { unref(): void }[] } } } | undefined;
  for (const worker of backend?.wasm?.PThread?.runningWorkers ?? []) worker.unref();
  return wasm.getThreadsCount();
}
