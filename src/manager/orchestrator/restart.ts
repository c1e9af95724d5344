/**
 * The restart policy, as Swarm applies it: whether a task that ended may be replaced, and
 * when. Restart history lives in the leader's memory (as in SwarmKit): a new leader starts
 * counting afresh, which errs on the side of running the service.
 */
import type { RestartPolicy, Service, Task } from '../../state/index.js';

/** Swarm's default delay between restarts: 5 s. */
export const DEFAULT_RESTART_DELAY_NS = 5_000_000_000;

export type RestartVerdict =
  | { restart: true; notBefore: number }
  | { restart: false; reason: string };

/** Decides for one task that ended on its own; `endedAt` is when the leader saw it end (ms). */
export function restartVerdict(
  task: Task,
  policy: RestartPolicy | undefined,
  defaults: { condition: 'any' | 'on-failure' },
  history: readonly number[],
  endedAt: number,
  now: number,
): RestartVerdict {
  const condition = policy?.Condition ?? defaults.condition;
  const state = task.Status.State;
  if (condition === 'none') return { restart: false, reason: 'restart condition is none' };
  if (condition === 'on-failure' && state === 'complete') {
    return { restart: false, reason: 'the task completed' };
  }
  const maxAttempts = policy?.MaxAttempts ?? 0;
  if (maxAttempts > 0) {
    const windowMs = (policy?.Window ?? 0) / 1e6;
    const counted = windowMs > 0 ? history.filter((at) => at > now - windowMs) : history;
    if (counted.length >= maxAttempts) {
      return { restart: false, reason: `restart attempts exhausted (${maxAttempts})` };
    }
  }
  const delayMs = (policy?.Delay ?? DEFAULT_RESTART_DELAY_NS) / 1e6;
  return { restart: true, notBefore: endedAt + delayMs };
}

/** Jobs restart on failure by default; services restart on any exit. */
export function restartDefaults(service: Service): { condition: 'any' | 'on-failure' } {
  const mode = service.Spec.Mode;
  return { condition: mode.ReplicatedJob || mode.GlobalJob ? 'on-failure' : 'any' };
}
