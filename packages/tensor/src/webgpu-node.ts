/**
 * WebGPU in Node: Dawn's binding (`webgpu` 0.6.2, an optional dependency: a prebuilt `dawn.node` per platform)
 * installed as `navigator.gpu`, for `webgpu.ts`. On Linux Dawn computes through Vulkan, so it needs the Vulkan
 * loader (`libvulkan1`) and a driver (an ICD file under `/usr/share/vulkan/icd.d` or `$VK_ICD_FILENAMES`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DeptError } from '@dept/core';
import type { GpuLike } from './webgpu.ts';

/** Where the Vulkan loader looks for driver (ICD) manifests on Linux, as it documents. */
function icdFolders(): string[] {
  const env = process.env;
  const config = [env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), ...(env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':'), '/etc'];
  const data = [env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), ...(env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':')];
  return [...config, ...data].filter(Boolean).map((d) => join(d, 'vulkan', 'icd.d'));
}

const SOFTWARE_ICD = /lvp_icd|swiftshader|softpipe/i;

/**
 * The Vulkan drivers (ICD manifests) the loader would find on Linux, split into hardware and software ones; null
 * off Linux (Dawn uses Metal or D3D12 there). `$VK_ICD_FILENAMES` / `$VK_DRIVER_FILES` replace the search.
 *
 * @example
 * vulkanDrivers(); // e.g. { hardware: ['/usr/share/vulkan/icd.d/nvidia_icd.json'], software: [] }
 */
export function vulkanDrivers(): { hardware: string[]; software: string[] } | null {
  if (process.platform !== 'linux') return null;
  const explicit = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES;
  const files = explicit
    ? explicit.split(':').filter((f) => f && existsSync(f))
    : icdFolders().flatMap((dir) => {
      try {
        return readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => join(dir, n));
      } catch {
        return [];
      }
    });
  const extra = (process.env.VK_ADD_DRIVER_FILES ?? '').split(':').filter((f) => f && existsSync(f));
  const all = [...new Set([...files, ...extra])];
  return { hardware: all.filter((f) => !SOFTWARE_ICD.test(f)), software: all.filter((f) => SOFTWARE_ICD.test(f)) };
}

/** What to do when Dawn finds no adapter here. */
export function noAdapterHint(): string {
  if (process.platform !== 'linux') return 'Dawn found no GPU (it uses Metal on macOS, D3D12 on Windows)';
  return 'Dawn needs Vulkan: the loader (Debian: libvulkan1) and a GPU driver with Vulkan (e.g. the NVIDIA driver, '
    + 'Mesa\'s radv); for a software adapter (tests only), Debian\'s chromium and VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json';
}

interface DawnModule {
  create(options: string[]): unknown;
  globals: Record<string, unknown>;
}

let dawnGpu: GpuLike | null = null;

/**
 * Installs Dawn as `navigator.gpu` (and WebGPU's global constants, `GPUBufferUsage` and the rest) once per process.
 * Throws a `DeptError` naming the missing package when `webgpu` is not installed.
 *
 * @example
 * await installDawn();
 * const adapter = await navigator.gpu.requestAdapter();
 */
export async function installDawn(): Promise<GpuLike> {
  if (dawnGpu) return dawnGpu;
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new DeptError(`the optional package "webgpu" (Dawn for Node) could not be loaded: ${reason}; install it with npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0`);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]) as GpuLike;
  const holder = globalThis as { navigator?: object };
  if (holder.navigator) Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true, enumerable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  dawnGpu = gpu;
  return gpu;
}
