/**
 * `swarmts secret create|ls|inspect|rm`, docker's `docker secret` commands with their output:
 * the full-ID table sorted by name with `5 minutes ago` times, docker's `inspect --pretty`
 * block, and `rm` that goes on past a failure. The data is read from a file or stdin and
 * sent base64-encoded, as docker sends it; the agent never gives it back.
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

/** A secret as GET /secrets shows it: never its data. */
export interface SecretObject {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string> | null;
    Driver?: { Name: string } | null;
  };
}

/** One row of `secret ls`: docker's fields for `--format` (`{{.Name}}`, `{{json .}}`). */
export interface SecretRow {
  CreatedAt: string;
  Driver: string;
  ID: string;
  Labels: string;
  Name: string;
  UpdatedAt: string;
}

export function secretCommand(program: Command, deps: ObjectCommandDeps): void {
  dataObjectCommand<SecretObject, SecretRow>(program, deps, {
    kind: 'secret',
    title: 'Secret',
    row: secretRow,
    table: secretTable,
    pretty: prettySecret,
  });
}

export function secretRow(secret: SecretObject, now: number): SecretRow {
  return {
    CreatedAt: ago(secret.CreatedAt, now),
    Driver: secret.Spec.Driver?.Name ?? '',
    ID: secret.ID,
    Labels: labelsText(secret.Spec.Labels),
    Name: secret.Spec.Name,
    UpdatedAt: ago(secret.UpdatedAt, now),
  };
}

export function secretTable(rows: SecretRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'DRIVER', 'CREATED', 'UPDATED'],
    rows.map((r) => [r.ID, r.Name, r.Driver, r.CreatedAt, r.UpdatedAt]),
  );
}

/** docker's `secret inspect --pretty` block. */
export function prettySecret(secret: SecretObject): string {
  const lines: string[] = [];
  const field = prettyField(lines);
  field('ID', secret.ID);
  field('Name', secret.Spec.Name);
  prettyLabels(lines, secret.Spec.Labels);
  field('Driver', secret.Spec.Driver?.Name ?? '');
  field('Created at', goTime(secret.CreatedAt));
  field('Updated at', goTime(secret.UpdatedAt));
  return lines.join('\n');
}
