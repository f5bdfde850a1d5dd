/**
 * The packages stand in floors (docs/DESIGN-NOTES.md): each imports only packages on the floors below it and
 * declares every package it imports in its package.json, and the "must not" pairs of the design hold. Read from
 * the sources' import lines (static and dynamic), so a new import that breaks a floor fails here. On top stands
 * `dept-ts`, the one package users install: it bundles every @dept package and declares their third-party
 * dependencies, at the same versions, so an install outside this repository has them.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.ts';

/** The floors, from the ground up, as in DESIGN-NOTES.md. */
const FLOORS = ['core', 'hub', 'tensor', 't5', 'prompt', 'tasks', 'train', 'transfer', 'pretrain', 'fewshot', 'cli', 'dept-ts'] as const;
/** Pairs that must never import each other even though the floors would allow it. */
const NEVER: ReadonlyArray<[string, string, string]> = [
  ['tasks', 'tensor', 'data knows no tensors'],
  ['tasks', 't5', 'data knows no model'],
  ['tasks', 'prompt', 'data knows no prompt'],
  ['hub', 'tensor', 'the hub client does not know what files mean'],
  ['transfer', 'train', 'transfer does not train'],
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Every package a file imports (`import ... from`, `export ... from`, `import(...)`), by package name; no `node:`. */
function packageImports(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]((?:@[a-z0-9-]+\/)?[a-z0-9][a-z0-9._-]*)(?:\/[^'"]*)?['"]/gm)) names.add(m[1] as string);
  return [...names];
}

/** Every `@dept/<name>` a file imports. */
function deptImports(text: string): string[] {
  return packageImports(text).filter((p) => p.startsWith('@dept/')).map((p) => p.slice('@dept/'.length));
}

interface Manifest {
  name: string;
  version: string;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bundleDependencies?: string[];
}

const packages = FLOORS.map((name) => {
  const dir = join(REPO_ROOT, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
  const imports = new Map<string, string[]>();
  const thirdParty = new Map<string, string[]>();
  // bin/ runs as it is (JavaScript): its @dept imports count; tsx, which it loads only in a checkout, is the root's.
  const binDir = join(dir, 'bin');
  for (const file of [...sourceFiles(join(dir, 'src')), ...(existsSync(binDir) ? sourceFiles(binDir) : [])]) {
    const text = readFileSync(file, 'utf8');
    imports.set(relative(REPO_ROOT, file), deptImports(text).filter((d) => d !== name));
    if (file.startsWith(join(dir, 'src'))) thirdParty.set(relative(REPO_ROOT, file), packageImports(text).filter((p) => !p.startsWith('@dept/')));
  }
  return { name, manifest, declared: Object.keys(manifest.dependencies ?? {}), imports, thirdParty };
});

describe('package floors', () => {
  it('the import reader sees static, dynamic and re-export imports (control)', () => {
    expect(deptImports("import { a } from '@dept/core';\nexport { b } from '@dept/hub';\nconst t = await import('@dept/tensor');\nimport '@dept/t5';\nimport type { C } from '@dept/train/config';").sort())
      .toEqual(['core', 'hub', 't5', 'tensor', 'train']);
    expect(packageImports("import * as tf from '@tensorflow/tfjs';\nimport { x } from 'arquero/dist/x.js';\nimport os from 'node:os';\nimport { y } from './y.ts';\nawait import('vega');").sort())
      .toEqual(['@tensorflow/tfjs', 'arquero', 'vega']);
  });

  it('every package imports only packages on lower floors', () => {
    const wrong: string[] = [];
    for (const p of packages) {
      for (const [file, deps] of p.imports) {
        for (const d of deps) if (FLOORS.indexOf(d as (typeof FLOORS)[number]) < 0 || FLOORS.indexOf(d as (typeof FLOORS)[number]) > FLOORS.indexOf(p.name)) wrong.push(`${file} imports @dept/${d}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the design\'s "must not" pairs hold', () => {
    const broken: string[] = [];
    for (const [from, to, why] of NEVER) {
      const p = packages.find((x) => x.name === from);
      for (const [file, deps] of p?.imports ?? []) if (deps.includes(to)) broken.push(`${file} imports @dept/${to} (${why})`);
    }
    expect(broken).toEqual([]);
  });

  it('every package declares the packages it imports, and nothing it does not', () => {
    for (const p of packages) {
      const used = [...new Set([...p.imports.values()].flat())].map((d) => `@dept/${d}`).sort();
      expect(p.declared.filter((d) => d.startsWith('@dept/')).sort(), p.name).toEqual(used);
    }
  });

  it('every @dept package declares the third-party packages its sources import, and nothing else', () => {
    for (const p of packages.filter((x) => x.name !== 'dept-ts')) {
      const used = [...new Set([...p.thirdParty.values()].flat())].sort();
      const declared = [...p.declared, ...Object.keys(p.manifest.peerDependencies ?? {}), ...Object.keys(p.manifest.optionalDependencies ?? {})].filter((d) => !d.startsWith('@dept/'));
      // Optional peers (tfjs-node) are imported by a name held in a variable, so the reader does not see them.
      expect(used.filter((d) => !declared.includes(d)), `${p.name} imports undeclared`).toEqual([]);
      expect(p.declared.filter((d) => !d.startsWith('@dept/') && !used.includes(d)), `${p.name} declares unused`).toEqual([]);
    }
  });

  it('dept-ts bundles every @dept package, at its own version, and declares their third-party dependencies alike', () => {
    const top = packages.find((x) => x.name === 'dept-ts') as (typeof packages)[number];
    const below = packages.filter((x) => x !== top);
    expect([...(top.manifest.bundleDependencies ?? [])].sort()).toEqual(below.map((x) => x.manifest.name).sort());
    for (const p of below) {
      expect(p.manifest.version, p.name).toBe(top.manifest.version);
      expect(top.manifest.dependencies?.[p.manifest.name], p.name).toBe(top.manifest.version);
      for (const [dep, range] of Object.entries(p.manifest.dependencies ?? {})) expect(top.manifest.dependencies?.[dep], `${p.name}: ${dep}`).toBe(range);
      for (const [dep, range] of Object.entries(p.manifest.peerDependencies ?? {})) expect(top.manifest.peerDependencies?.[dep], `${p.name}: peer ${dep}`).toBe(range);
      for (const [dep, range] of Object.entries(p.manifest.optionalDependencies ?? {})) expect(top.manifest.optionalDependencies?.[dep], `${p.name}: optional ${dep}`).toBe(range);
    }
  });

  it('every export resolves to its source in the repository and to dist/ outside it', () => {
    for (const p of packages) {
      for (const [subpath, target] of Object.entries(p.manifest.exports ?? {})) {
        if (typeof target === 'string') continue; // plain JavaScript (a bin), the same everywhere
        const source = target['dept-source'] as string;
        expect(Object.keys(target), `${p.name} ${subpath}`).toEqual(['dept-source', 'types', 'import']);
        expect(source, `${p.name} ${subpath}`).toMatch(/^\.\/src\/.*\.ts$/);
        const built = source.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '');
        expect([target.types, target.import], `${p.name} ${subpath}`).toEqual([`${built}.d.ts`, `${built}.js`]);
        if (!source.includes('*')) expect(existsSync(join(REPO_ROOT, 'packages', p.name, source)), `${p.name} ${source}`).toBe(true);
      }
    }
  });
});
