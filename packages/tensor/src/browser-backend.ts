/**
 * The backend choice in a browser page: WebGPU when the browser has a hardware adapter, else wasm (SIMD), else the
 * plain-JS cpu backend; a software WebGPU adapter only when `backend: 'webgpu'` asks. The wasm backend runs the
 * same custom kernels as in Node (`registerMissingKernels`) and the heap guard. No Node module is used here.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_WASM_HEAP_HEADROOM_BYTES, guardWasmHeap } from './heap.ts';
import { registerMissingKernels } from './kernels.ts';
import { activateWebGpu, describeWebGpu } from './webgpu.ts';

/** The backends a page can run. */
export type BrowserBackendName = 'webgpu' | 'wasm' | 'cpu';

/** Options of {@link initBrowserBackend}. */
export interface BrowserBackendOptions {
  /** Force one (a software WebGPU adapter is then accepted); default: the fastest that works. */
  backend?: BrowserBackendName;
  /**
   * Where tfjs-backend-wasm's `.wasm` files are served: a folder URL, or one URL per file name
   * (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`, `tfjs-backend-wasm-threaded-simd.wasm`).
   */
  wasmPaths?: string | Record<string, string>;
}

/** What {@link initBrowserBackend} chose. */
export interface BrowserBackendInfo {
  name: BrowserBackendName;
  /** e.g. `webgpu (apple metal-3 (Apple M2))`, `wasm (SIMD)`. */
  description: string;
  /** Backends tried first that failed, with the reason. */
  skipped: { name: BrowserBackendName; reason: string }[];
}

async function activate(name: BrowserBackendName, forced: boolean, options: BrowserBackendOptions): Promise<string> {
  if (name === 'webgpu') {
    const adapter = await activateWebGpu({ allowSoftware: forced, askHint: 'ask with ?backend=webgpu', noAdapterHint: 'this browser has no WebGPU (Chromium: chrome://gpu)' });
    return describeWebGpu(adapter);
  }
  if (name === 'wasm') {
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as { setWasmPaths(paths: string | Record<string, string>): void };
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths);
    if (!(await tf.setBackend('wasm'))) throw new Error('setBackend("wasm") returned false');
    registerMissingKernels('wasm');
    guardWasmHeap({ backend: tf.findBackend('wasm') as object, headroom: DEFAULT_WASM_HEAP_HEADROOM_BYTES });
    return `wasm (${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'})`;
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('setBackend("cpu") returned false');
  return 'cpu (plain JavaScript; slow)';
}

/**
 * Chooses and activates the tensor backend of a page, once, before any tensor is made.
 *
 * @example
 * const info = await initBrowserBackend({ wasmPaths: '/wasm/' });
 * status.textContent = `backend: ${info.description}`;
 */
export async function initBrowserBackend(options: BrowserBackendOptions = {}): Promise<BrowserBackendInfo> {
  const candidates: BrowserBackendName[] = options.backend ? [options.backend] : ['webgpu', 'wasm', 'cpu'];
  const skipped: { name: BrowserBackendName; reason: string }[] = [];
  for (const name of candidates) {
    try {
      const description = await activate(name, Boolean(options.backend), options);
      await tf.ready();
      return { name, description, skipped };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (options.backend) throw error;
      skipped.push({ name, reason });
    }
  }
  throw new Error(`no tensor backend could be loaded (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`);
}
