/**
 * `dept report RUN_DIR`: regenerates a grid folder's `results.json`, `results.csv`, `report.md`, `report.svg` and
 * `report.png` from its finished cells; prints the Markdown table on stdout (`--json`: the results JSON) and the file
 * paths on stderr.
 */
import type { Command } from 'commander';

/** `dept report`: aggregate a grid folder (mean ± sample std over seeds) into its report files. */
export function registerReport(program: Command): void {
  program
    .command('report <run_dir>')
    .description('aggregate the finished cells of a grid folder (mean ± sample std over seeds per task × k) into results.json/csv and report.md/svg/png')
    .option('--json', 'print the results JSON instead of the Markdown table (default: off)')
    .action(async (runDir: string, opts: { json?: boolean }) => {
      // The light entry: reports need no tensors, so `dept report` never loads tfjs (test/ground-floor.test.ts).
      const { writeReport } = await import('@dept/fewshot/report');
      const written = await writeReport(runDir);
      if (opts.json) process.stdout.write(`${JSON.stringify(written.report, null, 2)}\n`);
      else process.stdout.write(written.table);
      for (const path of Object.values(written.paths)) process.stderr.write(`wrote ${path}\n`);
    });
}
