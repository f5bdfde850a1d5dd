// Child process of test/wasm-threads.test.ts: starts the backend (DEPT_WASM_THREADS from the environment), runs a
// linear layer forward and backward plus a softmax on products big enough for XNNPACK to split among threads, and
// prints the thread count and a sha256 of the result bytes.
import { createHash } from 'node:crypto';
import { register } from 'tsx/esm/api';

register();
const { isDeptError, Rng } = await import('../../packages/core/src/index.ts');
const { initBackend, linear, linearWeight, tf } = await import('../../packages/tensor/src/index.ts');
let info;
try {
  info = await initBackend({ announce: false });
} catch (error) {
  process.stderr.write(`${isDeptError(error) ? error.message : error}\n`);
  process.exit(isDeptError(error) ? 2 : 1);
}
const rng = new Rng(3);
const values = (n) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
const weight = linearWeight(tf.tensor2d(values(768 * 512), [768, 512]));
const x = tf.tensor2d(values(300 * 512), [300, 512]);
const dy = tf.tensor2d(values(300 * 768), [300, 768]);
// dx = dy @ W by both of linear's ways: "direct" for 300 rows, "flipped" for 2.
const dx = (rows) => tf.grad((xi) => tf.sum(tf.mul(linear(xi, weight), tf.slice(dy, [0, 0], [rows, -1]))))(tf.slice(x, [0, 0], [rows, -1]));
const y = tf.softmax(linear(x, weight));
const hash = createHash('sha256');
for (const t of [y, dx(300), dx(2)]) hash.update(Buffer.from((await t.data()).buffer));
process.stdout.write(`${JSON.stringify({ backend: info.name, threads: info.threads, description: info.description, sha256: hash.digest('hex') })}\n`);
