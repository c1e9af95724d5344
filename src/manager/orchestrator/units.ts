/**
 * A unit is what one task at a time fills: a slot of a replicated service or job, or a node of
 * a global one. Filling a unit is the same for every mode: drop tasks whose node is lost,
 * restart one that ended (if the restart policy says so and its delay has passed), or create
 * the first one.
 */
import type { Task } from '../../state/index.js';
import { nodeLost, type RoundBuilder } from './plan.js';
import { restartDefaults, restartVerdict } from './restart.js';
import { byAge, endedOnItsOwn, isLive, makeTask } from './tasks.js';

export interface Unit {
  /** `slot:N` or `node:ID`; with the service id, keys restart history. */
  key: string;
  slot: number;
  /** Global units: the node the task goes to. */
  nodeId?: string;
  /** Oldest first. */
  tasks: Task[];
}

export interface FilledUnit {
  unit: Unit;
  /** Live tasks after this round's ops (a task created now counts, not yet running). */
  live: Task[];
  /** The unit finished its work (jobs: its latest task completed). */
  done: boolean;
}

export interface FillOptions {
  /** The unit should have a task (false: scaled away, node no longer eligible). */
  wanted: boolean;
  /** May a new task start now (jobs limit concurrency)? Called only when one would. */
  mayCreate?: () => boolean;
  jobIteration?: number;
}

export function fillUnit(b: RoundBuilder, unit: Unit, options: FillOptions): FilledUnit {
  const { service, nodes, memory, now } = b.input;
  const isJob = Boolean(service.Spec.Mode.ReplicatedJob || service.Spec.Mode.GlobalJob);
  let live = unit.tasks.filter((t) => isLive(t) && !b.isShutDown(t));
  for (const task of live) if (nodeLost(task, nodes)) b.desire(task, 'shutdown');
  live = live.filter((t) => !b.isShutDown(t));
  if (!options.wanted) {
    for (const task of live) b.desire(task, 'shutdown');
    return { unit, live: [], done: false };
  }
  const latest = unit.tasks.at(-1);
  // Older tasks that ended stay in history, but no longer as if they should run.
  for (const task of unit.tasks) {
    if (task !== latest && endedOnItsOwn(task)) b.desire(task, 'shutdown');
  }
  if (live.length > 0) return { unit, live, done: false };
  if (latest && isJob && latest.Status.State === 'complete') return { unit, live, done: true };
  const historyKey = `${service.ID}/${unit.key}`;
  if (latest && endedOnItsOwn(latest) && !b.isShutDown(latest)) {
    let endedAt = memory.endedAt.get(latest.ID);
    if (endedAt === undefined) {
      endedAt = now;
      memory.endedAt.set(latest.ID, now);
    }
    const history = memory.restarts.get(historyKey) ?? [];
    const verdict = restartVerdict(
      latest,
      service.Spec.TaskTemplate.RestartPolicy,
      restartDefaults(service),
      history,
      endedAt,
      now,
    );
    if (!verdict.restart) return { unit, live, done: false };
    if (now < verdict.notBefore) {
      b.wake(verdict.notBefore);
      return { unit, live, done: false };
    }
    if (options.mayCreate && !options.mayCreate()) return { unit, live, done: false };
    b.desire(latest, 'shutdown');
    // Enough history for the policy's limit (and a little for the API to show).
    const keep = Math.max(service.Spec.TaskTemplate.RestartPolicy?.MaxAttempts ?? 0, 20);
    memory.restarts.set(historyKey, [...history.slice(-keep), now]);
  } else if (options.mayCreate && !options.mayCreate()) {
    return { unit, live, done: false };
  }
  const created = makeTask(service, {
    id: b.input.newId(),
    at: b.input.at,
    slot: unit.slot,
    nodeId: unit.nodeId,
    jobIteration: options.jobIteration,
  });
  b.create({ op: 'create', task: created });
  return { unit, live: [{ ...created, Version: { Index: 0 } }], done: false };
}

/** Groups a service's tasks by a key, oldest first in each group. */
export function groupTasks(
  tasks: readonly Task[],
  keyOf: (task: Task) => string,
): Map<string, Task[]> {
  const groups = new Map<string, Task[]>();
  for (const task of tasks) {
    const key = keyOf(task);
    let group = groups.get(key);
    if (!group) {
      group = [];
      groups.set(key, group);
    }
    group.push(task);
  }
  for (const group of groups.values()) group.sort(byAge);
  return groups;
}
