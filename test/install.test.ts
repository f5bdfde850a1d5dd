/**
 * The library outside this repository, as a user gets it: `scripts/pack.mjs` builds and packs `dept-ts` (every
 * @dept package bundled, compiled JavaScript and .d.ts), the tarball is installed offline into an empty project in
 * the temporary folder (no node_modules above it), and there, with plain `node` and none of the repository's
 * settings (no tsx, no source condition): the README's "As a library" example runs as it is written and prints
 * nothing on stderr, the example type-checks against the shipped .d.ts files, and `npx dept` answers `--version`,
 * `--help`, and one line each for `dept quickstart` (which needs a clone) and for a native backend that is not
 * installed (how to get it).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineLockfile, type PackedManifest } from './helpers/offline-install.ts';
import { REPO_ROOT } from './helpers/shared.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-install-'));
const project = join(tmp, 'project');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'dept-ts', 'package.json'), 'utf8')) as PackedManifest;

/** The environment of a user's shell: none of npm's or vitest's run-time settings (NODE_OPTIONS has our condition). */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS'));
  return { ...env, DEPT_WASM_THREADS: '1', NO_COLOR: '1' };
}

function run(command: string, args: string[], cwd: string, timeout = 240_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: userEnv(), timeout });
}

function ok(res: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  if (res.status !== 0) throw new Error(`${what} exited with ${res.status ?? res.signal}:\n${(res.stderr || res.stdout).slice(-3000)}`);
  return res;
}

/** The first ```js block under the README's "### As a library" heading. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### As a library'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('README.md: no ```js block under "### As a library"');
  return code;
}

/** Every file under a folder, relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

beforeAll(() => {
  const packed = ok(run(process.execPath, [join(REPO_ROOT, 'scripts', 'pack.mjs'), '--out', tmp], REPO_ROOT), 'scripts/pack.mjs');
  const tarball = packed.stdout.trim().split('\n').pop() as string;
  cpSync(tarball, join(project, 'dept-ts.tgz'));
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'project', private: true, type: 'module', dependencies: { [manifest.name]: 'file:dept-ts.tgz' } }, null, 2)}\n`);
  const repoLock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof offlineLockfile>[0];
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(offlineLockfile(repoLock, manifest, 'dept-ts.tgz', 'project'), null, 2));
  ok(run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project), 'npm ci --offline in the new project');
  cpSync(join(REPO_ROOT, 'datasets', 'sample'), join(project, 'datasets', 'sample'), { recursive: true });
}, 300_000);

describe('dept-ts installed from its tarball into an empty project', () => {
  it('ships compiled JavaScript and .d.ts files only, every @dept package bundled inside', () => {
    const files = filesUnder(join(project, 'node_modules', manifest.name));
    for (const name of manifest.bundleDependencies ?? []) expect(files, name).toContain(`node_modules/${name}/package.json`);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
  });

  it("runs the README's library example with plain node, printing nothing on stderr", () => {
    writeFileSync(join(project, 'example.mjs'), readmeExample());
    const res = ok(run(process.execPath, ['example.mjs'], project), 'node example.mjs');
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/accuracy/);
    const results = JSON.parse(readFileSync(join(project, 'runs', 'cb', 'k4', 'seed13', 'results.json'), 'utf8')) as { random_weights: boolean; test: Record<string, number> };
    expect(results.random_weights).toBe(true);
    expect(Object.keys(results.test).sort()).toEqual(['accuracy', 'f1_multiclass']);
  });

  it('type-checks the example against the shipped .d.ts (module nodenext, strict)', () => {
    const example = readmeExample();
    const line = example.split('\n').length; // of the line added after the example
    writeFileSync(join(project, 'example.ts'), `${example}const wrong: string = results.test.accuracy;\nexport { wrong };\n`);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
      files: ['example.ts'],
    }));
    // The one error is the line added above, typed from the .d.ts files: `results` is not `any`.
    const res = run(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
    expect(res.stdout.trim().split('\n')).toEqual([`example.ts(${line},7): error TS2322: Type 'number' is not assignable to type 'string'.`]);
  });

  it('every subpath of dept-ts loads with plain node, and dept-ts/tasks without tfjs', () => {
    const subpaths = filesUnder(join(REPO_ROOT, 'packages', 'dept-ts', 'src')).filter((f) => f !== 'index.ts').map((f) => f.replace(/\.ts$/, ''));
    const code = `const n = {}; for (const s of ${JSON.stringify(subpaths)}) n[s] = Object.keys(await import('dept-ts/' + s)).length; console.log(JSON.stringify(n));`;
    const counts = JSON.parse(ok(run(process.execPath, ['--input-type=module', '-e', code], project), 'importing the subpaths').stdout) as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual([...subpaths].sort());
    for (const [subpath, count] of Object.entries(counts)) expect(count, subpath).toBeGreaterThan(0);
    // The same module hook as test/ground-floor.test.ts records what a data-only import loads.
    const loads = join(tmp, 'loads.txt');
    const data = spawnSync(process.execPath, ['--import', join(REPO_ROOT, 'test', 'helpers', 'record-loads.mjs'), '--input-type=module', '-e', "const t = await import('dept-ts/tasks'); if (t.getTask('rte').name !== 'rte') process.exit(1);"], {
      cwd: project, encoding: 'utf8', env: { ...userEnv(), DEPT_RECORD_LOADS: loads },
    });
    ok(data, 'importing dept-ts/tasks');
    const urls = readFileSync(loads, 'utf8').split('\n').filter(Boolean);
    expect(urls.some((u) => u.includes('/node_modules/dept-ts/node_modules/@dept/tasks/dist/'))).toBe(true);
    expect(urls.filter((u) => u.includes('/node_modules/@tensorflow/'))).toEqual([]);
  });

  it('npx dept answers --version, and the linked bin --help', () => {
    expect(ok(run('npx', ['--offline', 'dept', '--version'], project), 'npx dept --version').stdout.trim()).toBe(manifest.version);
    expect(ok(run(join(project, 'node_modules', '.bin', 'dept'), ['--help'], project), 'dept --help').stdout).toMatch(/^Usage: dept /);
  });

  it('dept quickstart, which needs the repository, says so in one line', () => {
    const res = run(join(project, 'node_modules', '.bin', 'dept'), ['quickstart'], project);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/^dept: error: \S+quickstart\.yaml is missing: dept quickstart runs in a clone of the dept-ts repository .*\n$/);
  });

  it('dept --backend node says in one line that @tensorflow/tfjs-node is not installed and how to get it', () => {
    expect(existsSync(join(project, 'node_modules', '@tensorflow', 'tfjs-node'))).toBe(false);
    const res = run(join(project, 'node_modules', '.bin', 'dept'), ['--backend', 'node', 'train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', 'models/mini', '--out', 'runs/native'], project);
    expect(res.status).toBe(2);
    expect(res.stderr).toBe('dept: error: backend "node" could not be loaded: @tensorflow/tfjs-node is not installed; install it with `npm install @tensorflow/tfjs-node@4.22.0` (its install script downloads libtensorflow: it needs network)\n');
  });
});
