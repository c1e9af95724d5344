/**
 * The task table of `service ps` and `stack ps`: the same flags, the tasks of some services,
 * their nodes by name (unless --no-resolve), docker's rows, or only the ids with -q.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../../api/client.js';
import type { Node, Service, Task } from '../../state/index.js';
import { type AgentInfo, collect, selfNodeId } from '../api.js';
import { parseFilters } from '../commands/service.js';
import { formatRows, parseFormat } from '../format.js';
import type { CliIo } from '../io.js';
import { taskRows, taskTable } from './tables.js';

export interface TaskListFlags {
  filter?: string[];
  format?: string;
  trunc: boolean;
  resolve: boolean;
  quiet?: boolean;
}

/** docker's `ps` flags, on `service ps` and `stack ps` alike. */
export function withTaskListOptions(command: Command): Command {
  return command
    .option('-f, --filter <key=value>', 'Filter output (id, name, node, desired-state)', collect)
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.Name}}'")
    .option('--no-trunc', 'Do not truncate output')
    .option('--no-resolve', 'Do not map IDs to names')
    .option('-q, --quiet', 'Only display task IDs');
}

/** Checks the flags before any request: a bad filter or format fails first. */
export function parseTaskListFlags(flags: TaskListFlags) {
  return {
    format: parseFormat(flags.format),
    filters: parseFilters(flags.filter ?? [], ['id', 'name', 'node', 'desired-state']),
  };
}

export async function printTasks(
  client: ApiClient,
  io: CliIo,
  services: readonly Service[],
  flags: TaskListFlags,
  now: number,
): Promise<void> {
  const options = { ...flags, ...parseTaskListFlags(flags) };
  const { filters } = options;
  if (filters.node?.includes('self')) {
    const self = selfNodeId(await client.get<AgentInfo>('/info'));
    filters.node = filters.node.map((n) => (n === 'self' ? self : n));
  }
  const tasks = await client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ ...options.filters, service: services.map((s) => s.ID) }),
  });
  const needNodes = !options.quiet && options.resolve;
  const nodes = needNodes ? await client.get<Node[]>('/nodes') : [];
  const rows = taskRows(tasks, {
    serviceNames: new Map(services.map((s) => [s.ID, s.Spec.Name])),
    nodes,
    now,
    trunc: options.trunc,
    indent: options.format.kind === 'default' && !options.quiet,
  });
  if (options.quiet) {
    for (const row of rows) io.stdout(`${row.ID}\n`);
  } else {
    io.stdout(formatRows(options.format, rows, taskTable));
  }
}
