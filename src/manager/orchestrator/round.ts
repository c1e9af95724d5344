/**
 * One orchestration round for one service: the mode decides the units (slots or nodes) and
 * which are wanted; every unit is filled; then the rolling updater replaces out-of-date ones.
 */
import type { Node, Task } from '../../state/index.js';
import { RoundBuilder, type RoundInput, type RoundOutput } from './plan.js';
import { isLive, serviceKind } from './tasks.js';
import { type FilledUnit, fillUnit, groupTasks, type Unit } from './units.js';
import { rollingUpdate } from './update.js';

export function orchestrate(input: RoundInput): RoundOutput {
  const b = new RoundBuilder(input);
  const { memory, now } = input;
  for (const task of input.tasks) {
    if (task.Status.State === 'running' && !memory.runningSince.has(task.ID)) {
      memory.runningSince.set(task.ID, now);
    }
  }
  // A task the service no longer holds (DesiredState remove) is the reaper's, not ours.
  const tasks = input.tasks.filter((t) => t.DesiredState !== 'remove');
  let filled: FilledUnit[];
  switch (serviceKind(input.service)) {
    case 'replicated':
      filled = replicated(b, tasks);
      break;
    case 'global':
      filled = global(b, tasks, false);
      break;
    case 'replicated-job':
      filled = replicatedJob(b, tasks);
      break;
    case 'global-job':
      filled = global(b, tasks, true);
      break;
  }
  const isJob = input.service.Spec.Mode.ReplicatedJob || input.service.Spec.Mode.GlobalJob;
  const outcome = isJob ? {} : rollingUpdate(b, filled);
  // Rolling back: no new task of the failing spec (a restart this round would start one);
  // the next round, on the previous spec, fills the slots.
  const ops = outcome.rollback ? b.ops.filter((op) => op.op !== 'create') : b.ops;
  return { ops, wakeAt: b.wakeAt, ...outcome };
}

function replicated(b: RoundBuilder, tasks: readonly Task[]): FilledUnit[] {
  const replicas = b.input.service.Spec.Mode.Replicated?.Replicas ?? 1;
  const bySlot = groupTasks(tasks, (t) => String(t.Slot));
  const filled: FilledUnit[] = [];
  for (const [key, slotTasks] of bySlot) {
    const slot = Number(key);
    if (slot >= 1 && slot <= replicas) continue;
    fillUnit(b, { key: `slot:${slot}`, slot, tasks: slotTasks }, { wanted: false });
  }
  for (let slot = 1; slot <= replicas; slot++) {
    const unit: Unit = { key: `slot:${slot}`, slot, tasks: bySlot.get(String(slot)) ?? [] };
    filled.push(fillUnit(b, unit, { wanted: true }));
  }
  return filled;
}

/** One task per eligible node; `job`: run once per node to completion. */
function global(b: RoundBuilder, tasks: readonly Task[], job: boolean): FilledUnit[] {
  const { service, nodes, fits } = b.input;
  const byNode = groupTasks(
    tasks.filter((t) => t.NodeID !== ''),
    (t) => t.NodeID,
  );
  const filled: FilledUnit[] = [];
  const iteration = job ? jobIteration(b) : undefined;
  if (iteration !== undefined) stopOlderIterations(b, tasks, iteration);
  for (const node of nodes.values()) {
    const nodeTasks = (byNode.get(node.ID) ?? []).filter(
      (t) => iteration === undefined || (t.JobIteration?.Index ?? 0) === iteration,
    );
    byNode.delete(node.ID);
    const unit: Unit = { key: `node:${node.ID}`, slot: 0, nodeId: node.ID, tasks: nodeTasks };
    const keeps = canKeep(node, service, fits);
    const hasLive = nodeTasks.some(isLive);
    // A paused node keeps what it runs but takes nothing new.
    const wanted = keeps && (hasLive || canStartOn(node));
    filled.push(fillUnit(b, unit, { wanted, jobIteration: iteration }));
  }
  // Tasks on nodes that left the cluster.
  for (const [nodeId, nodeTasks] of byNode) {
    fillUnit(b, { key: `node:${nodeId}`, slot: 0, nodeId, tasks: nodeTasks }, { wanted: false });
  }
  return filled.filter((f) => f.live.length > 0 || f.done);
}

function replicatedJob(b: RoundBuilder, tasks: readonly Task[]): FilledUnit[] {
  const job = b.input.service.Spec.Mode.ReplicatedJob ?? {};
  const maxConcurrent = Math.max(job.MaxConcurrent ?? 1, 1);
  const total = job.TotalCompletions ?? maxConcurrent;
  const iteration = jobIteration(b);
  const current = tasks.filter((t) => (t.JobIteration?.Index ?? 0) === iteration);
  stopOlderIterations(b, tasks, iteration);
  const bySlot = groupTasks(current, (t) => String(t.Slot));
  let running = current.filter(isLive).length;
  const mayCreate = () => {
    if (running >= maxConcurrent) return false;
    running++;
    return true;
  };
  const filled: FilledUnit[] = [];
  // A job's slots count from 0, as Swarm numbers them (the docker CLI's job progress
  // counts on it); a replicated service's count from 1.
  for (let slot = 0; slot < total; slot++) {
    const unit: Unit = { key: `slot:${slot}`, slot, tasks: bySlot.get(String(slot)) ?? [] };
    filled.push(fillUnit(b, unit, { wanted: true, mayCreate, jobIteration: iteration }));
  }
  return filled;
}

/** A job run again (its spec changed): tasks of the earlier run still going are stopped. */
function stopOlderIterations(b: RoundBuilder, tasks: readonly Task[], iteration: number): void {
  for (const task of tasks) {
    if ((task.JobIteration?.Index ?? 0) !== iteration && isLive(task)) b.desire(task, 'shutdown');
  }
}

function jobIteration(b: RoundBuilder): number {
  return b.input.service.JobStatus?.JobIteration.Index ?? 0;
}

/** The node may keep running the service's task. */
function canKeep(node: Node, service: RoundInput['service'], fits: RoundInput['fits']): boolean {
  return node.Status.State !== 'down' && node.Spec.Availability !== 'drain' && fits(node, service);
}

/** The node may take a new task. */
function canStartOn(node: Node): boolean {
  return node.Status.State === 'ready' && node.Spec.Availability === 'active';
}
