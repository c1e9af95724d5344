/** The scheduler's input and output: plain data, so it can be tested without a store. */
import type { Task } from '../../state/service-types.js';
import type { Node } from '../../state/types.js';

export interface SchedulerInput {
  nodes: readonly Node[];
  /**
   * Tasks already on nodes that hold resources/ports/replica counts: NodeID set, not terminal
   * (isTerminal(Status.State) false) and DesiredState rank <= running. The caller selects them.
   */
  placed: readonly Task[];
  /** Tasks to place (Status.State 'pending' or 'new', NodeID ''), in the order to place them. */
  pending: readonly Task[];
}

export interface Assignment {
  taskId: string;
  nodeId: string;
}

export interface Unplaced {
  taskId: string;
  /** For Task.Status.Err, e.g. "no suitable node (2 nodes drained, 1 node lacks 512MiB memory)". */
  reason: string;
}

export interface SchedulerOutput {
  /** In the order of `pending`. */
  assignments: Assignment[];
  /** In the order of `pending`. */
  unplaced: Unplaced[];
}
