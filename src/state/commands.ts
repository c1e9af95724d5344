/**
 * The commands Raft replicates for the cluster store, and what applying one returns.
 *
 * A command is decided by its proposer (ids, timestamps, the version it expects) and applied
 * identically by every manager. A command that cannot be applied (stale version, unknown
 * node, removed id) is not an error of the state machine: it yields a `CommandRefusal` that
 * goes back to the proposer, and the store stays as it was.
 */
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
  | { type: 'node.remove'; id: string };

export type CommandResult<T = unknown> = { ok: true; index: number; object?: T } | CommandRefusal;

export interface CommandRefusal {
  ok: false;
  code: 'not_found' | 'conflict' | 'invalid_argument';
  message: string;
}
