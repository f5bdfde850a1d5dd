/**
 * tfjs's WebGPU backend (`@tensorflow/tfjs-backend-webgpu` 4.22, an optional dependency) on whatever
 * `navigator.gpu` is: a browser's, or Dawn's in Node (`webgpu-node.ts` installs it). Browser-safe: no Node module
 * is imported here.
 *
 * The model runs on it through the generic tfjs paths (the wasm-specific kernels fall back as on `cpu`). A software
 * adapter (SwiftShader, llvmpipe/lavapipe: about 0.1 GFLOP/s) is used only when asked for (`allowSoftware`); the
 * automatic choice passes it over.
 */
import * as tf from '@tensorflow/tfjs';
import { DeptError } from '@dept/core';

/** The parts of a WebGPU adapter's `info` read here (GPUAdapterInfo). */
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** The parts of `navigator.gpu` used here. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<{ info?: GpuAdapterInfoLike } | null>;
}

/** What the adapter tfjs computes on is. */
export interface WebGpuAdapter {
  /** e.g. `nvidia hopper (NVIDIA H200)`, `google swiftshader (SwiftShader driver 5.0.0)`. */
  name: string;
  /** A CPU implementation of WebGPU (SwiftShader, llvmpipe): correct, far too slow to train on. */
  software: boolean;
}

/** Thrown when there is no usable adapter; the message says what to do. */
export class NoWebGpuAdapterError extends DeptError {}

/** tfjs-backend-webgpu 4.22's `MatMulProgramType`: Reduce 0, SplitK 1, SmallOutputSize 2, Packed 3. */
export const MATMUL_PACKED_PROGRAM = 3;

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render/i;

/**
 * Names an adapter and says whether it is a software one.
 *
 * @example
 * describeAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true });
 * // → { name: 'google swiftshader (SwiftShader driver 5.0.0)', software: true }
 */
export function describeAdapter(info: GpuAdapterInfoLike | undefined): WebGpuAdapter {
  const words = [info?.vendor, info?.architecture].filter((w): w is string => Boolean(w));
  const detail = info?.description || info?.device || '';
  const name = `${words.join(' ') || 'unnamed adapter'}${detail ? ` (${detail})` : ''}`;
  const software = info?.isFallbackAdapter === true || SOFTWARE.test(`${words.join(' ')} ${info?.description ?? ''} ${info?.device ?? ''}`);
  return { name, software };
}

/** `navigator.gpu`, or null. */
export function navigatorGpu(): GpuLike | null {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? null;
}

/** The adapter tfjs-webgpu will take (it asks for the high-performance one), or null when there is none. */
export async function findWebGpuAdapter(gpu: GpuLike): Promise<WebGpuAdapter | null> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? describeAdapter(adapter.info) : null;
}

/** Options of {@link activateWebGpu}. */
export interface ActivateWebGpuOptions {
  /** Accept a software adapter (default false: it is refused with a message saying how to ask for it). */
  allowSoftware?: boolean;
  /** How to ask for a software adapter, for the refusal's message (e.g. `--backend webgpu`). */
  askHint?: string;
  /** What to say when there is no adapter at all (how to get one on this platform). */
  noAdapterHint?: string;
}

/**
 * Makes tfjs compute on WebGPU through `navigator.gpu`: finds the adapter, refuses a software one unless
 * allowed, loads `@tensorflow/tfjs-backend-webgpu` and sets the backend. Throws a {@link NoWebGpuAdapterError}
 * when there is no adapter, or only a software one that was not asked for.
 *
 * @example
 * const adapter = await activateWebGpu({ allowSoftware: false }); // in a browser with WebGPU
 * console.log(adapter.name); // e.g. 'apple metal-3 (Apple M2)'
 */
export async function activateWebGpu(options: ActivateWebGpuOptions = {}): Promise<WebGpuAdapter> {
  const gpu = navigatorGpu();
  if (!gpu) throw new NoWebGpuAdapterError(`no WebGPU here (navigator.gpu is missing)${options.noAdapterHint ? `; ${options.noAdapterHint}` : ''}`);
  const adapter = await findWebGpuAdapter(gpu);
  if (!adapter) throw new NoWebGpuAdapterError(`no WebGPU adapter${options.noAdapterHint ? `; ${options.noAdapterHint}` : ''}`);
  if (adapter.software && !options.allowSoftware) {
    throw new NoWebGpuAdapterError(`the WebGPU adapter is a software one, ${adapter.name}; it is used only when asked for${options.askHint ? ` (${options.askHint})` : ''}`);
  }
  // Registers the 'webgpu' backend factory (when navigator.gpu exists) on import.
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend("webgpu") returned false');
  // tfjs picks its "small output" and "reduce" matMul programs for products with few output tiles (the decoder's
  // rows, cached decoding); on SwiftShader, which emulates workgroup barriers on the CPU, they take 50-600 ms a call
  // for a 3×32×32 product, about 100× the packed (32×32 tiled) program. A real GPU keeps tfjs's own choice.
  if (adapter.software) tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED_PROGRAM);
  return adapter;
}

/** The start-up line's description of a WebGPU backend. */
export function describeWebGpu(adapter: WebGpuAdapter): string {
  return `webgpu (${adapter.name}${adapter.software ? '; software adapter: correct but slow, about 0.1 GFLOP/s' : ''})`;
}
