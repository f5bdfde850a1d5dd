/**
 * `npm run bench:profile [-- <preset> <rows> <reps>]` (default t5-base 1 4): where one training step's time goes,
 * and whether DePT's saving holds kernel by kernel. Runs forward + backward steps of vanilla prompt tuning (m 100)
 * and DePT (m 60, r 30) at s = 256 on random weights, interleaved (A B, B A, ...), each under `tf.profile`. For every
 * kernel and input shape (the sequence length written L, so PT's and DePT's shapes pair up) it keeps the fastest
 * total over the `reps` steps, which sets aside the machine's noise (other tenants only add time), and prints PT's
 * and DePT's times, their ratio and the sums. A custom gradient's kernels are counted once, not again under its
 * "unnamed scope".
 */
import { Rng } from '@dept/core';
import { initBackend, tf } from '@dept/tensor';
import { T5ForConditionalGeneration, buildT5Weights, presetConfig } from '@dept/t5';
import { benchTensors, makeBatch, makePrompt } from './weights.ts';

const name = process.argv[2] ?? 't5-base';
const b = Number(process.argv[3] ?? 1);
const reps = Number(process.argv[4] ?? 4);
const s = Number(process.env.PROFILE_S ?? 256);
await initBackend();
const config = presetConfig(name);
const model = new T5ForConditionalGeneration(config, buildT5Weights(config, benchTensors(config, 1), 'bench'));
const { ids, mask, labels } = makeBatch(b, s, 2);

const runs = ([[100, 0], [60, 30]] as const).map(([m, r]) => {
  const rng = new Rng(1);
  const prompt = makePrompt(config, m, r, s, rng);
  const vars = prompt.variables();
  const step = () => tf.tidy(() => {
    const embeds = model.embed(ids);
    const { value, grads } = tf.variableGrads(() => {
      const inputs = prompt.encoderInputs(embeds, mask);
      return model.forward({ ...inputs, labels, dropout: { rate: config.dropout_rate, rng } }).loss;
    }, vars);
    value.dataSync();
    Object.values(grads).forEach((g) => g.dataSync());
    return tf.scalar(0);
  });
  /** Per kernel and shape: its total time in each profiled step. */
  return { label: `m ${m} r ${r}`, length: m + s, step, prompt, byKernel: new Map<string, number[]>(), walls: [] as number[] };
});

for (const run of runs) run.step().dispose(); // warm-up
for (let i = 0; i < reps; i++) {
  for (const run of i % 2 === 0 ? runs : [...runs].reverse()) {
    const t0 = performance.now();
    const info = await tf.profile(() => { run.step().dispose(); });
    run.walls.push(performance.now() - t0);
    const totals = new Map<string, number>();
    for (const k of info.kernels) {
      if (k.name === 'unnamed scope') continue;
      const shapes = JSON.stringify(k.inputShapes).replace(new RegExp(`\\b${run.length}\\b`, 'g'), 'L').replace(new RegExp(`\\b${b * run.length}\\b`, 'g'), 'bL');
      const key = `${k.name} ${shapes}`;
      totals.set(key, (totals.get(key) ?? 0) + Number(await k.kernelTimeMs));
    }
    for (const [key, ms] of totals) run.byKernel.set(key, [...(run.byKernel.get(key) ?? []), ms]);
  }
}

const fastest = (values: number[] | undefined) => (values ? Math.min(...values) : 0);
const [pt, dept] = runs as [(typeof runs)[number], (typeof runs)[number]];
const keys = [...new Set([...pt.byKernel.keys(), ...dept.byKernel.keys()])];
const rows = keys.map((key) => ({ key, pt: fastest(pt.byKernel.get(key)), dept: fastest(dept.byKernel.get(key)) })).sort((x, y) => y.pt - x.pt);
const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
const byName = new Map<string, { pt: number; dept: number }>();
for (const r of rows) {
  const kernel = r.key.slice(0, r.key.indexOf(' '));
  const e = byName.get(kernel) ?? { pt: 0, dept: 0 };
  e.pt += r.pt;
  e.dept += r.dept;
  byName.set(kernel, e);
}
const line = (ptMs: number, deptMs: number, what: string) => console.log(`${ptMs.toFixed(0).padStart(7)} ${deptMs.toFixed(0).padStart(7)}  ${(ptMs > 0 ? deptMs / ptMs : 0).toFixed(3)}  ${what}`);
console.log(`${name}, ${b} rows, s ${s}, ${reps} profiled steps each; wall ms: PT ${pt.walls.map((w) => w.toFixed(0)).join(' ')}; DePT ${dept.walls.map((w) => w.toFixed(0)).join(' ')}`);
console.log(`kernel time, fastest of ${reps} per kernel and shape (L = m + s, bL = rows × L)`);
console.log(`  PT ms DePT ms  DePT/PT  kernel`);
line(sum((r) => r.pt), sum((r) => r.dept), `all kernels (PT ${pt.label}, DePT ${dept.label}; token ratio ${(dept.length / pt.length).toFixed(3)})`);
console.log('-- by kernel');
for (const [kernel, v] of [...byName].sort((x, y) => y[1].pt - x[1].pt).slice(0, 20)) line(v.pt, v.dept, kernel);
console.log('-- by kernel and input shapes');
for (const r of rows.slice(0, 30)) line(r.pt, r.dept, r.key);
for (const run of runs) run.prompt.dispose();
