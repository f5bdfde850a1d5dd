#!/usr/bin/env node
// Packs the library as users install it: one tarball, dept-ts-<version>.tgz, holding the dept-ts package (the
// public entry and the `dept` command) with every @dept package bundled inside it (bundleDependencies), each as
// compiled JavaScript and .d.ts files. Third-party packages stay ordinary dependencies that npm installs.
//
//   node scripts/pack.mjs [--out DIR] [--no-build]     (npm run package -- --out DIR)
//
// It builds first (tsc -b tsconfig.build.json, incremental) unless --no-build, then lays the package out in a temporary
// folder (npm leaves bundled workspace packages out of a tarball packed in place, since they live in the root's
// node_modules) and packs that. The file list of each package is npm's own (`files` in its package.json), less any
// dist/ file whose source in src/ is gone (left by an older build).
// Prints the tarball's path on stdout.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UMBRELLA = 'dept-ts';

function fail(message) {
  process.stderr.write(`pack: error: ${message}\n`);
  process.exit(2);
}

function run(command, args, cwd = ROOT) {
  const res = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) fail(`${command} ${args.join(' ')} exited with ${res.status ?? res.signal}:\n${res.stderr || res.stdout}`);
  return res.stdout;
}

/** Whether a listed file is current: dist/x.js and dist/x.d.ts need src/x.ts; everything else is kept. */
function current(folder, file) {
  const output = /^dist\/(.+?)(?:\.d\.ts|\.js)$/.exec(file);
  return !output || existsSync(join(folder, 'src', `${output[1]}.ts`));
}

let options;
try {
  options = parseArgs({ options: { out: { type: 'string', default: ROOT }, 'no-build': { type: 'boolean', default: false } } }).values;
} catch (error) {
  fail(`${error.message}; usage: node scripts/pack.mjs [--out DIR] [--no-build]`);
}
const out = resolve(options.out);

/** Workspace package name → its folder. */
const folders = new Map(readdirSync(join(ROOT, 'packages')).map((dir) => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8'));
  return [manifest.name, join(ROOT, 'packages', dir)];
}));

if (!options['no-build']) run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.build.json']);

const umbrellaDir = folders.get(UMBRELLA) ?? fail(`no workspace package is named ${UMBRELLA}`);
const umbrella = JSON.parse(readFileSync(join(umbrellaDir, 'package.json'), 'utf8'));

// npm's file list of every workspace package, without writing tarballs.
const listed = new Map(JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--workspaces', '--ignore-scripts'])).map((p) => [p.name, p.files.map((f) => f.path)]));

const stage = mkdtempSync(join(tmpdir(), 'dept-pack-'));
try {
  const place = (name, into) => {
    const folder = folders.get(name);
    const files = (listed.get(name) ?? fail(`npm pack did not list ${name}`)).filter((file) => current(folder, file));
    for (const file of files) {
      mkdirSync(dirname(join(into, file)), { recursive: true });
      cpSync(join(folder, file), join(into, file));
    }
    const missing = files.filter((f) => f.startsWith('dist/')).length === 0;
    if (missing) fail(`${name} has no dist/ files: build it first (npm run build)`);
  };
  const top = join(stage, UMBRELLA);
  place(UMBRELLA, top);
  for (const name of umbrella.bundleDependencies ?? []) place(name, join(top, 'node_modules', ...name.split('/')));
  mkdirSync(out, { recursive: true });
  const [packed] = JSON.parse(run('npm', ['pack', top, '--json', '--ignore-scripts', '--pack-destination', out]));
  const bundled = new Set(packed.bundled ?? []);
  const absent = (umbrella.bundleDependencies ?? []).filter((name) => !bundled.has(name));
  if (absent.length) fail(`the tarball does not bundle ${absent.join(', ')}`);
  process.stdout.write(`${join(out, packed.filename)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
