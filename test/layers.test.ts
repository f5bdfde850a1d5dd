/**
 * The packages stand in floors (docs/DESIGN-NOTES.md): each imports only packages on the floors below it and
 * declares every package it imports in its package.json, and the "must not" pairs of the design hold. Read from
 * the sources' import lines (static and dynamic), so a new import that breaks a floor fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.ts';

/** The floors, from the ground up, as in DESIGN-NOTES.md. */
const FLOORS = ['core', 'hub', 'tensor', 't5', 'prompt', 'tasks', 'train', 'transfer', 'pretrain', 'fewshot', 'cli'] as const;
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

/** Every `@dept/<name>` a file imports: `import ... from`, `export ... from`, `import(...)`. */
function deptImports(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]@dept\/([a-z0-9-]+)(?:\/[^'"]*)?['"]/gm)) names.add(m[1] as string);
  return [...names];
}

const packages = FLOORS.map((name) => {
  const dir = join(REPO_ROOT, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const imports = new Map<string, string[]>();
  for (const file of sourceFiles(join(dir, 'src'))) imports.set(relative(REPO_ROOT, file), deptImports(readFileSync(file, 'utf8')).filter((d) => d !== name));
  return { name, declared: Object.keys(manifest.dependencies ?? {}), imports };
});

describe('package floors', () => {
  it('the import reader sees static, dynamic and re-export imports (control)', () => {
    expect(deptImports("import { a } from '@dept/core';\nexport { b } from '@dept/hub';\nconst t = await import('@dept/tensor');\nimport '@dept/t5';\nimport type { C } from '@dept/train/config';").sort())
      .toEqual(['core', 'hub', 't5', 'tensor', 'train']);
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
});
