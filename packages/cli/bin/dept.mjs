#!/usr/bin/env node
// The `dept` command. In a checkout (src/ beside bin/) it runs the TypeScript sources through tsx, resolving every
// @dept package to its sources (the "dept-source" export condition), so no build step is needed; an installed
// package has only the compiled dist/ and runs that with plain node.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const sources = new URL('../src/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const tsx = await import('tsx/esm/api');
  tsx.register();
  register('data:text/javascript,export const resolve = (s, c, next) => next(s, { ...c, conditions: [...c.conditions, "dept-source"] });');
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import('../dist/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
