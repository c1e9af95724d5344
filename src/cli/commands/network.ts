/**
 * `swarmts network create|ls|inspect|rm`, docker's `docker network` commands for swarm-scoped
 * overlay networks: the `NETWORK ID` table with IDs cut to 12 characters, sorted by name, the
 * Docker API's NetworkResource from inspect, and `rm` that goes on past a failure.
 */
import type { Command } from 'commander';
import { type ApiCommandDeps, apiClient, collect } from '../api.js';
import { failIfAny, getEach, removeEach } from '../each.js';
import { formatInspect, formatRows, parseFormat, renderTable } from '../format.js';
import { shortId } from '../service/tables.js';
import { naturalCompare } from './node.js';
import { filtersQuery, goTime, labelsText, parseKeyValues } from './object-commands.js';
import { parseFilters } from './service.js';

/** The parts of Docker's NetworkResource the CLI reads (inspect prints all of it). */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
}

/** One row of `network ls`: docker's fields for `--format`. */
export interface NetworkRow {
  CreatedAt: string;
  Driver: string;
  ID: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  Name: string;
  Scope: string;
}

const NETWORK_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type'] as const;

interface CreateFlags {
  driver: string;
  attachable?: boolean;
  internal?: boolean;
  label?: string[];
  opt?: string[];
}

export function networkCommand(program: Command, deps: ApiCommandDeps): void {
  const network = program.command('network').description('Manage networks').helpCommand(false);

  const create = network
    .command('create')
    .description('Create a network')
    .argument('<network>', 'Network name')
    .option('-d, --driver <driver>', 'Driver to manage the network', 'overlay')
    .option('--attachable', 'Enable manual container attachment')
    .option('--internal', 'Restrict external access to the network')
    .option('--label <key=value>', 'Set metadata on a network', collect)
    .option('-o, --opt <key=value>', 'Set driver specific options', collect);
  create.action(async (name: string, flags: CreateFlags) => {
    const body = {
      Name: name,
      Driver: flags.driver,
      Labels: parseKeyValues('--label', flags.label ?? []),
      Options: parseKeyValues('--opt', flags.opt ?? []),
      Attachable: flags.attachable === true,
      Internal: flags.internal === true,
    };
    const response = await apiClient(create, deps).post<{ Id: string; Warning?: string }>(
      '/networks/create',
      body,
    );
    if (response.Warning) deps.io.stderr(`${response.Warning}\n`);
    deps.io.stdout(`${response.Id}\n`);
  });

  const ls = network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option(
      '-f, --filter <key=value>',
      'Filter output (driver, id, label, name, scope, type)',
      collect,
    )
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.Name}}'")
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs');
  ls.action(
    async (flags: { filter?: string[]; format?: string; trunc: boolean; quiet?: boolean }) => {
      const format = parseFormat(flags.format);
      const filters = parseFilters(flags.filter ?? [], NETWORK_FILTERS);
      const networks = await apiClient(ls, deps).get<NetworkResource[]>(
        '/networks',
        filtersQuery(filters),
      );
      networks.sort((a, b) => naturalCompare(a.Name, b.Name));
      const rows = networks.map((n) => networkRow(n, flags.trunc));
      if (flags.quiet) {
        for (const row of rows) deps.io.stdout(`${row.ID}\n`);
        return;
      }
      deps.io.stdout(formatRows(format, rows, networkTable));
    },
  );

  const inspect = network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<network...>', 'Network name, ID or ID prefix')
    .option('-f, --format <format>', "'json' (one line), or a template such as '{{.Id}}'");
  inspect.action(async (refs: string[], flags: { format?: string }) => {
    const format = parseFormat(flags.format);
    const { found, errors } = await getEach<NetworkResource>(
      apiClient(inspect, deps),
      refs,
      networkPath,
    );
    deps.io.stdout(formatInspect(format, found));
    failIfAny(deps.io, errors);
  });

  const rm = network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<network...>', 'Network name, ID or ID prefix')
    .option('-f, --force', 'Do not error if the network does not exist');
  rm.action(async (refs: string[], flags: { force?: boolean }) => {
    await removeEach(apiClient(rm, deps), deps.io, refs, networkPath, {
      ignoreNotFound: flags.force === true,
    });
  });
}

export function networkRow(network: NetworkResource, trunc = true): NetworkRow {
  return {
    CreatedAt: goTime(network.Created),
    Driver: network.Driver,
    ID: trunc ? shortId(network.Id) : network.Id,
    IPv6: String(network.EnableIPv6 === true),
    Internal: String(network.Internal === true),
    Labels: labelsText(network.Labels),
    Name: network.Name,
    Scope: network.Scope,
  };
}

export function networkTable(rows: NetworkRow[]): string {
  return renderTable(
    ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
    rows.map((r) => [r.ID, r.Name, r.Driver, r.Scope]),
  );
}

function networkPath(ref: string): string {
  return `/networks/${encodeURIComponent(ref)}`;
}
