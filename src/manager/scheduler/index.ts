/**
 * The scheduler: a pure function from (nodes, tasks already placed, tasks to place) to
 * assignments, and for every task it cannot place, the reason. See schedule.ts for how, and
 * constraints.ts for the `--constraint` language the API validates with parseConstraint.
 */
export {
  type Constraint,
  type ConstraintField,
  type ConstraintOperator,
  matchesConstraint,
  parseConstraint,
} from './constraints.js';
export { parseSpreadDescriptor, type SpreadKey } from './preferences.js';
export { formatBytes, formatCpus } from './resources.js';
export { schedule } from './schedule.js';
export type { Assignment, SchedulerInput, SchedulerOutput, Unplaced } from './types.js';
