/**
 * dept-ts: Decomposed Prompt Tuning (DePT, Shi & Lipani, ICLR 2024) on a frozen Hugging Face T5, as one library.
 *
 * Everything the @dept packages export, from the ground up (docs/DESIGN-NOTES.md has the floors). Each group is
 * also a subpath of its own, which loads only that package and the ones below it: `dept-ts/tasks` (data, no
 * tensors: it never loads tfjs), `dept-ts/t5/config` and `dept-ts/train/config` (configs without tfjs),
 * `dept-ts/prompt/budget` (the parameter budget) and `dept-ts/fewshot/report` (reports of grid folders), and so on.
 *
 * 1. `dept-ts/core`: `DeptError`, the seeded `Rng`, atomic writes, JSON with located errors.
 * 2. `dept-ts/hub`: the Hugging Face hub client and cache.
 * 3. `dept-ts/tensor`: tfjs (`tf`), `initBackend`, kernels, safetensors, the safe PyTorch reader.
 * 4. `dept-ts/t5`: config, HF folders (`loadPretrainedT5`, `writeRandomT5`), forward, decoding, tokenizer.
 * 5. `dept-ts/prompt`: the decomposed prompt and the bank folder.
 * 6. `dept-ts/tasks`: readers, templates, metrics, splits, k-shot samplers.
 * 7. `dept-ts/train`: the training loop (`trainPrompt`), checkpoints, evaluation.
 * 8. `dept-ts/transfer`: bank formats in and out, initialisation from source banks.
 * 9. `dept-ts/pretrain`: multitask source pretraining.
 * 10. `dept-ts/fewshot`: `runCell` (one k-shot run), the grid, reports.
 *
 * @example
 * import { initBackend, loadPretrainedT5, runCell } from 'dept-ts';
 * await initBackend();
 * const results = await runCell({ pretrained: loadPretrainedT5('models/t5-base'), task: 'rte', k: 16, seed: 13,
 *   dataDir: 'datasets', train: { max_steps: 1000 }, outDir: 'runs/rte/k16/seed13' });
 */
export * from './core.ts';
export * from './hub.ts';
export * from './tensor.ts';
export * from './t5.ts';
export * from './prompt.ts';
export * from './tasks.ts';
export * from './train.ts';
export * from './transfer.ts';
export * from './pretrain.ts';
export * from './fewshot.ts';
