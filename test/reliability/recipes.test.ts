/**
 * Hostile recipes and flags for `dept train`, `dept fewshot`, `dept data` and `dept model init` (in-process):
 * unknown keys, wrong types, out-of-range values, sizes over the model's limits and unknown task names each give
 * exit status 2 and one line naming the field path and what is allowed (issue 8, item 4).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { HostileCounter, expectRefusal, remove, runDept, tempDir } from './helpers.ts';

const hostile = new HostileCounter('recipes and flags');
const dir = tempDir('recipes');
const model = join(dir, 'model');
const marker = join(dir, 'PWNED');
let n = 0;

beforeAll(() => {
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: ['the cat sat'] });
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

const TRAIN = () => ['train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '4', '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '1', '--predict', 'score', '--out', join(dir, `out${n++}`)];
const recipeFile = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, hostile.add(text));
  return path;
};
const BASE = () => `model: {path: ${JSON.stringify(model)}}\ntasks: [superglue-cb]\nk: [4]\nseeds: [1]\ndata: {dir: datasets/sample}\n`;

describe('flags of dept train', () => {
  const cases: [string, string[], string[]][] = [
    ['k = 0', ['--k', '0'], ['--k is 0, expected at least 1']],
    ['k < 0', ['--k', '-3'], ['--k is -3, expected at least 1']],
    ['k not a number', ['--k', 'ten'], ['--k is "ten", expected an integer']],
    ['k fractional', ['--k', '4.5'], ['--k is "4.5", expected an integer']],
    ['r < 0', ['--r', '-1'], ['--r is -1, expected at least 0']],
    ['m < 0', ['--m', '-2'], ['--m is -2, expected at least 0']],
    ['m = r = 0 (nothing to train)', ['--m', '0', '--r', '0'], ['"num_virtual_tokens" and "r" are both 0: nothing to train']],
    ['lr = 0', ['--lr', '0'], ['--lr is 0, expected a number > 0']],
    ['lr < 0', ['--lr', '-0.3'], ['--lr is -0.3, expected a number > 0']],
    ['lr NaN', ['--lr', 'nan'], ['--lr is "nan", expected a number']],
    ['lr infinite', ['--lr', '1e999'], ['--lr is "1e999", expected a number']],
    ['lora_lr = 0', ['--lora-lr', '0'], ['--lora-lr is 0, expected a number > 0']],
    ['max_steps = 0', ['--max-steps', '0'], ['--max-steps is 0, expected at least 1']],
    ['batch_size = 0', ['--batch-size', '0'], ['--batch-size is 0, expected at least 1']],
    ['max_length = 0', ['--max-length', '0'], ['--max-length is 0, expected at least 1']],
    ['a seed that is not an integer', ['--seed', '1.5'], ['--seed is "1.5", expected an integer']],
    ['a seed beyond 2^53', ['--seed', '99999999999999999999'], ['--seed is "99999999999999999999", expected an integer']],
    ['an unknown predict mode', ['--predict', 'guess'], ['train.predict: expected one of "generate", "score"']],
    ['an unknown sampler', ['--sampler', 'random'], ['sampler: expected one of "dept", "balanced"']],
    ['an unknown task name', ['--task', 'superglue-cbb'], ['unknown task "superglue-cbb"; expected one of cola, sst2', 'superglue-cb']],
    ['m + s over the model limit (m huge)', ['--m', '100000000'], ['train.num_virtual_tokens + train.max_length (m + s) is 100000000 + 16 = 100000016, over this model\'s limit of 4096 positions']],
    ['m + s over the model limit (s huge)', ['--max-length', '100000000'], ['(m + s) is 2 + 100000000 = 100000002, over this model\'s limit of 4096 positions']],
    ['m + s just over the model limit', ['--m', '2048', '--max-length', '2049'], ['(m + s) is 2048 + 2049 = 4097, over this model\'s limit of 4096']],
    ['r so large that A cannot be held', ['--r', '100000000'], ['train.r is too large: A [s, r] = [16, 100000000] would hold 1600000000 values', 'expected r ≤']],
    ['--set an unknown field', ['--set', 'train.learning_rate=0.3'], ['--set train.learning_rate=0.3: train: unknown field "learning_rate"; allowed: num_virtual_tokens, r, max_length', ' lr,']],
    ['--set an unknown top-level field', ['--set', 'epochs=3'], ['unknown field "epochs"; allowed: name, description, model, data, tasks, k, seeds']],
    ['--set a wrong type', ['--set', 'train.warmup_steps=ten'], ['train.warmup_steps: Invalid input: expected number, received string']],
    ['--set a boolean wrong', ['--set', 'train.dropout=maybe'], ['train.dropout: Invalid input: expected boolean']],
    ['--set a negative seed in a list', ['--set', 'seeds=[1, -1]'], ['seeds.1: Too small: expected number to be >=0']],
    ['--set lr negative', ['--set', 'train.lr=-1'], ['train.lr: Too small: expected number to be >0']],
    ['--set an unknown enum value', ['--set', 'data.flavour=paper'], ['data.flavour: expected one of "dept", "official"']],
    ['--set without =', ['--set', 'train.lr'], ['--set "train.lr": expected key=value']],
    ['--set through __proto__', ['--set', '__proto__.polluted=1'], ['--set __proto__.polluted: not a valid field path']],
    ['--set through constructor', ['--set', 'train.constructor.prototype.polluted=1'], ['not a valid field path']],
    ['--set into a list', ['--set', 'seeds.x=1'], ['--set seeds.x=1: seeds: Invalid input: expected array, received object']],
    ['--set into a value', ['--set', 'name=a', '--set', 'name.x=1'], ['--set name.x: "name" is not a group of fields']],
    ['--set a YAML tag', ['--set', 'train.lr=!!js/function "function () { return 1 }"'], ['train.lr: Invalid input: expected number, received string']],
    ['a name that leaves the runs folder', ['--set', 'name=../../etc'], ['name: letters, digits, ".", "_" and "-" only']],
  ];
  for (const [name, flags, expected] of cases) {
    it(name, async () => {
      const r = await runDept([...TRAIN(), ...hostile.add(flags)]);
      expectRefusal(r, ...expected);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }
  it('an unknown flag is refused by the parser (exit status 2, with the usage)', async () => {
    const r = await runDept([...TRAIN(), ...hostile.add(['--learning-rate', '0.3'])]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--learning-rate'");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('recipe files', () => {
  const cases: [string, string, string, string[]][] = [
    ['an unknown top-level field', 'unknown.yaml', `${BASE()}epochs: 3\n`, ['unknown.yaml: unknown field "epochs"; allowed: name, description, model, data, tasks, k, seeds, sampler, bank, train, search, out']],
    ['an unknown nested field', 'nested.yaml', `${BASE()}train: {learning_rate: 0.3}\n`, ['nested.yaml: train: unknown field "learning_rate"; allowed: num_virtual_tokens']],
    ['a wrong type', 'type.yaml', `${BASE().replace('k: [4]', 'k: "4"')}`, ['type.yaml: k: Invalid input: expected array, received string']],
    ['k = 0', 'k0.yaml', `${BASE().replace('k: [4]', 'k: [4, 0]')}`, ['k0.yaml: k.1: Too small: expected number to be >=1']],
    ['r < 0', 'r.yaml', `${BASE()}train: {r: -1}\n`, ['r.yaml: train.r: Too small: expected number to be >=0']],
    ['lr = 0', 'lr.yaml', `${BASE()}train: {lr: 0}\n`, ['lr.yaml: train.lr: Too small: expected number to be >0']],
    ['lr = .inf', 'inf.yaml', `${BASE()}train: {lr: .inf}\n`, ['inf.yaml: train.lr: Invalid input: expected number, received Infinity']],
    ['lr = .nan', 'nan.yaml', `${BASE()}train: {lr: .nan}\n`, ['nan.yaml: train.lr: Invalid input: expected number, received NaN']],
    ['m + s over the model limit', 'ms.yaml', `${BASE()}train: {num_virtual_tokens: 3000, max_length: 3000, max_steps: 1}\n`, ['train.num_virtual_tokens + train.max_length (m + s) is 3000 + 3000 = 6000, over this model\'s limit of 4096']],
    ['an empty task list', 'notasks.yaml', BASE().replace('tasks: [superglue-cb]', 'tasks: []'), ['notasks.yaml: tasks: Too small: expected array to have >=1 items']],
    ['an unknown task', 'task.yaml', BASE().replace('superglue-cb', 'superglue-xx'), ['unknown task "superglue-xx"; expected one of']],
    ['no model', 'nomodel.yaml', 'tasks: [superglue-cb]\n', ['nomodel.yaml: model: Invalid input: expected object, received undefined']],
    ['a model folder that does not exist', 'nofolder.yaml', BASE().replace(JSON.stringify(model), JSON.stringify(join(dir, 'no-model'))), ['no-model: no model here (config.json missing)']],
    ['not YAML', 'broken.yaml', 'model: {path: [unclosed\n', ['broken.yaml: not valid YAML']],
    ['not JSON', 'broken.json', '{"model": ', ['broken.json: not valid JSON']],
    ['a list instead of a mapping', 'list.yaml', '- model\n- tasks\n', ['list.yaml: a recipe must be a mapping of fields']],
    ['a YAML alias bomb', 'bomb.yaml', 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n', ['bomb.yaml: not valid YAML: Excessive alias count']],
    ['a YAML code tag', 'code.yaml', `${BASE()}train: {lr: !!js/function "function () { require('fs').writeFileSync('MARKER', '') }"}\n`, ['code.yaml: not valid YAML: Unresolved tag: tag:yaml.org,2002:js/function']],
    ['a Python object tag', 'python.yaml', `${BASE()}train: !!python/object/apply:os.system ["touch MARKER"]\n`, ['python.yaml: not valid YAML: Unresolved tag']],
    ['a JSON __proto__ key', 'proto.json', `{"__proto__": {"polluted": true}, "model": {"path": ${JSON.stringify(model)}}, "tasks": ["superglue-cb"]}`, ['proto.json: unknown field "__proto__"']],
    ['a recipe that is not there', 'missing.yaml', '', ['recipe file not found']],
    ['a search in a dept train recipe', 'search.yaml', `${BASE()}search: {lr: [0.3, 0.4]}\n`, ['search.yaml: search: dept train runs one setting; run a search with dept fewshot']],
  ];
  for (const [name, file, text, expected] of cases) {
    it(name, async () => {
      const path = name === 'a recipe that is not there' ? hostile.add(join(dir, file)) : recipeFile(file, text.replaceAll('MARKER', marker));
      const r = await runDept(['train', path, '--out', join(dir, `out${n++}`)]);
      expectRefusal(r, ...expected);
      expect(existsSync(marker)).toBe(false);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }
});

describe('flags of the other commands', () => {
  const cases: [string, string[], string[]][] = [
    ['fewshot: k = 0 in a list', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--k', '4,0', '--seeds', '1'], ['--k is 0, expected at least 1']],
    ['fewshot: a negative seed', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--k', '4', '--seeds', '1,-2'], ['--seeds is -2, expected at least 0']],
    ['fewshot: an unknown task among several', ['fewshot', '--task', 'superglue-cb,nosuch', '--model', 'm', '--k', '4', '--seeds', '1', '--out', 'x'], ['unknown task "nosuch"']],
    ['fewshot: a bad shard', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--k', '4', '--seeds', '1', '--shard', '3/2'], ['--shard "3/2": i must be below n']],
    ['fewshot: --search without values', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'lr'], ['--search "lr": expected field=v1,v2 with a train field, e.g. --search lr=0.3,0.4']],
    ['fewshot: --search with an empty list', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'lr='], ['--search "lr=": expected one or more values separated by commas']],
    ['fewshot: --search through a path', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', '__proto__.x=1'], ['--search "__proto__.x=1": expected field=v1,v2 with a train field']],
    ['fewshot: --search an unknown field', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'learning_rate=0.3,0.4'], ['--search learning_rate=0.3,0.4: search.learning_rate: unknown train field "learning_rate"; a search runs over: num_virtual_tokens, r,']],
    ['fewshot: --search a memory setting', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'micro_batch_size=1,2'], ['search.micro_batch_size: "micro_batch_size" bounds memory only and cannot be searched']],
    ['fewshot: --search lr = 0', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'train.lr=0.3,0'], ['--search train.lr=0.3,0: search.lr.1: Too small: expected number to be >0']],
    ['fewshot: --search a value twice', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'lora_lr=5e-3,0.005'], ['search.lora_lr.1: 0.005 is listed twice']],
    ['fewshot: --search an unknown enum value', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--search', 'predict=score,guess'], ['search.predict.1: expected one of "generate", "score"']],
    ['fewshot: --set search with a scalar', ['fewshot', '--task', 'superglue-cb', '--model', 'm', '--set', 'search.lr=0.3'], ['search.lr: Invalid input: expected array, received number']],
    ['train: --set search', ['train', '--task', 'superglue-cb', '--model', 'm', '--set', 'search.lr=[0.3, 0.4]'], ['--set search.lr=[0.3, 0.4]: search: dept train runs one setting']],
    ['data kshot: k = 0', ['data', 'kshot', '--task', 'rte', '--k', '0', '--data-dir', 'datasets/sample'], ['--k must be at least 1, got 0']],
    ['data kshot: an unknown sampler', ['data', 'kshot', '--task', 'rte', '--k', '4', '--sampler', 'random', '--data-dir', 'datasets/sample'], ['--sampler must be dept or balanced, got "random"']],
    ['data split: an unknown layout', ['data', 'split', '--task', 'rte', '--layout', 'csv', '--data-dir', 'datasets/sample'], ['--layout must be one of glue-tsv']],
    ['data split: an unknown task', ['data', 'split', '--task', 'glue/rtx', '--data-dir', 'datasets/sample'], ['unknown task "glue/rtx"']],
    ['model init: an unknown preset', ['model', 'init', '--config', 't5-huge', '--out', 'x'], ['unknown model preset "t5-huge", expected a config.json path or one of t5-small']],
    ['model init: an unknown dtype', ['model', 'init', '--config', 'tiny-relu', '--dtype', 'F8', '--out', 'x'], ['--dtype is "F8", expected F32, F16 or BF16']],
    ['model init: a negative seed', ['model', 'init', '--config', 'tiny-relu', '--seed', '-1', '--out', 'x'], ['--seed is -1, expected at least 0']],
    ['bank convert: an unknown target format', ['bank', 'convert', 'x', '--to', 'onnx', '--out', 'y'], ['--to is "onnx", expected dept or peft']],
    ['bank convert: r < 0', ['bank', 'convert', 'x', '--to', 'dept', '--r', '-1', '--out', 'y'], ['--r is -1, expected at least 0']],
    ['score: negative greedy steps', ['score', '--model', 'm', '--bank', 'b', '--batch', 'x', '--out', 'y', '--greedy-steps', '-1'], ['--greedy-steps is -1, expected at least 0']],
  ];
  for (const [name, argv, expected] of cases) {
    it(name, async () => {
      expectRefusal(await runDept(hostile.add(argv)), ...expected);
    });
  }
});
