/**
 * `dept model fetch` and `dept data fetch` against a local fake hub (test/helpers/fakehub.ts) on 127.0.0.1: the
 * hub cache layout, reuse of the cache, offline mode, refusals, gated repositories, interrupted and corrupt
 * downloads, and data that the readers load. Nothing here may contact any address but 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { hubCacheDir, hubSettings, parseHfDatasetSpec } from '@dept/hub';
import { initBackend, tf } from '@dept/tensor';
import { cachedT5Model, loadPretrainedT5, presetConfig, writeRandomT5, type T5ForConditionalGeneration } from '@dept/t5';
import { loadTaskData } from '@dept/tasks';
import { main } from '../packages/cli/src/main.ts';
import { FakeHub, HF_VARS, isolateFromRealHub, type FakeFile } from './helpers/fakehub.ts';
import { REPO_ROOT } from './helpers/shared.ts';

const TOKEN = 'hf_fake_test_token';

let root: string;
let hub: FakeHub;
let tinyDir: string;
let shardedDir: string;
let restoreEnv: () => void = () => undefined;

function folderFiles(dir: string, names?: string[]): FakeFile[] {
  return (names ?? readdirSync(dir).sort()).map((n) => ({ path: n, data: readFileSync(join(dir, n)), lfs: n.endsWith('.safetensors') }));
}

function json(path: string, value: unknown): FakeFile {
  return { path, data: Buffer.from(`${JSON.stringify(value, null, 2)}\n`) };
}

function parquet(columns: { name: string; data: unknown[]; type: 'STRING' | 'INT64' | 'INT32' }[]): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({ columnData: columns } as Parameters<typeof parquetWriteBuffer>[0]));
}

function cbRows(n: number, offset: number, labelled = true): Uint8Array {
  const idx = Array.from({ length: n }, (_, i) => offset + i);
  return parquet([
    { name: 'premise', data: idx.map((i) => `Premise number ${i}.`), type: 'STRING' },
    { name: 'hypothesis', data: idx.map((i) => `Hypothesis ${i}.`), type: 'STRING' },
    { name: 'idx', data: idx.map((i) => i - offset), type: 'INT32' },
    { name: 'label', data: idx.map((i) => BigInt(labelled ? i % 3 : -1)), type: 'INT64' },
  ]);
}

function rteRows(n: number, labelled = true): Uint8Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  return parquet([
    { name: 'sentence1', data: idx.map((i) => `Sentence one ${i}.`), type: 'STRING' },
    { name: 'sentence2', data: idx.map((i) => `Sentence two ${i}.`), type: 'STRING' },
    { name: 'label', data: idx.map((i) => BigInt(labelled ? i % 2 : -1)), type: 'INT64' },
    { name: 'idx', data: idx, type: 'INT32' },
  ]);
}

/** Runs `dept …` in this process with extra environment variables, capturing stdout and stderr. */
async function dept(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const before: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    before[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Runs the real `dept` binary (a child process) against the fake hub. */
function deptProcess(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !HF_VARS.includes(k)) clean[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/dept.mjs'), ...args], { env: { ...clean, ...env }, cwd: REPO_ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function logits(model: T5ForConditionalGeneration): Promise<number[]> {
  const t = tf.tidy(() => model.forward({
    inputsEmbeds: model.embed(tf.tensor2d([[4, 5, 6, 1]], undefined, 'int32')),
    attentionMask: tf.tensor2d([[1, 1, 1, 1]]),
    labels: tf.tensor2d([[7, 1]], undefined, 'int32'),
  }).logits);
  const out = Array.from(await t.data());
  t.dispose();
  return out;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', announce: false });
  root = mkdtempSync(join(tmpdir(), 'dept-fetch-'));
  restoreEnv = isolateFromRealHub(join(root, 'hf-home')); // only 127.0.0.1 may be contacted

  tinyDir = join(root, 'src-tiny');
  writeRandomT5(tinyDir, presetConfig('tiny-relu'), { seed: 3, sampleTexts: ['the cat sat on the mat', 'a dog ran'] });
  shardedDir = join(root, 'src-sharded');
  writeRandomT5(shardedDir, presetConfig('tiny-gated'), { seed: 4, sampleTexts: ['the cat sat'], maxShardBytes: 20_000 });
  const extras = [
    json('tokenizer_config.json', { model_max_length: 512, eos_token: '</s>', pad_token: '<pad>' }),
    json('special_tokens_map.json', { eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' }),
    json('generation_config.json', { decoder_start_token_id: 0, eos_token_id: 1, pad_token_id: 0 }),
    { path: 'README.md', data: Buffer.from('# tiny\n') },
    { path: 'pytorch_model.bin', data: Buffer.from('not read'), lfs: true },
  ];
  const tiny = [...folderFiles(tinyDir), ...extras];
  hub = new FakeHub([
    { type: 'model', id: 'org/tiny-t5', refs: { main: tiny } },
    { type: 'model', id: 'tiny-legacy', refs: { main: folderFiles(tinyDir) } },
    { type: 'model', id: 'org/sharded-t5', refs: { main: [...folderFiles(shardedDir), { path: 'generation_config.json', data: Buffer.alloc(0) }] } },
    { type: 'model', id: 'org/gated-t5', refs: { main: folderFiles(tinyDir) }, gatedToken: TOKEN },
    { type: 'model', id: 'org/cut-t5', refs: { main: folderFiles(tinyDir) } },
    {
      type: 'model',
      id: 'org/pickle-t5',
      refs: { main: [json('config.json', JSON.parse(readFileSync(join(tinyDir, 'config.json'), 'utf8'))), { path: 'pytorch_model.bin', data: Buffer.from('pickle'), lfs: true }] },
    },
    {
      type: 'dataset',
      id: 'nyu-mll/glue',
      refs: {
        main: [
          { path: 'README.md', data: Buffer.from('---\nconfigs: []\n---\n') },
          { path: 'rte/train-00000-of-00001.parquet', data: rteRows(20), lfs: true },
          { path: 'rte/validation-00000-of-00001.parquet', data: rteRows(8), lfs: true },
          { path: 'rte/test-00000-of-00001.parquet', data: rteRows(5, false), lfs: true },
          { path: 'cola/train-00000-of-00001.parquet', data: parquet([{ name: 'sentence', data: ['a b'], type: 'STRING' }]), lfs: true },
        ],
      },
    },
    {
      type: 'dataset',
      id: 'aps/super_glue',
      refs: {
        main: [{ path: 'README.md', data: Buffer.from('# SuperGLUE\n') }, { path: 'super_glue.py', data: Buffer.from('# a loading script\n') }],
        'refs/convert/parquet': [
          { path: 'cb/train/0000.parquet', data: cbRows(12, 0), lfs: true },
          { path: 'cb/train/0001.parquet', data: cbRows(6, 12), lfs: true },
          { path: 'cb/validation/0000.parquet', data: cbRows(9, 100), lfs: true },
          { path: 'cb/test/0000.parquet', data: cbRows(4, 200, false), lfs: true },
          { path: 'rte/train/0000.parquet', data: cbRows(3, 0), lfs: true },
        ],
      },
    },
  ]);
  await hub.start();
  process.env.HF_ENDPOINT = hub.url;
});

afterAll(async () => {
  restoreEnv();
  await hub?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('dept model fetch', () => {
  it('downloads only what the T5 loader reads into the huggingface_hub cache layout, and the folder loads with the same outputs', async () => {
    const r = await dept(['model', 'fetch', 'org/tiny-t5']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const commit = hub.commit('org/tiny-t5');
    const repoDir = join(root, 'hf-home', 'hub', 'models--org--tiny-t5');
    const dir = join(repoDir, 'snapshots', commit);
    expect(r.stdout).toBe(`${dir}\n`);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(commit);
    expect(lstatSync(join(dir, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(repoDir, 'blobs')).every((b) => /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(b))).toBe(true);
    expect(hub.log.some((q) => q.url.includes('pytorch_model.bin') || q.url.includes('README.md'))).toBe(false);
    // The LFS file came from the "CDN" (another origin), without the token header.
    expect(hub.requests('file').some((q) => q.server === 'cdn')).toBe(true);

    const original = loadPretrainedT5(tinyDir);
    const fetched = loadPretrainedT5(dir);
    expect(await logits(fetched.model)).toEqual(await logits(original.model));
    expect(fetched.tokenizer?.encode('the cat sat')).toEqual(original.tokenizer?.encode('the cat sat'));
    original.model.dispose();
    fetched.model.dispose();
  });

  it('a second fetch reuses the cache: no file requests, the same folder', async () => {
    const from = hub.log.length;
    const r = await dept(['model', 'fetch', 'org/tiny-t5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${join(root, 'hf-home', 'hub', 'models--org--tiny-t5', 'snapshots', hub.commit('org/tiny-t5'))}\n`);
    expect(hub.requests('file', from)).toEqual([]);
    expect(hub.requests('api', from).length).toBe(1); // which commit main is; the file list is recorded in the cache
    expect(r.stderr).toMatch(/6 files, 0 downloaded and 6 from the cache/);
    // A commit id needs no request at all.
    const from2 = hub.log.length;
    const byCommit = await dept(['model', 'fetch', 'org/tiny-t5', '--revision', hub.commit('org/tiny-t5'), '--json']);
    expect(byCommit.code).toBe(0);
    expect(hub.log.length).toBe(from2);
    expect(JSON.parse(byCommit.stdout)).toMatchObject({ repo: 'org/tiny-t5', commit: hub.commit('org/tiny-t5'), downloaded: [] });
  });

  it('offline (HF_HUB_OFFLINE=1) serves the cache without any request, and fails clearly without a cache', async () => {
    const from = hub.log.length;
    const r = await dept(['model', 'fetch', 'org/tiny-t5'], { HF_HUB_OFFLINE: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(root, 'hf-home', 'hub', 'models--org--tiny-t5', 'snapshots', hub.commit('org/tiny-t5')));
    expect(hub.log.length).toBe(from);

    const empty = await dept(['model', 'fetch', 'org/tiny-t5', '--cache-dir', join(root, 'empty-cache')], { HF_HUB_OFFLINE: '1' });
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe('');
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/HF_HUB_OFFLINE is set and org\/tiny-t5 \(revision main\) is not in the cache/);
    expect(hub.log.length).toBe(from);
  });

  it('falls back to the cache when the hub cannot be reached, and says so', async () => {
    const r = await dept(['model', 'fetch', 'org/tiny-t5'], { HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: cannot reach http:\/\/127\.0\.0\.1:9/);
    const none = await dept(['model', 'fetch', 'org/sharded-t5'], { HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/org\/sharded-t5: cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('fetches sharded checkpoints (index + shards) and legacy ids without an org', async () => {
    const r = await dept(['model', 'fetch', 'org/sharded-t5', '--cache-dir', join(root, 'cache2')]);
    expect(r.code).toBe(0);
    const dir = r.stdout.trim();
    const shards = readdirSync(shardedDir).filter((f) => /^model-.*\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors.index.json', ...shards, 'tokenizer.json'].sort());
    expect(readFileSync(join(dir, 'generation_config.json')).length).toBe(0); // an empty file: no byte range to ask for
    const a = loadPretrainedT5(shardedDir);
    const b = loadPretrainedT5(dir);
    expect(await logits(b.model)).toEqual(await logits(a.model));
    a.model.dispose();
    b.model.dispose();

    const legacy = await dept(['model', 'fetch', 'tiny-legacy', '--cache-dir', join(root, 'cache2')]);
    expect(legacy.code).toBe(0);
    expect(legacy.stdout.trim()).toBe(join(root, 'cache2', 'models--tiny-legacy', 'snapshots', hub.commit('tiny-legacy')));
  });

  it('refuses a repository with only pytorch_model.bin: exit status 2, one line, nothing downloaded', async () => {
    const from = hub.log.length;
    const r = await deptProcess(['model', 'fetch', 'org/pickle-t5'], { HF_ENDPOINT: hub.url, HF_HOME: join(root, 'hf-home-pickle') });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('revision main is commit'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dept: error: org\/pickle-t5@main: has no model\.safetensors or model\.safetensors\.index\.json \(only pytorch_model\.bin\); dept reads safetensors only, never PyTorch pickles/);
    expect(hub.requests('file', from)).toEqual([]);
  });

  it('gated repositories need HF_TOKEN; the token goes to the hub only, never to the CDN', async () => {
    const cache = join(root, 'cache-gated');
    const denied = await dept(['model', 'fetch', 'org/gated-t5', '--cache-dir', cache]);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/org\/gated-t5 config\.json \(revision main\) at http:\/\/127\.0\.0\.1:\d+: the repository is gated and no HF_TOKEN is set; accept its terms/);
    const from = hub.log.length;
    const ok = await dept(['model', 'fetch', 'org/gated-t5', '--cache-dir', cache], { HF_TOKEN: TOKEN });
    expect(ok.code).toBe(0);
    const seen = hub.log.slice(from);
    expect(seen.filter((q) => q.server === 'hub').every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(seen.filter((q) => q.server === 'cdn').length).toBeGreaterThan(0);
    expect(seen.filter((q) => q.server === 'cdn').every((q) => q.authorization === null)).toBe(true);
  });

  it('an interrupted download leaves no file that looks complete, and the next fetch resumes it', async () => {
    const cache = join(root, 'cache-cut');
    const size = readFileSync(join(tinyDir, 'model.safetensors')).length;
    hub.cutOnce.set('model.safetensors', 5000);
    const cut = await dept(['model', 'fetch', 'org/cut-t5', '--cache-dir', cache]);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/org\/cut-t5@main model\.safetensors: download interrupted after \d+ of \d+ bytes .*run again to resume/);
    const repoDir = join(cache, 'models--org--cut-t5');
    const snap = join(repoDir, 'snapshots', hub.commit('org/cut-t5'));
    expect(existsSync(join(snap, 'model.safetensors'))).toBe(false);
    const blobs = readdirSync(join(repoDir, 'blobs'));
    expect(blobs.filter((b) => b.endsWith('.incomplete'))).toHaveLength(1);
    expect(blobs.some((b) => b.length === 64)).toBe(false); // no complete-looking LFS blob

    const from = hub.log.length;
    const again = await dept(['model', 'fetch', 'org/cut-t5', '--cache-dir', cache]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/model\.safetensors \([\d.]+ kB\) resuming at/);
    expect(hub.log.slice(from).some((q) => q.server === 'cdn' && q.range !== null && /^bytes=[1-9]\d*-/.test(q.range))).toBe(true);
    expect(readFileSync(join(snap, 'model.safetensors'))).toEqual(readFileSync(join(tinyDir, 'model.safetensors')));
    expect(readFileSync(join(snap, 'model.safetensors')).length).toBe(size);
    expect(readdirSync(join(repoDir, 'blobs')).some((b) => b.endsWith('.incomplete'))).toBe(false);
  });

  it('a corrupt download is refused and nothing is kept', async () => {
    const cache = join(root, 'cache-corrupt');
    hub.corruptOnce.add('model.safetensors');
    const bad = await dept(['model', 'fetch', 'org/cut-t5', '--cache-dir', cache]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/model\.safetensors: the download is corrupt \(sha256 [0-9a-f]+ does not match the hub's [0-9a-f]+\); nothing was kept/);
    expect(readdirSync(join(cache, 'models--org--cut-t5', 'blobs')).filter((b) => b.length === 64 || b.endsWith('.incomplete'))).toEqual([]);
    expect((await dept(['model', 'fetch', 'org/cut-t5', '--cache-dir', cache])).code).toBe(0);
  });

  it('names missing repositories and revisions in one line', async () => {
    const missing = await dept(['model', 'fetch', 'org/nothing-here']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/org\/nothing-here \(revision main\) at .*: repository not found, or private and no HF_TOKEN is set/);
    const rev = await dept(['model', 'fetch', 'org/tiny-t5', '--revision', 'v9']);
    expect(rev.code).toBe(2);
    expect(rev.stderr).toMatch(/org\/tiny-t5 \(revision v9\) .*: no such revision/);
    const bad = await dept(['model', 'fetch', 'a/b/c']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/model id "a\/b\/c" is not valid/);
  });
});

describe('dept data fetch', () => {
  it('super_glue/cb comes from the parquet conversion branch and lands where the readers find it', async () => {
    const out = join(root, 'data');
    const r = await dept(['data', 'fetch', 'super_glue/cb', '--data-dir', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const folder = join(out, 'super_glue', 'cb');
    expect(r.stdout).toBe(`${folder}\n`);
    expect(readdirSync(folder).sort()).toEqual([
      '.dept-fetch.json', 'test-00000-of-00001.parquet', 'train-00000-of-00002.parquet', 'train-00001-of-00002.parquet', 'validation-00000-of-00001.parquet',
    ]);
    expect(hub.log.some((q) => q.url.includes('/api/datasets/aps/super_glue/revision/refs%2Fconvert%2Fparquet'))).toBe(true);
    const snapDir = join(root, 'hf-home', 'hub', 'datasets--aps--super_glue', 'snapshots', hub.commit('aps/super_glue', 'refs/convert/parquet'));
    expect(existsSync(join(snapDir, 'cb', 'train', '0001.parquet'))).toBe(true);
    expect(existsSync(join(snapDir, 'rte'))).toBe(false); // only the config asked for

    const data = await loadTaskData('superglue-cb', { dataDir: out });
    expect(data.match.layout).toBe('hf-parquet');
    expect(data.tables.train?.numRows()).toBe(18);
    expect(data.tables.validation?.numRows()).toBe(9);
    expect(data.tables.test?.numRows()).toBe(4);
    const train = data.tables.train?.objects() as { premise: string; label: number }[];
    expect(train[12]?.premise).toBe('Premise number 12.'); // shards in order
    expect(train[5]?.label).toBe(2);

    const list = await dept(['data', 'list', '--data-dir', out, '--json']);
    expect(list.code).toBe(0);
    const cb = (JSON.parse(list.stdout) as { tasks: { task: string; found: { folder: string; layout: string; rows: Record<string, number> }[] }[] }).tasks.find((t) => t.task === 'superglue-cb');
    expect(cb?.found).toEqual([{ folder: join('super_glue', 'cb'), layout: 'hf-parquet', rows: { train: 18, validation: 9, test: 4 } }]);
  });

  it("glue/rte uses the repository's own parquet files (no conversion branch), and DePT's split reads them", async () => {
    const out = join(root, 'data');
    const from = hub.log.length;
    const r = await dept(['data', 'fetch', 'glue/rte', '--data-dir', out]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'glue', 'rte'));
    expect(hub.log.slice(from).some((q) => q.url.includes('convert'))).toBe(false);
    expect(readdirSync(join(out, 'glue', 'rte')).filter((f) => f.endsWith('.parquet')).sort()).toEqual([
      'test-00000-of-00001.parquet', 'train-00000-of-00001.parquet', 'validation-00000-of-00001.parquet',
    ]);
    const data = await loadTaskData('rte', { dataDir: out, requireSplittable: true });
    expect(data.match.layout).toBe('hf-parquet');
    expect(data.tables.train?.numRows()).toBe(20);
    const split = await dept(['data', 'split', '--task', 'rte', '--data-dir', out, '--json']);
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout).train.indices.length).toBeGreaterThan(0);
  });

  it('a second fetch makes no file requests and writes nothing; offline it works from the cache', async () => {
    const out = join(root, 'data');
    const record = readFileSync(join(out, 'super_glue', 'cb', '.dept-fetch.json'), 'utf8');
    const from = hub.log.length;
    const r = await dept(['data', 'fetch', 'super_glue/cb', '--out', out]); // the old name of --data-dir still works
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/already up to date/);
    expect(r.stderr).toContain('dept: warning: data fetch --out is deprecated; it is now --data-dir');
    expect(r.stdout).toBe(`${join(out, 'super_glue', 'cb')}\n`);
    expect(hub.requests('file', from)).toEqual([]);
    expect(readFileSync(join(out, 'super_glue', 'cb', '.dept-fetch.json'), 'utf8')).toBe(record);

    const from2 = hub.log.length;
    const off = await dept(['data', 'fetch', 'super_glue/cb', '--data-dir', join(root, 'data-offline')], { HF_HUB_OFFLINE: '1' });
    expect(off.code).toBe(0);
    expect(hub.log.length).toBe(from2);
    expect((await loadTaskData('superglue-cb', { dataDir: join(root, 'data-offline') })).tables.train?.numRows()).toBe(18);

    const none = await dept(['data', 'fetch', 'glue/cola', '--data-dir', join(root, 'data-offline')], { HF_HUB_OFFLINE: '1', HF_HOME: join(root, 'nowhere') });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/HF_HUB_OFFLINE is set and datasets\/nyu-mll\/glue \(revision main\) is not in the cache/);
  });

  it('refuses to replace a folder it did not write, and asks for a config when there are several', async () => {
    const out = join(root, 'data-foreign');
    mkdirSync(join(out, 'glue', 'rte'), { recursive: true });
    writeFileSync(join(out, 'glue', 'rte', 'train.tsv'), 'index\tsentence1\tsentence2\tlabel\n');
    const r = await dept(['data', 'fetch', 'glue/rte', '--data-dir', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/glue\/rte: exists and holds files dept data fetch did not write \(train\.tsv\)/);
    expect(readdirSync(join(out, 'glue', 'rte'))).toEqual(['train.tsv']);

    const several = await dept(['data', 'fetch', 'glue', '--data-dir', out]);
    expect(several.code).toBe(2);
    expect(several.stderr).toMatch(/datasets\/nyu-mll\/glue@main has several configs \(cola, rte\); name one, e\.g\. glue\/cola or --config cola/);
    const unknown = await dept(['data', 'fetch', 'super_glue/nope', '--data-dir', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no Parquet files for it in revision main or refs\/convert\/parquet \(it has cb, rte\)/);
  });
});

describe('names and settings', () => {
  it('reads the hub variables the way huggingface_hub does', () => {
    expect(hubCacheDir({ HF_HOME: '/h' })).toBe(join('/h', 'hub'));
    expect(hubCacheDir({ HF_HOME: '/h', HF_HUB_CACHE: '/c' })).toBe('/c');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'huggingface', 'hub'));
    const home = join(root, 'token-home');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), 'hf_from_file\n');
    expect(hubSettings({}, { HF_HOME: home })).toEqual({ endpoint: 'https://huggingface.co', token: 'hf_from_file', cacheDir: join(home, 'hub'), offline: false });
    expect(hubSettings({}, { HF_HOME: home, HF_TOKEN: 'hf_env', HF_ENDPOINT: 'https://mirror.example/', HF_HUB_OFFLINE: 'true' })).toMatchObject({ endpoint: 'https://mirror.example', token: 'hf_env', offline: true });
    expect(() => hubSettings({}, { HF_ENDPOINT: 'ftp://x' })).toThrow(/HF_ENDPOINT "ftp:\/\/x" must be an http or https URL/);
  });

  it('reads dataset names: short names, org/name with a config, org/name/config', () => {
    expect(parseHfDatasetSpec('super_glue/cb')).toEqual({ repo: 'aps/super_glue', config: 'cb', folder: 'super_glue' });
    expect(parseHfDatasetSpec('glue', 'rte')).toEqual({ repo: 'nyu-mll/glue', config: 'rte', folder: 'glue' });
    expect(parseHfDatasetSpec('nyu-mll/glue/rte')).toEqual({ repo: 'nyu-mll/glue', config: 'rte', folder: 'nyu-mll/glue' });
    expect(parseHfDatasetSpec('stanfordnlp/snli')).toEqual({ repo: 'stanfordnlp/snli', folder: 'stanfordnlp/snli' });
    expect(() => parseHfDatasetSpec('glue/rte', 'cola')).toThrow(/names config "rte" but --config says "cola"/);
  });

  it('finds a fetched model in the cache without the network', () => {
    expect(cachedT5Model('org/tiny-t5')).toBe(join(root, 'hf-home', 'hub', 'models--org--tiny-t5', 'snapshots', hub.commit('org/tiny-t5')));
    expect(cachedT5Model('org/never-fetched')).toBeNull();
    expect(cachedT5Model('./a/local/path')).toBeNull();
  });
});
