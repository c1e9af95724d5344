/**
 * After an agent restart: find the containers this node made before, so a running task is
 * taken over instead of started a second time. Only the list is read here; each task's
 * runner inspects its container once it knows the task (task-runner.ts).
 */
import type { Logger } from '../log.js';
import type { ContainerRuntime, ContainerState, ContainerSummary } from '../runtime/types.js';
import { NODE_LABEL, TASK_LABEL } from './labels.js';

/** The container of each task id, among those labelled for `nodeId`. */
export async function findOwnContainers(
  runtime: ContainerRuntime,
  nodeId: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<Map<string, ContainerSummary>> {
  const containers = await runtime.listContainers({
    labels: { [NODE_LABEL]: nodeId },
    all: true,
    ...(signal ? { signal } : {}),
  });
  const byTask = new Map<string, ContainerSummary>();
  for (const container of containers) {
    const taskId = container.labels[TASK_LABEL];
    if (!taskId) continue;
    const seen = byTask.get(taskId);
    if (seen) {
      // Never made on purpose (one create per task); keep the one most alive, say so.
      log.warn({ task: taskId, containers: [seen.id, container.id] }, 'two containers for a task');
      if (liveness(container.state) <= liveness(seen.state)) continue;
    }
    byTask.set(taskId, container);
  }
  return byTask;
}

/** True for the states in which a container's process exists. */
export function isLive(state: ContainerState): boolean {
  return state === 'running' || state === 'paused' || state === 'restarting';
}

function liveness(state: ContainerState): number {
  if (isLive(state)) return 2;
  return state === 'created' ? 1 : 0;
}
