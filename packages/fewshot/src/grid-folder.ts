/**
 * What makes a folder a dept grid folder, light enough for every reader of one (`dept report`, the Slurm shard
 * record): its record kind (`.dept.json`), the entries a grid writes directly in it, `grid.json` and its cells.
 * Claiming happens before anything is written, by whichever writer comes first (a grid run, a shard's array record,
 * a report).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, claimEntries, isDir, readFolderRecord, readJsonFile } from '@dept/core';
import type { SearchSetting } from './search.ts';

/** One cell of the grid. */
export interface GridCell {
  /** Position in grid order (tasks, then k, then seeds); shards take `index % count == shard`. */
  index: number;
  /** DePT task name. */
  task: string;
  k: number;
  seed: number;
  /** The cell folder relative to the grid folder: `<task>/k<k>/seed<seed>`. */
  dir: string;
}

/** `grid.json`: what was asked for and the cells it makes. */
export interface GridFile {
  name: string | null;
  recipe: Record<string, unknown>;
  /** The settings every finished cell was trained with (compared when the grid is resumed). */
  settings: Record<string, unknown>;
  cells: GridCell[];
  /** With a search: its settings in recipe order (each cell's sub-runs) and whether r comes from the budget. */
  search?: { settings: SearchSetting[]; r_from_budget: boolean };
  updated: string;
}

/**
 * Reads `<dir>/grid.json`, or null when absent.
 *
 * @example
 * readGridFile('runs/quickstart')?.cells.length; // 8
 */
export function readGridFile(dir: string): GridFile | null {
  const path = join(dir, 'grid.json');
  if (!existsSync(path)) return null;
  const value = readJsonFile<GridFile>(path, 'the grid file');
  if (typeof value !== 'object' || value === null || !Array.isArray(value.cells)) {
    throw new DeptError(`${path}: not a grid file (expected an object with a "cells" list)`);
  }
  if (value.search !== undefined && (typeof value.search !== 'object' || value.search === null || !Array.isArray(value.search.settings)
    || !value.search.settings.every((s) => typeof s === 'object' && s !== null && typeof s.id === 'string' && /^[A-Za-z0-9._-]+$/.test(s.id) && !s.id.startsWith('.')))) {
    throw new DeptError(`${path}: "search" is not a grid's search (expected {settings: [{id, values}, …]} with plain folder names)`);
  }
  return value;
}

/**
 * The search settings of a grid folder (from its `grid.json`), or null when it has no search.
 *
 * @example
 * gridSearchSettings(readGridFile('runs/fs'))?.map((s) => s.id); // ['lr3e-1_loralr5e-3', …]
 */
export function gridSearchSettings(grid: GridFile | null): SearchSetting[] | null {
  return grid?.search ? grid.search.settings : null;
}

/** The kind of folder a grid folder's record (`.dept.json`) names. */
export const GRID_KIND = 'grid';

/** The report files `writeReport` writes into a grid folder. */
export const REPORT_FILES: readonly string[] = ['results.json', 'results.csv', 'report.md', 'report.svg', 'report.png', 'search.csv', 'search.svg', 'search.png'];

/** What a grid writes directly in its folder besides the task folders. */
export const GRID_ENTRIES: readonly string[] = ['grid.json', '.shards', ...REPORT_FILES];

/**
 * Claims `names` in a grid folder for dept (see `claimEntries` in @dept/core): with `newFolder`, a folder without
 * a record must be new or empty. A grid folder made before records (it holds a valid `grid.json`) is adopted.
 *
 * @example
 * claimGridFolder('runs/quickstart', ['grid.json', 'rte'], { newFolder: true });
 */
export function claimGridFolder(outDir: string, names: readonly string[], options: { newFolder?: boolean } = {}): void {
  let legacy: string[] | undefined;
  if (isDir(outDir) && readFolderRecord(outDir) === null && existsSync(join(outDir, 'grid.json'))) {
    const grid = readGridFile(outDir);
    legacy = [...GRID_ENTRIES, ...new Set((grid?.cells ?? []).map((c) => String(c.task)))];
  }
  claimEntries(outDir, GRID_KIND, names, { what: 'a grid folder', ...(options.newFolder ? { newFolder: true } : {}), ...(legacy ? { adopt: legacy } : {}) });
}
