/**
 * The DePT page: loads a T5 folder and a bank (URLs from `?model=` and `?bank=`, default `./model/` and `./bank/`),
 * classifies typed text by label scoring (`?labels=0,1`, the source prefixed with `?prefix=`, default
 * `sentence: `), and trains the bank's P, A and B for a few steps with the library's own step (`promptStep`),
 * dropout masks and batches as `dept train` draws them. Backend: WebGPU on a hardware adapter, else wasm;
 * `?backend=webgpu|wasm|cpu` forces one (a software WebGPU adapter only so).
 *
 * Each output element also carries its numbers as JSON in `data-result` (the browser test reads them).
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initBrowserBackend, type BrowserBackendName } from '@dept/tensor';
import { DecomposedPrompt } from '@dept/prompt';
import {
  batchIndices, encodeExamples, maxInputPositions, newPromptOptimiser, predict, promptStep, resolveTrainConfig, targetLengthFor,
  type TextExample, type TrainConfig,
} from '@dept/train';
import { fetchBank, fetchT5 } from './load.ts';

const params = new URLSearchParams(location.search);
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = byId<HTMLParagraphElement>('status');
const show = (el: HTMLElement, text: string, result: unknown) => {
  el.textContent = text;
  el.dataset.result = JSON.stringify(result);
};

/** The training settings of the page: the bank's shape, DePT's learning rates, a batch of 4, seed 7. */
export function pageTrainConfig(bank: { num_virtual_tokens: number; r: number; max_length: number; lora_alpha: number }, steps: number): TrainConfig {
  return resolveTrainConfig({
    num_virtual_tokens: bank.num_virtual_tokens, r: bank.r, max_length: bank.max_length, lora_alpha: bank.lora_alpha,
    lr: 0.3, lora_lr: 0.01, warmup_steps: 0, max_steps: steps, batch_size: 4, seed: 7, max_target_length: 0,
  }, 'page');
}

function parseExamples(text: string, prefix: string): TextExample[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new Error(`"${line}": expected text, a tab, then the label`);
    return { source: `${prefix}${line.slice(0, tab).trim()}`, target: line.slice(tab + 1).trim() };
  });
}

async function main(): Promise<void> {
  const backend = params.get('backend') as BrowserBackendName | null;
  const info = await initBrowserBackend({
    ...(backend ? { backend } : {}),
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded },
  });
  const skipped = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  show(status, `Backend: ${info.description}${skipped ? ` (not ${skipped})` : ''}. Loading the model…`, { backend: info.name, description: info.description, skipped: info.skipped });
  const modelUrl = params.get('model') ?? './model/';
  const bankUrl = params.get('bank') ?? './bank/';
  const labels = (params.get('labels') ?? '0,1').split(',');
  const prefix = params.get('prefix') ?? 'sentence: ';
  const { model, tokenizer, randomWeights } = await fetchT5(modelUrl);
  const bank = await fetchBank(bankUrl);
  const prompt = DecomposedPrompt.fromHost(bank.config, bank);
  byId('weights-note').hidden = !randomWeights;
  byId('prefix').textContent = JSON.stringify(prefix);
  byId<HTMLTextAreaElement>('examples').value = params.get('examples') ?? [
    'the movie was great\t1', 'the film was awful\t0', 'the story was lovely\t1', 'the book was boring\t0',
    'the show was fun\t1', 'the movie was dull\t0', 'the film was good\t1', 'the story was poor\t0',
  ].join('\n');
  show(status, `Backend: ${info.description}. Model ${modelUrl} (d_model ${model.config.d_model}${randomWeights ? ', random weights' : ''}), bank ${bankUrl} (m ${bank.config.num_virtual_tokens}, r ${bank.config.r}).`, { backend: info.name, description: info.description, skipped: info.skipped, randomWeights });

  const classify = byId<HTMLButtonElement>('classify');
  const train = byId<HTMLButtonElement>('train');
  let busy = false;
  const run = (button: HTMLButtonElement, work: () => Promise<void>) => button.addEventListener('click', () => {
    if (busy) return;
    busy = true;
    classify.disabled = train.disabled = true;
    work().catch((error: unknown) => show(status, `Error: ${error instanceof Error ? error.message : String(error)}`, { error: String(error) }))
      .finally(() => { busy = false; classify.disabled = train.disabled = false; });
  });

  run(classify, async () => {
    const text = byId<HTMLInputElement>('text').value;
    let scores: number[] = [];
    const [label] = await predict(model, tokenizer, prompt, [{ source: `${prefix}${text}`, target: '' }], {
      mode: 'score', labels, maxLength: bank.config.max_length, batchSize: 1, onScores: (rows) => { scores = rows[0] ?? []; },
    });
    show(byId('prediction'), `${label}   (log-likelihoods: ${labels.map((l, i) => `${l} ${scores[i]?.toFixed(4)}`).join(', ')})`, { text, label, labels, scores });
  });

  run(train, async () => {
    const examples = parseExamples(byId<HTMLTextAreaElement>('examples').value, prefix);
    const steps = Number(byId<HTMLInputElement>('steps').value);
    const config = pageTrainConfig(bank.config, steps);
    const encoded = encodeExamples(tokenizer, examples, config.max_length, targetLengthFor(config, tokenizer, examples, maxInputPositions(model.config.num_heads)));
    const optimiser = await newPromptOptimiser(prompt);
    const progress = byId<HTMLProgressElement>('progress');
    const losses: number[] = [];
    progress.max = steps;
    progress.value = 0;
    for (let step = 0; step < steps; step++) {
      const { indices } = batchIndices({ n: examples.length, batchSize: config.batch_size, seed: config.seed, step });
      const { loss, finite } = await promptStep(optimiser, { model, prompt, config, encoded, indices, step });
      if (!finite) throw new Error(`step ${step + 1}: the loss or a gradient is not finite`);
      losses.push(loss);
      progress.value = step + 1;
      show(byId('losses'), losses.map((l, i) => `step ${i + 1}: loss ${l.toFixed(4)}`).join('\n'), { losses, config, examples, done: step + 1 === steps });
    }
  });
  classify.disabled = train.disabled = false;
}

main().catch((error: unknown) => show(status, `Error: ${error instanceof Error ? error.message : String(error)}`, { error: String(error) }));
