/**
 * The webgpu backend on SwiftShader (Dawn for Node + the Vulkan driver of Debian's chromium): Hugging Face parity
 * on the two tiny fixtures, a few DePT training steps against the wasm backend's own, every tfjs-webgpu matMul
 * program against wasm's product, and the backend choice (`--backend webgpu` without an adapter is one line and
 * exit 2; the automatic choice never takes a software adapter). SwiftShader computes on the CPU at ~0.1 GFLOP/s:
 * everything here is tiny.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { describeAdapter, initBackend, tf } from '@dept/tensor';
import { loadPretrainedT5 } from '@dept/t5';
import { scoreBatch } from '@dept/prompt';
import { trainPrompt, type TrainConfig, type TrainEvent } from '@dept/train';
import { accuracyMetrics, sentimentExamples, writeTinyModel } from '../packages/train/test/synthetic.ts';
import { loadParityCase, parityDeltas } from './helpers/parity.ts';
import { REPO_ROOT, sharedPath, HAS_SHARED } from './helpers/shared.ts';
import { describeWebGpu, SWIFTSHADER_ICD, swiftShaderEnv } from './helpers/webgpu.ts';

const DEPT = join(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');
const GATED = join(REPO_ROOT, 'test', 'fixtures', 'tiny-gated');

describe('adapter names', () => {
  it('tell software adapters (SwiftShader, llvmpipe) from GPUs', () => {
    expect(describeAdapter({ vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true }))
      .toEqual({ name: 'google swiftshader (SwiftShader driver 5.0.0)', software: true });
    expect(describeAdapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }).software).toBe(true);
    expect(describeAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })).toEqual({ name: 'nvidia hopper (NVIDIA H200)', software: false });
    expect(describeAdapter(undefined)).toEqual({ name: 'unnamed adapter', software: false });
  });
});

describeWebGpu('webgpu on SwiftShader', () => {
  beforeAll(async () => {
    Object.assign(process.env, swiftShaderEnv()); // read by the Vulkan loader when Dawn starts, below
    const info = await initBackend({ backend: 'webgpu', announce: false });
    expect(info.description).toContain('swiftshader');
    expect(tf.getBackend()).toBe('webgpu');
  });

  // Measured on SwiftShader (2026-12-04): tiny-relu loss 1.2e-7, logits 1.3e-6, gradients ≤ 2.7e-7; tiny-gated loss
  // 2.1e-7, logits 9.3e-6 (logits of this untied model reach ~30), gradients ≤ 8.3e-7. The tolerances are ~8× those.
  const cases = [
    { name: 'tiny-relu (../shared)', dir: sharedPath('fixtures', 'parity', 'tiny-relu'), tol: { loss: 1e-6, logits: 1e-5, hidden: 1e-5, grads: 2e-6 }, needsShared: true },
    { name: 'tiny-gated', dir: GATED, tol: { loss: 5e-6, logits: 1e-4, hidden: 1e-5, grads: 1e-5 }, needsShared: false },
  ];
  for (const c of cases) {
    it.skipIf(c.needsShared && !HAS_SHARED)(`${c.name}: loss, logits, encoder states, gradients and greedy ids (cached and uncached) match Hugging Face`, async () => {
      const p = loadParityCase(c.dir);
      try {
        const scores = await scoreBatch(p.model, p.prompt, p.batch, { greedySteps: p.expected.greedy_steps });
        const d = parityDeltas(scores, p.expected);
        expect(d.loss).toBeLessThan(c.tol.loss);
        expect(d.logits).toBeLessThan(c.tol.logits);
        expect(d.hidden).toBeLessThan(c.tol.hidden);
        for (const g of d.grads) expect(g).toBeLessThan(c.tol.grads);
        expect(scores.greedy_ids).toEqual(p.expected.greedy_ids);
        const uncached = await scoreBatch(p.model, p.prompt, p.batch, { greedySteps: p.expected.greedy_steps, useCache: false });
        expect(uncached.greedy_ids).toEqual(p.expected.greedy_ids);
      } finally {
        p.dispose();
      }
    });
  }

  it('every tfjs-webgpu matMul program (reduce, split-K, small-output, packed) gives the wasm product', async () => {
    // On a software adapter dept always runs the packed program (the others are ~100× slower there); a GPU runs
    // tfjs's own choice, which these shapes steer to each program in turn (BatchMatMul_impl: few 32×32 output tiles
    // → reduce when the output has ≤ 128 values, split-K for one product with k ≥ 2000, else small-output).
    const rng = new Rng(5);
    const shapes: [number, number, number, number][] = [[1, 3, 40, 5], [1, 10, 2100, 20], [4, 3, 32, 32], [4, 64, 24, 72]];
    const values = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
    const inputs = shapes.map(([b, n, k, m]) => ({ a: values(b * n * k), b: values(b * k * m), shape: [b, n, k, m] as const }));
    const product = async () => Promise.all(inputs.map(async ({ a, b, shape: [bs, n, k, m] }) => {
      const out = tf.matMul(tf.tensor3d(a, [bs, n, k]), tf.tensor3d(b, [bs, k, m]));
      return out.data() as Promise<Float32Array>;
    }));
    const saved = tf.env().get('WEBGPU_MATMUL_PROGRAM_TYPE');
    let results: Float32Array[];
    try {
      tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', -1); // tfjs's own choice, as on a GPU
      results = await product();
    } finally {
      tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', saved);
    }
    await initBackend({ backend: 'wasm', announce: false });
    const reference = await product();
    await initBackend({ backend: 'webgpu', announce: false });
    results.forEach((r, i) => {
      const k = (shapes[i] as number[])[2] as number;
      let worst = 0;
      r.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - (reference[i] as Float32Array)[j]!)); });
      // k float32 roundings of partial sums of size ~√k/3 (products of values in [-1, 1]), in another order
      expect(worst).toBeLessThan(1.2e-7 * k);
    });
  });

  describe('DePT training', () => {
    const data = { train: sentimentExamples(8, 1), dev: sentimentExamples(4, 2), test: sentimentExamples(4, 3) };
    const evaluation = { metrics: accuracyMetrics, selectionMetric: 'accuracy', labels: ['0', '1'] };
    const config: Partial<TrainConfig> = {
      num_virtual_tokens: 4, r: 2, max_length: 12, lr: 0.3, lora_lr: 0.01, warmup_steps: 0, max_steps: 3, batch_size: 4,
      eval_batch_size: 4, eval_steps: 3, save_steps: 10, log_steps: 1, seed: 7, prompt_init: 'TEXT', predict: 'generate', max_new_tokens: 3,
    };
    let modelDir: string;
    let work: string;
    beforeAll(() => {
      modelDir = writeTinyModel(0); // random weights
      work = mkdtempSync(join(tmpdir(), 'dept-webgpu-'));
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    const train = async (backend: 'wasm' | 'webgpu') => {
      await initBackend({ backend, announce: false });
      const { model, tokenizer } = loadPretrainedT5(modelDir);
      const losses: number[] = [];
      const onEvent = (e: TrainEvent) => { if (e.type === 'step') losses.push(e.loss); };
      try {
        const results = await trainPrompt({ model, tokenizer: tokenizer!, data, evaluation, config, outDir: join(work, backend), randomWeights: true, onEvent });
        return { losses, results };
      } finally {
        model.dispose();
      }
    };

    it('three steps with dropout give the wasm backend\'s losses and predictions (random tiny model)', async () => {
      const wasm = await train('wasm');
      const gpu = await train('webgpu');
      expect(gpu.results.backend).toBe('webgpu');
      expect(gpu.losses.length).toBe(3);
      // Dropout masks are the same on every backend; what differs is summation order (float32).
      gpu.losses.forEach((l, i) => expect(Math.abs(l - wasm.losses[i]!)).toBeLessThan(1e-5 * Math.max(1, wasm.losses[i]!)));
      expect(gpu.results.dev).toEqual(wasm.results.dev);
      expect(gpu.results.test).toEqual(wasm.results.test);
    });
  });
});

describeWebGpu('choosing webgpu', () => {
  const score = (env: Record<string, string>, backend?: string) => spawnSync(process.execPath, [
    DEPT, ...(backend ? ['--backend', backend] : []), 'score', '--model', GATED, '--bank', join(GATED, 'bank'),
    '--batch', join(GATED, 'batch.json'), '--out', join(mkdtempSync(join(tmpdir(), 'dept-webgpu-cli-')), 'out.json'),
  ], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEPT_BACKEND: '', DEPT_WASM_THREADS: '1', ...env } });

  it('--backend webgpu with no adapter is one line naming what is missing, exit 2', () => {
    const res = score({ VK_ICD_FILENAMES: join(tmpdir(), 'no-such-driver.json') }, 'webgpu');
    expect(res.status).toBe(2);
    const lines = res.stderr.split('\n').filter((l) => l.startsWith('dept:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dept: error: backend "webgpu" could not be loaded: no WebGPU adapter; Dawn needs Vulkan: .*libvulkan1.*vk_swiftshader_icd\.json/);
  });

  it('the automatic choice passes over SwiftShader (a software adapter) and takes wasm', () => {
    // Known by its driver file's name (Dawn is not even loaded) ...
    const byFile = score({ VK_ICD_FILENAMES: SWIFTSHADER_ICD });
    expect(byFile.stderr).toContain('dept: backend wasm');
    expect(byFile.status).toBe(0);
    // ... and, under a neutral name, by the adapter Dawn reports.
    const dir = mkdtempSync(join(tmpdir(), 'dept-icd-'));
    const icd = join(dir, 'gpu_icd.json');
    writeFileSync(icd, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: join(dirname(SWIFTSHADER_ICD), 'libvk_swiftshader.so'), api_version: '1.0.5' } }));
    const byAdapter = score({ VK_ICD_FILENAMES: icd });
    rmSync(dir, { recursive: true, force: true });
    expect(byAdapter.stderr).toContain('dept: backend wasm');
    expect(byAdapter.status).toBe(0);
  });
});
