import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { DEFAULT_WASM_HEAP_HEADROOM_BYTES, float32TensorFilled, guardWasmHeap, initBackend, isWasmHeapFullError, tf, WASM_HEAP_LIMIT_BYTES } from '@dept/tensor';

const MiB = 2 ** 20;

/** A float32 tensor of `bytes` whose values are never written (the heap pages stay untouched, so this is cheap). */
const unwritten = (bytes: number) => float32TensorFilled([bytes / 4], () => {});

describe('the wasm heap guard (a full heap is an error, not corruption)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
  });
  afterEach(() => guardWasmHeap({ headroom: DEFAULT_WASM_HEAP_HEADROOM_BYTES }));

  it('filling the 4 GiB heap ends in a WasmHeapFullError: every block held lies inside the memory, none overlaps, nothing held is changed', () => {
    type HeapMemory = { buffer: { byteLength: number } };
    const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } }; wasm: { wasmMemory?: HeapMemory; asm?: { memory?: HeapMemory } } };
    const memory = (backend.wasm.wasmMemory ?? backend.wasm.asm?.memory) as HeapMemory;
    const sentinel = tf.tensor([1.5, -2, 3.25, 7]);
    const held: tf.Tensor[] = [];
    let error: unknown;
    try {
      // 32 × 256 MiB = 8 GiB: more than the heap can ever hold.
      for (let i = 0; i < 32; i++) held.push(unwritten(256 * MiB));
    } catch (e) {
      error = e;
    }
    expect(isWasmHeapFullError(error)).toBe(true);
    expect(isDeptError(error)).toBe(true); // exit status 2 on the command line
    expect((error as Error).message).toMatch(/wasm heap .*is full: a 256 MiB tensor does not fit below 3584 MiB .*micro_batch_size/);
    // Below the 3584 MiB ceiling at most 14 fit (13 beside the module's own data); the guard must not refuse much earlier.
    expect(held.length).toBeLessThanOrEqual(14);
    expect(held.length).toBeGreaterThanOrEqual(12);
    const blocks = held.map((t) => backend.dataIdMap.get(t.dataId).memoryOffset).sort((a, b) => a - b);
    for (const [i, start] of blocks.entries()) {
      expect(start + 256 * MiB).toBeLessThanOrEqual(Math.min(memory.buffer.byteLength, WASM_HEAP_LIMIT_BYTES - DEFAULT_WASM_HEAP_HEADROOM_BYTES));
      if (i > 0) expect(start).toBeGreaterThanOrEqual(blocks[i - 1]! + 256 * MiB);
    }
    expect(Array.from(sentinel.dataSync())).toEqual([1.5, -2, 3.25, 7]);
    tf.dispose(held);
    // [[1, 2], [3, 4]] × [[5], [6]] = [[17], [39]], by hand.
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
    expect(Array.from(product.dataSync())).toEqual([17, 39]);
    const again = unwritten(512 * MiB);
    expect(again.size).toBe((512 * MiB) / 4);
    tf.dispose([again, product, sentinel]);
  });

  it('refuses a tensor that would end above 4 GiB − headroom, and frees what it took', () => {
    const before = tf.memory().numTensors;
    guardWasmHeap({ headroom: WASM_HEAP_LIMIT_BYTES - 256 * MiB });
    expect(() => unwritten(512 * MiB)).toThrow(/does not fit below 256 MiB \(3840 MiB kept free/);
    expect(tf.memory().numTensors).toBe(before);
    guardWasmHeap({ headroom: 0 });
    const fits = unwritten(512 * MiB);
    expect(fits.size).toBe((512 * MiB) / 4);
    fits.dispose();
  });
});
