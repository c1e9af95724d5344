/**
 * `swarmts stack deploy|ls|ps|services|rm`, docker's `docker stack` commands: a stack is the
 * services, networks, secrets and configs labelled com.docker.stack.namespace=<name>, made
 * from Compose files (src/compose) and managed through the control API.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ApiClient } from '../../api/client.js';
import { NAMESPACE_LABEL } from '../../compose/labels.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Service } from '../../state/index.js';
import { type ApiCommandDeps, apiClient, collect } from '../api.js';
import { formatRows, parseFormat, renderTable } from '../format.js';
import type { CliIo } from '../io.js';
import { byName, serviceRow, serviceTable, shortId } from '../service/tables.js';
import {
  parseTaskListFlags,
  printTasks,
  type TaskListFlags,
  withTaskListOptions,
} from '../service/task-list.js';
import { naturalCompare } from './node.js';
import { parseFilters } from './service.js';

export interface StackCommandDeps extends ApiCommandDeps {
  /** The wall clock in ms ("Running 5 seconds ago"); default Date.now. */
  now?: () => number;
  /** Where relative Compose file names start; default the process's directory. */
  cwd?: () => string;
}

const labelFilter = (namespace: string) =>
  JSON.stringify({ label: [`${NAMESPACE_LABEL}=${namespace}`] });

export function stackCommand(program: Command, deps: StackCommandDeps): void {
  const now = deps.now ?? Date.now;
  const cwd = deps.cwd ?? (() => process.cwd());
  const stack = program.command('stack').description('Manage swarm stacks').helpCommand(false);

  const deploy = stack
    .command('deploy')
    .alias('up')
    .description('Deploy a new stack or update an existing stack')
    .argument('<stack>', 'Stack name')
    .option(
      '-c, --compose-file <file>',
      'Path to a Compose file (repeat to merge several)',
      collect,
    )
    .option('--prune', 'Prune services that are no longer referenced')
    .option('-q, --quiet', 'Suppress progress output');
  deploy.action(
    async (
      namespace: string,
      flags: { composeFile?: string[]; prune?: boolean; quiet?: boolean },
    ) => {
      const names = flags.composeFile ?? [];
      if (names.length === 0)
        throw new InvalidArgumentError('specify a Compose file (with --compose-file)');
      const files = names.map((name) => {
        const path = resolve(cwd(), name);
        try {
          return { path: name, text: readFileSync(path, 'utf8') };
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw new InvalidArgumentError(
            `open ${name}: ${code === 'ENOENT' ? 'no such file or directory' : 'cannot be read'}`,
          );
        }
      });
      // The Compose loader (and its YAML parser) is loaded by the one command that reads files.
      const [{ loadStack }, { deployStack }] = await Promise.all([
        import('../../compose/index.js'),
        import('../stack/deploy.js'),
      ]);
      const plan = loadStack(files, {
        namespace,
        env: deps.io.env,
        workingDir: dirname(resolve(cwd(), names[0] ?? '.')),
        readFile: (path) => readFileSync(path, 'utf8'),
      });
      for (const warning of plan.warnings) deps.io.stderr(`${warning}\n`);
      await deployStack(apiClient(deploy, deps), plan, {
        prune: flags.prune ?? false,
        say: (line) => {
          if (!flags.quiet) deps.io.stdout(`${line}\n`);
        },
      });
    },
  );

  const ls = stack
    .command('ls')
    .alias('list')
    .description('List stacks')
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.Name}}'");
  ls.action(async (flags: { format?: string }) => {
    const format = parseFormat(flags.format);
    const services = await apiClient(ls, deps).get<Service[]>('/services');
    const counts = new Map<string, number>();
    for (const service of services) {
      const namespace = service.Spec.Labels[NAMESPACE_LABEL];
      if (namespace) counts.set(namespace, (counts.get(namespace) ?? 0) + 1);
    }
    const rows = [...counts]
      .sort(([a], [b]) => naturalCompare(a, b))
      .map(([Name, count]) => ({ Name, Services: String(count) }));
    deps.io.stdout(
      formatRows(format, rows, (list) =>
        renderTable(
          ['NAME', 'SERVICES'],
          list.map((r) => [r.Name, r.Services]),
        ),
      ),
    );
  });

  const services = stack
    .command('services')
    .description('List the services in the stack')
    .argument('<stack>', 'Stack name')
    .option('-f, --filter <key=value>', 'Filter output (id, label, mode, name)', collect)
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.Name}}'")
    .option('-q, --quiet', 'Only display IDs');
  services.action(
    async (namespace: string, flags: { filter?: string[]; format?: string; quiet?: boolean }) => {
      const format = parseFormat(flags.format);
      const filters = parseFilters(flags.filter ?? [], ['id', 'label', 'mode', 'name']);
      const client = apiClient(services, deps);
      const list = await stackServices(client, namespace, filters);
      if (list.length === 0) {
        deps.io.stderr(`Nothing found in stack: ${namespace}\n`);
        return;
      }
      list.sort(byName);
      if (flags.quiet) {
        for (const s of list) deps.io.stdout(`${shortId(s.ID)}\n`);
        return;
      }
      deps.io.stdout(formatRows(format, list.map(serviceRow), serviceTable));
    },
  );

  const ps = withTaskListOptions(
    stack
      .command('ps')
      .description('List the tasks in the stack')
      .argument('<stack>', 'Stack name'),
  );
  ps.action(async (namespace: string, flags: TaskListFlags) => {
    parseTaskListFlags(flags);
    const client = apiClient(ps, deps);
    const list = await stackServices(client, namespace, {});
    if (list.length === 0) {
      deps.io.stderr(`Nothing found in stack: ${namespace}\n`);
      return;
    }
    await printTasks(client, deps.io, list, flags, now());
  });

  const rm = stack
    .command('rm')
    .aliases(['remove', 'down'])
    .description('Remove one or more stacks')
    .argument('<stack...>', 'Stack names');
  rm.action(async (namespaces: string[]) => {
    const client = apiClient(rm, deps);
    let failed: unknown;
    for (const namespace of namespaces) {
      try {
        await removeStack(client, namespace, deps.io);
      } catch (error) {
        failed = error;
      }
    }
    if (failed) throw failed;
  });
}

async function stackServices(
  client: ApiClient,
  namespace: string,
  filters: Record<string, string[]>,
): Promise<Service[]> {
  const label = [...(filters.label ?? []), `${NAMESPACE_LABEL}=${namespace}`];
  return client.get<Service[]>('/services', {
    status: 'true',
    filters: JSON.stringify({ ...filters, label }),
  });
}

/** Services first (they hold the rest), then secrets, configs and networks, as docker does. */
async function removeStack(client: ApiClient, namespace: string, io: CliIo): Promise<void> {
  const filters = labelFilter(namespace);
  const services = await client.get<Service[]>('/services', { filters });
  const secrets = await client.get<Array<{ ID: string; Spec: { Name: string } }>>('/secrets', {
    filters,
  });
  const configs = await client.get<Array<{ ID: string; Spec: { Name: string } }>>('/configs', {
    filters,
  });
  const networks = await client.get<Array<{ Id: string; Name: string }>>('/networks', { filters });
  if (services.length + secrets.length + configs.length + networks.length === 0) {
    io.stderr(`Nothing found in stack: ${namespace}\n`);
    return;
  }
  for (const s of services.sort(byName)) {
    io.stdout(`Removing service ${s.Spec.Name}\n`);
    await client.delete(`/services/${s.ID}`);
  }
  for (const s of secrets) {
    io.stdout(`Removing secret ${s.Spec.Name}\n`);
    await client.delete(`/secrets/${s.ID}`);
  }
  for (const c of configs) {
    io.stdout(`Removing config ${c.Spec.Name}\n`);
    await client.delete(`/configs/${c.ID}`);
  }
  for (const n of networks) {
    io.stdout(`Removing network ${n.Name}\n`);
    await client.delete(`/networks/${n.Id}`);
  }
}
