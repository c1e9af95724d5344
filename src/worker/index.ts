/** The worker's executor: runs the tasks assigned to this node on the local engine. */
export { containerName, containerSpecFor, DEFAULT_STOP_GRACE_MS } from './container-spec.js';
export { Executor } from './executor.js';
export { NODE_LABEL, SERVICE_LABEL, SLOT_LABEL, TASK_LABEL } from './labels.js';
export { defaultTaskFilesDir } from './task-files-dir.js';
export type { ExecutorOptions, TaskFiles, TaskStatusReport } from './types.js';
