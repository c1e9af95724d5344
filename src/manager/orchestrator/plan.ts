/**
 * What one orchestration round of a service reads and writes. The round is pure: it reads the
 * store's objects, the leader's memory of when things happened, and a clock value; it returns
 * task ops for the loop to commit, and when it wants to look again.
 */
import type { Node, Service, Task, TaskOp, UpdateStatus } from '../../state/index.js';

/** What the leader remembers between rounds (lost on a leader change, as SwarmKit's is). */
export interface OrchestratorMemory {
  /** When the leader first saw a task end on its own (ms). */
  endedAt: Map<string, number>;
  /** When the leader first saw a task running (ms). */
  runningSince: Map<string, number>;
  /** Restart times per unit (`service/slot` or `service/node`). */
  restarts: Map<string, number[]>;
  /** When the last batch of a rolling update started, per service (ms). */
  lastBatchAt: Map<string, number>;
}

export function newMemory(): OrchestratorMemory {
  return {
    endedAt: new Map(),
    runningSince: new Map(),
    restarts: new Map(),
    lastBatchAt: new Map(),
  };
}

export interface RoundInput {
  service: Service;
  /** Every task of the service. */
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  /** The node satisfies the service's placement constraints (global services). */
  fits: (node: Node, service: Service) => boolean;
  now: number;
  at: string;
  newId: () => string;
  memory: OrchestratorMemory;
}

export interface RoundOutput {
  ops: TaskOp[];
  /** The service's update status, when it changes. */
  updateStatus?: UpdateStatus;
  /** Failure action `rollback` fired: roll the service back to its previous spec. */
  rollback?: { message: string };
  /** When (ms) this service next needs a round without any event (a delay runs out). */
  wakeAt?: number;
}

/** Collects a round's writes; `live` tracks which tasks still count after earlier ops. */
export class RoundBuilder {
  readonly ops: TaskOp[] = [];
  wakeAt: number | undefined;
  private readonly shutDown = new Set<string>();

  constructor(readonly input: RoundInput) {}

  desire(task: Task, state: 'shutdown' | 'remove'): void {
    if (this.shutDown.has(task.ID)) return;
    this.shutDown.add(task.ID);
    this.ops.push({ op: 'desire', id: task.ID, state });
  }

  isShutDown(task: Task): boolean {
    return this.shutDown.has(task.ID);
  }

  create(task: TaskOp & { op: 'create' }): void {
    this.ops.push(task);
  }

  wake(at: number): void {
    if (this.wakeAt === undefined || at < this.wakeAt) this.wakeAt = at;
  }
}

/** The node a task is on can no longer run it: gone, down, or drained. */
export function nodeLost(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  if (task.NodeID === '') return false;
  const node = nodes.get(task.NodeID);
  return !node || node.Status.State === 'down' || node.Spec.Availability === 'drain';
}
