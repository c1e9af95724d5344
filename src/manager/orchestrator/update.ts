/**
 * Rolling updates and rollbacks. A unit is out of date when its live task runs another spec
 * than the service's; the updater replaces such units `Parallelism` at a time (0: all), in
 * `Order` (stop-first: the old task goes first; start-first: the new one must run before the
 * old one stops), waiting `Delay` between batches and watching each new task for `Monitor`.
 * A new task that fails during the update counts against `MaxFailureRatio`; past it,
 * `FailureAction` pauses the update, carries on, or rolls the service back.
 */
import type { Service, Task, UpdateConfig, UpdateStatus } from '../../state/index.js';
import type { RoundBuilder } from './plan.js';
import { endedOnItsOwn, isDirty, makeTask } from './tasks.js';
import type { FilledUnit } from './units.js';

/** Swarm's defaults: one at a time, no delay, pause on failure, 5 s monitor, stop-first. */
const DEFAULTS = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause' as const,
  Monitor: 5_000_000_000,
  MaxFailureRatio: 0,
  Order: 'stop-first' as const,
};

export interface UpdateOutcome {
  updateStatus?: UpdateStatus;
  rollback?: { message: string };
}

export function rollingUpdate(b: RoundBuilder, units: readonly FilledUnit[]): UpdateOutcome {
  const { service, now, at, memory } = b.input;
  const status = service.UpdateStatus;
  const rollingBack = status?.State === 'rollback_started';
  const config = {
    ...DEFAULTS,
    ...stripUndefined(rollingBack ? service.Spec.RollbackConfig : service.Spec.UpdateConfig),
  };
  // start-first, wherever it stands (paused included): once a unit's new task runs, the old
  // one goes, so no slot keeps two tasks running.
  for (const filled of units) {
    const clean = filled.live.filter((t) => !isDirty(t, service));
    if (!clean.some((t) => t.Status.State === 'running')) continue;
    for (const t of filled.live) if (isDirty(t, service)) b.desire(t, 'shutdown');
  }
  if (status?.State === 'paused' || status?.State === 'rollback_paused') return {};
  const inProgress = status?.State === 'updating' || rollingBack;

  if (inProgress && status) {
    const failed = failuresSince(b.input.tasks, service, status.StartedAt);
    if (failed.length > 0 && failed.length / Math.max(units.length, 1) > config.MaxFailureRatio) {
      const why = `due to failure or early termination of task ${failed[0]?.ID ?? ''}`;
      if (rollingBack) {
        return { updateStatus: paused('rollback_paused', status, `rollback paused ${why}`) };
      }
      if (config.FailureAction === 'pause') {
        return { updateStatus: paused('paused', status, `update paused ${why}`) };
      }
      if (config.FailureAction === 'rollback')
        return { rollback: { message: `update rolled back ${why}` } };
    }
  }

  const monitorMs = config.Monitor / 1e6;
  let inFlight = 0;
  const stale: FilledUnit[] = [];
  for (const filled of units) {
    const clean = filled.live.filter((t) => !isDirty(t, service));
    const dirty = filled.live.filter((t) => isDirty(t, service));
    const settling = clean.some((t) => !settled(t, memory.runningSince, now, monitorMs, b));
    if (settling) inFlight++;
    // A unit with a new task already (start-first, the old one still up) is in hand.
    if (dirty.length === 0 || clean.length > 0) continue;
    stale.push(filled);
  }

  if (stale.length === 0) {
    if (inProgress && status && inFlight === 0) {
      return {
        updateStatus: {
          State: rollingBack ? 'rollback_completed' : 'completed',
          StartedAt: status.StartedAt,
          CompletedAt: at,
          // A rollback keeps its cause: "rollback completed: update rolled back due to ...".
          Message: rollingBack
            ? `rollback completed${status.Message ? `: ${status.Message}` : ''}`
            : 'update completed',
        },
      };
    }
    return {};
  }

  const parallelism = config.Parallelism === 0 ? Number.POSITIVE_INFINITY : config.Parallelism;
  if (inFlight >= parallelism) return {};
  const delayMs = config.Delay / 1e6;
  const last = memory.lastBatchAt.get(service.ID);
  if (inFlight === 0 && last !== undefined && delayMs > 0 && now < last + delayMs) {
    b.wake(last + delayMs);
    return {};
  }
  const batch = stale.slice(0, parallelism - inFlight);
  for (const filled of batch) {
    if (config.Order === 'stop-first') for (const t of filled.live) b.desire(t, 'shutdown');
    b.create({
      op: 'create',
      task: makeTask(service, {
        id: b.input.newId(),
        at,
        slot: filled.unit.slot,
        nodeId: filled.unit.nodeId,
      }),
    });
  }
  memory.lastBatchAt.set(service.ID, now);
  return {};
}

/** A new task has run for the whole monitor window (asks for a wake-up when it will have). */
function settled(
  task: Task,
  runningSince: Map<string, number>,
  now: number,
  monitorMs: number,
  b: RoundBuilder,
): boolean {
  if (task.Status.State !== 'running') return false;
  const since = runningSince.get(task.ID) ?? now;
  if (now >= since + monitorMs) return true;
  b.wake(since + monitorMs);
  return false;
}

/** Tasks of the current spec that ended badly since the update began. */
function failuresSince(
  tasks: readonly Task[],
  service: Service,
  startedAt: string | undefined,
): Task[] {
  const from = startedAt ? Date.parse(startedAt) : 0;
  return tasks.filter(
    (t) =>
      !isDirty(t, service) &&
      Date.parse(t.CreatedAt) >= from &&
      (t.Status.State === 'failed' || t.Status.State === 'rejected') &&
      (endedOnItsOwn(t) || t.DesiredState === 'shutdown'),
  );
}

function paused(
  state: 'paused' | 'rollback_paused',
  status: UpdateStatus,
  message: string,
): UpdateStatus {
  return { State: state, StartedAt: status.StartedAt, Message: message };
}

function stripUndefined(config: UpdateConfig | undefined): Partial<UpdateConfig> {
  return Object.fromEntries(Object.entries(config ?? {}).filter(([, v]) => v !== undefined));
}
