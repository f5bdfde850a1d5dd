/**
 * The algorithmic half of @dept/tasks: exact ports of torch `randperm` and numpy `permutation`,
 * DePT's split rule and k-shot sampler, a class-balanced sampler, and the task metrics.
 * `index.ts` re-exports everything here.
 */
export { MT19937, TORCH_RANDPERM_SMALL_N_LIMIT, torchRandperm } from './rng/torch.ts';
export { PCG64, SeedSequence, numpyPermutation } from './rng/numpy.ts';
export {
  DEPT_LARGE_DEV_SIZE,
  DEPT_SPLIT_SEED,
  LARGE_SPLIT_TASKS,
  SMALL_SPLIT_TASKS,
  SPLIT_SOURCES,
  deptSplit,
  deptSplitForTask,
  splitRuleFor,
  splitSourcesFor,
  type DeptSplitOptions,
  type SplitPart,
  type SplitPlan,
  type SplitRule,
  type SplitSizes,
  type SplitSource,
} from './split.ts';
export {
  balancedKshot,
  deptKshot,
  kshotShortfall,
  stsbClass,
  stsbTargetString,
  stsbTargetStringFromFloat32,
  type BalancedKshotSelection,
  type KshotOptions,
  type KshotSelection,
} from './kshot.ts';
export * from './metrics.ts';
