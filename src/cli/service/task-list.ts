/**
 * The task table of `service ps` and `stack ps`: the tasks of some services, their nodes by
 * name (unless --no-resolve), docker's rows, or only the ids with -q.
 */
import type { ApiClient } from '../../api/client.js';
import type { Node, Service, Task } from '../../state/index.js';
import { formatRows, type OutputFormat } from '../format.js';
import type { CliIo } from '../io.js';
import { taskRows, taskTable } from './tables.js';

export interface TaskListOptions {
  filters: Record<string, string[]>;
  format: OutputFormat;
  quiet?: boolean;
  resolve: boolean;
  trunc: boolean;
  now: number;
}

export async function printTasks(
  client: ApiClient,
  io: CliIo,
  services: readonly Service[],
  options: TaskListOptions,
): Promise<void> {
  const tasks = await client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ ...options.filters, service: services.map((s) => s.ID) }),
  });
  const needNodes = !options.quiet && options.resolve;
  const nodes = needNodes ? await client.get<Node[]>('/nodes') : [];
  const rows = taskRows(tasks, {
    serviceNames: new Map(services.map((s) => [s.ID, s.Spec.Name])),
    nodes,
    now: options.now,
    trunc: options.trunc,
    indent: options.format.kind === 'default' && !options.quiet,
  });
  if (options.quiet) {
    for (const row of rows) io.stdout(`${row.ID}\n`);
  } else {
    io.stdout(formatRows(options.format, rows, taskTable));
  }
}
