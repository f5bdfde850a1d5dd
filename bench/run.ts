/**
 * `npm run bench [-- --json] [-- --quick] [-- --reps=N] [-- --shape=t5-base] [-- --micro=N] [-- --control] [-- --startup] [-- --backend=webgpu] [-- --no-startup]`: DePT's savings against vanilla prompt tuning, measured, and how close
 * the training step runs to the backend's own matMul rate. Random weights (numbers are timings, not results).
 *
 * For each model shape (t5-small, batch 8; t5-base, batch 2; s = 256):
 * - one training step (forward + backward to P, A, B + the AdamW update on the host) for vanilla prompt tuning
 *   (100 tokens) and DePT (m 60, r 30; m 40, r 45): median and fastest wall time of 9 steps each, the configurations
 *   run side by side micro-batch by micro-batch, and the step's peak tensor memory above the frozen weights (tfjs's
 *   own accounting, `tf.profile().peakBytes` minus the bytes held before);
 * - the DePT / PT ratios of time and memory, beside the ratio predicted by counting FLOPs. The time ratio is that of
 *   the fastest steps (this machine is a shared VM: other tenants only ever add time, by 10–30% for seconds at a
 *   time, so the fastest of several steps is the best estimate of a step's own cost); the median and quartiles of the
 *   ratios of micro-batches run side by side are reported beside it, to show the noise;
 * - the step's effective GFLOP/s (analytic FLOPs / time) and the backend's best 2-D matMul rate on
 *   [1024, 512] × [512, 2048], measured in the same process;
 * - evaluation throughput (examples/s): greedy generation of 20 tokens with and without the key/value cache, and
 *   label scoring;
 * - step time against s (128, 256, 512);
 * - with `--control`, a second PT configuration beside the first: the ratio of two identical steps, the noise floor;
 * - the start-up time of `dept --help`, `dept data list` and `dept data kshot` beside loading tfjs alone
 *   (`bench/startup.ts`; `--startup` runs only this part).
 * Everything runs in one process so ratios are fair. Human output goes to stderr, `--json` puts the figures on stdout.
 */
import { Rng } from '@dept/core';
import { BACKEND_NAMES, initBackend, tf, type BackendName } from '@dept/tensor';
import { benchTensors, makeBatch, makePrompt, type Batch } from './weights.ts';
import { measureStartup } from './startup.ts';
import { T5ForConditionalGeneration, buildT5Weights, greedyGenerate, presetConfig, scoreCandidates, type T5Config } from '@dept/t5';
import type { DecomposedPrompt } from '@dept/prompt';
import { adamwUpdate, clipGradNorm, HF_ADAMW_DEFAULTS } from '@dept/train';

const args = new Set(process.argv.slice(2));
const JSON_OUT = args.has('--json');
const QUICK = args.has('--quick');
/** `--control`: also time a second, identical PT configuration; its ratio to PT (ideally 1) shows the noise floor. */
const CONTROL = args.has('--control');
/** `--startup`: only the start-up times of the `dept` command. */
const STARTUP_ONLY = args.has('--startup');
/** `--no-startup`: skip the start-up times (a bundled bench, e.g. on the GPU machine, has no `dept` to start). */
const NO_STARTUP = args.has('--no-startup');
const backendArg = process.argv.find((a) => a.startsWith('--backend='))?.slice('--backend='.length);
if (backendArg !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backendArg)) {
  process.stderr.write(`bench: --backend=${backendArg}: expected one of ${BACKEND_NAMES.join(', ')}\n`);
  process.exit(2);
}
/** `--backend=NAME` forces a backend (as `dept --backend`), e.g. webgpu; default: the automatic choice. */
const BACKEND = backendArg as BackendName | undefined;
const repsArg = process.argv.find((a) => a.startsWith('--reps='));
/** Timed steps per configuration (the median is reported); `--reps=N` overrides. */
const REPS = repsArg ? Math.max(1, Number(repsArg.slice('--reps='.length))) : QUICK ? 3 : 9;
const shapeArg = process.argv.find((a) => a.startsWith('--shape='));
const microArg = process.argv.find((a) => a.startsWith('--micro='));
const sArg = process.argv.find((a) => a.startsWith('--s='));
const matmulArg = process.argv.find((a) => a.startsWith('--matmul='));
/** Rows of the reference product `[n, n/2] × [n/2, 2n]`; `--matmul=N` (e.g. 64 on a software adapter) overrides 1024. */
const MATMUL_N = matmulArg ? Number(matmulArg.slice('--matmul='.length)) : 1024;
/** Rows per micro-batch (the wasm heap is at most 4 GiB); `--micro=N` overrides. */
let MICRO = microArg ? Number(microArg.slice('--micro='.length)) : 0;
const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Analytic FLOPs of one training step (multiply-add = 2 FLOPs). Only input gradients flow (the model is frozen):
 * each linear layer's backward costs its forward once more; each attention product's backward costs two more.
 */
export function stepFlops(config: T5Config, b: number, encLen: number, tgtLen: number): number {
  const d = config.d_model;
  const inner = config.num_heads * config.d_kv;
  const ffMats = config.is_gated_act ? 3 : 2;
  const linearTok = 2 * (4 * d * inner + ffMats * d * config.d_ff);
  const encLinear = b * encLen * config.num_layers * linearTok;
  const encAttn = b * config.num_layers * 2 * (2 * encLen * encLen * inner);
  const decLinearTok = 2 * (4 * d * inner + 2 * d * inner + ffMats * d * config.d_ff);
  const decLinear = b * config.num_decoder_layers * (tgtLen * decLinearTok + encLen * 2 * 2 * d * inner);
  const decAttn = b * config.num_decoder_layers * 2 * (2 * tgtLen * tgtLen * inner + 2 * tgtLen * encLen * inner);
  const head = b * tgtLen * 2 * d * config.vocab_size;
  const linear = encLinear + decLinear + head;
  const attention = encAttn + decAttn;
  return linear * 2 + attention * 3;
}

/** The ratio of the fastest steps of `a` and `b`: noise from other tenants only adds time, so the fastest is the cleanest. */
function fastestRatio(a: StepResult, b: StepResult): number {
  return Math.min(...a.step_times_s) / Math.min(...b.step_times_s);
}

/** The quartiles [q1, median, q3] of the ratios of micro-batches run side by side (entry i of `a` over entry i of `b`). */
function pairedRatioQuartiles(a: StepResult, b: StepResult): [number, number, number] {
  const ratios = a.micro_times_s.map((t, i) => t / (b.micro_times_s[i] as number));
  return [quantile(ratios, 0.25), quantile(ratios, 0.5), quantile(ratios, 0.75)];
}

/** The q-quantile of `values` by linear interpolation between order statistics (q = 0.5: the median). */
function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

async function matmulRate(): Promise<number> {
  const n = MATMUL_N;
  const a = tf.randomUniform([n, n / 2]) as tf.Tensor2D;
  const w = tf.randomUniform([n / 2, 2 * n]) as tf.Tensor2D;
  let best = 0;
  // 20 products: V8 runs wasm on its baseline compiler until the hot functions tier up (about 0.5 s, in every
  // worker thread), so the first few are slow.
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, w);
    await c.data(); // (WebGPU has no synchronous read-back)
    const s = (performance.now() - t0) / 1000;
    c.dispose();
    if (i > 0) best = Math.max(best, (2 * n * (n / 2) * 2 * n) / s / 1e9);
  }
  tf.dispose([a, w]);
  return best;
}

interface StepResult {
  step_s: number;
  step_min_s: number;
  step_times_s: number[];
  /** Every timed micro-batch, in order (rep by rep); entry i of two configurations ran side by side. */
  micro_times_s: number[];
  peak_mb: number;
  flops: number;
  gflops: number;
}

/**
 * One training step of a prompt in phases, so that the configurations' micro-batches can be interleaved: `micro(j)`
 * adds micro-batch j's gradients (rows j·MICRO onwards; gradient accumulation, as the trainer's micro_batch_size,
 * which bounds the wasm heap), `update()` clips and applies AdamW on the host.
 */
function trainingStep(model: T5ForConditionalGeneration, prompt: DecomposedPrompt, batch: Batch, rng: Rng, moments: { m: Float32Array; v: Float32Array }[], t: number) {
  const vars = prompt.variables();
  const b = batch.ids.shape[0];
  const host = vars.map((v) => new Float32Array(v.size));
  return {
    micros: Math.ceil(b / MICRO),
    async micro(j: number): Promise<void> {
      const start = j * MICRO;
      const size = Math.min(MICRO, b - start);
      const { loss, grads } = tf.tidy(() => {
        const part = (x: tf.Tensor2D) => tf.slice(x, [start, 0], [size, -1]) as tf.Tensor2D;
        const embeds = model.embed(part(batch.ids));
        const mask = part(batch.mask);
        const labels = part(batch.labels);
        const { value, grads: g } = tf.variableGrads(() => {
          const inputs = prompt.encoderInputs(embeds, mask);
          return model.forward({ ...inputs, labels, dropout: { rate: model.config.dropout_rate, rng } }).loss;
        }, vars);
        return { loss: value, grads: vars.map((v) => g[v.name] as tf.Tensor) };
      });
      await loss.data();
      const parts = await Promise.all(grads.map(async (g) => g.data() as Promise<Float32Array>));
      tf.dispose([loss, ...grads]);
      parts.forEach((p, i) => { const acc = host[i] as Float32Array; for (let k = 0; k < acc.length; k++) acc[k] = (acc[k] as number) + (p[k] as number) * (size / b); });
    },
    async update(): Promise<void> {
      clipGradNorm(host, 1);
      const values = await Promise.all(vars.map(async (v) => new Float32Array(await v.data())));
      values.forEach((p, i) => adamwUpdate(p, host[i] as Float32Array, moments[i] as { m: Float32Array; v: Float32Array }, t, 0.3, HF_ADAMW_DEFAULTS));
      tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(values[i] as Float32Array, v.shape))));
    },
  };
}


/**
 * Step time and peak memory of several prompt configurations on one model, after one warm-up step each. The
 * configurations run side by side micro-batch by micro-batch (A B C, C B A, ...; then each one's update), so a
 * change in the machine's load falls on all of them alike and each micro-batch has a partner a few seconds away.
 * A step's time is the sum of its micro-batches and its update; `step_s` is the median of `reps` steps.
 */
async function measureSteps(model: T5ForConditionalGeneration, configs: { m: number; r: number }[], b: number, s: number, reps = REPS): Promise<StepResult[]> {
  const runs = configs.map(({ m, r }) => {
    const rng = new Rng(1);
    const prompt = makePrompt(model.config, m, r, s, rng);
    const moments = prompt.variables().map((v) => ({ m: new Float32Array(v.size), v: new Float32Array(v.size) }));
    return { m, prompt, rng, moments, times: [] as number[], microTimes: [] as number[], t: 1 };
  });
  const batch = makeBatch(b, s, 2);
  const begin = (run: (typeof runs)[number]) => trainingStep(model, run.prompt, batch, run.rng, run.moments, run.t++);
  const wholeStep = async (run: (typeof runs)[number]) => {
    const step = begin(run);
    for (let j = 0; j < step.micros; j++) await step.micro(j);
    await step.update();
  };
  const timed = async (f: () => Promise<void>) => {
    const t0 = performance.now();
    await f();
    return (performance.now() - t0) / 1000;
  };
  for (const run of runs) await wholeStep(run); // warm-up
  let flip = false;
  for (let i = 0; i < reps; i++) {
    const steps = runs.map(begin);
    const spent = runs.map(() => 0);
    const order = () => ((flip = !flip) ? runs.map((_, k) => k) : runs.map((_, k) => runs.length - 1 - k));
    for (let j = 0; j < (steps[0] as ReturnType<typeof begin>).micros; j++) {
      for (const k of order()) {
        const t = await timed(() => (steps[k] as ReturnType<typeof begin>).micro(j));
        (runs[k] as (typeof runs)[number]).microTimes.push(t);
        spent[k] = (spent[k] as number) + t;
      }
    }
    for (const k of order()) spent[k] = (spent[k] as number) + (await timed(() => (steps[k] as ReturnType<typeof begin>).update()));
    runs.forEach((run, k) => run.times.push(spent[k] as number));
  }
  const results: StepResult[] = [];
  for (const run of runs) {
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => wholeStep(run));
    const flops = stepFlops(model.config, b, run.m + s, 2);
    const stepS = median(run.times);
    results.push({ step_s: stepS, step_min_s: Math.min(...run.times), step_times_s: run.times, micro_times_s: run.microTimes, peak_mb: (info.peakBytes - before) / 2 ** 20, flops, gflops: flops / stepS / 1e9 });
    run.prompt.dispose();
  }
  tf.dispose([batch.ids, batch.mask, batch.labels]);
  return results;
}

async function evalThroughput(model: T5ForConditionalGeneration, b: number, s: number): Promise<{ greedy_cache: number; greedy_no_cache: number; score: number }> {
  const rng = new Rng(2);
  const prompt = makePrompt(model.config, 60, 30, s, rng);
  const batch = makeBatch(b, s, 2);
  const { enc, mask } = tf.tidy(() => {
    const inputs = prompt.encoderInputs(model.embed(batch.ids), batch.mask);
    return { enc: model.encode(inputs.inputsEmbeds, inputs.attentionMask), mask: inputs.attentionMask };
  });
  const run = async (f: () => Promise<unknown>) => {
    await f();
    const t0 = performance.now();
    await f();
    return b / ((performance.now() - t0) / 1000);
  };
  // Encoder time is common to all three and excluded: this compares the decoding strategies themselves.
  const greedy_cache = await run(() => greedyGenerate(model, enc, mask, { maxNewTokens: 20, stopAtEos: false, useCache: true }));
  const greedy_no_cache = await run(() => greedyGenerate(model, enc, mask, { maxNewTokens: 20, stopAtEos: false, useCache: false }));
  const score = await run(() => scoreCandidates(model, enc, mask, [[632, 1], [209, 1]]));
  tf.dispose([enc, mask, batch.ids, batch.mask, batch.labels]);
  prompt.dispose();
  return { greedy_cache, greedy_no_cache, score };
}

async function main(): Promise<void> {
  const startup = NO_STARTUP ? null : measureStartup();
  if (startup) {
    log('start-up, median (fastest) of 5 runs as whole processes:');
    for (const [name, t] of Object.entries(startup)) log(`  ${name.padEnd(10)} ${t.median_s.toFixed(2)} s (${t.min_s.toFixed(2)} s)`);
  }
  if (STARTUP_ONLY) {
    if (JSON_OUT) process.stdout.write(`${JSON.stringify({ startup }, null, 2)}\n`);
    return;
  }
  const backend = await initBackend(BACKEND ? { backend: BACKEND } : {});
  log(`backend: ${backend.description}; random weights (timings only)`);
  const matmul_gflops = await matmulRate();
  log(`best 2-D matMul [${MATMUL_N},${MATMUL_N / 2}]x[${MATMUL_N / 2},${2 * MATMUL_N}]: ${matmul_gflops.toFixed(1)} GFLOP/s`);
  const allShapes = [{ name: 't5-small', b: 8, micro: 4 }, { name: 't5-base', b: 2, micro: 1 }];
  // `--shape=tiny-relu` (only when asked): a check that the bench runs at all, e.g. on a software adapter.
  const shapes = shapeArg ? [...allShapes, { name: 'tiny-relu', b: 2, micro: 2 }].filter((x) => x.name === shapeArg.slice('--shape='.length)) : QUICK ? allShapes.slice(0, 1) : allShapes;
  if (shapes.length === 0) throw new Error(`${shapeArg}: expected t5-small, t5-base or tiny-relu`);
  /** Input positions; `--s=N` overrides (the figures in the README are at 256). */
  const s = sArg ? Number(sArg.slice('--s='.length)) : 256;
  const results: Record<string, unknown> = { backend: backend.name, random_weights: true, matmul_gflops, s, startup };
  for (const shape of shapes) {
    // tiny-relu with room for the batch's ids (up to ~1100)
    const config = shape.name === 'tiny-relu' ? presetConfig('tiny-relu', { vocab_size: 1200 }) : presetConfig(shape.name);
    MICRO = microArg ? MICRO : shape.micro;
    log(`\n${shape.name} (batch ${shape.b} as micro-batches of ${MICRO}, s ${s}): building random weights...`);
    const model = new T5ForConditionalGeneration(config, buildT5Weights(config, benchTensors(config, 1), 'bench'));
    // The machine's speed drifts (a shared VM): the matMul rate is measured again next to this shape's steps.
    const shapeMatmul = await matmulRate();
    const configs = [{ m: 100, r: 0 }, { m: 60, r: 30 }, { m: 40, r: 45 }, ...(CONTROL ? [{ m: 100, r: 0 }] : [])];
    const [pt, dept, dept40, control] = (await measureSteps(model, configs, shape.b, s)) as [StepResult, StepResult, StepResult, StepResult | undefined];
    const line = (label: string, r: StepResult) => log(`  ${label}: ${r.step_s.toFixed(2)} s/step (fastest ${r.step_min_s.toFixed(2)}), peak ${r.peak_mb.toFixed(0)} MiB, ${r.gflops.toFixed(1)} GFLOP/s`);
    line('PT   m 100 r 0 ', pt);
    line('DePT m 60 r 30 ', dept);
    line('DePT m 40 r 45 ', dept40);
    const referenceMatmul = Math.max(matmul_gflops, shapeMatmul, await matmulRate()); // the best of start, before, after
    const entry: Record<string, unknown> = {
      batch: shape.b,
      micro_batch: MICRO,
      pt_step_s: pt.step_s,
      dept_step_s: dept.step_s,
      dept40_step_s: dept40.step_s,
      pt_step_min_s: pt.step_min_s,
      dept_step_min_s: dept.step_min_s,
      dept40_step_min_s: dept40.step_min_s,
      step_times_s: { pt: pt.step_times_s, dept: dept.step_times_s, dept40: dept40.step_times_s },
      micro_times_s: { pt: pt.micro_times_s, dept: dept.micro_times_s, dept40: dept40.micro_times_s },
      dept_pt_time_ratio: fastestRatio(dept, pt),
      dept40_pt_time_ratio: fastestRatio(dept40, pt),
      dept_pt_paired_ratio_quartiles: pairedRatioQuartiles(dept, pt),
      dept40_pt_paired_ratio_quartiles: pairedRatioQuartiles(dept40, pt),
      flop_ratio: dept.flops / pt.flops,
      flop_ratio_m40: dept40.flops / pt.flops,
      pt_peak_mb: pt.peak_mb,
      dept_peak_mb: dept.peak_mb,
      dept40_peak_mb: dept40.peak_mb,
      dept_pt_memory_ratio: dept.peak_mb / pt.peak_mb,
      dept40_pt_memory_ratio: dept40.peak_mb / pt.peak_mb,
      step_gflops: dept.gflops,
      matmul_gflops: referenceMatmul,
      step_gflops_fraction_of_matmul: dept.gflops / referenceMatmul,
    };
    const spread = (q: [number, number, number]) => `side by side: median ${q[1].toFixed(3)}, quartiles ${q[0].toFixed(3)}–${q[2].toFixed(3)}`;
    log(`  DePT/PT time (fastest steps) ${(entry.dept_pt_time_ratio as number).toFixed(3)} (FLOP model ${(entry.flop_ratio as number).toFixed(3)}; ${spread(entry.dept_pt_paired_ratio_quartiles as [number, number, number])})`);
    log(`  m40: ${(entry.dept40_pt_time_ratio as number).toFixed(3)} (FLOP model ${(entry.flop_ratio_m40 as number).toFixed(3)}; ${spread(entry.dept40_pt_paired_ratio_quartiles as [number, number, number])})`);
    if (control) {
      entry.pt_control_time_ratio = fastestRatio(control, pt);
      entry.pt_control_paired_ratio_quartiles = pairedRatioQuartiles(control, pt);
      log(`  control, PT again / PT (ideally 1): ${(entry.pt_control_time_ratio as number).toFixed(3)} (${spread(entry.pt_control_paired_ratio_quartiles as [number, number, number])})`);
    }
    log(`  DePT/PT memory ${(entry.dept_pt_memory_ratio as number).toFixed(3)}, m40: ${(entry.dept40_pt_memory_ratio as number).toFixed(3)}`);
    log(`  step GFLOP/s ${dept.gflops.toFixed(1)} = ${(100 * (entry.step_gflops_fraction_of_matmul as number)).toFixed(0)}% of the best 2-D matMul (${(entry.matmul_gflops as number).toFixed(1)} GFLOP/s, the best of the rates measured at the start, before and after this shape's steps)`);
    const ev = await evalThroughput(model, shape.b, s);
    entry.eval_examples_per_s = ev.greedy_cache;
    entry.eval_greedy_no_cache_examples_per_s = ev.greedy_no_cache;
    entry.eval_score_examples_per_s = ev.score;
    entry.cache_speedup = ev.greedy_cache / ev.greedy_no_cache;
    log(`  eval (decoding only): greedy+cache ${ev.greedy_cache.toFixed(1)} ex/s, greedy without cache ${ev.greedy_no_cache.toFixed(1)} ex/s (${(ev.greedy_cache / ev.greedy_no_cache).toFixed(1)}x), label scoring ${ev.score.toFixed(1)} ex/s`);
    if (shape.name === 't5-small' && !QUICK && !sArg) {
      const scaling: Record<string, number> = {};
      const micro = MICRO;
      for (const len of [128, 256, 512]) {
        // The same batch of 8; at s 512 in micro-batches of half the size, which keeps the step well inside the
        // 4 GiB wasm heap (4 × 572 positions with dropout reaches its edge).
        MICRO = len > 256 ? Math.max(1, Math.floor((micro * 256) / len)) : micro;
        const r = len === 256 ? dept : ((await measureSteps(model, [{ m: 60, r: 30 }], shape.b, len, Math.min(REPS, 3)))[0] as StepResult);
        scaling[`s${len}_step_s`] = r.step_s;
        scaling[`s${len}_micro_batch`] = MICRO;
        log(`  DePT m 60 r 30, s ${len} (micro-batches of ${MICRO}): ${r.step_s.toFixed(2)} s/step`);
      }
      MICRO = micro;
      entry.scaling = scaling;
    }
    results[shape.name] = entry;
    model.dispose();
  }
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

await main();
