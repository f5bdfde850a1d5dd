/**
 * `dept bank fetch` against the local fake hub (test/helpers/fakehub.ts) on 127.0.0.1: a PEFT prompt-tuning adapter
 * lands in the huggingface_hub cache layout, is reused, served offline, resumed after a cut, refused when it is a
 * pickle or not a prompt, and is then usable by its repository id (`org/name`, `org/name@revision`) wherever a bank
 * is taken: bank inspect and convert, eval, predict, train --bank. Nothing here may contact any address but 127.0.0.1.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { makeBankConfig, writeBank, type Bank } from '@dept/prompt';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { exportPeft } from '@dept/transfer';
import { FakeHub, isolateFromRealHub, type FakeFile } from './helpers/fakehub.ts';
import { REPO_ROOT } from './helpers/shared.ts';
import { expectRefusal, runDept, tempDir, type DeptRun } from './reliability/helpers.ts';

const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');
let restoreEnv: () => void = () => undefined;
let root: string;
let hub: FakeHub;
let model: string;
const values: Record<string, Float32Array> = {};

/** A bank of width 32 (the tiny model's) with values drawn from `seed`; r = 0 unless given. */
function bank(seed: number, m: number, r = 0): Bank {
  const rng = new Rng(seed);
  const draw = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  return {
    config: makeBankConfig({ num_virtual_tokens: m, token_dim: 32, max_length: 32, r, base_model_name_or_path: 'org/tiny-t5' }),
    prompt_embeddings: { data: draw(m * 32), shape: [m, 32] },
    lora_embedding_A: r > 0 ? { data: draw(32 * r), shape: [32, r] } : null,
    lora_embedding_B: r > 0 ? { data: draw(r * 32), shape: [r, 32] } : null,
  };
}

function folderFiles(dir: string): FakeFile[] {
  return readdirSync(dir).sort().map((n) => ({ path: n, data: readFileSync(join(dir, n)), lfs: n.endsWith('.safetensors') }));
}

/** A bank folder written by `write` under `name`, its files, and its prompt values kept for the checks. */
function bankFiles(name: string, b: Bank, write: (b: Bank, dir: string) => void): FakeFile[] {
  const dir = join(root, 'src', name);
  write(b, dir);
  values[name] = b.prompt_embeddings.data as Float32Array;
  return folderFiles(dir);
}

const sum = (a: Float32Array): number => a.reduce((s, v) => s + v, 0);

/** `dept …` in this process with extra environment variables. */
async function dept(args: string[], env: Record<string, string> = {}): Promise<DeptRun> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await runDept(args);
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function ok(r: DeptRun): DeptRun {
  if (r.status !== 0) throw new Error(`dept exited with ${r.status}:\n${r.stderr.slice(-3000)}`);
  return r;
}

const snapshot = (repo: string, ref = 'main') => join(root, 'hf-home', 'hub', `models--${repo.replace('/', '--')}`, 'snapshots', hub.commit(repo, ref));

beforeAll(async () => {
  root = tempDir('bank-fetch');
  restoreEnv = isolateFromRealHub(join(root, 'hf-home')); // only 127.0.0.1 may be contacted
  process.env.CI = '1';
  model = join(root, 'model');
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 3, sampleTexts: ['the cat sat on the mat', 'a dog ran'] });

  const peft = (b: Bank, dir: string) => void exportPeft(b, dir);
  const ours = (b: Bank, dir: string) => writeBank(dir, b);
  const junk = [{ path: 'README.md', data: Buffer.from('# a prompt\n') }, { path: 'adapter_model.bin', data: Buffer.from('never fetched'), lfs: true }];
  hub = new FakeHub([
    { type: 'model', id: 'org/cb-prompt', refs: { main: [...bankFiles('cb-prompt', bank(1, 4), peft), ...junk] } },
    {
      type: 'model',
      id: 'org/dept-prompt',
      refs: { main: bankFiles('dept-main', bank(2, 4, 2), ours), v1: bankFiles('dept-v1', bank(3, 4, 2), ours) },
    },
    { type: 'model', id: 'org/cut-prompt', refs: { main: bankFiles('cut-prompt', bank(4, 64), peft) } },
    {
      type: 'model',
      id: 'org/pickle-prompt',
      refs: { main: [folderFiles(join(root, 'src', 'cb-prompt')).find((f) => f.path === 'adapter_config.json') as FakeFile, { path: 'adapter_model.bin', data: Buffer.from('pickle'), lfs: true }] },
    },
    {
      type: 'model',
      id: 'org/lora-adapter',
      refs: { main: [{ path: 'adapter_config.json', data: Buffer.from(JSON.stringify({ peft_type: 'LORA', r: 8, target_modules: ['q', 'v'] })) }, { path: 'adapter_model.safetensors', data: readFileSync(join(root, 'src', 'cb-prompt', 'adapter_model.safetensors')), lfs: true }] },
    },
  ]);
  await hub.start();
  process.env.HF_ENDPOINT = hub.url;
});

afterAll(async () => {
  restoreEnv();
  await hub?.close();
  delete process.env.CI;
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('dept bank fetch', () => {
  it('downloads adapter_config.json and adapter_model.safetensors only, into the huggingface_hub cache, and prints the folder', async () => {
    const r = ok(await dept(['bank', 'fetch', 'org/cb-prompt']));
    const dir = snapshot('org/cb-prompt');
    expect(r.stdout).toBe(`${dir}\n`);
    expect(readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(readFileSync(join(root, 'hf-home', 'hub', 'models--org--cb-prompt', 'refs', 'main'), 'utf8')).toBe(hub.commit('org/cb-prompt'));
    expect(hub.log.some((q) => q.url.includes('adapter_model.bin') || q.url.includes('README.md'))).toBe(false);
    expect(r.stderr).toContain('org/cb-prompt: peft bank (m 4, d 32, s 256, r 0, made for org/tiny-t5); 2 files, 2 downloaded and 0 from the cache; use it as --bank org/cb-prompt');
  });

  it('a second fetch downloads nothing; offline it makes no request at all, and without a cache it fails in one line', async () => {
    const from = hub.log.length;
    const again = ok(await dept(['bank', 'fetch', 'org/cb-prompt', '--json']));
    expect(hub.requests('file', from)).toEqual([]);
    expect(JSON.parse(again.stdout)).toMatchObject({ repo: 'org/cb-prompt', commit: hub.commit('org/cb-prompt'), downloaded: [], format: 'peft' });
    const from2 = hub.log.length;
    const offline = ok(await dept(['bank', 'fetch', 'org/cb-prompt'], { HF_HUB_OFFLINE: '1' }));
    expect(offline.stdout).toBe(`${snapshot('org/cb-prompt')}\n`);
    expect(hub.log.length).toBe(from2);
    expectRefusal(await dept(['bank', 'fetch', 'org/cb-prompt', '--cache-dir', join(root, 'empty-cache')], { HF_HUB_OFFLINE: '1' }),
      'HF_HUB_OFFLINE is set and org/cb-prompt (revision main) is not in the cache');
    expect(hub.log.length).toBe(from2);
  });

  it('fetches a revision by @revision or --revision, and refuses the two disagreeing', async () => {
    ok(await dept(['bank', 'fetch', 'org/dept-prompt@v1']));
    ok(await dept(['bank', 'fetch', 'org/dept-prompt', '--revision', 'main']));
    expect(readdirSync(snapshot('org/dept-prompt', 'v1')).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(snapshot('org/dept-prompt', 'v1')).not.toBe(snapshot('org/dept-prompt'));
    expectRefusal(await dept(['bank', 'fetch', 'org/dept-prompt@v1', '--revision', 'main']), 'names revision "v1" but --revision says "main"');
  });

  it('an interrupted download resumes on the next fetch, to the same bytes', async () => {
    hub.cutOnce.set('adapter_model.safetensors', 3000);
    const cut = await dept(['bank', 'fetch', 'org/cut-prompt']);
    expect(cut.status).toBe(2);
    expect(cut.stderr).toMatch(/org\/cut-prompt@main adapter_model\.safetensors: download interrupted after \d+ of \d+ bytes .*run again to resume/);
    const from = hub.log.length;
    const again = ok(await dept(['bank', 'fetch', 'org/cut-prompt']));
    expect(again.stderr).toMatch(/adapter_model\.safetensors \([\d.]+ kB\) resuming at/);
    expect(hub.log.slice(from).some((q) => q.server === 'cdn' && q.range !== null && /^bytes=[1-9]\d*-/.test(q.range))).toBe(true);
    expect(readFileSync(join(snapshot('org/cut-prompt'), 'adapter_model.safetensors'))).toEqual(readFileSync(join(root, 'src', 'cut-prompt', 'adapter_model.safetensors')));
  });

  it('refuses an adapter with only adapter_model.bin (pickles are never fetched) and one that is not a prompt, downloading no weights', async () => {
    const from = hub.log.length;
    expectRefusal(await dept(['bank', 'fetch', 'org/pickle-prompt']),
      'org/pickle-prompt@main: has only adapter_model.bin, a PyTorch pickle; dept never fetches pickles', 'dept bank convert');
    expect(hub.requests('file', from)).toEqual([]);
    const from2 = hub.log.length;
    expectRefusal(await dept(['bank', 'fetch', 'org/lora-adapter']), 'peft_type is "LORA", expected a prompt-tuning adapter (PROMPT_TUNING, PROMPT_TUNING_LORA, MULTITASK_PROMPT_TUNING)');
    expect(hub.requests('file', from2).some((q) => q.url.includes('adapter_model.safetensors'))).toBe(false);
  });
});

describe('a fetched bank by its repository id', () => {
  it('bank inspect and bank convert read the cached snapshot of org/name and org/name@revision', async () => {
    for (const [ref, name] of [['org/cb-prompt', 'cb-prompt'], ['org/dept-prompt', 'dept-main'], ['org/dept-prompt@v1', 'dept-v1']] as const) {
      const r = ok(await dept(['bank', 'inspect', ref, '--json']));
      const info = JSON.parse(r.stdout) as { path: string; tensors: { prompt_embeddings: { sum: number } } };
      expect(info.tensors.prompt_embeddings.sum, ref).toBeCloseTo(sum(values[name] as Float32Array), 6);
      expect(info.path.startsWith(join(root, 'hf-home', 'hub'))).toBe(true);
    }
    const out = join(root, 'converted-v1');
    ok(await dept(['bank', 'convert', 'org/dept-prompt@v1', '--to', 'dept', '--out', out]));
    const converted = JSON.parse(ok(await dept(['bank', 'inspect', out, '--json'])).stdout) as { tensors: { prompt_embeddings: { sum: number } } };
    expect(converted.tensors.prompt_embeddings.sum).toBeCloseTo(sum(values['dept-v1'] as Float32Array), 6);
  });

  it('dept eval and dept predict take it, with the same predictions as the local folder it was made from', async () => {
    const args = ['--model', model, '--task', 'superglue-cb', '--data-dir', SAMPLE, '--predict', 'score', '--max-eval-examples', '5', '--json'];
    const byId = JSON.parse(ok(await dept(['eval', '--bank', 'org/dept-prompt@v1', ...args])).stdout) as { metrics: unknown; bank_weights: string };
    const local = JSON.parse(ok(await dept(['eval', '--bank', join(root, 'src', 'dept-v1'), ...args])).stdout) as { metrics: unknown };
    expect(byId.bank_weights).toBe(join(snapshot('org/dept-prompt', 'v1'), 'adapter_model.safetensors'));
    expect(byId.metrics).toEqual(local.metrics);
    const input = join(SAMPLE, 'CB', 'val.jsonl');
    const p1 = ok(await dept(['predict', '--model', model, '--bank', 'org/cb-prompt', '--task', 'superglue-cb', '--input', input, '--predict', 'score']));
    const p2 = ok(await dept(['predict', '--model', model, '--bank', join(root, 'src', 'cb-prompt'), '--task', 'superglue-cb', '--input', input, '--predict', 'score']));
    expect(p1.stdout.split('\n').filter(Boolean)).toHaveLength(30);
    expect(p1.stdout).toBe(p2.stdout);
  });

  it('dept train --bank org/name initialises from it', async () => {
    const r = ok(await dept(['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--bank', 'org/dept-prompt@v1', '--k', '4', '--seed', '13',
      '--m', '4', '--r', '2', '--max-length', '32', '--max-steps', '1', '--eval-steps', '1', '--batch-size', '4', '--predict', 'score', '--out', join(root, 'run'), '--json']));
    expect(JSON.parse(r.stdout)).toMatchObject({ train_examples: 4 });
    const resolved = JSON.parse(readFileSync(join(root, 'run', 'config.resolved.json'), 'utf8')) as { bank_source: { paths: string[] } };
    expect(resolved.bank_source.paths).toEqual(['org/dept-prompt@v1']);
  });

  it('an id that is neither a local path nor fetched says how to fetch it', async () => {
    expectRefusal(await dept(['bank', 'inspect', 'org/never-fetched']), 'bank "org/never-fetched": no such file or folder, and the hub cache', 'dept bank fetch org/never-fetched');
    expectRefusal(await dept(['eval', '--model', model, '--bank', 'org/never-fetched@v2', '--task', 'superglue-cb']), 'holds no bank org/never-fetched at revision v2', 'dept bank fetch org/never-fetched@v2');
  });
});
