/** The executor's public shapes. */
import type { Logger } from '../log.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { TaskStatus } from '../state/service-types.js';

/** Data of the secrets and configs this node's tasks use, keyed `secret/<id>` or `config/<id>`. */
export type TaskFiles = ReadonlyMap<string, Uint8Array>;

export interface TaskStatusReport {
  taskId: string;
  status: TaskStatus;
}

export interface ExecutorOptions {
  runtime: ContainerRuntime;
  nodeId: string;
  /** Called with status changes (batched per turn); the caller ships them to the leader. */
  report: (reports: TaskStatusReport[]) => void;
  /**
   * Injected clock for Status.Timestamp. It also dates the first Docker event subscription
   * (events since then are replayed), so outside tests it must be the wall clock.
   */
  now: () => Date;
  logger: Logger;
  /** First pause before retrying when the engine does not answer; doubles up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * How long a running task with ingress-published ports keeps running after it is asked to
   * stop, so the routing mesh's proxies drop it first. Default 0 (the agent sets it).
   */
  drainMs?: number;
  /**
   * Where tasks' secrets and configs are written, a directory per task; each one is removed
   * once its task has ended. It belongs on a memory file system: the agent passes
   * defaultTaskFilesDir (task-files-dir.ts), /dev/shm/swarmts/<node>/task-files where /dev/shm
   * is a tmpfs. Without it, a task that uses a secret or config is rejected.
   */
  filesDir?: string;
}
