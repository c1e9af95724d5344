/**
 * Output formats shared by every command, as docker has them: a default human table or
 * key/value block, `--format json`, or a Go-style template such as `{{.Engine.Version}}`
 * (only field paths and `json`, which is what scripts use).
 */
import { InvalidArgumentError } from '../errors.js';

export type Row = Record<string, string>;

/** Columns aligned with three spaces between them, like docker's tables. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const TEMPLATE_ACTION = /\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g;

/** Renders `value` through a template; unknown fields are an error, as in docker. */
export function renderTemplate(template: string, value: unknown): string {
  const rendered = template.replace(
    TEMPLATE_ACTION,
    (_match, json: string | undefined, path: string) => {
      const field = lookup(value, path);
      if (field === undefined)
        throw new InvalidArgumentError(`template: no field "${path}" in ${template}`);
      if (json) return JSON.stringify(field);
      return typeof field === 'object' && field !== null ? JSON.stringify(field) : String(field);
    },
  );
  if (/\{\{/.test(rendered)) {
    throw new InvalidArgumentError(
      `template: unsupported action in ${template} (use {{.Field}} or {{json .Field}})`,
    );
  }
  return rendered.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

function lookup(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !(key in current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * What `--format` asked for: undefined (the command's default view), json, or a template.
 */
export type OutputFormat =
  | { kind: 'default' }
  | { kind: 'json' }
  | { kind: 'template'; template: string };

export function parseFormat(flag: string | undefined): OutputFormat {
  if (flag === undefined || flag === '' || flag === 'table' || flag === 'pretty')
    return { kind: 'default' };
  if (flag === 'json') return { kind: 'json' };
  if (flag.includes('{{')) return { kind: 'template', template: flag };
  throw new InvalidArgumentError(
    `invalid --format "${flag}": use json or a template such as '{{.ID}}'`,
  );
}

/**
 * The rows of a list command (`ls`, `ps`): one JSON object or rendered template per line, or
 * the command's table.
 */
export function formatRows<T>(
  format: OutputFormat,
  rows: readonly T[],
  table: (rows: T[]) => string,
): string {
  if (format.kind === 'json') return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  if (format.kind === 'template') {
    return rows.map((row) => `${renderTemplate(format.template, row)}\n`).join('');
  }
  return `${table([...rows])}\n`;
}

/** The objects of an inspect command: docker prints a JSON array indented by four spaces. */
export function formatInspect(format: OutputFormat, objects: readonly unknown[]): string {
  if (format.kind === 'json') return `${JSON.stringify(objects)}\n`;
  if (format.kind === 'template') {
    return objects.map((o) => `${renderTemplate(format.template, o)}\n`).join('');
  }
  return `${JSON.stringify(objects, null, 4)}\n`;
}
