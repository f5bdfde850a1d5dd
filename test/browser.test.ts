/**
 * examples/browser in headless Debian Chromium (playwright-core): the page, built by Vite from the packages'
 * sources, loads a tiny random T5 and a bank over HTTP, classifies typed text and trains the bank for three steps;
 * its label scores, losses and labels are checked against Node's own (the wasm backend here; `trainPrompt` for the
 * steps). Once forced onto WebGPU (SwiftShader, a software adapter) and once left to choose (it must then pass
 * SwiftShader over and run wasm). Skips, saying why, without Chromium or SwiftShader.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { initBackend } from '@dept/tensor';
import { loadPretrainedT5, type PretrainedT5 } from '@dept/t5';
import { DecomposedPrompt, initPromptValues, makeBankConfig, readBank, writeBank, type Bank } from '@dept/prompt';
import { predict, trainPrompt, type TextExample, type TrainConfig, type TrainEvent } from '@dept/train';
import { writeTinyModel } from '../packages/train/test/synthetic.ts';
import { buildPage, serveFolders } from '../examples/browser/serve.ts';
import { CHROMIUM, SWIFTSHADER_ICD } from './helpers/webgpu.ts';

/** Flags that give headless Chromium WebGPU on its bundled SwiftShader (no GPU here); --no-sandbox: CI runs as root. */
const CHROMIUM_FLAGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
const LABELS = ['0', '1'];
const PREFIX = 'sentence: ';
const TEXT = 'the book was lovely';
const STEPS = 3;

function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install chromium, or .ci/webgpu-packages.sh)`;
  if (!existsSync(SWIFTSHADER_ICD)) return 'Debian\'s chromium without its SwiftShader driver';
  return null;
}

/** The page's DOM as the in-page callbacks below use it (this file compiles without the DOM library). */
interface PageDocument {
  getElementById(id: string): { dataset: Record<string, string | undefined>; removeAttribute(name: string): void } | null;
}

interface PageRun {
  status: { backend: string; description: string; randomWeights?: boolean; error?: string };
  before: { label: string; scores: number[] };
  training: { losses: number[]; config: TrainConfig; examples: TextExample[] };
  after: { label: string; scores: number[] };
}

const reason = skipReason();
(reason ? describe.skip : describe)(`examples/browser in headless Chromium${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let work: string;
  let modelDir: string;
  let bankDir: string;
  let site: { server: Server; url: string };
  let browser: import('playwright-core').Browser;
  let node: PretrainedT5;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
    work = mkdtempSync(join(tmpdir(), 'dept-browser-'));
    modelDir = writeTinyModel(0); // random weights
    node = loadPretrainedT5(modelDir);
    const config = makeBankConfig({ num_virtual_tokens: 4, token_dim: node.config.d_model, max_length: 12, r: 2 });
    const values = await initPromptValues({ shape: config, method: 'TEXT', rng: new Rng(3), model: node.model, tokenizer: node.tokenizer! });
    // B starts at zero in DePT; a random B makes A·B (the part the step changes by lora_lr) matter from step 1.
    const b = values.lora_embedding_B!;
    const rng = new Rng(4);
    b.data = b.data.map(() => rng.uniform(-0.5, 0.5));
    bankDir = join(work, 'bank');
    writeBank(bankDir, { config, ...values } as Bank);
    const dist = join(work, 'dist');
    await buildPage(dist);
    site = await serveFolders({ '/': dist, '/model/': modelDir, '/bank/': bankDir });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    site?.server.close();
    node?.model.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Opens the page, classifies TEXT, trains STEPS steps, classifies again; every number from the page's DOM. */
  async function runPage(query: string): Promise<PageRun> {
    const page = await browser.newPage();
    try {
      await page.goto(`${site.url}index.html${query}`);
      const result = async (id: string) => JSON.parse((await page.getAttribute(`#${id}`, 'data-result')) ?? 'null');
      const settled = async (id: string, done: string) => {
        await page.waitForFunction(([el, cond]) => {
          const document = (globalThis as unknown as { document: PageDocument }).document;
          const status = JSON.parse(document.getElementById('status')?.dataset.result ?? '{}');
          if (status.error) return true;
          const r = JSON.parse(document.getElementById(el as string)?.dataset.result ?? 'null');
          return r !== null && (cond === '' || r[cond as string] === true);
        }, [id, done], { timeout: 240_000, polling: 200 });
        const status = await result('status');
        if (status.error) throw new Error(`the page says: ${status.error}`);
      };
      await page.waitForSelector('#classify:not([disabled])', { timeout: 120_000 });
      await page.fill('#text', TEXT);
      await page.click('#classify');
      await settled('prediction', '');
      const before = await result('prediction');
      await page.fill('#steps', String(STEPS));
      await page.click('#train');
      await settled('losses', 'done');
      expect(await page.getAttribute('#progress', 'value')).toBe(String(STEPS));
      const training = await result('losses');
      await page.waitForSelector('#classify:not([disabled])');
      await page.evaluate(() => { (globalThis as unknown as { document: PageDocument }).document.getElementById('prediction')!.removeAttribute('data-result'); });
      await page.click('#classify');
      await settled('prediction', '');
      return { status: await result('status'), before, training, after: await result('prediction') };
    } finally {
      await page.close();
    }
  }

  /** Node's label scores for TEXT with a bank. */
  async function nodeScores(bank: Bank): Promise<{ label: string; scores: number[] }> {
    const prompt = DecomposedPrompt.fromHost(bank.config, bank);
    let scores: number[] = [];
    const [label] = await predict(node.model, node.tokenizer!, prompt, [{ source: `${PREFIX}${TEXT}`, target: '' }], {
      mode: 'score', labels: LABELS, maxLength: bank.config.max_length, batchSize: 1, onScores: (rows) => { scores = rows[0] ?? []; },
    });
    prompt.dispose();
    return { label: label as string, scores };
  }

  /** Node's training of the bank with the page's settings and examples, through trainPrompt. */
  async function nodeTraining(run: PageRun, name: string): Promise<{ losses: number[]; bank: Bank }> {
    const losses: number[] = [];
    const examples = run.training.examples;
    await trainPrompt({
      model: node.model, tokenizer: node.tokenizer!, config: run.training.config, outDir: join(work, name),
      data: { train: examples, dev: examples.slice(0, 2), test: [] }, initialBank: readBank(bankDir), randomWeights: true,
      evaluation: { metrics: () => ({ accuracy: 0 }), selectionMetric: 'accuracy', labels: LABELS },
      onEvent: (e: TrainEvent) => { if (e.type === 'step') losses.push(e.loss); },
    });
    return { losses, bank: readBank(join(work, name, 'bank')) };
  }

  function expectClose(got: number[], want: number[], tol: (w: number) => number): void {
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(Math.abs(g - want[i]!), `entry ${i}: ${g} vs ${want[i]}`).toBeLessThan(tol(want[i]!)));
  }

  async function compareWithNode(run: PageRun, name: string, tol: { score: number; loss: number }): Promise<void> {
    expect(run.status.randomWeights).toBe(true);
    const before = await nodeScores(readBank(bankDir));
    expectClose(run.before.scores, before.scores, () => tol.score);
    expect(run.before.label).toBe(before.label);
    const trained = await nodeTraining(run, name);
    expect(trained.losses).toHaveLength(STEPS);
    expectClose(run.training.losses, trained.losses, (w) => tol.loss * Math.max(1, w));
    const after = await nodeScores(trained.bank);
    expectClose(run.after.scores, after.scores, () => tol.score);
    expect(run.after.label).toBe(after.label);
    // Training changed the prompt: the scores moved (by far more than the tolerance).
    expect(Math.max(...after.scores.map((s, i) => Math.abs(s - before.scores[i]!)))).toBeGreaterThan(100 * tol.score);
  }

  it('forced onto WebGPU (?backend=webgpu, SwiftShader), classifies and trains as Node does', async () => {
    const run = await runPage('?backend=webgpu');
    expect(run.status.backend).toBe('webgpu');
    expect(run.status.description).toContain('swiftshader');
    // float32 on another backend, sums in another order: measured (2026-12-04) scores within 9.5e-7 (1 ulp at 13),
    // losses within 8e-8 relative; the tolerances are ~10× those.
    await compareWithNode(run, 'node-for-webgpu', { score: 1e-5, loss: 1e-6 });
  });

  it('left to choose, passes over SwiftShader (a software adapter), runs wasm and gives Node\'s numbers', async () => {
    const run = await runPage('');
    expect(run.status.backend).toBe('wasm');
    // The same wasm kernels as in Node: measured bit-identical (2026-12-04).
    await compareWithNode(run, 'node-for-wasm', { score: 1e-6, loss: 1e-7 });
  });
});
