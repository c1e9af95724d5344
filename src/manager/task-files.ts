/**
 * The secret and config data a node needs for the tasks it is sent: only what those tasks
 * use, only for tasks that are to run (a task on its way out needs nothing new), secrets
 * unsealed here on the leader and carried over the session's encrypted stream. The data of a
 * secret or config never changes (only labels do), so a session sends each one once.
 */
import type { ClusterStore, Task } from '../state/index.js';
import { taskStateRank } from '../state/index.js';
import type { SecretSeal } from './secret-seal.js';

export interface TaskFile {
  /** `secret/<id>` or `config/<id>`. */
  key: string;
  data: Uint8Array;
}

/** The files `tasks` use, except those in `skip` (already sent on this session). */
export function filesForTasks(
  tasks: readonly Task[],
  store: ClusterStore,
  seal: SecretSeal,
  skip: ReadonlySet<string> = new Set(),
): TaskFile[] {
  const files = new Map<string, Uint8Array>();
  for (const task of tasks) {
    if (taskStateRank(task.DesiredState) > taskStateRank('running')) continue;
    const container = task.Spec.ContainerSpec;
    for (const ref of container.Secrets ?? []) {
      const key = `secret/${ref.SecretID}`;
      const secret = store.getSecret(ref.SecretID);
      if (!secret || files.has(key) || skip.has(key)) continue;
      try {
        files.set(key, seal.unseal(secret.ID, secret.Sealed));
      } catch {
        // Sealed under another key (e.g. a snapshot from another swarm): the node reports the
        // secret as unavailable and the task fails with that reason; nothing here may throw.
      }
    }
    for (const ref of container.Configs ?? []) {
      const key = `config/${ref.ConfigID}`;
      const config = store.getConfig(ref.ConfigID);
      if (config && !files.has(key) && !skip.has(key)) files.set(key, config.Data);
    }
  }
  return [...files].map(([key, data]) => ({ key, data }));
}
