/**
 * Small facts about tasks the orchestrators share: which tasks still count, which are out of
 * date, how a new task is made from its service.
 */
import type { NewTask, Service, Task, TaskState } from '../../state/index.js';
import { isTerminal, taskStateRank } from '../../state/index.js';

const RUNNING = taskStateRank('running');

/** Meant to run and not ended: it occupies its slot (or node). */
export function isLive(task: Task): boolean {
  return taskStateRank(task.DesiredState) <= RUNNING && !isTerminal(task.Status.State);
}

/** Ended on its own (failed, completed, rejected) while it was still meant to run. */
export function endedOnItsOwn(task: Task): boolean {
  return taskStateRank(task.DesiredState) <= RUNNING && isTerminal(task.Status.State);
}

/**
 * The order tasks were made in: the Raft index of their creation (clocks of successive leaders
 * may disagree; the log does not), then the id for tasks made by one entry. A task not yet
 * committed (made in this round) is the newest.
 */
export function byAge(a: Task, b: Task): number {
  const d =
    (a.CreatedIndex ?? Number.MAX_SAFE_INTEGER) - (b.CreatedIndex ?? Number.MAX_SAFE_INTEGER);
  return d !== 0 ? d : a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}

/** The spec a task runs differs from the service's current one (it needs an update). */
export function isDirty(task: Task, service: Service): boolean {
  return (
    !sameJson(task.Spec, service.Spec.TaskTemplate) ||
    !sameJson(task.Endpoint?.Ports ?? [], service.Endpoint.Ports ?? [])
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

/** JSON with object keys sorted, so key order (spec from the API vs from a snapshot) is moot. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    }
    return v;
  });
}

export interface NewTaskOptions {
  id: string;
  at: string;
  slot: number;
  /** Global services: the node is chosen by the orchestrator, not the scheduler. */
  nodeId?: string;
  desiredState?: TaskState;
  jobIteration?: number;
}

export function makeTask(service: Service, options: NewTaskOptions): NewTask {
  const assigned = options.nodeId !== undefined && options.nodeId !== '';
  const task: NewTask = {
    ID: options.id,
    CreatedAt: options.at,
    UpdatedAt: options.at,
    Labels: {},
    Spec: service.Spec.TaskTemplate,
    SpecVersion: { Index: service.Version.Index },
    ServiceID: service.ID,
    ServiceAnnotations: { Name: service.Spec.Name },
    Slot: options.slot,
    NodeID: options.nodeId ?? '',
    Status: assigned
      ? { Timestamp: options.at, State: 'assigned', Message: 'scheduler assigned task to node' }
      : { Timestamp: options.at, State: 'pending', Message: 'pending task scheduling' },
    DesiredState: options.desiredState ?? 'running',
  };
  const ports = service.Endpoint.Ports;
  if (ports && ports.length > 0) task.Endpoint = { Ports: ports };
  if (options.jobIteration !== undefined) task.JobIteration = { Index: options.jobIteration };
  return task;
}

export type ServiceKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export function serviceKind(service: Service): ServiceKind {
  const mode = service.Spec.Mode;
  if (mode.Global) return 'global';
  if (mode.ReplicatedJob) return 'replicated-job';
  if (mode.GlobalJob) return 'global-job';
  return 'replicated';
}
