/**
 * The wasm backend keeps every tensor in one WebAssembly memory of at most 4 GiB, and its allocator misbehaves at
 * the edge. tfjs-backend-wasm 4.22 does not check what `malloc` returns (when the heap is full a tensor is placed
 * at address 0, over the module's own data), and near 4 GiB the Emscripten heap can grow by less than `malloc` asked
 * for and still hand out the block: we have seen blocks that end past the memory and blocks that overlap ones
 * still in use. XNNPACK, allocating inside kernels, then fails ("XNN status ... Got status 6") and leaves outputs
 * unwritten. A training step computes garbage or never finishes.
 *
 * {@link guardWasmHeap} turns that into a clear error before it happens: no tensor may end above a ceiling set
 * `headroom` bytes below 4 GiB (room for XNNPACK's packed operands and scratch, which no error can interrupt),
 * and a block that does not lie inside the memory is refused too. The allocation is freed and
 * {@link WasmHeapFullError} thrown, so what was already held is untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { DeptError } from '@dept/core';

/** The most bytes a wasm32 heap can hold. */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30;

/**
 * Default space kept free above the highest tensor: more than XNNPACK's largest packed operand in T5 up to t5-large
 * (the vocabulary head, 32128 × 1024 floats, 126 MiB), and clear of the heap's misbehaving last few hundred MiB.
 */
export const DEFAULT_WASM_HEAP_HEADROOM_BYTES = 512 * 2 ** 20;

/** The parts of tfjs-backend-wasm's Emscripten module the guard wraps. */
interface WasmAllocator {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  /** The heap's `WebAssembly.Memory` (see {@link wasmHeapMemory}). */
  wasmMemory?: HeapMemory;
  asm?: { memory?: HeapMemory };
}

interface HeapMemory {
  readonly buffer: { readonly byteLength: number };
}

/** The heap memory of a tfjs-backend-wasm module (threaded builds name it `wasmMemory`, the others export it). */
export function wasmHeapMemory<M>(module: { wasmMemory?: M; asm?: { memory?: M } } | undefined): M | undefined {
  return module?.wasmMemory ?? module?.asm?.memory;
}

interface Guard {
  headroom: number;
}

const guards = new WeakMap<WasmAllocator, Guard>();

/**
 * The wasm heap cannot hold a tensor (with the headroom kept for XNNPACK). A {@link DeptError} (exit status 2): the
 * remedy is a smaller batch, not a code change. `bytes` is the tensor's size.
 */
export class WasmHeapFullError extends DeptError {
  readonly code = 'wasm-heap-full';
  constructor(readonly bytes: number, readonly headroom: number) {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 0)} MiB`;
    super(
      `the wasm heap (at most 4 GiB) is full: a ${mib(bytes)} tensor does not fit below ${mib(WASM_HEAP_LIMIT_BYTES - headroom)} (${mib(headroom)} kept free for XNNPACK) ` +
        `beside the ${tf.memory().numTensors} tensors held; use a smaller micro_batch_size or eval_batch_size, ` +
        'a shorter max_length, or a backend without this limit (--backend node)',
    );
  }
}

/** True for {@link WasmHeapFullError}, also across copies of this package. */
export function isWasmHeapFullError(error: unknown): error is WasmHeapFullError {
  return error instanceof Error && (error as { code?: unknown }).code === 'wasm-heap-full';
}

function allocatorOf(backend: object): WasmAllocator | null {
  const module = (backend as { wasm?: Partial<WasmAllocator> }).wasm;
  return module && typeof module._malloc === 'function' && typeof module._free === 'function' ? (module as WasmAllocator) : null;
}

/**
 * Makes every tensor allocation of the wasm `backend` (default: the active one) fail with {@link WasmHeapFullError}
 * when it would end above 4 GiB − `headroom`, or when the allocator hands out a block outside the memory. Calling
 * it again changes the headroom. A no-op on other backends; `initBackend` installs it with
 * {@link DEFAULT_WASM_HEAP_HEADROOM_BYTES}. Costs two comparisons per tensor.
 *
 * @example
 * guardWasmHeap(); // after initBackend({ backend: 'wasm' })
 * try { tf.zeros([2 ** 30]); } catch (e) { if (isWasmHeapFullError(e)) console.error(e.message); }
 */
export function guardWasmHeap(options: { headroom?: number; backend?: object } = {}): void {
  const allocator = allocatorOf(options.backend ?? tf.backend());
  if (!allocator) return;
  const headroom = Math.min(WASM_HEAP_LIMIT_BYTES, Math.max(0, Math.floor(options.headroom ?? DEFAULT_WASM_HEAP_HEADROOM_BYTES)));
  const existing = guards.get(allocator);
  if (existing) {
    existing.headroom = headroom;
    return;
  }
  // Emscripten's `_malloc` starts as a stub that replaces itself with the real export on its first call (which
  // would also replace a wrapper installed before it): resolve it first.
  allocator._free(allocator._malloc(8));
  const malloc = allocator._malloc.bind(allocator);
  const guard: Guard = { headroom };
  guards.set(allocator, guard);
  const memory = wasmHeapMemory(allocator);
  allocator._malloc = (bytes: number): number => {
    const pointer = malloc(bytes);
    // Emscripten returns addresses above 2 GiB as negative int32s.
    const start = pointer >>> 0;
    const end = start + bytes;
    if (pointer !== 0 && end <= WASM_HEAP_LIMIT_BYTES - guard.headroom && (!memory || end <= memory.buffer.byteLength)) return pointer;
    // A block that lies inside the memory is the allocator's own and goes back to it; one outside is not touched.
    if (pointer !== 0 && memory && end <= memory.buffer.byteLength) allocator._free(pointer);
    throw new WasmHeapFullError(bytes, guard.headroom);
  };
}
