/**
 * Waiting for a service to converge after create, update, scale or rollback, with docker's
 * progress lines:
 *
 *   overall progress: 2 out of 3 tasks
 *   1/3: running   [==================================================>]
 *   verify: Service converged
 *
 * `assessProgress` is the pure part: from one poll (the service, its tasks, the nodes) it
 * decides converged, failed or in progress, and words the lines. `waitForService` polls the
 * API and draws them: in place on a terminal, else a plain line each time one changes.
 */
import type { ApiClient } from '../../api/client.js';
import { SwarmtsError } from '../../errors.js';
import {
  isTerminal,
  type Service,
  type Task,
  type TaskState,
  taskStateRank,
  type UpdateStatus,
} from '../../state/service-types.js';
import type { Node } from '../../state/types.js';
import { naturalCompare } from '../commands/node.js';

/** How often the wait polls the API, as docker does. */
export const POLL_INTERVAL_MS = 200;
/** Polls an empty global service waits for its first tasks before it counts as converged. */
export const EMPTY_GLOBAL_POLLS = 5;
/** Failed tasks in one slot after which the wait gives up, when the restart policy allows more. */
export const FAILURES_PER_SLOT = 3;
/** docker draws no per-slot lines above this many slots. */
const MAX_SLOT_LINES = 20;

/** The service did not converge: a task kept failing, or the update paused or rolled back. */
export class ServiceNotConvergedError extends SwarmtsError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

export interface ProgressInput {
  service: Service;
  /** The service's tasks (GET /tasks?filters={"service":[id]}). */
  tasks: readonly Task[];
  /** Global modes: the cluster's nodes; tasks on down or unknown nodes do not count. */
  nodes: readonly Node[];
  /** The service's UpdateStatus before the command's request: the same status is old news. */
  baseline?: UpdateStatus | undefined;
  /** The command asked for a rollback: a completed rollback is its success. */
  rollback: boolean;
  /** Tasks that had ended before the wait began: not failures of this change. */
  ended: ReadonlySet<string>;
  /** This poll's number, from 1. */
  poll: number;
  /** The rollback reason seen by an earlier poll (its status may since say "rollback completed"). */
  rollbackReason?: string | undefined;
}

export interface ProgressLine {
  id: string;
  /** '' while there is nothing to say yet. */
  text: string;
}

export interface ProgressReport {
  verdict: 'in-progress' | 'converged' | 'failed';
  /** In display order. */
  lines: ProgressLine[];
  /** failed: what went wrong, one line. */
  error?: string;
  /** To hand to the next poll. */
  rollbackReason?: string | undefined;
}

type Kind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

/** A slot of a replicated service or job, or a node of a global one. */
interface Unit {
  id: string;
  /** For messages: `web.2`, or `web on node1`. */
  name: string;
  /** The unit's tasks that count, oldest first. */
  tasks: Task[];
}

/** docker's numbered task states: how far along the bar a state is. */
const STEPS: Partial<Record<TaskState, number>> = {
  new: 1,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
};

/** Decides, for one poll, whether the service has converged, failed, or is on its way. */
export function assessProgress(input: ProgressInput): ProgressReport {
  const { service } = input;
  const kind = kindOf(service);
  const job = kind === 'replicated-job' || kind === 'global-job';
  const status = freshStatus(service.UpdateStatus, input.baseline);
  const rollingBack = status?.State.startsWith('rollback') === true;
  let rollbackReason = input.rollbackReason;
  if (status?.State === 'rollback_started' && status.Message) rollbackReason = status.Message;

  const units = unitsOf(input, kind);
  const expected = expectedUnits(service, kind, units.length);
  const target: TaskState = job ? 'complete' : 'running';
  const done = units.filter((u) => {
    const newest = u.tasks.at(-1);
    return newest?.Status.State === target && rank(newest.DesiredState) <= rank('complete');
  }).length;

  const lines: ProgressLine[] = [];
  if (job) {
    lines.push({ id: 'job progress', text: `${done} out of ${expected} complete` });
    if (kind === 'replicated-job') {
      const active = units.filter((u) => u.tasks.at(-1)?.Status.State === 'running').length;
      const max = service.Spec.Mode.ReplicatedJob?.MaxConcurrent ?? 1;
      lines.push({ id: 'active tasks', text: `${active} out of ${max} tasks` });
    }
  } else {
    const prefix = rollingBack ? 'rolling back update: ' : '';
    lines.push({ id: 'overall progress', text: `${prefix}${done} out of ${expected} tasks` });
  }
  if (units.length <= MAX_SLOT_LINES) {
    for (const unit of units) {
      lines.push({ id: unit.id, text: unitText(unit.tasks.at(-1), job, rollingBack) });
    }
  }
  if (rollbackReason) lines.push({ id: 'rollback', text: rollbackReason });
  const report = (verdict: ProgressReport['verdict'], error?: string): ProgressReport => ({
    verdict,
    lines,
    ...(error !== undefined ? { error } : {}),
    rollbackReason,
  });

  switch (status?.State) {
    case 'paused':
      return report('failed', `service update paused: ${status.Message ?? ''}`.trim());
    case 'rollback_paused':
      return report('failed', `service rollback paused: ${status.Message ?? ''}`.trim());
    case 'rollback_completed':
      if (!input.rollback) {
        const reason = rollbackReason ?? status.Message ?? 'rollback completed';
        if (!lines.some((l) => l.id === 'rollback')) lines.push({ id: 'rollback', text: reason });
        return report('failed', reason);
      }
      break;
  }

  // While an update runs, its failure action decides what a failed task means.
  const failureAction = service.Spec.UpdateConfig?.FailureAction ?? 'pause';
  const updaterDecides =
    status?.State === 'rollback_started' ||
    (status?.State === 'updating' && failureAction !== 'continue');
  if (!updaterDecides) {
    for (const unit of units) {
      const error = unitFailure(unit, service, job, input.ended);
      if (error) return report('failed', error);
    }
  }

  const updating = status?.State === 'updating' || status?.State === 'rollback_started';
  const globalWaiting =
    (kind === 'global' || kind === 'global-job') &&
    units.length === 0 &&
    input.poll < EMPTY_GLOBAL_POLLS;
  if (done === expected && units.length === expected && !updating && !globalWaiting) {
    lines.push({ id: 'verify', text: 'Service converged' });
    return report('converged');
  }
  return report('in-progress');
}

function kindOf(service: Service): Kind {
  const mode = service.Spec.Mode;
  if (mode.Global) return 'global';
  if (mode.ReplicatedJob) return 'replicated-job';
  if (mode.GlobalJob) return 'global-job';
  return 'replicated';
}

function rank(state: TaskState): number {
  return taskStateRank(state);
}

/** The service's update status, unless it is the one it had before the command. */
function freshStatus(
  status: UpdateStatus | undefined,
  baseline: UpdateStatus | undefined,
): UpdateStatus | undefined {
  if (!status) return undefined;
  if (
    baseline &&
    baseline.State === status.State &&
    baseline.StartedAt === status.StartedAt &&
    baseline.Message === status.Message
  ) {
    return undefined;
  }
  return status;
}

function expectedUnits(service: Service, kind: Kind, found: number): number {
  const mode = service.Spec.Mode;
  if (kind === 'replicated') return mode.Replicated?.Replicas ?? 1;
  if (kind === 'replicated-job') {
    return mode.ReplicatedJob?.TotalCompletions ?? mode.ReplicatedJob?.MaxConcurrent ?? 1;
  }
  return found;
}

/** The tasks that count, by slot or node. */
function unitsOf(input: ProgressInput, kind: Kind): Unit[] {
  const { service } = input;
  const name = service.Spec.Name;
  const job = kind === 'replicated-job' || kind === 'global-job';
  const iteration = service.JobStatus?.JobIteration.Index ?? 0;
  // Services: only tasks of the current spec (docker's "_up-to-date"); jobs: this run's tasks.
  const current = input.tasks.filter((t) =>
    job ? (t.JobIteration?.Index ?? 0) === iteration : upToDate(t, service),
  );
  if (kind === 'replicated' || kind === 'replicated-job') {
    const total = expectedUnits(service, kind, 0);
    const units: Unit[] = [];
    // A job's slots count from 0 (as Swarm's), a service's from 1; both show as 1..total.
    const first = kind === 'replicated-job' ? 0 : 1;
    for (let n = 1; n <= total; n++) {
      const slot = first + n - 1;
      units.push({
        id: `${n}/${total}`,
        name: `${name}.${n}`,
        tasks: current.filter((t) => t.Slot === slot).sort(byAge),
      });
    }
    return units;
  }
  const nodes = new Map(input.nodes.map((n) => [n.ID, n]));
  const byNode = new Map<string, Task[]>();
  for (const task of current) {
    const node = nodes.get(task.NodeID);
    if (!node || node.Status.State === 'down') continue;
    byNode.set(task.NodeID, [...(byNode.get(task.NodeID) ?? []), task]);
  }
  const units: Unit[] = [];
  for (const [nodeId, tasks] of byNode) {
    tasks.sort(byAge);
    const newest = tasks.at(-1);
    // A node the service left (drained, constraints) has its task shut down and no new one.
    if (!newest || rank(newest.DesiredState) > rank('complete')) continue;
    const host = nodes.get(nodeId)?.Description.Hostname || nodeId.slice(0, 12);
    units.push({ id: host, name: `${name} on ${host}`, tasks });
  }
  return units.sort((a, b) => naturalCompare(a.id, b.id));
}

/** The oldest first: by creation time, then ID. */
function byAge(a: Task, b: Task): number {
  return (
    Date.parse(a.CreatedAt) - Date.parse(b.CreatedAt) || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)
  );
}

/** The task runs the service's current spec and ports. */
export function upToDate(task: Task, service: Service): boolean {
  return (
    stableJson(task.Spec) === stableJson(service.Spec.TaskTemplate) &&
    stableJson(task.Endpoint?.Ports ?? []) === stableJson(service.Endpoint?.Ports ?? [])
  );
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

/**
 * The unit has given up: its newest task ended badly (failed, rejected, or a service's task
 * exited) and the restart policy will not replace it, or it has failed FAILURES_PER_SLOT
 * times since the wait began.
 */
function unitFailure(
  unit: Unit,
  service: Service,
  job: boolean,
  ended: ReadonlySet<string>,
): string | undefined {
  const endedBadly = (t: Task) =>
    !ended.has(t.ID) &&
    (t.Status.State === 'failed' ||
      t.Status.State === 'rejected' ||
      (!job && t.Status.State === 'complete'));
  const newest = unit.tasks.at(-1);
  if (!newest || !endedBadly(newest)) return undefined;
  const policy = service.Spec.TaskTemplate.RestartPolicy;
  const condition = policy?.Condition ?? (job ? 'on-failure' : 'any');
  const restarts =
    condition === 'any' || (condition === 'on-failure' && newest.Status.State !== 'complete');
  const maxAttempts = policy?.MaxAttempts ?? 0;
  const limit = !restarts
    ? 1
    : maxAttempts > 0
      ? Math.min(maxAttempts + 1, FAILURES_PER_SLOT)
      : FAILURES_PER_SLOT;
  if (unit.tasks.filter(endedBadly).length < limit) return undefined;
  const why = newest.Status.Err || newest.Status.Message || newest.Status.State;
  const verb =
    newest.Status.State === 'rejected'
      ? 'was rejected'
      : newest.Status.State === 'complete'
        ? 'exited'
        : 'failed';
  return `task ${unit.name} ${verb}: ${why}`;
}

/** A slot's line: its newest task's error, or its state and bar. */
function unitText(task: Task | undefined, job: boolean, rollingBack: boolean): string {
  if (!task) return '';
  if (task.Status.Err) return truncateError(task.Status.Err);
  const state = task.Status.State;
  const live = rank(task.DesiredState) <= rank('complete');
  if (live && (!isTerminal(state) || (job && state === 'complete'))) {
    const step = STEPS[state] ?? 0;
    const total = job ? 10 : 9;
    const current = rollingBack ? STEPS.running! - step : step;
    return `${state.padEnd(9)} ${progressBar(current, total)}`;
  }
  return state;
}

/** docker's progress bar, 50 wide: `[=========>          ]`. */
export function progressBar(current: number, total: number): string {
  const filled = Math.max(0, Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2)));
  return `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}]`;
}

/** docker keeps a slot's error on one line of at most 75 characters. */
function truncateError(err: string): string {
  const line = err.replace(/\s*\n\s*/g, ' ');
  return line.length > 75 ? `${line.slice(0, 74)}…` : line;
}

/**
 * Draws the lines. On a terminal the block is redrawn in place; otherwise each line is
 * printed when its text changes, with no cursor movement.
 */
export class ProgressPrinter {
  private readonly order: string[] = [];
  private readonly texts = new Map<string, string>();
  private drawn = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  render(lines: readonly ProgressLine[]): void {
    let changed = false;
    for (const line of lines) {
      if (!this.texts.has(line.id)) this.order.push(line.id);
      if (this.texts.get(line.id) === line.text) continue;
      this.texts.set(line.id, line.text);
      changed = true;
      if (!this.tty && line.text !== '') this.write(`${show(line.id, line.text)}\n`);
    }
    if (!this.tty || !changed) return;
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) out += `\x1b[2K${show(id, this.texts.get(id) ?? '')}\n`;
    this.write(out);
    this.drawn = this.order.length;
  }
}

function show(id: string, text: string): string {
  return `${id}: ${text}`.trimEnd();
}

export interface WaitDeps {
  client: ApiClient;
  /** Where the progress goes; a no-op with --quiet. */
  write: (text: string) => void;
  tty: boolean;
  sleep: (ms: number) => Promise<void>;
}

export interface WaitOptions {
  /** The service's ID (or name). */
  service: string;
  baseline?: UpdateStatus | undefined;
  rollback?: boolean;
  /**
   * The service was just created, so every task counts. Otherwise the tasks that had ended
   * by the first poll are taken for history from before the change.
   */
  created?: boolean;
}

/** Polls until the service converges; throws ServiceNotConvergedError when it will not. */
export async function waitForService(deps: WaitDeps, options: WaitOptions): Promise<void> {
  const printer = new ProgressPrinter(deps.write, deps.tty);
  let ended: Set<string> | undefined;
  let rollbackReason: string | undefined;
  for (let poll = 1; ; poll++) {
    const service = await deps.client.get<Service>(
      `/services/${encodeURIComponent(options.service)}`,
    );
    const tasks = await deps.client.get<Task[]>('/tasks', {
      filters: JSON.stringify({ service: [service.ID] }),
    });
    const global = Boolean(service.Spec.Mode.Global || service.Spec.Mode.GlobalJob);
    const nodes = global ? await deps.client.get<Node[]>('/nodes') : [];
    ended ??= new Set(
      options.created ? [] : tasks.filter((t) => isTerminal(t.Status.State)).map((t) => t.ID),
    );
    const report = assessProgress({
      service,
      tasks,
      nodes,
      baseline: options.baseline,
      rollback: options.rollback === true,
      ended,
      poll,
      rollbackReason,
    });
    rollbackReason = report.rollbackReason;
    printer.render(report.lines);
    if (report.verdict === 'converged') return;
    if (report.verdict === 'failed') {
      throw new ServiceNotConvergedError(report.error ?? 'the service did not converge');
    }
    await deps.sleep(POLL_INTERVAL_MS);
  }
}
