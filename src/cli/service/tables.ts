/**
 * What `service ls`, `service ps` and `service inspect --pretty` print, as docker prints it:
 * short IDs, MODE and REPLICAS columns, `*:8080->80/tcp` ports, task names with ` \_ ` for
 * the older tasks of a slot, `Running 5 seconds ago`, quoted and truncated errors.
 */
import type {
  Mount,
  PortConfig,
  Service,
  ServiceSpec,
  Task,
  UpdateConfig,
} from '../../state/service-types.js';
import type { Node } from '../../state/types.js';
import { formatCpus, formatDuration, humanDuration } from '../../units.js';
import { capitalize } from '../api.js';
import { bytesSize, naturalCompare } from '../commands/node.js';
import { renderTable } from '../format.js';

/** docker's stringid.TruncateID. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** "replicated", "global", "replicated job", "global job". */
export function modeName(spec: ServiceSpec): string {
  if (spec.Mode.Global) return 'global';
  if (spec.Mode.ReplicatedJob) return 'replicated job';
  if (spec.Mode.GlobalJob) return 'global job';
  return 'replicated';
}

/**
 * The image without its digest when it has a tag, in its short form, as `service ls` shows
 * it: `docker.io/library/nginx:1.27@sha256:...` → `nginx:1.27`.
 */
export function displayImage(image: string): string {
  const at = image.indexOf('@');
  const named = at < 0 ? image : image.slice(0, at);
  const lastSlash = named.lastIndexOf('/');
  if (!named.slice(lastSlash + 1).includes(':')) return image;
  return named.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** REPLICAS: `2/3`, `1/1 (max 2 per node)`, jobs `1/2 (3/10 completed)`. */
export function replicasText(service: Service): string {
  const status = service.ServiceStatus;
  if (!status) return '';
  const mode = service.Spec.Mode;
  const counts = `${status.RunningTasks}/${status.DesiredTasks}`;
  if (mode.ReplicatedJob) {
    const total = mode.ReplicatedJob.TotalCompletions ?? mode.ReplicatedJob.MaxConcurrent ?? 1;
    return `${counts} (${status.CompletedTasks}/${total} completed)`;
  }
  if (mode.GlobalJob) {
    const total = status.CompletedTasks + status.DesiredTasks;
    return `${counts} (${status.CompletedTasks}/${total} completed)`;
  }
  const max = mode.Replicated ? service.Spec.TaskTemplate.Placement?.MaxReplicas : undefined;
  return max ? `${counts} (max ${max} per node)` : counts;
}

/**
 * PORTS of `service ls`: the ingress ports, sorted, consecutive ones merged into ranges
 * (`*:8080-8081->80-81/tcp`).
 */
export function ingressPortsText(ports: readonly PortConfig[] | undefined): string {
  const ingress = (ports ?? [])
    .filter((p) => (p.PublishMode ?? 'ingress') === 'ingress')
    .map((p) => ({
      protocol: p.Protocol ?? 'tcp',
      published: p.PublishedPort ?? 0,
      target: p.TargetPort,
    }))
    .sort((a, b) =>
      a.protocol === b.protocol ? a.published - b.published : a.protocol < b.protocol ? -1 : 1,
    );
  const ranges: Array<{ protocol: string; published: number; target: number; count: number }> = [];
  for (const port of ingress) {
    const last = ranges.at(-1);
    if (
      last &&
      last.protocol === port.protocol &&
      last.published + last.count === port.published &&
      last.target + last.count === port.target
    ) {
      last.count++;
    } else {
      ranges.push({ ...port, count: 1 });
    }
  }
  return ranges
    .map((r) =>
      r.count === 1
        ? `*:${r.published}->${r.target}/${r.protocol}`
        : `*:${r.published}-${r.published + r.count - 1}->${r.target}-${r.target + r.count - 1}/${r.protocol}`,
    )
    .join(', ');
}

/** One row of `service ls`: docker's fields for `--format` (`{{.Name}}`, `{{json .}}`). */
export interface ServiceRow {
  ID: string;
  Image: string;
  Mode: string;
  Name: string;
  Ports: string;
  Replicas: string;
}

export function serviceRow(service: Service): ServiceRow {
  return {
    ID: shortId(service.ID),
    Image: displayImage(service.Spec.TaskTemplate.ContainerSpec.Image),
    Mode: modeName(service.Spec),
    Name: service.Spec.Name,
    Ports: ingressPortsText(service.Endpoint?.Ports),
    Replicas: replicasText(service),
  };
}

/** docker sorts `service ls` by name, naturally. */
export function byName(a: Service, b: Service): number {
  return naturalCompare(a.Spec.Name, b.Spec.Name);
}

export function serviceTable(rows: ServiceRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
    rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports]),
  );
}

// ---- service ps ---------------------------------------------------------------------------

/** One row of `service ps`: docker's fields for `--format`. */
export interface TaskRow {
  CurrentState: string;
  DesiredState: string;
  Error: string;
  ID: string;
  Image: string;
  Name: string;
  Node: string;
  Ports: string;
}

/** docker's task name: `web.1`, or `web.NODEID` for a global service's task. */
export function taskName(task: Task, serviceName: string): string {
  return `${serviceName}.${task.Slot !== 0 ? task.Slot : task.NodeID}`;
}

const MAX_ERROR_LENGTH = 30;

export interface TaskRowOptions {
  /** Service names by ID (a task's ServiceAnnotations.Name is the fallback). */
  serviceNames: ReadonlyMap<string, string>;
  nodes: readonly Node[];
  now: number;
  trunc: boolean;
  /** Tables indent the older tasks of a slot (` \_ web.1`); json and templates do not. */
  indent: boolean;
}

/**
 * The rows of `service ps`, in docker's order: by task name (naturally), newest first within
 * a name; the older tasks of a name are indented in a table.
 */
export function taskRows(tasks: readonly Task[], options: TaskRowOptions): TaskRow[] {
  const hostnames = new Map(options.nodes.map((n) => [n.ID, n.Description.Hostname]));
  const named = tasks.map((task) => ({
    task,
    name: taskName(
      task,
      options.serviceNames.get(task.ServiceID) ?? task.ServiceAnnotations?.Name ?? task.ServiceID,
    ),
  }));
  named.sort(
    (a, b) =>
      naturalCompare(a.name, b.name) ||
      Date.parse(b.task.CreatedAt) - Date.parse(a.task.CreatedAt) ||
      (a.task.ID < b.task.ID ? 1 : a.task.ID > b.task.ID ? -1 : 0),
  );
  let previous = '';
  return named.map(({ task, name }) => {
    const shown = options.indent && name === previous ? ` \\_ ${name}` : name;
    previous = name;
    return {
      CurrentState: currentState(task, options.now),
      DesiredState: capitalize(task.DesiredState),
      Error: taskError(task.Status.Err ?? '', options.trunc),
      ID: options.trunc ? shortId(task.ID) : task.ID,
      Image: options.trunc
        ? displayImage(task.Spec.ContainerSpec.Image)
        : task.Spec.ContainerSpec.Image,
      Name: shown,
      Node: task.NodeID === '' ? '' : (hostnames.get(task.NodeID) ?? task.NodeID),
      Ports: taskPorts(task),
    };
  });
}

/** `Running 5 seconds ago`. */
export function currentState(task: Task, now: number): string {
  const at = Date.parse(task.Status.Timestamp);
  const age = Number.isNaN(at) ? 0 : Math.max(0, now - at);
  return `${capitalize(task.Status.State)} ${humanDuration(age)} ago`;
}

/** Quoted, and cut at 30 characters with `…` unless --no-trunc. */
export function taskError(err: string, trunc: boolean): string {
  if (err === '') return '';
  const text =
    trunc && err.length > MAX_ERROR_LENGTH ? `${err.slice(0, MAX_ERROR_LENGTH - 1)}…` : err;
  return `"${text}"`;
}

/** The ports a task publishes on its node (mode=host), as docker's `service ps` shows them. */
function taskPorts(task: Task): string {
  return (task.Status.PortStatus?.Ports ?? [])
    .map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort}/${p.Protocol ?? 'tcp'}`)
    .join(',');
}

export function taskTable(rows: TaskRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'],
    rows.map((r) => [
      r.ID,
      r.Name,
      r.Image,
      r.Node,
      r.DesiredState,
      r.CurrentState,
      r.Error,
      r.Ports,
    ]),
  );
}

// ---- service inspect --pretty -------------------------------------------------------------

/** Swarm's update and rollback defaults, which the orchestrator applies to absent fields. */
const UPDATE_DEFAULTS: Required<UpdateConfig> = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause',
  Monitor: 5_000_000_000,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};

/** docker's `service inspect --pretty` block, aligned with spaces. */
export function prettyService(service: Service, now: number): string {
  const lines: string[] = [];
  const field = (key: string, value: string, indent = '') =>
    lines.push(`${`${indent}${key}:`.padEnd(24)}${value}`);
  const spec = service.Spec;
  const container = spec.TaskTemplate.ContainerSpec;
  field('ID', service.ID);
  field('Name', spec.Name);
  labelBlock(lines, 'Labels', spec.Labels);
  const mode = spec.Mode;
  if (mode.Global) field('Service Mode', 'Global');
  else if (mode.GlobalJob) field('Service Mode', 'Global Job');
  else if (mode.ReplicatedJob) {
    field('Service Mode', 'Replicated Job');
    field('Max Concurrent', String(mode.ReplicatedJob.MaxConcurrent ?? 1), ' ');
    field(
      'Total Completions',
      String(mode.ReplicatedJob.TotalCompletions ?? mode.ReplicatedJob.MaxConcurrent ?? 1),
      ' ',
    );
  } else {
    field('Service Mode', 'Replicated');
    field('Replicas', String(mode.Replicated?.Replicas ?? 1), ' ');
  }
  const status = service.UpdateStatus;
  if (status) {
    lines.push('UpdateStatus:');
    field('State', status.State, ' ');
    if (status.StartedAt) field('Started', ago(status.StartedAt, now), ' ');
    if (status.CompletedAt && !status.State.endsWith('paused')) {
      field('Completed', ago(status.CompletedAt, now), ' ');
    }
    if (status.Message) field('Message', status.Message, ' ');
  }
  const placement = spec.TaskTemplate.Placement;
  lines.push('Placement:');
  if (placement?.Constraints?.length) {
    field('Constraints', `[${placement.Constraints.join(' ')}]`, ' ');
  }
  if (placement?.Preferences?.length) {
    lines.push(' Preferences:');
    for (const p of placement.Preferences) field('Spread', p.Spread.SpreadDescriptor, '  ');
  }
  if (placement?.MaxReplicas) field('Max Replicas Per Node', String(placement.MaxReplicas), ' ');
  if (!mode.ReplicatedJob && !mode.GlobalJob) {
    updateBlock(lines, field, 'UpdateConfig', 'Update order', spec.UpdateConfig);
    updateBlock(lines, field, 'RollbackConfig', 'Rollback order', spec.RollbackConfig);
  }
  const restart = spec.TaskTemplate.RestartPolicy;
  if (restart) {
    lines.push('RestartPolicy:');
    if (restart.Condition) field('Condition', restart.Condition, ' ');
    if (restart.Delay !== undefined) field('Delay', formatDuration(restart.Delay), ' ');
    if (restart.MaxAttempts !== undefined) field('Max Attempts', String(restart.MaxAttempts), ' ');
    if (restart.Window !== undefined) field('Window', formatDuration(restart.Window), ' ');
  }
  lines.push('ContainerSpec:');
  field('Image', container.Image, ' ');
  if (container.Command?.length) field('Command', container.Command.join(' '), ' ');
  if (container.Args?.length) field('Args', container.Args.join(' '), ' ');
  if (container.Env?.length) field('Env', container.Env.join(' '), ' ');
  if (container.Dir) field('Dir', container.Dir, ' ');
  if (container.User) field('User', container.User, ' ');
  if (container.Hostname) field('Hostname', container.Hostname, ' ');
  if (container.StopGracePeriod !== undefined) {
    field('StopGracePeriod', formatDuration(container.StopGracePeriod), ' ');
  }
  const health = container.Healthcheck;
  if (health?.Test?.length) {
    field('Healthcheck', health.Test[0] === 'NONE' ? 'none' : healthTest(health.Test), ' ');
    if (health.Interval !== undefined) field('Interval', formatDuration(health.Interval), '  ');
    if (health.Timeout !== undefined) field('Timeout', formatDuration(health.Timeout), '  ');
    if (health.Retries !== undefined) field('Retries', String(health.Retries), '  ');
    if (health.StartPeriod !== undefined) {
      field('Start Period', formatDuration(health.StartPeriod), '  ');
    }
  }
  labelBlock(lines, 'Container Labels', container.Labels);
  mountBlock(lines, field, container.Mounts);
  const resources = spec.TaskTemplate.Resources;
  lines.push('Resources:');
  for (const [title, amounts] of [
    ['Reservations', resources?.Reservations],
    ['Limits', resources?.Limits],
  ] as const) {
    if (!amounts || (amounts.NanoCPUs === undefined && amounts.MemoryBytes === undefined)) continue;
    lines.push(` ${title}:`);
    if (amounts.NanoCPUs !== undefined) field('CPU', formatCpus(amounts.NanoCPUs), '  ');
    if (amounts.MemoryBytes !== undefined) field('Memory', bytesSize(amounts.MemoryBytes), '  ');
  }
  field('Endpoint Mode', spec.EndpointSpec?.Mode ?? 'vip');
  const ports = service.Endpoint?.Ports?.length ? service.Endpoint.Ports : spec.EndpointSpec?.Ports;
  if (ports?.length) {
    lines.push('Ports:');
    for (const port of ports) {
      lines.push(` PublishedPort = ${port.PublishedPort ?? 0}`);
      lines.push(`  Protocol = ${port.Protocol ?? 'tcp'}`);
      lines.push(`  TargetPort = ${port.TargetPort}`);
      lines.push(`  PublishMode = ${port.PublishMode ?? 'ingress'}`);
    }
  }
  return lines.join('\n');
}

function ago(timestamp: string, now: number): string {
  const at = Date.parse(timestamp);
  return `${humanDuration(Number.isNaN(at) ? 0 : Math.max(0, now - at))} ago`;
}

function healthTest(test: string[]): string {
  const [kind, ...rest] = test;
  return kind === 'CMD-SHELL' ? rest.join(' ') : kind === 'CMD' ? rest.join(' ') : test.join(' ');
}

function labelBlock(lines: string[], title: string, labels: Record<string, string> | undefined) {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return;
  lines.push(`${title}:`);
  for (const key of keys) {
    const value = labels?.[key] ?? '';
    lines.push(` ${key}${value ? `=${value}` : ''}`);
  }
}

function updateBlock(
  lines: string[],
  field: (key: string, value: string, indent?: string) => void,
  title: string,
  orderTitle: string,
  config: UpdateConfig | undefined,
): void {
  const c = { ...UPDATE_DEFAULTS, ...stripUndefined(config) };
  lines.push(`${title}:`);
  field('Parallelism', String(c.Parallelism), ' ');
  if (c.Delay > 0) field('Delay', formatDuration(c.Delay), ' ');
  field('On failure', c.FailureAction, ' ');
  field('Monitoring Period', formatDuration(c.Monitor), ' ');
  field('Max failure ratio', String(c.MaxFailureRatio), ' ');
  field(orderTitle, c.Order, ' ');
}

function mountBlock(
  lines: string[],
  field: (key: string, value: string, indent?: string) => void,
  mounts: readonly Mount[] | undefined,
): void {
  if (!mounts?.length) return;
  lines.push('Mounts:');
  for (const mount of mounts) {
    field('Target', mount.Target, ' ');
    if (mount.Source) field('Source', mount.Source, '  ');
    field('ReadOnly', String(mount.ReadOnly === true), '  ');
    field('Type', mount.Type, '  ');
  }
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
