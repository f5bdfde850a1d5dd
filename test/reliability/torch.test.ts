/**
 * Malicious PyTorch `torch.save` files fed to `dept bank inspect`, `dept bank convert` and `dept train --bank`
 * (in-process): every one is refused with exit status 2 and one line, nothing in it is executed (marker files the
 * payloads would create never appear), and nothing is written outside the output folder (issue 8, item 2).
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBank } from '@dept/prompt';
import { f32Bytes, makeZip, PickleWriter, torchZip } from '../helpers/torchfile.ts';
import { REPO_ROOT } from '../helpers/shared.ts';
import { HostileCounter, expectRefusal, listFiles, put, remove, runDept, tempDir } from './helpers.ts';

const hostile = new HostileCounter('PyTorch files');
let dir: string;
let marker: string;

/** `{'prompt_embeddings': <tensor>}` as torch.save writes an OrderedDict. */
function dictOf(build: (p: PickleWriter) => void, key = 'prompt_embeddings'): Uint8Array {
  const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').raw(0x29, 0x52).mark().unicode(key);
  build(p);
  return p.raw(0x75).stop(); // SETITEMS
}

/** `module.name(arg)` through GLOBAL + REDUCE: what every pickle exploit does. */
function call(module: string, name: string, arg: string): Uint8Array {
  return new PickleWriter().proto(2).global(module, name).unicode(arg).raw(0x85, 0x52).stop(); // TUPLE1, REDUCE
}

const goodPickle = () => dictOf((p) => p.tensor('FloatStorage', '0', 6, 0, [2, 3], [3, 1]));

beforeAll(() => {
  dir = tempDir('torch');
  marker = join(dir, 'PWNED');
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

/** Writes `bytes` as `<dir>/<name>/adapter_model.bin` and converts it into `<dir>/<name>/out`; returns the run and paths. */
async function convert(name: string, bytes: Uint8Array) {
  hostile.add(bytes);
  const before = listFiles(dir);
  const folder = join(dir, name);
  const file = put(join(folder, 'adapter_model.bin'), bytes);
  const out = join(folder, 'out');
  const r = await runDept(['bank', 'convert', file, '--to', 'dept', '--out', out]);
  const after = listFiles(dir);
  return { r, file, out, created: after.filter((f) => !before.includes(f)) };
}

describe('a well-formed torch.save bank converts (so the refusals are about the payload)', () => {
  it('a DePT-style OrderedDict with one prompt tensor', async () => {
    const folder = join(dir, 'good');
    const file = put(join(folder, 'adapter_model.bin'), torchZip(goodPickle(), { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }, 'adapter_model'));
    const out = join(folder, 'out');
    const r = await runDept(['bank', 'convert', file, '--to', 'dept', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(Array.from(readBank(out).prompt_embeddings.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('torch.save(module.state_dict()) banks convert (BUILD on the OrderedDict)', () => {
  it('the DePT-like fixture written by PyTorch 1.13', async () => {
    const folder = join(dir, 'state-dict');
    mkdirSync(folder, { recursive: true });
    for (const f of ['adapter_model.bin', 'adapter_config.json']) copyFileSync(join(REPO_ROOT, 'test/fixtures/torch/dept-module', f), join(folder, f));
    const out = join(folder, 'out');
    const r = await runDept(['bank', 'convert', folder, '--to', 'dept', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readBank(out).prompt_embeddings.shape).toEqual([4, 8]);
  });
});

describe('pickles that would run code', () => {
  const payloads: [string, string, string][] = [
    ['os', 'system', `touch MARKER`],
    ['posix', 'system', `touch MARKER`],
    ['nt', 'system', `type nul > MARKER`],
    ['builtins', 'eval', `__import__("os").system("touch MARKER")`],
    ['builtins', 'exec', `open("MARKER", "w")`],
    ['__builtin__', 'eval', `__import__("os").system("touch MARKER")`],
    ['subprocess', 'Popen', 'touch MARKER'],
    ['subprocess', 'check_output', 'touch MARKER'],
    ['runpy', '_run_code', 'open("MARKER", "w")'],
    ['torch', 'load', 'MARKER'],
    ['torch._utils', '_load_from_bytes', 'MARKER'],
    ['pickle', 'loads', 'MARKER'],
    ['webbrowser', 'open', 'file://MARKER'],
    ['shutil', 'rmtree', '/'],
  ];
  for (const [module, name, arg] of payloads) {
    it(`${module}.${name}`, async () => {
      const { r, file, created } = await convert(`g-${module}-${name}`, torchZip(call(module, name, arg.replaceAll('MARKER', marker)), {}, 'adapter_model'));
      expectRefusal(r, file, `refused pickle global "${module} ${name}" (only torch tensor rebuild functions are allowed)`);
      expect(existsSync(marker)).toBe(false);
      expect(created).toEqual([`g-${module}-${name}/adapter_model.bin`]);
    });
  }
  it('a global named on the stack (protocol 4 STACK_GLOBAL)', async () => {
    const pkl = new PickleWriter().proto(4).shortUnicode('os').shortUnicode('system').raw(0x93).unicode(`touch ${marker}`).raw(0x85, 0x52).stop();
    const { r } = await convert('stack-global', torchZip(pkl, {}, 'adapter_model'));
    expectRefusal(r, 'refused pickle global "os system"');
    expect(existsSync(marker)).toBe(false);
  });
  it('an exploit hidden as the value of a tensor dict entry', async () => {
    const pkl = dictOf((p) => p.global('os', 'system').unicode(`touch ${marker}`).raw(0x85, 0x52));
    const { r } = await convert('in-dict', torchZip(pkl, {}, 'adapter_model'));
    expectRefusal(r, 'refused pickle global "os system"');
    expect(existsSync(marker)).toBe(false);
  });
  it('REDUCE on an allowed global that is not callable (a storage class)', async () => {
    const pkl = new PickleWriter().proto(2).global('torch', 'FloatStorage').raw(0x29, 0x52).stop();
    const { r } = await convert('reduce-storage', torchZip(pkl, {}, 'adapter_model'));
    expectRefusal(r, 'refused REDUCE on torch.FloatStorage');
  });
  it('REDUCE on a string', async () => {
    const pkl = new PickleWriter().proto(2).unicode('os.system').unicode(`touch ${marker}`).raw(0x85, 0x52).stop();
    const { r } = await convert('reduce-string', torchZip(pkl, {}, 'adapter_model'));
    expectRefusal(r, 'refused REDUCE on "os.system"');
  });
  const opcodes: [string, (p: PickleWriter) => PickleWriter, string][] = [
    ['BUILD (setstate on an object)', (p) => p.raw(0x7d, 0x7d, 0x62), 'refused pickle opcode 0x62 BUILD'],
    ['INST (import and call)', (p) => p.mark().text(`ios\nsystem\n`), 'refused pickle opcode 0x69 INST'],
    ['OBJ', (p) => p.mark().global('os', 'system').raw(0x6f), 'refused pickle global "os system"'],
    ['NEWOBJ', (p) => p.raw(0x29, 0x29, 0x81), 'refused pickle opcode 0x81 NEWOBJ'],
    ['NEWOBJ_EX', (p) => p.raw(0x29, 0x29, 0x7d, 0x92), 'refused pickle opcode 0x92 NEWOBJ_EX'],
    ['EXT1 (extension registry)', (p) => p.raw(0x82, 0x01), 'refused pickle opcode 0x82 EXT1'],
    ['an unknown opcode', (p) => p.raw(0xfe), 'refused pickle opcode 0xfe'],
  ];
  for (const [name, build, expected] of opcodes) {
    it(name, async () => {
      const { r } = await convert(`op-${name.replace(/\W+/g, '-')}`, torchZip(build(new PickleWriter().proto(2)).stop(), {}, 'adapter_model'));
      expectRefusal(r, expected);
      expect(existsSync(marker)).toBe(false);
    });
  }
  it('a malicious source bank given to dept train --bank is refused before any training', async () => {
    const file = put(join(dir, 'train-bank', 'adapter_model.bin'), hostile.add(torchZip(call('os', 'system', `touch ${marker}`), {}, 'adapter_model')));
    const out = join(dir, 'train-bank', 'run');
    const r = await runDept(['train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', join(dir, 'train-bank', 'model'), '--bank', join(dir, 'train-bank'),
      '--set', 'model.init={preset: tiny-relu}', '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '1', '--out', out]);
    expectRefusal(r, file, 'refused pickle global "os system"');
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
  });
});

describe('archives that would write outside the output folder or exhaust memory', () => {
  const escapes = ['adapter_model/../../escaped.bin', '../escaped.bin', '/tmp/escaped.bin', '..\\escaped.bin', 'C:/escaped.bin', 'adapter_model/data/../../../escaped.bin'];
  escapes.forEach((bad, i) => {
    it(`a zip entry named ${JSON.stringify(bad)}`, async () => {
      const bytes = makeZip([{ name: 'adapter_model/data.pkl', data: goodPickle() }, { name: 'adapter_model/data/0', data: f32Bytes([1, 2, 3, 4, 5, 6]) }, { name: bad, data: f32Bytes([666]) }]);
      const { r, out, created } = await convert(`zip-${i}`, bytes);
      expectRefusal(r, `refused zip entry ${JSON.stringify(bad)} (entry names must stay inside the archive`);
      expect(existsSync(out)).toBe(false);
      expect(created).toEqual([`zip-${i}/adapter_model.bin`]);
      for (const place of ['/tmp/escaped.bin', join(dir, 'escaped.bin'), join(dir, '..', 'escaped.bin'), join(dir, `zip-${i}`, 'escaped.bin')]) expect(existsSync(place)).toBe(false);
    });
  });
  it('a storage shorter than its tensor claims', async () => {
    const { r, out } = await convert('short-storage', torchZip(goodPickle(), { '0': f32Bytes([1, 2, 3]) }, 'adapter_model'));
    expectRefusal(r, 'storage "0" holds 12 bytes, expected 24 for 6 F32 elements');
    expect(existsSync(out)).toBe(false);
  });
  it('a tensor view running past its storage', async () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 6, 4, [2, 3], [3, 1]));
    const { r } = await convert('past-storage', torchZip(pkl, { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }, 'adapter_model'));
    expectRefusal(r, 'tensor "prompt_embeddings" (offset 4, shape [2, 3], stride [3, 1]) needs 10 elements but storage "0" holds 6');
  });
  it('a stride-0 view of a huge shape (a memory bomb without a zip)', async () => {
    const pkl = dictOf((p) => p.tensor('FloatStorage', '0', 1, 0, [65536, 65536], [0, 0]));
    const { r } = await convert('expand-bomb', torchZip(pkl, { '0': f32Bytes([1]) }, 'adapter_model'));
    expectRefusal(r, 'has shape [65536, 65536], too large to read');
  });
  it('40 stride-0 views [8192, 8192] of one element (5 GB from a few kB)', async () => {
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    for (let i = 0; i < 40; i++) p.unicode(i === 0 ? 'prompt_embeddings' : `e${i}`).tensor('FloatStorage', '0', 1, 0, [8192, 8192], [0, 0]);
    const { r, out } = await convert('expand-40', torchZip(p.raw(0x75).stop(), { '0': f32Bytes([1]) }, 'adapter_model'));
    expectRefusal(r, 'tensor "prompt_embeddings" (offset 0, shape [8192, 8192], stride [0, 0]) has 67108864 elements but storage "0" holds 1');
    expect(existsSync(out)).toBe(false);
  });
  it('eight zip directory entries pointing at one deflated entry', async () => {
    const p = new PickleWriter().proto(2).raw(0x7d).mark();
    for (let i = 0; i < 8; i++) p.unicode(i === 0 ? 'prompt_embeddings' : `t${i}`).tensor('FloatStorage', String(i), 6, 0, [2, 3], [3, 1]);
    const data = f32Bytes([1, 2, 3, 4, 5, 6]);
    const bytes = makeZip([
      { name: 'adapter_model/data.pkl', data: p.raw(0x75).stop() },
      { name: 'adapter_model/data/0', data, method: 8 },
      ...[1, 2, 3, 4, 5, 6, 7].map((i) => ({ name: `adapter_model/data/${i}`, data, method: 8 as const, aliasOf: 'adapter_model/data/0' })),
    ]);
    const { r } = await convert('zip-alias', bytes);
    expectRefusal(r, 'zip entries "adapter_model/data/0" and "adapter_model/data/1" point at the same local header');
  });
  it('a pickle of 1,000,001 MEMOIZE in a few kB', async () => {
    const pkl = new Uint8Array(1_000_005).fill(0x94);
    pkl.set([0x80, 4, 0x5d]);
    pkl[pkl.length - 1] = 0x2e;
    const { r } = await convert('memoize', makeZip([{ name: 'adapter_model/data.pkl', data: pkl, method: 8 }]));
    expectRefusal(r, 'pickle memo holds more than 1000000 entries');
  });
  it('a bank whose pickle also holds a list of 300,000 numbers (APPENDS) converts', async () => {
    const head = dictOf((p) => p.tensor('FloatStorage', '0', 6, 0, [2, 3], [3, 1]).unicode('big').raw(0x5d, 0x28));
    const pkl = new Uint8Array(head.length - 2 + 600_000 + 3); // head without SETITEMS and STOP
    pkl.set(head.subarray(0, head.length - 2));
    for (let i = 0; i < 300_000; i++) pkl.set([0x4b, 7], head.length - 2 + 2 * i);
    pkl.set([0x65, 0x75, 0x2e], pkl.length - 3); // APPENDS, SETITEMS, STOP
    const folder = join(dir, 'appends');
    const file = put(join(folder, 'adapter_model.bin'), hostile.add(torchZip(pkl, { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }, 'adapter_model')));
    const r = await runDept(['bank', 'convert', file, '--to', 'dept', '--out', join(folder, 'out')]);
    expect(r.status, r.stderr).toBe(0);
    expect(Array.from(readBank(join(folder, 'out')).prompt_embeddings.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('a zip bomb: 50 MB of zeros stated as 24 bytes', async () => {
    const bytes = makeZip([{ name: 'adapter_model/data.pkl', data: goodPickle() }, { name: 'adapter_model/data/0', data: new Uint8Array(50_000_000), method: 8, statedSize: 24 }]);
    const { r, out } = await convert('zip-bomb', bytes);
    expectRefusal(r, 'zip entry "adapter_model/data/0" inflates past its stated 24 bytes (refused as a zip bomb)');
    expect(existsSync(out)).toBe(false);
  });
  it('a zip entry claiming 4 GB from a few compressed bytes', async () => {
    const bytes = makeZip([{ name: 'adapter_model/data.pkl', data: goodPickle() }, { name: 'adapter_model/data/0', data: f32Bytes([1, 2, 3, 4, 5, 6]), method: 8, statedSize: 4_000_000_000 }]);
    const { r } = await convert('zip-claim', bytes);
    expectRefusal(r, /claims 4000000000 bytes from \d+ compressed \(impossible for deflate: a zip bomb\?\)/);
  });
  it('a CRC that does not match', async () => {
    const bytes = makeZip([{ name: 'adapter_model/data.pkl', data: goodPickle() }, { name: 'adapter_model/data/0', data: f32Bytes([1, 2, 3, 4, 5, 6]), crc: 42 }]);
    const { r } = await convert('crc', bytes);
    expectRefusal(r, 'zip entry "adapter_model/data/0" fails its CRC-32 check');
  });
  it('a truncated archive, a truncated pickle, a legacy pickle, a non-archive, an archive without data.pkl', async () => {
    const good = torchZip(goodPickle(), { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }, 'adapter_model');
    expectRefusal((await convert('cut-zip', good.subarray(0, good.length - 30))).r, 'adapter_model.bin: ');
    expectRefusal((await convert('cut-pkl', torchZip(goodPickle().subarray(0, 30), {}, 'adapter_model'))).r, /pickle ends early at byte \d+ \(truncated data\.pkl\)/);
    expectRefusal((await convert('legacy', new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]))).r, 'legacy (pre-1.6, non-zip) torch.save file');
    expectRefusal((await convert('not-zip', new Uint8Array(Buffer.from('#!/bin/sh\nrm -rf ~\n')))).r, 'not a PyTorch zip archive');
    expectRefusal((await convert('no-pkl', makeZip([{ name: 'adapter_model/data/0', data: f32Bytes([1]) }]))).r, 'expected one "<name>/data.pkl" in the archive, found none');
    expectRefusal((await convert('empty', new Uint8Array(0))).r, 'adapter_model.bin: ');
  });
  it('bank inspect refuses the same way (it reads, never executes)', async () => {
    const file = put(join(dir, 'inspect', 'prompt.pt'), hostile.add(torchZip(call('os', 'system', `touch ${marker}`), {})));
    expectRefusal(await runDept(['bank', 'inspect', file, '--json']), file, 'refused pickle global "os system"');
    expect(existsSync(marker)).toBe(false);
    writeFileSync(join(dir, 'inspect', 'prompt.pt'), hostile.add(new Uint8Array(3)));
    expectRefusal(await runDept(['bank', 'inspect', file]), file);
  });
});
