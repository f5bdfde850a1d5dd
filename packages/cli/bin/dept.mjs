#!/usr/bin/env node
// The `dept` command. Packages ship TypeScript sources (no build step), so tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
