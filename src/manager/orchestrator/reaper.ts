/**
 * Forgets tasks nobody needs: the history of a slot (or node) beyond the newest five, and the
 * tasks of removed services once their containers are gone (or their node is).
 */
import type { Node, Task, TaskOp } from '../../state/index.js';
import { isTerminal } from '../../state/index.js';
import { byAge, isLive } from './tasks.js';

/** Docker's default task history per slot. */
export const TASK_HISTORY = 5;

export function reap(
  tasks: Iterable<Task>,
  serviceExists: (id: string) => boolean,
  nodes: ReadonlyMap<string, Node>,
  history = TASK_HISTORY,
): TaskOp[] {
  const ops: TaskOp[] = [];
  const units = new Map<string, Task[]>();
  for (const task of tasks) {
    const nodeGone = task.NodeID !== '' && !nodes.has(task.NodeID);
    if (
      task.DesiredState === 'remove' ||
      !serviceExists(task.ServiceID) ||
      (nodeGone && !isLive(task))
    ) {
      if (finished(task, nodes)) ops.push({ op: 'remove', id: task.ID });
      continue;
    }
    const key = `${task.ServiceID}/${task.Slot === 0 ? task.NodeID : task.Slot}`;
    let unit = units.get(key);
    if (!unit) {
      unit = [];
      units.set(key, unit);
    }
    unit.push(task);
  }
  for (const unit of units.values()) {
    if (unit.length <= history) continue;
    unit.sort(byAge);
    for (const task of unit.slice(0, unit.length - history)) {
      if (!isLive(task) && finished(task, nodes)) ops.push({ op: 'remove', id: task.ID });
    }
  }
  return ops;
}

/** Nothing runs for it any more: it ended, never reached a node, or its node is gone or down. */
function finished(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  if (task.NodeID === '' || isTerminal(task.Status.State)) return true;
  const node = nodes.get(task.NodeID);
  return !node || node.Status.State === 'down';
}
