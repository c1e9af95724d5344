/**
 * What `secret`, `config` and `network` share: the create/ls/inspect/rm commands of an object
 * kept by name with data (secrets, configs), labels, reading data from a file or stdin, the
 * CREATED/UPDATED times and pretty blocks as docker prints them, and inspect and rm over
 * several names that go on past a failure.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, oneLineMessage } from '../../errors.js';
import { humanDuration } from '../../units.js';
import { type ApiCommandDeps, apiClient, collect } from '../api.js';
import { failIfAny, getEach, removeEach } from '../each.js';
import { formatInspect, formatRows, type OutputFormat, parseFormat } from '../format.js';
import type { CliIo } from '../io.js';
import { naturalCompare } from './node.js';
import { parseFilters } from './service.js';

export interface ObjectCommandDeps extends ApiCommandDeps {
  /** The wall clock in ms ("5 minutes ago"); default Date.now. */
  now?: () => number;
}

/** The filters docker's `secret ls` and `config ls` take. */
export const OBJECT_FILTERS = ['id', 'label', 'name'] as const;

const FORMAT_HELP = "'json' (one object per line), or a template such as '{{.Name}}'";
const INSPECT_FORMAT_HELP = "'json' (one line), or a template such as '{{.Spec.Name}}'";

/** An object kept by name with data, as the API shows it. */
export interface NamedObject {
  ID: string;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels?: Record<string, string> | null };
}

/** How one kind (secret, config) is named, listed and shown. */
export interface DataObjectKind<O extends NamedObject, R> {
  /** `secret` or `config`: the command and the API path `/<kind>s`. */
  kind: string;
  /** `Secret`, `Config`. */
  title: string;
  row: (object: O, now: number) => R;
  table: (rows: R[]) => string;
  pretty: (object: O) => string;
}

/** `<kind> create|ls|inspect|rm`, as docker's `docker secret` and `docker config`. */
export function dataObjectCommand<O extends NamedObject, R>(
  program: Command,
  deps: ObjectCommandDeps,
  kind: DataObjectKind<O, R>,
): void {
  const now = deps.now ?? Date.now;
  const name = kind.kind;
  const pathOf = (ref: string) => `/${name}s/${encodeURIComponent(ref)}`;
  const group = program.command(name).description(`Manage swarm ${name}s`).helpCommand(false);

  const create = group
    .command('create')
    .description(`Create a ${name} from a file or STDIN as content`)
    .argument(`<${name}>`, `${kind.title} name`)
    .argument('<file>', `File holding the ${name} data, or - to read it from STDIN`)
    .option('-l, --label <key=value>', `${kind.title} labels`, collect);
  create.action(async (objectName: string, file: string, flags: { label?: string[] }) => {
    const labels = parseKeyValues('--label', flags.label ?? []);
    const data = await readData(deps.io, file);
    const response = await apiClient(create, deps).post<{ ID: string }>(`/${name}s/create`, {
      Name: objectName,
      Labels: labels,
      Data: Buffer.from(data).toString('base64'),
    });
    deps.io.stdout(`${response.ID}\n`);
  });

  const ls = group
    .command('ls')
    .alias('list')
    .description(`List ${name}s`)
    .option('-f, --filter <key=value>', 'Filter output (id, label, name)', collect)
    .option('--format <format>', FORMAT_HELP)
    .option('-q, --quiet', 'Only display IDs');
  ls.action(async (flags: ListFlags) => {
    const format = parseFormat(flags.format);
    const filters = parseFilters(flags.filter ?? [], OBJECT_FILTERS);
    const objects = await apiClient(ls, deps).get<O[]>(`/${name}s`, filtersQuery(filters));
    objects.sort(bySpecName);
    if (flags.quiet) {
      for (const o of objects) deps.io.stdout(`${o.ID}\n`);
      return;
    }
    const at = now();
    deps.io.stdout(
      formatRows(
        format,
        objects.map((o) => kind.row(o, at)),
        kind.table,
      ),
    );
  });

  const inspect = group
    .command('inspect')
    .description(`Display detailed information on one or more ${name}s`)
    .argument(`<${name}...>`, `${kind.title} name, ID or ID prefix`)
    .option('-f, --format <format>', INSPECT_FORMAT_HELP)
    .option('--pretty', 'Print the information in a human friendly format');
  inspect.action(async (refs: string[], flags: InspectFlags) => {
    const format = inspectFormat(flags);
    const { found, errors } = await getEach<O>(apiClient(inspect, deps), refs, pathOf);
    deps.io.stdout(flags.pretty ? prettyBlocks(found, kind.pretty) : formatInspect(format, found));
    failIfAny(deps.io, errors);
  });

  const rm = group
    .command('rm')
    .alias('remove')
    .description(`Remove one or more ${name}s`)
    .argument(`<${name}...>`, `${kind.title} name, ID or ID prefix`);
  rm.action(async (refs: string[]) => {
    await removeEach(apiClient(rm, deps), deps.io, refs, pathOf);
  });
}

export interface ListFlags {
  filter?: string[];
  format?: string;
  quiet?: boolean;
}

export interface InspectFlags {
  format?: string;
  pretty?: boolean;
}

/** `--pretty` and `--format` exclude each other, as in docker. */
export function inspectFormat(flags: InspectFlags): OutputFormat {
  if (flags.pretty && flags.format !== undefined) {
    throw new InvalidArgumentError('--format is incompatible with human friendly format');
  }
  return parseFormat(flags.format);
}

/** The `filters` query parameter: absent when there is no filter. */
export function filtersQuery(
  filters: Record<string, string[]>,
): Record<string, string | undefined> {
  return { filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined };
}

/**
 * Repeated `key=value` flags (`--label`, `--opt`) → a map; `key` alone has an empty value,
 * as docker's. Checked before any request.
 */
export function parseKeyValues(flag: string, values: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const text of values) {
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    if (key.trim() === '') {
      throw new InvalidArgumentError(
        `invalid argument "${text}" for "${flag}" flag: expected key=value`,
      );
    }
    map[key] = eq < 0 ? '' : text.slice(eq + 1);
  }
  return map;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
};

/** The bytes of FILE, or of stdin for `-`; a file that cannot be read is one docker-like line. */
export async function readData(io: CliIo, file: string): Promise<Uint8Array> {
  if (file === '-') {
    if (!io.readStdin) throw new InvalidArgumentError('cannot read STDIN here: give a file');
    return io.readStdin();
  }
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = ERRNO_TEXT[code] ?? oneLineMessage(error);
    throw new InvalidArgumentError(
      code === 'EISDIR'
        ? `error reading content from "${file}": read ${file}: ${reason}`
        : `open ${file}: ${reason}`,
      { cause: error },
    );
  }
}

/** docker's Labels column: `k=v` pairs joined by commas (sorted here, for stable output). */
export function labelsText(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** `5 minutes ago`, as docker's CREATED and UPDATED columns. */
export function ago(timestamp: string, now: number): string {
  const at = Date.parse(timestamp);
  return `${humanDuration(Number.isNaN(at) ? 0 : Math.max(0, now - at))} ago`;
}

/** Go's time.Time.String() in UTC, as docker's pretty blocks print a time. */
export function goTime(timestamp: string): string {
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return timestamp;
  const iso = new Date(at).toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}

/** docker's sort of `secret ls`, `config ls`: by name, naturally. */
export function bySpecName(a: { Spec: { Name: string } }, b: { Spec: { Name: string } }): number {
  return naturalCompare(a.Spec.Name, b.Spec.Name);
}

/** A `Key:   value` line writer for pretty blocks, values aligned at one column. */
export function prettyField(lines: string[]): (key: string, value: string) => void {
  return (key, value) => {
    lines.push(`${`${key}:`.padEnd(19)}${value}`.trimEnd());
  };
}

/** `Labels:` and one ` - key=value` line each (nothing without labels). */
export function prettyLabels(
  lines: string[],
  labels: Record<string, string> | null | undefined,
): void {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return;
  lines.push('Labels:');
  for (const key of keys) {
    const value = labels?.[key] ?? '';
    lines.push(` - ${key}${value ? `=${value}` : ''}`);
  }
}

/** Pretty blocks of several objects, a blank line between them. */
export function prettyBlocks<T>(objects: readonly T[], pretty: (object: T) => string): string {
  return objects.map((o) => `${pretty(o)}\n`).join('\n');
}
