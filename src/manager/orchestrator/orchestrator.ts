/**
 * The leader's orchestration loop: after a change in the store (or when a delay runs out) it
 * runs a round — every touched service through `orchestrate`, the reaper, then the scheduler
 * over the pending tasks — and commits the result as one `tasks.write` (chunked when large).
 *
 * One round at a time, and the next starts only once the previous one's writes are applied:
 * every round decides on a store that already holds what the last one wrote, so a slot is
 * never filled twice.
 */
import { oneLineMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type {
  ClusterStore,
  NewTask,
  Node,
  Service,
  StoreEvent,
  Task,
  TaskOp,
} from '../../state/index.js';
import { clipTaskText, taskStateRank } from '../../state/index.js';
import type { Consensus } from '../consensus.js';
import { allocatePorts } from '../ports.js';
import { matchesConstraint, parseConstraint } from '../scheduler/constraints.js';
import { schedule } from '../scheduler/index.js';
import { newMemory, type OrchestratorMemory } from './plan.js';
import { reap } from './reaper.js';
import { orchestrate } from './round.js';
import { isLive } from './tasks.js';

/** Ops per Raft entry: keeps entries well under the transport's frame limit. */
const OPS_PER_COMMAND = 2_000;

export interface OrchestratorOptions {
  store: ClusterStore;
  consensus: Consensus;
  /** True once this manager leads and has caught up in its term. */
  isLeader: () => boolean;
  now: () => number;
  newId: () => string;
  logger: Logger;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export class Orchestrator {
  private memory: OrchestratorMemory = newMemory();
  private readonly dirtyServices = new Set<string>();
  private everything = true;
  private running = false;
  private scheduled = false;
  private stopped = false;
  private unwatch: (() => void) | undefined;
  private wake: { at: number; cancel(): void } | undefined;
  private readonly log: Logger;
  /** Rounds run so far (tests and metrics). */
  rounds = 0;

  constructor(private readonly options: OrchestratorOptions) {
    this.log = options.logger.child({ component: 'orchestrator' });
  }

  start(): void {
    this.unwatch = this.options.store.watch((event) => this.onEvent(event));
    this.kick(true);
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.wake?.cancel();
  }

  /** This manager just became the leader: forget the last term's memory and look at everything. */
  onLeadership(): void {
    this.memory = newMemory();
    this.kick(true);
  }

  /** Asks for a round soon; `all`: every service, not only those that changed. */
  kick(all = false): void {
    if (all) this.everything = true;
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runRound();
    });
  }

  private onEvent(event: StoreEvent): void {
    switch (event.kind) {
      case 'service':
        this.dirtyServices.add(event.object.ID);
        if (event.action === 'remove') this.forgetService(event.object.ID);
        break;
      case 'task':
        this.dirtyServices.add(event.object.ServiceID);
        if (event.action === 'remove') this.forget(event.object.ID);
        break;
      case 'node':
        this.everything = true;
        if (event.action === 'remove') this.forgetNode(event.object.ID);
        break;
      case 'restore':
        this.everything = true;
        break;
      default:
        return;
    }
    this.kick();
  }

  /** A service write whose refusal (stale version, service gone) only means: look again. */
  private settle(write: Promise<unknown>): Promise<void> {
    return write.then(
      () => {},
      (error: unknown) => {
        this.log.debug({ err: oneLineMessage(error) }, 'service write not applied');
        this.everything = true;
      },
    );
  }

  /** What the memory holds about a task the store no longer has. */
  private forget(taskId: string): void {
    this.memory.endedAt.delete(taskId);
    this.memory.runningSince.delete(taskId);
  }

  /** Restart history of global units on a node that left the cluster. */
  private forgetNode(nodeId: string): void {
    for (const key of this.memory.restarts.keys()) {
      if (key.endsWith(`/node:${nodeId}`)) this.memory.restarts.delete(key);
    }
  }

  private forgetService(serviceId: string): void {
    this.memory.lastBatchAt.delete(serviceId);
    for (const key of this.memory.restarts.keys()) {
      if (key.startsWith(`${serviceId}/`)) this.memory.restarts.delete(key);
    }
  }

  private async runRound(): Promise<void> {
    if (this.running || this.stopped) return;
    if (!this.options.isLeader()) {
      // A follower keeps no backlog: a new leader looks at everything anyway.
      this.dirtyServices.clear();
      return;
    }
    this.running = true;
    try {
      await this.round();
    } catch (error) {
      this.log.warn({ err: oneLineMessage(error) }, 'orchestration round failed');
      // Try again later; a lost leadership ends the retries (isLeader is false).
      this.everything = true;
      this.setWake(this.options.now() + 500);
    } finally {
      this.running = false;
    }
    if (this.everything || this.dirtyServices.size > 0) this.kick();
  }

  private async round(): Promise<void> {
    this.rounds++;
    const { store, now: clock } = this.options;
    const now = clock();
    const at = new Date(now).toISOString();
    const everything = this.everything;
    const dirty = new Set(this.dirtyServices);
    this.everything = false;
    this.dirtyServices.clear();

    const nodes = new Map(store.listNodes().map((n) => [n.ID, n]));
    const services = everything
      ? store.listServices()
      : [...dirty].flatMap((id) => store.getService(id) ?? []);
    const ops: TaskOp[] = [];
    let wakeAt: number | undefined;
    const serviceWrites: Promise<unknown>[] = [];
    for (const service of services) {
      const out = orchestrate({
        service,
        tasks: store.tasksOfService(service.ID),
        nodes,
        fits: fitsConstraints,
        now,
        at,
        newId: this.options.newId,
        memory: this.memory,
      });
      ops.push(...out.ops);
      if (out.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? out.wakeAt, out.wakeAt);
      // Each write gets its handler now: an await below may throw first (lost leadership)
      // and must not leave these rejections unhandled.
      if (out.updateStatus) {
        serviceWrites.push(
          this.settle(
            this.options.consensus.propose({
              type: 'service.setUpdateStatus',
              id: service.ID,
              version: service.Version.Index,
              updateStatus: out.updateStatus,
              at,
            }),
          ),
        );
      }
      if (out.rollback) {
        serviceWrites.push(this.settle(this.rollback(service, out.rollback.message, at)));
      }
    }
    if (everything || dirty.size > 0) {
      ops.push(...reap(store.allTasks(), (id) => store.getService(id) !== undefined, nodes));
    }
    ops.push(...this.placePending(ops, [...nodes.values()]));
    try {
      for (let i = 0; i < ops.length; i += OPS_PER_COMMAND) {
        await this.options.consensus.propose({
          type: 'tasks.write',
          ops: ops.slice(i, i + OPS_PER_COMMAND),
          at,
        });
      }
    } finally {
      await Promise.all(serviceWrites);
    }
    if (wakeAt !== undefined) this.setWake(wakeAt);
  }

  /** Scheduler pass over the pending tasks in the store and those this round creates. */
  private placePending(roundOps: readonly TaskOp[], nodes: Node[]): TaskOp[] {
    const created = new Map<string, NewTask>();
    const shutDown = new Set<string>();
    for (const op of roundOps) {
      if (op.op === 'create') created.set(op.task.ID, op.task);
      else if (op.op === 'desire' || op.op === 'remove') shutDown.add(op.id);
    }
    const pending: Task[] = [];
    const placed: Task[] = [];
    for (const task of this.options.store.allTasks()) {
      if (shutDown.has(task.ID) || !isLive(task)) continue;
      if (task.NodeID !== '') placed.push(task);
      else if (taskStateRank(task.Status.State) <= taskStateRank('pending')) pending.push(task);
    }
    for (const task of created.values()) {
      const asTask = { ...task, Version: { Index: 0 } };
      if (task.NodeID === '') pending.push(asTask);
      else placed.push(asTask);
    }
    if (pending.length === 0) return [];
    const result = schedule({ nodes, placed, pending });
    const ops: TaskOp[] = result.assignments.map((a) => ({
      op: 'assign',
      id: a.taskId,
      nodeId: a.nodeId,
    }));
    for (const u of result.unplaced) {
      ops.push({ op: 'unplaced', id: u.taskId, reason: clipTaskText(u.reason) });
    }
    return ops;
  }

  private async rollback(service: Service, message: string, at: string): Promise<void> {
    if (!service.PreviousSpec) {
      await this.options.consensus.propose({
        type: 'service.setUpdateStatus',
        id: service.ID,
        version: service.Version.Index,
        updateStatus: {
          State: 'paused',
          StartedAt: service.UpdateStatus?.StartedAt,
          Message: message,
        },
        at,
      });
      return;
    }
    this.log.info({ service: service.Spec.Name }, message);
    const others = this.options.store.listServices().filter((s) => s.ID !== service.ID);
    const ports = allocatePorts(
      service.PreviousSpec.EndpointSpec?.Ports ?? [],
      service.Endpoint.Ports ?? [],
      others,
    );
    await this.options.consensus.propose({
      type: 'service.update',
      id: service.ID,
      version: service.Version.Index,
      spec: service.PreviousSpec,
      previousSpec: service.Spec,
      ports,
      updateStatus: { State: 'rollback_started', StartedAt: at, Message: message },
      at,
    });
  }

  private setWake(at: number): void {
    if (this.wake && this.wake.at <= at) return;
    this.wake?.cancel();
    const delay = Math.max(0, at - this.options.now());
    const set =
      this.options.setTimer ??
      ((fn: () => void, ms: number) => {
        const timer = setTimeout(fn, ms);
        timer.unref();
        return { cancel: () => clearTimeout(timer) };
      });
    const handle = set(() => {
      this.wake = undefined;
      this.kick(true);
    }, delay);
    this.wake = { at, cancel: handle.cancel };
  }
}

/** Global services: does the node meet the service's placement constraints? */
function fitsConstraints(node: Node, service: Service): boolean {
  const constraints = service.Spec.TaskTemplate.Placement?.Constraints ?? [];
  return constraints.every((text) => {
    try {
      return matchesConstraint(parseConstraint(text), node);
    } catch {
      return false;
    }
  });
}
