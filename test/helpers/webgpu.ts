/**
 * What the WebGPU tests need on this machine: Dawn for Node (`webgpu`, an optional dependency), the Vulkan loader
 * and SwiftShader's Vulkan driver from Debian's `chromium` package (`.ci/webgpu-packages.sh` installs both). Tests
 * skip with the reason when something is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe } from 'vitest';

/** SwiftShader's Vulkan ICD manifest as Debian's chromium installs it. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Debian's headless-capable Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

function hasVulkanLoader(): boolean {
  try {
    return execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

/** Why WebGPU through Dawn + SwiftShader cannot run here, or null when it can. */
export function webgpuSkipReason(): string | null {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-webgpu');
    createRequire(import.meta.url).resolve('webgpu');
  } catch {
    return 'the optional packages webgpu and @tensorflow/tfjs-backend-webgpu are not installed';
  }
  if (process.platform !== 'linux') return 'SwiftShader from Debian\'s chromium is a Linux test setup';
  if (!existsSync(SWIFTSHADER_ICD)) return `${SWIFTSHADER_ICD} not found (apt-get install chromium, or .ci/webgpu-packages.sh)`;
  if (!hasVulkanLoader()) return 'the Vulkan loader libvulkan.so.1 is not installed (apt-get install libvulkan1, or .ci/webgpu-packages.sh)';
  return null;
}

/** `describe` that runs only where Dawn + SwiftShader can run, else skips saying why. */
export function describeWebGpu(name: string, fn: () => void): void {
  const reason = webgpuSkipReason();
  if (reason) describe.skip(`${name} (skipped: ${reason})`, fn);
  else describe(name, fn);
}

/** The environment that makes Dawn see SwiftShader (and only it). */
export function swiftShaderEnv(): Record<string, string> {
  return { VK_ICD_FILENAMES: SWIFTSHADER_ICD };
}
