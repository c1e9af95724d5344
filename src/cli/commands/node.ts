/**
 * `swarmts node ls|inspect|update|promote|demote|rm`, docker's `docker node` commands with
 * their output: the table with ` *` on the node the CLI talks to, capitalized states, nodes
 * sorted by hostname, and docker's messages.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../../api/client.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Node, NodeAvailability, NodeRole, NodeSpec } from '../../state/types.js';
import {
  type AgentInfo,
  type ApiCommandDeps,
  apiClient,
  capitalize,
  collect,
  oneOf,
  selfNodeId,
} from '../api.js';
import { failIfAny, getEach, removeEach } from '../each.js';
import { formatInspect, formatRows, parseFormat, renderTable } from '../format.js';
import type { CliIo } from '../io.js';

const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];
const ROLES: readonly NodeRole[] = ['worker', 'manager'];

/** One row of `node ls`: docker's fields for `--format` (`{{.Hostname}}`, `{{json .}}`). */
export interface NodeRow {
  Availability: string;
  EngineVersion: string;
  Hostname: string;
  ID: string;
  ManagerStatus: string;
  Self: boolean;
  Status: string;
}

export function nodeCommand(program: Command, deps: ApiCommandDeps): void {
  const node = program.command('node').description('Manage swarm nodes').helpCommand(false);

  node
    .command('ls')
    .alias('list')
    .description('List nodes in the swarm')
    .option(
      '-f, --filter <key=value>',
      'Filter output (id, name, role, label, membership)',
      collect,
    )
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.ID}}'")
    .option('-q, --quiet', 'Only display IDs')
    .action(
      async (flags: { filter?: string[]; format?: string; quiet?: boolean }, command: Command) => {
        const format = parseFormat(flags.format);
        const filters = parseFilters(flags.filter ?? []);
        const client = apiClient(command, deps);
        const nodes = await client.get<Node[]>('/nodes', {
          filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined,
        });
        nodes.sort(byHostname);
        if (flags.quiet) {
          for (const n of nodes) deps.io.stdout(`${n.ID}\n`);
          return;
        }
        const self = selfNodeId(await client.get<AgentInfo>('/info'));
        const rows = nodes.map((n) => nodeRow(n, self));
        deps.io.stdout(formatRows(format, rows, nodeTable));
      },
    );

  node
    .command('inspect')
    .description('Display detailed information on one or more nodes')
    .argument('<node...>', 'Node ID, ID prefix, hostname, or self')
    .option('-f, --format <format>', "'json' (one line), or a template such as '{{.Spec.Role}}'")
    .option('--pretty', 'Print the information in a human friendly format')
    .action(
      async (refs: string[], flags: { format?: string; pretty?: boolean }, command: Command) => {
        if (flags.pretty && flags.format !== undefined) {
          throw new InvalidArgumentError('--format is incompatible with human friendly format');
        }
        const format = parseFormat(flags.format);
        const client = apiClient(command, deps);
        const { found, errors } = await getEach<Node>(client, refs, async (ref) =>
          nodePath(await resolveRef(client, ref)),
        );
        if (flags.pretty) {
          deps.io.stdout(found.map((n) => `${prettyNode(n)}\n`).join('\n'));
        } else {
          deps.io.stdout(formatInspect(format, found));
        }
        failIfAny(deps.io, errors);
      },
    );

  node
    .command('update')
    .description('Update a node')
    .argument('<node>', 'Node ID, ID prefix, hostname, or self')
    .option('--availability <availability>', 'Availability of the node (active, pause, drain)')
    .option('--label-add <key=value>', 'Add or update a node label (key=value)', collect)
    .option('--label-rm <key>', 'Remove a node label if exists', collect)
    .option('--role <role>', 'Role of the node (worker, manager)')
    .action(async (ref: string, flags: UpdateFlags, command: Command) => {
      const change = parseUpdate(flags);
      const client = apiClient(command, deps);
      const current = await client.get<Node>(nodePath(await resolveRef(client, ref)));
      await updateSpec(client, current, applyUpdate(current.Spec, change));
      deps.io.stdout(`${ref}\n`);
    });

  node
    .command('promote')
    .description('Promote one or more nodes to manager in the swarm')
    .argument('<node...>', 'Node ID, ID prefix, or hostname')
    .action(async (refs: string[], _flags: unknown, command: Command) => {
      await changeRoles(apiClient(command, deps), deps.io, refs, 'manager');
    });

  node
    .command('demote')
    .description('Demote one or more nodes from manager in the swarm')
    .argument('<node...>', 'Node ID, ID prefix, or hostname')
    .action(async (refs: string[], _flags: unknown, command: Command) => {
      await changeRoles(apiClient(command, deps), deps.io, refs, 'worker');
    });

  node
    .command('rm')
    .alias('remove')
    .description('Remove one or more nodes from the swarm')
    .argument('<node...>', 'Node ID, ID prefix, or hostname')
    .option('-f, --force', 'Force-remove a node that is not down')
    .action(async (refs: string[], flags: { force?: boolean }, command: Command) => {
      await removeEach(apiClient(command, deps), deps.io, refs, nodePath, {
        query: flags.force ? { force: 'true' } : {},
      });
    });
}

// ---- ls ------------------------------------------------------------------------------

const FILTER_KEYS = ['id', 'label', 'node.label', 'membership', 'name', 'role'];

/** `--filter role=manager --filter role=worker` → {"role": ["manager", "worker"]}. */
export function parseFilters(flags: string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError('bad format of filter (expected name=value)');
    const key = flag.slice(0, eq).trim().toLowerCase();
    if (!FILTER_KEYS.includes(key)) {
      throw new InvalidArgumentError(
        `invalid filter '${key}' (allowed: ${FILTER_KEYS.join(', ')})`,
      );
    }
    filters[key] = [...(filters[key] ?? []), flag.slice(eq + 1)];
  }
  return filters;
}

export function nodeRow(node: Node, selfId: string): NodeRow {
  return {
    Availability: capitalize(node.Spec.Availability),
    EngineVersion: node.Description.Engine.EngineVersion,
    Hostname: node.Description.Hostname,
    ID: node.ID,
    ManagerStatus: managerStatus(node),
    Self: node.ID === selfId,
    Status: capitalize(node.Status.State),
  };
}

export function nodeTable(rows: NodeRow[]): string {
  return renderTable(
    ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'],
    rows.map((r) => [
      r.Self ? `${r.ID} *` : r.ID,
      r.Hostname,
      r.Status,
      r.Availability,
      r.ManagerStatus,
      r.EngineVersion,
    ]),
  );
}

/** Leader, Reachable, Unreachable, or empty for a worker: docker's MANAGER STATUS. */
function managerStatus(node: Node): string {
  if (!node.ManagerStatus) return '';
  if (node.ManagerStatus.Leader) return 'Leader';
  return capitalize(node.ManagerStatus.Reachability);
}

/** docker sorts `node ls` by hostname, naturally (node2 before node10). */
function byHostname(a: Node, b: Node): number {
  return (
    naturalCompare(a.Description.Hostname, b.Description.Hostname) ||
    (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)
  );
}

export function naturalCompare(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] ?? '';
    const q = y[i] ?? '';
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q)) {
      const diff = Number(p) - Number(q);
      if (diff !== 0) return diff;
      return p.length - q.length;
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

// ---- inspect ---------------------------------------------------------------------------

/** docker's `node inspect --pretty` block, aligned with spaces. */
export function prettyNode(node: Node): string {
  const lines: string[] = [];
  const field = (key: string, value: string, indent = '') =>
    lines.push(`${`${indent}${key}:`.padEnd(24)}${value}`);
  const labelLines = (labels: Record<string, string>) => {
    for (const key of Object.keys(labels).sort()) {
      const value = labels[key];
      lines.push(` - ${key}${value ? `=${value}` : ''}`);
    }
  };
  field('ID', node.ID);
  if (node.Spec.Name) field('Name', node.Spec.Name);
  if (Object.keys(node.Spec.Labels ?? {}).length > 0) {
    lines.push('Labels:');
    labelLines(node.Spec.Labels);
  }
  field('Hostname', node.Description.Hostname);
  field('Joined at', node.CreatedAt);
  lines.push('Status:');
  field('State', capitalize(node.Status.State), ' ');
  if (node.Status.Message) field('Message', node.Status.Message, ' ');
  field('Availability', capitalize(node.Spec.Availability), ' ');
  if (node.Status.Addr) field('Address', node.Status.Addr, ' ');
  if (node.ManagerStatus) {
    lines.push('Manager Status:');
    field('Address', node.ManagerStatus.Addr, ' ');
    field('Raft Status', capitalize(node.ManagerStatus.Reachability), ' ');
    field('Leader', node.ManagerStatus.Leader ? 'Yes' : 'No', ' ');
  }
  lines.push('Platform:');
  field('Operating System', node.Description.Platform.OS, ' ');
  field('Architecture', node.Description.Platform.Architecture, ' ');
  lines.push('Resources:');
  field('CPUs', String(node.Description.Resources.NanoCPUs / 1e9), ' ');
  field('Memory', bytesSize(node.Description.Resources.MemoryBytes), ' ');
  field('Engine Version', node.Description.Engine.EngineVersion);
  const engineLabels = node.Description.Engine.Labels ?? {};
  if (Object.keys(engineLabels).length > 0) {
    lines.push('Engine Labels:');
    labelLines(engineLabels);
  }
  return lines.join('\n');
}

/** docker's units.BytesSize: four significant digits, binary units ("1.952GiB"). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${units[unit]}`;
}

// ---- update, promote, demote -------------------------------------------------------------

interface UpdateFlags {
  availability?: string;
  labelAdd?: string[];
  labelRm?: string[];
  role?: string;
}

interface SpecChange {
  availability?: NodeAvailability;
  role?: NodeRole;
  labelAdd: Array<[string, string]>;
  labelRm: string[];
}

/** Checks every flag before any request is sent. */
function parseUpdate(flags: UpdateFlags): SpecChange {
  const labelAdd = (flags.labelAdd ?? []).map((text): [string, string] => {
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    if (key.trim() === '') {
      throw new InvalidArgumentError(
        `invalid argument "${text}" for "--label-add" flag: expected key=value`,
      );
    }
    return [key, eq < 0 ? '' : text.slice(eq + 1)];
  });
  const labelRm = flags.labelRm ?? [];
  if (labelRm.some((key) => key.trim() === '')) {
    throw new InvalidArgumentError('invalid argument "" for "--label-rm" flag: expected a key');
  }
  return {
    ...(flags.availability !== undefined
      ? { availability: oneOf('--availability', flags.availability, AVAILABILITIES) }
      : {}),
    ...(flags.role !== undefined ? { role: oneOf('--role', flags.role, ROLES) } : {}),
    labelAdd,
    labelRm,
  };
}

/** The node's whole spec with the change applied: added labels first, then removed ones. */
function applyUpdate(spec: NodeSpec, change: SpecChange): NodeSpec {
  const labels = { ...(spec.Labels ?? {}) };
  for (const [key, value] of change.labelAdd) labels[key] = value;
  for (const key of change.labelRm) {
    if (!(key in labels))
      throw new InvalidArgumentError(`key ${key} doesn't exist in node's labels`);
    delete labels[key];
  }
  return {
    ...spec,
    Labels: labels,
    ...(change.role ? { Role: change.role } : {}),
    ...(change.availability ? { Availability: change.availability } : {}),
  };
}

function updateSpec(client: ApiClient, node: Node, spec: NodeSpec): Promise<unknown> {
  return client.post(`${nodePath(node.ID)}/update`, spec, {
    version: String(node.Version.Index),
  });
}

/** promote/demote: one node after the other, stopping at the first failure, as docker does. */
async function changeRoles(
  client: ApiClient,
  io: CliIo,
  refs: string[],
  role: NodeRole,
): Promise<void> {
  for (const ref of refs) {
    const node = await client.get<Node>(nodePath(ref));
    if (node.Spec.Role === role) {
      io.stdout(`Node ${ref} is already a ${role}.\n`);
      continue;
    }
    await updateSpec(client, node, { ...node.Spec, Labels: node.Spec.Labels ?? {}, Role: role });
    io.stdout(
      role === 'manager'
        ? `Node ${ref} promoted to a manager in the swarm.\n`
        : `Manager ${ref} demoted in the swarm.\n`,
    );
  }
}

// ---- shared -----------------------------------------------------------------------------

function nodePath(ref: string): string {
  return `/nodes/${encodeURIComponent(ref)}`;
}

/** docker's `self`: the node the CLI talks to. */
async function resolveRef(client: ApiClient, ref: string): Promise<string> {
  if (ref !== 'self') return ref;
  const id = (await client.get<AgentInfo>('/info')).Swarm.NodeID;
  if (!id)
    throw new InvalidArgumentError('node ID not found in /info: this node is not in a swarm');
  return id;
}
