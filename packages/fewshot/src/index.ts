/**
 * @dept/fewshot: k-shot experiments.
 *
 * 1. A cell: model source, task evaluation, one trained and evaluated run folder.
 * 2. The grid: every task × k × seed in a fixed order, resumable and shardable, into one grid folder.
 * 3. Reports: the finished cells aggregated (mean ± sample std over seeds) into JSON, CSV, Markdown, SVG and PNG.
 */
export { ensureModel, taskEvaluation, runCell, type ModelSource, type CellOptions } from './cell.ts';
export { resolveSourceBank, type SourceBankOptions } from './source.ts';
export {
  runGrid, gridCells, parseShard, resolveShard, shardCells, loadGridModel, readGridFile, finishedCells, readCellResults,
  type GridPlan, type GridCell, type Shard, type GridEvent, type GridOptions, type GridResult, type GridFile, type ModelPlan,
} from './grid.ts';
export {
  collectResults, summarizeResults, headlineMetric, buildReport, reportCsv, reportMarkdown, reportChartSpec, renderChart,
  writeReport, formatMeanStd,
  type CellResult, type SummaryRow, type GridReport, type ReportPaths, type WrittenReport,
} from './report.ts';
export { claimGridFolder, GRID_KIND, REPORT_FILES } from './grid.ts';
export { markdownText } from './report.ts';
