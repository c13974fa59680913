/** The authoring API: `import { dag, chain, ctx } from 'trainyard'`. */
export { dag, Dag, Scope, type DagOptions } from './sdk/dag.js';
export { chain, SkipTask, TaskHandle, GroupHandle, type Dependable } from './sdk/task.js';
export { ctx, item, param, tpl, type Ref } from './sdk/refs.js';
export { secret, secretRef, type SecretRefOptions } from './sdk/secret.js';
export {
  resultType,
  zip,
  type CommandOptions,
  type InlineOptions,
  type SensorTaskOptions,
  type SensorCheckInput,
  type CustomSensorCheck,
  type SensorCheckContext,
  type SensorCheckOutcome,
  type TaskCallback,
  type CallbackContext,
  type TaskContext,
  type TaskDefaults,
  type ResourcesInput,
  type Duration,
} from './sdk/options.js';
export { assets } from './sdk/schedule-option.js';
export { Sweep, type BestTrial, type SweepDirection, type SweepEarlyStopping, type SweepOptions, type SweepReport } from './sdk/sweep.js';
export type { CacheOption } from './sdk/options.js';
export { z } from 'zod';
export type { DagSpec, TaskSpec, TriggerRule } from './core/spec.js';
export type { TaskState, RunState } from './core/states.js';
export type { FailureClass } from './core/failure.js';
export * from './ml/index.js';
