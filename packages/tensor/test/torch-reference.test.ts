/**
 * The torch reader against files written by real PyTorch 1.13 (`test/fixtures/torch`, made by its
 * `make_fixtures.py`); the expected values are what `torch.load(weights_only=True)` gave, as float32 (`t.float()`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { REPO_ROOT } from '../../../test/helpers/shared.ts';
import { int64ToFloat32, readTorchFile } from '../src/torch/file.ts';

const DIR = join(REPO_ROOT, 'test', 'fixtures', 'torch');
interface Expected { shape: number[]; values: number[]; twice_through_float64?: number[] }
const EXPECTED = (JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { files: Record<string, Record<string, Expected>> }).files;

/** Reads a fixture and compares every tensor with torch's values, exactly. */
function expectAsTorch(file: string): void {
  const want = EXPECTED[file] as Record<string, Expected>;
  const f = readTorchFile(join(DIR, file));
  expect([...f.tensors.keys()]).toEqual(Object.keys(want));
  for (const [name, w] of Object.entries(want)) {
    const t = f.tensors.get(name);
    expect(t?.shape, name).toEqual(w.shape);
    expect(Array.from(t?.data ?? []), name).toEqual(w.values);
  }
}

describe('torch.save files written by PyTorch 1.13', () => {
  it('reads torch.save(nn.Linear(4, 3).state_dict()): BUILD sets the OrderedDict _metadata, which is dropped', () => {
    expectAsTorch('linear_state_dict.pt');
    expect(readTorchFile(join(DIR, 'linear_state_dict.pt')).skipped).toEqual([]);
  });

  it('reads a DePT-like bank saved through a Module state_dict', () => {
    expectAsTorch('dept-module/adapter_model.bin');
  });

  it('reads int64 values above 2^53 rounded once to float32, bool storages as 0/1 and uint8 as 0..255', () => {
    expectAsTorch('dtypes.pt');
    const f = readTorchFile(join(DIR, 'dtypes.pt'));
    expect(f.dtypes.get('i64')).toBe('I64');
    expect(f.dtypes.get('bool')).toBe('BOOL');
    expect(f.dtypes.get('u8')).toBe('U8');
    // The fixture holds values where rounding through float64 first gives another float32 (2^60 + 2^36 + 1).
    const i64 = EXPECTED['dtypes.pt']?.i64 as Expected;
    expect(i64.values).not.toEqual(i64.twice_through_float64);
  });

  it('int64ToFloat32 rounds once, ties to even (hand-computed)', () => {
    // 2^60 + 2^36 + 1 lies just above the midpoint between 2^60 and 2^60 + 2^37 (float32 spacing there is 2^37).
    expect(int64ToFloat32(2n ** 60n + 2n ** 36n + 1n)).toBe(2 ** 60 + 2 ** 37);
    expect(int64ToFloat32(-(2n ** 60n + 2n ** 36n + 1n))).toBe(-(2 ** 60 + 2 ** 37));
    expect(int64ToFloat32(2n ** 60n + 2n ** 36n)).toBe(2 ** 60); // the midpoint: to the even 2^60
    expect(int64ToFloat32(2n ** 60n + 3n * 2n ** 36n)).toBe(2 ** 60 + 2 ** 38); // midpoint, to the even side
    expect(int64ToFloat32(2n ** 63n - 1n)).toBe(2 ** 63);
    expect(int64ToFloat32(-(2n ** 63n))).toBe(-(2 ** 63));
    expect(int64ToFloat32(2n ** 24n + 1n)).toBe(2 ** 24);
  });

  it('reads a transposed view and a slice sharing their base storage', () => {
    expectAsTorch('views.pt');
  });

  it('refuses an expand()ed view (stride 0), which torch.load would give as a view', () => {
    const file = join(DIR, 'expanded.pt');
    let caught: unknown;
    try {
      readTorchFile(file);
    } catch (e) {
      caught = e;
    }
    expect(isDeptError(caught)).toBe(true);
    expect((caught as Error).message).toBe(
      `${file}: tensor "e" (offset 0, shape [4, 3], stride [0, 1]) has 12 elements but storage "0" holds 3: a view that repeats its storage (expand()) is refused; save it with .contiguous()`,
    );
  });
});
