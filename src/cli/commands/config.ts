/**
 * `swarmts config create|ls|inspect|rm`, docker's `docker config` commands: as `secret`, but a
 * config's data comes back (base64 in `Spec.Data`, as the Docker API has it), and
 * `inspect --pretty` prints it decoded, as docker does.
 */
import type { Command } from 'commander';
import { apiClient, collect } from '../api.js';
import { formatInspect, formatRows, parseFormat, renderTable } from '../format.js';
import {
  ago,
  bySpecName,
  failIfAny,
  filtersQuery,
  getEach,
  goTime,
  type InspectFlags,
  inspectFormat,
  type ListFlags,
  labelsText,
  OBJECT_FILTERS,
  type ObjectCommandDeps,
  parseKeyValues,
  prettyBlocks,
  prettyField,
  prettyLabels,
  readData,
  removeEach,
} from './secret.js';
import { parseFilters } from './service.js';

/** A config as GET /configs shows it: the data base64 in the spec. */
export interface ConfigObject {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string> | null;
    Data?: string | null;
  };
}

/** One row of `config ls`: docker's fields for `--format`. */
export interface ConfigRow {
  CreatedAt: string;
  ID: string;
  Labels: string;
  Name: string;
  UpdatedAt: string;
}

export function configCommand(program: Command, deps: ObjectCommandDeps): void {
  const now = deps.now ?? Date.now;
  const config = program.command('config').description('Manage swarm configs').helpCommand(false);

  const create = config
    .command('create')
    .description('Create a config from a file or STDIN')
    .argument('<config>', 'Config name')
    .argument('<file>', 'File holding the config data, or - to read it from STDIN')
    .option('-l, --label <key=value>', 'Config labels', collect);
  create.action(async (name: string, file: string, flags: { label?: string[] }) => {
    const labels = parseKeyValues('--label', flags.label ?? []);
    const data = await readData(deps.io, file);
    const response = await apiClient(create, deps).post<{ ID: string }>('/configs/create', {
      Name: name,
      Labels: labels,
      Data: Buffer.from(data).toString('base64'),
    });
    deps.io.stdout(`${response.ID}\n`);
  });

  const ls = config
    .command('ls')
    .alias('list')
    .description('List configs')
    .option('-f, --filter <key=value>', 'Filter output (id, label, name)', collect)
    .option('--format <format>', "'json' (one object per line), or a template such as '{{.Name}}'")
    .option('-q, --quiet', 'Only display IDs');
  ls.action(async (flags: ListFlags) => {
    const format = parseFormat(flags.format);
    const filters = parseFilters(flags.filter ?? [], OBJECT_FILTERS);
    const configs = await apiClient(ls, deps).get<ConfigObject[]>(
      '/configs',
      filtersQuery(filters),
    );
    configs.sort(bySpecName);
    if (flags.quiet) {
      for (const c of configs) deps.io.stdout(`${c.ID}\n`);
      return;
    }
    const at = now();
    deps.io.stdout(
      formatRows(
        format,
        configs.map((c) => configRow(c, at)),
        configTable,
      ),
    );
  });

  const inspect = config
    .command('inspect')
    .description('Display detailed information on one or more configs')
    .argument('<config...>', 'Config name, ID or ID prefix')
    .option('-f, --format <format>', "'json' (one line), or a template such as '{{.Spec.Name}}'")
    .option('--pretty', 'Print the information in a human friendly format');
  inspect.action(async (refs: string[], flags: InspectFlags) => {
    const format = inspectFormat(flags);
    const { found, errors } = await getEach<ConfigObject>(
      apiClient(inspect, deps),
      refs,
      configPath,
    );
    deps.io.stdout(flags.pretty ? prettyBlocks(found, prettyConfig) : formatInspect(format, found));
    failIfAny(deps.io, errors);
  });

  const rm = config
    .command('rm')
    .alias('remove')
    .description('Remove one or more configs')
    .argument('<config...>', 'Config name, ID or ID prefix');
  rm.action(async (refs: string[]) => {
    await removeEach(apiClient(rm, deps), deps.io, refs, configPath);
  });
}

export function configRow(config: ConfigObject, now: number): ConfigRow {
  return {
    CreatedAt: ago(config.CreatedAt, now),
    ID: config.ID,
    Labels: labelsText(config.Spec.Labels),
    Name: config.Spec.Name,
    UpdatedAt: ago(config.UpdatedAt, now),
  };
}

export function configTable(rows: ConfigRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'CREATED', 'UPDATED'],
    rows.map((r) => [r.ID, r.Name, r.CreatedAt, r.UpdatedAt]),
  );
}

/** docker's `config inspect --pretty` block: the data decoded, after `Data:`. */
export function prettyConfig(config: ConfigObject): string {
  const lines: string[] = [];
  const field = prettyField(lines);
  field('ID', config.ID);
  field('Name', config.Spec.Name);
  prettyLabels(lines, config.Spec.Labels);
  field('Created at', goTime(config.CreatedAt));
  field('Updated at', goTime(config.UpdatedAt));
  lines.push('Data:');
  lines.push(Buffer.from(config.Spec.Data ?? '', 'base64').toString('utf8'));
  return lines.join('\n');
}

function configPath(ref: string): string {
  return `/configs/${encodeURIComponent(ref)}`;
}
