/**
 * `swarmts service create|update|scale|rollback|rm|ls|ps|inspect|logs`: docker's `docker
 * service` commands with their flags, tables and wording. Flag values are checked before any
 * request (service/flags-to-spec.ts); create, update, scale and rollback then wait for the
 * service to converge with docker's progress lines unless --detach (service/progress.ts).
 */
import type { Command } from 'commander';
import type { ApiClient } from '../../api/client.js';
import { InvalidArgumentError, oneLineMessage } from '../../errors.js';
import type { Service, ServiceSpec } from '../../state/service-types.js';
import { type ApiCommandDeps, apiClient, collect } from '../api.js';
import { failIfAny, getEach, removeEach } from '../each.js';
import { formatInspect, formatRows, parseFormat } from '../format.js';
import type { CliIo } from '../io.js';
import {
  applyOptions,
  parseServiceFlags,
  type ServiceFlags,
  specFromOptions,
  uintFlag,
  withMaxConcurrent,
  withReplicas,
} from '../service/flags-to-spec.js';
import { type WaitOptions, waitForService } from '../service/progress.js';
import { byName, prettyService, serviceRow, serviceTable, shortId } from '../service/tables.js';
import {
  parseTaskListFlags,
  printTasks,
  type TaskListFlags,
  withTaskListOptions,
} from '../service/task-list.js';

export interface ServiceCommandDeps extends ApiCommandDeps {
  /** The wall clock in ms ("Running 5 seconds ago"); default Date.now. */
  now?: () => number;
  /** The pause between progress polls; default a timer. Tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Redraw progress in place; default: stdout is a terminal. */
  tty?: boolean;
}

interface WaitFlags {
  detach?: boolean;
  quiet?: boolean;
}

type CreateFlags = ServiceFlags & WaitFlags;
type UpdateFlags = ServiceFlags & WaitFlags;

export function serviceCommand(program: Command, deps: ServiceCommandDeps): void {
  const now = deps.now ?? Date.now;
  const service = program
    .command('service')
    .description('Manage swarm services')
    .helpCommand(false)
    // `create IMAGE COMMAND ARG...` passes options after the image to the container.
    .enablePositionalOptions();

  const create = service
    .command('create')
    .description('Create a new service')
    .argument('<image>', 'Image to run')
    .argument('[command]', 'Command to run in the container')
    .argument('[arg...]', 'Arguments of the command')
    .passThroughOptions()
    .option('--name <name>', 'Service name')
    .option('--mode <mode>', 'Service mode (replicated, global, replicated-job, global-job)')
    .option('-e, --env <var>', 'Set environment variables (KEY=value)', collect)
    .option('-l, --label <key=value>', 'Service labels', collect)
    .option('--container-label <key=value>', 'Container labels', collect)
    .option('--constraint <expr>', 'Placement constraints (node.labels.zone==a)', collect)
    .option(
      '--placement-pref <pref>',
      'Add a placement preference (spread=node.labels.zone)',
      collect,
    )
    .option(
      '-p, --publish <port>',
      'Publish a port as a node port (8080:80, 8080:80/udp, or published=8080,target=80,mode=host)',
      collect,
    )
    .option(
      '--mount <mount>',
      'Attach a filesystem mount (type=bind,source=/a,target=/b,ro)',
      collect,
    );
  addCommonOptions(create);
  create.action(
    async (image: string, first: string | undefined, rest: string[], flags: CreateFlags) => {
      const options = parseServiceFlags(flags, deps.io.env);
      const spec = specFromOptions(image, first === undefined ? [] : [first, ...rest], options);
      const client = apiClient(create, deps);
      const response = await client.post<{ ID: string; Warnings?: string[] | null }>(
        '/services/create',
        spec,
      );
      printWarnings(deps.io, response.Warnings);
      deps.io.stdout(`${response.ID}\n`);
      if (!flags.detach) await wait(client, flags, { service: response.ID, created: true });
    },
  );

  const update = service
    .command('update')
    .description('Update a service')
    .argument('<service>', 'Service name, ID or ID prefix')
    .option('--image <image>', 'Service image tag')
    .option('--args <command>', 'Service command args')
    .option('--env-add <var>', 'Add or update an environment variable', collect)
    .option('--env-rm <key>', 'Remove an environment variable', collect)
    .option('--label-add <key=value>', 'Add or update a service label', collect)
    .option('--label-rm <key>', 'Remove a label by its key', collect)
    .option('--container-label-add <key=value>', 'Add or update a container label', collect)
    .option('--container-label-rm <key>', 'Remove a container label by its key', collect)
    .option('--constraint-add <expr>', 'Add or update a placement constraint', collect)
    .option('--constraint-rm <expr>', 'Remove a constraint', collect)
    .option('--placement-pref-add <pref>', 'Add a placement preference', collect)
    .option('--placement-pref-rm <pref>', 'Remove a placement preference', collect)
    .option('--publish-add <port>', 'Add or update a published port', collect)
    .option('--publish-rm <port>', 'Remove a published port by its target port', collect)
    .option('--mount-add <mount>', 'Add or update a mount on a service', collect)
    .option('--mount-rm <path>', 'Remove a mount by its target path', collect)
    .option('--force', 'Force update even if no changes require it')
    .option('--rollback', 'Rollback to previous specification');
  addCommonOptions(update);
  update.action(async (ref: string, flags: UpdateFlags) => {
    const options = parseServiceFlags(flags, deps.io.env);
    if (options.rollback) refuseWithRollback(flags);
    const client = apiClient(update, deps);
    const current = await client.get<Service>(servicePath(ref));
    let spec = applyOptions(current.Spec, options);
    if (options.replicas !== undefined) spec = withReplicas(spec, options.replicas);
    if (options.maxConcurrent !== undefined) spec = withMaxConcurrent(spec, options.maxConcurrent);
    if (options.maxReplicasPerNode !== undefined && !spec.Mode.Replicated) {
      throw new InvalidArgumentError('replicas-max-per-node can only be used with replicated mode');
    }
    await postUpdate(client, deps.io, current, spec, options.rollback);
    deps.io.stdout(`${ref}\n`);
    if (!flags.detach) {
      await wait(client, flags, {
        service: current.ID,
        baseline: current.UpdateStatus,
        rollback: options.rollback,
      });
    }
  });

  const scale = service
    .command('scale')
    .description('Scale one or multiple replicated services')
    .argument('<service=replicas...>', 'Service name or ID and its number of replicas')
    .option('-d, --detach', 'Exit immediately instead of waiting for the services to converge');
  scale.action(async (specs: string[], flags: WaitFlags) => {
    const targets = specs.map(parseScale);
    const client = apiClient(scale, deps);
    const errors: string[] = [];
    const scaled: Array<{ ref: string; service: Service }> = [];
    for (const { ref, replicas } of targets) {
      try {
        const current = await client.get<Service>(servicePath(ref));
        await postUpdate(client, deps.io, current, scaledSpec(current.Spec, replicas), false);
        deps.io.stdout(`${ref} scaled to ${replicas}\n`);
        scaled.push({ ref, service: current });
      } catch (error) {
        errors.push(`${ref}: ${oneLineMessage(error)}`);
      }
    }
    if (!flags.detach) {
      for (const { ref, service: current } of scaled) {
        try {
          await wait(client, {}, { service: current.ID, baseline: current.UpdateStatus });
        } catch (error) {
          errors.push(`${ref}: ${oneLineMessage(error)}`);
        }
      }
    }
    failIfAny(
      deps.io,
      errors.map((message) => new Error(message)),
    );
  });

  const rollback = service
    .command('rollback')
    .description("Revert changes to a service's configuration")
    .argument('<service>', 'Service name, ID or ID prefix')
    .option('-d, --detach', 'Exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'Suppress progress output');
  rollback.action(async (ref: string, flags: WaitFlags) => {
    const client = apiClient(rollback, deps);
    const current = await client.get<Service>(servicePath(ref));
    await postUpdate(client, deps.io, current, current.Spec, true);
    deps.io.stdout(`${ref}\n`);
    if (!flags.detach) {
      await wait(client, flags, {
        service: current.ID,
        baseline: current.UpdateStatus,
        rollback: true,
      });
    }
  });

  const rm = service
    .command('rm')
    .alias('remove')
    .description('Remove one or more services')
    .argument('<service...>', 'Service name, ID or ID prefix');
  rm.action(async (refs: string[]) => {
    await removeEach(apiClient(rm, deps), deps.io, refs, servicePath);
  });

  const ls = service
    .command('ls')
    .alias('list')
    .description('List services')
    .option('-f, --filter <key=value>', 'Filter output (id, label, mode, name)', collect)
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.Name}}'")
    .option('-q, --quiet', 'Only display IDs');
  ls.action(async (flags: { filter?: string[]; format?: string; quiet?: boolean }) => {
    const format = parseFormat(flags.format);
    const filters = parseFilters(flags.filter ?? [], ['id', 'label', 'mode', 'name']);
    const client = apiClient(ls, deps);
    const services = await client.get<Service[]>('/services', {
      status: 'true',
      filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined,
    });
    services.sort(byName);
    if (flags.quiet) {
      for (const s of services) deps.io.stdout(`${shortId(s.ID)}\n`);
      return;
    }
    const rows = services.map(serviceRow);
    deps.io.stdout(formatRows(format, rows, serviceTable));
  });

  const ps = withTaskListOptions(
    service
      .command('ps')
      .description('List the tasks of one or more services')
      .argument('<service...>', 'Service name, ID or ID prefix'),
  );
  ps.action(async (refs: string[], flags: TaskListFlags) => {
    parseTaskListFlags(flags);
    const client = apiClient(ps, deps);
    const { found, errors } = await getEach<Service>(client, refs, servicePath);
    if (found.length > 0) await printTasks(client, deps.io, found, flags, now());
    failIfAny(deps.io, errors);
  });

  const inspect = service
    .command('inspect')
    .description('Display detailed information on one or more services')
    .argument('<service...>', 'Service name, ID or ID prefix')
    .option('-f, --format <format>', "'json' (one line), or a template such as '{{.Spec.Name}}'")
    .option('--pretty', 'Print the information in a human friendly format');
  inspect.action(async (refs: string[], flags: { format?: string; pretty?: boolean }) => {
    if (flags.pretty && flags.format !== undefined) {
      throw new InvalidArgumentError('--format is incompatible with human friendly format');
    }
    const format = parseFormat(flags.format);
    const client = apiClient(inspect, deps);
    const { found, errors } = await getEach<Service>(client, refs, servicePath);
    if (flags.pretty) {
      const at = now();
      deps.io.stdout(found.map((s) => `${prettyService(s, at)}\n`).join('\n'));
    } else {
      deps.io.stdout(formatInspect(format, found));
    }
    failIfAny(deps.io, errors);
  });

  const logs = service
    .command('logs')
    .description('Fetch the logs of a service')
    .argument('<service>', 'Service name, ID or ID prefix')
    .option('-f, --follow', 'Follow log output')
    .option('--tail <n>', 'Number of lines to show from the end of the logs (or "all")', 'all')
    .option('-t, --timestamps', 'Show timestamps');
  logs.action(
    async (ref: string, flags: { follow?: boolean; tail: string; timestamps?: boolean }) => {
      const tail = flags.tail === 'all' ? 'all' : String(uintFlag('--tail', flags.tail));
      const client = apiClient(logs, deps);
      await client.stream(
        `${servicePath(ref)}/logs`,
        {
          follow: flags.follow ? '1' : undefined,
          tail,
          timestamps: flags.timestamps ? '1' : undefined,
          stdout: '1',
          stderr: '1',
        },
        (text) => deps.io.stdout(text),
      );
    },
  );

  /** Progress on stdout (nothing with --quiet) until the service converges. */
  function wait(client: ApiClient, flags: WaitFlags, options: WaitOptions): Promise<void> {
    return waitForService(
      {
        client,
        write: flags.quiet ? () => {} : (text) => deps.io.stdout(text),
        tty: deps.tty ?? process.stdout.isTTY === true,
        sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      },
      options,
    );
  }
}

/** The flags create and update share. */
function addCommonOptions(command: Command): void {
  command
    .option('--replicas <n>', 'Number of tasks (replicated) or completions (replicated-job)')
    .option('--max-concurrent <n>', 'Number of job tasks to run concurrently (replicated-job)')
    .option('--replicas-max-per-node <n>', 'Maximum number of tasks per node (0 = unlimited)')
    .option('--reserve-cpu <cpus>', 'Reserve CPUs (0.5)')
    .option('--reserve-memory <bytes>', 'Reserve memory (512M, 1g)')
    .option('--limit-cpu <cpus>', 'Limit CPUs')
    .option('--limit-memory <bytes>', 'Limit memory')
    .option(
      '--restart-condition <condition>',
      'Restart when condition is met (none, on-failure, any)',
    )
    .option('--restart-delay <duration>', 'Delay between restart attempts (ns|us|ms|s|m|h)')
    .option('--restart-max-attempts <n>', 'Maximum number of restarts before giving up')
    .option('--restart-window <duration>', 'Window used to evaluate the restart policy')
    .option('--update-parallelism <n>', 'Maximum number of tasks updated simultaneously (0 = all)')
    .option('--update-delay <duration>', 'Delay between updates (ns|us|ms|s|m|h)')
    .option('--update-order <order>', 'Update order (start-first, stop-first)')
    .option(
      '--update-failure-action <action>',
      'Action on update failure (pause, continue, rollback)',
    )
    .option('--update-monitor <duration>', 'Duration after each task update to monitor for failure')
    .option('--update-max-failure-ratio <ratio>', 'Failure rate to tolerate during an update')
    .option('--rollback-parallelism <n>', 'Maximum number of tasks rolled back simultaneously')
    .option('--rollback-delay <duration>', 'Delay between task rollbacks')
    .option('--rollback-order <order>', 'Rollback order (start-first, stop-first)')
    .option('--rollback-failure-action <action>', 'Action on rollback failure (pause, continue)')
    .option(
      '--rollback-monitor <duration>',
      'Duration after each task rollback to monitor for failure',
    )
    .option('--rollback-max-failure-ratio <ratio>', 'Failure rate to tolerate during a rollback')
    .option('--health-cmd <command>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run')
    .option('--health-retries <n>', 'Consecutive failures needed to report unhealthy')
    .option('--health-start-period <duration>', 'Start period before failures count')
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option('--stop-grace-period <duration>', 'Time to wait before force killing a container')
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('--hostname <hostname>', 'Container hostname')
    .option('--entrypoint <command>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-d, --detach', 'Exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'Suppress progress output');
}

function servicePath(ref: string): string {
  return `/services/${encodeURIComponent(ref)}`;
}

function postUpdate(
  client: ApiClient,
  io: CliIo,
  current: Service,
  spec: ServiceSpec,
  rollback: boolean,
): Promise<void> {
  return client
    .post<{ Warnings?: string[] | null } | undefined>(`${servicePath(current.ID)}/update`, spec, {
      version: String(current.Version.Index),
      ...(rollback ? { rollback: 'previous' } : {}),
    })
    .then((response) => printWarnings(io, response?.Warnings));
}

function printWarnings(io: CliIo, warnings: string[] | null | undefined): void {
  for (const warning of warnings ?? []) io.stderr(`${warning}\n`);
}

/** `update --rollback` takes no other change, as docker's. */
function refuseWithRollback(flags: UpdateFlags): void {
  const allowed = new Set(['rollback', 'detach', 'quiet', 'healthcheck']);
  const others = Object.entries(flags).filter(([key, value]) => {
    if (key === 'healthcheck') return value === false;
    return !allowed.has(key) && value !== undefined;
  });
  if (others.length > 0) {
    throw new InvalidArgumentError('other flags may not be combined with --rollback');
  }
}

/** `web=5` → { ref: 'web', replicas: 5 }, checked before any request. */
function parseScale(arg: string): { ref: string; replicas: number } {
  const eq = arg.indexOf('=');
  const ref = eq < 0 ? '' : arg.slice(0, eq);
  const value = eq < 0 ? '' : arg.slice(eq + 1);
  if (ref === '' || value === '') {
    throw new InvalidArgumentError(
      `invalid scale specifier '${arg}': expected SERVICE=REPLICAS (web=3)`,
    );
  }
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(
      `${ref}: invalid replicas value ${value}: expected a non-negative integer`,
    );
  }
  return { ref, replicas: Number(value) };
}

/** docker's scale: replicas of a replicated service, MaxConcurrent of a replicated job. */
function scaledSpec(spec: ServiceSpec, replicas: number): ServiceSpec {
  if (spec.Mode.Replicated) {
    return { ...spec, Mode: { Replicated: { ...spec.Mode.Replicated, Replicas: replicas } } };
  }
  if (spec.Mode.ReplicatedJob) {
    return {
      ...spec,
      Mode: { ReplicatedJob: { ...spec.Mode.ReplicatedJob, MaxConcurrent: replicas } },
    };
  }
  throw new InvalidArgumentError('scale can only be used with replicated or replicated-job mode');
}

/** `--filter name=web --filter name=api` → {"name": ["web", "api"]}. */
export function parseFilters(flags: string[], keys: readonly string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError('bad format of filter (expected name=value)');
    const key = flag.slice(0, eq).trim().toLowerCase();
    if (!keys.includes(key)) {
      throw new InvalidArgumentError(`invalid filter '${key}' (allowed: ${keys.join(', ')})`);
    }
    filters[key] = [...(filters[key] ?? []), flag.slice(eq + 1)];
  }
  return filters;
}
