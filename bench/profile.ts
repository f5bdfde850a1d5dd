/**
 * `npm run bench:profile [-- <preset> <rows>]` (default t5-base 1): where one training step's time goes. Runs a
 * forward + backward step of vanilla prompt tuning (m 100) and of DePT (m 60, r 30) at s = 256 on random weights,
 * prints the wall time of two steps, then tfjs's per-kernel times of a third, summed by kernel and by kernel and
 * input shapes (a custom gradient's "unnamed scope" includes the kernels it runs, so sums overlap).
 */
import { Rng, initBackend, tf } from '@dept/tensor';
import { T5ForConditionalGeneration, buildT5Weights, presetConfig } from '@dept/t5';
import { benchTensors, makePrompt } from './weights.ts';

const name = process.argv[2] ?? 't5-base';
const b = Number(process.argv[3] ?? 1);
const s = Number(process.env.PROFILE_S ?? 256);
await initBackend();
const config = presetConfig(name);
const model = new T5ForConditionalGeneration(config, buildT5Weights(config, benchTensors(config, 1), 'bench'));
const ids = tf.tensor2d(Array.from({ length: b }, () => Array.from({ length: s }, (_, j) => (j < 204 ? 5 + j : 0))), undefined, 'int32');
const mask = tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D;
const labels = tf.tensor2d(Array.from({ length: b }, () => [100, 1]), undefined, 'int32');
for (const [m, r] of [[100, 0], [60, 30]] as const) {
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
  step().dispose();
  let t0 = performance.now(); step().dispose(); const wall = performance.now() - t0;
  t0 = performance.now(); step().dispose(); const wall2 = performance.now() - t0;
  const info = await tf.profile(() => { step().dispose(); });
  const byName = new Map<string, { ms: number; n: number }>();
  const byShape = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = Number(await k.kernelTimeMs);
    total += ms;
    const e = byName.get(k.name) ?? { ms: 0, n: 0 }; e.ms += ms; e.n++; byName.set(k.name, e);
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const f = byShape.get(key) ?? { ms: 0, n: 0 }; f.ms += ms; f.n++; byShape.set(key, f);
  }
  console.log(`\n== ${name} b${b} m${m} r${r}: wall ${wall.toFixed(0)} / ${wall2.toFixed(0)} ms, kernels ${info.kernels.length}, kernel time ${total.toFixed(0)} ms`);
  for (const [k, v] of [...byName].sort((a, c) => c[1].ms - a[1].ms).slice(0, 25)) console.log(`${k.padEnd(24)} ${v.ms.toFixed(0).padStart(7)} ms  n=${v.n}`);
  console.log('-- by shape');
  for (const [k, v] of [...byShape].sort((a, c) => c[1].ms - a[1].ms).slice(0, 30)) console.log(`${v.ms.toFixed(0).padStart(7)} ms n=${String(v.n).padStart(5)} ${k}`);
  prompt.dispose();
}
