/**
 * The pure ML helpers a DAG file may use: search spaces, early-stopping policies and cost
 * math. No I/O here, so the SDK barrel (`trainyard`) can re-export this module. The registry
 * (`registry.ts`), the registry task and the MLflow bridge touch the store or the network and
 * are imported on their own.
 */
export { choice, type Distribution, grid, type GridAxis, intRange, type Item, logUniform, random, type RandomOptions, type Rng, roundSignificant, seededRng, uniform, type ValueOf } from './search-space.js';
export {
  type AshaPolicy,
  ashaRungs,
  decide,
  type Decision,
  type Direction,
  type EarlyStoppingPolicy,
  type MedianStoppingPolicy,
  type MetricRow,
  savedTime,
  savedTimeFromRuns,
  type StopReason,
  type TimeSavedEstimate,
  type TrialRun,
  type SweepState,
  sweepStateFromMetrics,
  type TimeSaved,
  type TrialProgress,
  type TrialUsage,
  validatePolicy,
} from './early-stopping.js';
export { type CostGroup, type CostRow, type PriceTable, summarizeCost, type TryRecord, type TryResources, tryUsage, type Usage, usageCost, validatePriceTable } from './cost.js';
export { type RegistryCommand, registryTask } from './registry-command.js';
