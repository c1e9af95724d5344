/**
 * The commands Raft replicates for the cluster store, and what applying one returns.
 *
 * A command is decided by its proposer (ids, timestamps, the version it expects) and applied
 * identically by every manager. A command that cannot be applied (stale version, unknown
 * node, removed id) is not an error of the state machine: it yields a `CommandRefusal` that
 * goes back to the proposer, and the store stays as it was.
 */

import type { NewObject } from './object-tables.js';
import type { NewService, NewTask } from './service-schema.js';
import type {
  PortConfig,
  ServiceSpec,
  TaskState,
  TaskStatus,
  UpdateStatus,
} from './service-types.js';
import type {
  Cluster,
  ClusterSpec,
  JoinTokens,
  Node,
  NodeDescription,
  NodeRole,
  NodeSpec,
  NodeState,
} from './types.js';

export type NewCluster = Omit<Cluster, 'Version'>;
export type NewNode = Omit<Node, 'Version' | 'ManagerStatus'>;

export interface NodeStatusUpdate {
  id: string;
  state: NodeState;
  message?: string;
}

export type Command =
  | { type: 'cluster.create'; cluster: NewCluster }
  | {
      type: 'cluster.update';
      /** The Version.Index the caller read; refused when the cluster has moved on. */
      version: number;
      spec?: ClusterSpec;
      joinTokens?: JoinTokens;
      at: string;
    }
  /** A node joins. Refused when the id exists or was removed. */
  | { type: 'node.create'; node: NewNode }
  /** A user's update (`node update`, promote, demote). */
  | { type: 'node.updateSpec'; id: string; version: number; spec: NodeSpec; at: string }
  /** The leader's health verdicts, several nodes per command. Unknown ids are skipped. */
  | { type: 'node.setStatus'; updates: NodeStatusUpdate[]; at: string }
  /** The role a node now holds (after the Raft group changed). */
  | { type: 'node.setRole'; id: string; role: NodeRole; at: string }
  /** What a node reports about itself when its session starts. */
  | {
      type: 'node.describe';
      id: string;
      description: NodeDescription;
      addr: string;
      p2pAddrs: string[];
      at: string;
    }
  /** Removes a node for good: its id can never join again. */
  | { type: 'node.remove'; id: string }
  /** Refused when the name or an ingress published port is taken. */
  | { type: 'service.create'; service: NewService }
  /** A user's update or rollback: the new spec, the one it replaces, the ports allocated. */
  | {
      type: 'service.update';
      id: string;
      version: number;
      spec: ServiceSpec;
      previousSpec?: ServiceSpec;
      ports: PortConfig[];
      updateStatus?: UpdateStatus;
      /** Jobs: a changed job runs again as this iteration. */
      jobIteration?: number;
      at: string;
    }
  /** The orchestrator's progress through a rolling update; no version check. */
  | {
      type: 'service.setUpdateStatus';
      id: string;
      /** The version the orchestrator decided on: a user's update since then wins. */
      version: number;
      updateStatus: UpdateStatus;
      at: string;
    }
  /** Removes the service; every task of it is asked to go (DesiredState remove). */
  | { type: 'service.remove'; id: string; at: string }
  /** A batch of task changes from the orchestrators, the scheduler or the dispatcher. */
  | { type: 'tasks.write'; ops: TaskOp[]; at: string }
  /** Refused when the name is taken. The secret's data arrives sealed. */
  | { type: 'secret.create'; secret: NewObject<'secret'> }
  | { type: 'config.create'; config: NewObject<'config'> }
  | { type: 'network.create'; network: NewObject<'network'> }
  /** Secrets and configs: only labels change after creation. */
  | {
      type: 'object.updateLabels';
      kind: 'secret' | 'config';
      id: string;
      version: number;
      labels: Record<string, string>;
      at: string;
    }
  /** Refused while a service uses the object. */
  | { type: 'object.remove'; kind: 'secret' | 'config' | 'network'; id: string };

/**
 * One change to one task. Ops that no longer apply (the task is gone, or has moved past what
 * the op expects) are skipped, not refused: they were decided on a view that has since moved,
 * and the next round of the component that wrote them decides again.
 */
export type TaskOp =
  | { op: 'create'; task: NewTask }
  /** Scheduler: a pending task goes to a node. */
  | { op: 'assign'; id: string; nodeId: string }
  /** Scheduler: the task stays pending, for this reason. */
  | { op: 'unplaced'; id: string; reason: string }
  /** Orchestrator: desired state, forward only. */
  | { op: 'desire'; id: string; state: TaskState }
  /** Dispatcher: what the task's node reports, forward only, only from that node. */
  | { op: 'status'; id: string; nodeId: string; status: TaskStatus }
  /** Reaper: the task is forgotten. */
  | { op: 'remove'; id: string };

export type CommandResult<T = unknown> = { ok: true; index: number; object?: T } | CommandRefusal;

export interface CommandRefusal {
  ok: false;
  code: 'not_found' | 'conflict' | 'invalid_argument';
  message: string;
}
