/**
 * @dept/fewshot: k-shot experiments.
 *
 * 1. A cell: model source, task evaluation, one trained and evaluated run folder.
 * 2. The grid: every task × k × seed in a fixed order, resumable and shardable, into one grid folder; optionally
 *    a hyper-parameter search in every cell (a sub-run per setting, the best on dev selected).
 * 3. Reports: the finished cells aggregated (mean ± sample std over seeds) into JSON, CSV, Markdown, SVG and PNG.
 * 4. Using a bank: open one from anywhere (a run, any bank format, the hub), evaluate it on a task's dev or test
 *    split as a run does, label new rows with it.
 */
export { ensureModel, taskEvaluation, runCell, evaluationSubsample, type ModelSource, type CellOptions } from './cell.ts';
export { resolveSourceBank, type SourceBankOptions } from './source.ts';
export {
  runGrid, gridCells, gridRuns, shardCells, loadGridModel, finishedCells, readCellResults,
  type GridPlan, type GridRun, type GridEvent, type GridOptions, type GridResult, type ModelPlan,
} from './grid.ts';
export { readGridFile, gridSearchSettings, claimGridFolder, GRID_KIND, REPORT_FILES, type GridCell, type GridFile } from './grid-folder.ts';
export {
  searchSettings, settingId, subRunTrain, derivesRank, searchGrowthProblem, selectSetting, selectCell, writeSelection, clearSelection,
  type SearchSpace, type SearchValue, type SearchSetting, type SubRunTrain, type CellSelection, type SelectedCellResults,
} from './search.ts';
export {
  parseShard, resolveShard, readSlurmArrayTask, slurmArrayRecordPath,
  type Shard, type ResolveShardOptions, type SlurmArrayTask, type SlurmArrayLayout, type SlurmArrayRecord,
} from './shard.ts';
export {
  collectResults, summarizeResults, headlineMetric, buildReport, reportCsv, reportMarkdown, reportChartSpec, renderChart,
  writeReport, formatMeanStd, collectSearchRuns, summarizeSearch, searchCsv, searchChartSpec, majorityBaseline,
  type CellResult, type SummaryRow, type GridReport, type MajorityBaseline, type ReportPaths, type WrittenReport,
  type SearchRunRow, type SettingSummaryRow, type SearchReport,
} from './report.ts';
export { RUN_CONFIG_FILE, runFolderOf, readRunSettings, type RunSettings } from './run-folder.ts';
export {
  checkBankFits, openBank, evaluateBank, runEvaluationDefaults, predictRows,
  type OpenedBank, type PredictionSettings, type EvaluateBankOptions, type EvaluatedExample, type BankEvaluation,
  type PredictRowsOptions, type RowPrediction,
} from './use-bank.ts';
export { markdownText } from './report.ts';
