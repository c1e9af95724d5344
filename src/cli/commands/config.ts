/**
 * `swarmts config create|ls|inspect|rm`, docker's `docker config` commands: as `secret`, but a
 * config's data comes back (base64 in `Spec.Data`, as the Docker API has it), and
 * `inspect --pretty` prints it decoded, as docker does.
 */
import type { Command } from 'commander';
import { renderTable } from '../format.js';
import {
  ago,
  dataObjectCommand,
  goTime,
  labelsText,
  type ObjectCommandDeps,
  prettyField,
  prettyLabels,
} from './object-commands.js';

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
  dataObjectCommand<ConfigObject, ConfigRow>(program, deps, {
    kind: 'config',
    title: 'Config',
    row: configRow,
    table: configTable,
    pretty: prettyConfig,
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
