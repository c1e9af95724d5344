/**
 * Commands over several objects, as docker runs them: each name is tried in turn, a failure
 * does not stop the others, and the command fails (exit 1) if any did.
 */
import type { ApiClient } from '../api/client.js';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import type { CliIo } from './io.js';

/** GET each ref in turn; what was found, and an error per ref that was not. */
export async function getEach<T>(
  client: ApiClient,
  refs: readonly string[],
  pathOf: (ref: string) => string | Promise<string>,
): Promise<{ found: T[]; errors: unknown[] }> {
  const found: T[] = [];
  const errors: unknown[] = [];
  for (const ref of refs) {
    try {
      found.push(await client.get<T>(await pathOf(ref)));
    } catch (error) {
      errors.push(error);
    }
  }
  return { found, errors };
}

/**
 * docker's `rm` over several names: each one removed is printed. `ignoreNotFound` is network
 * rm's --force; `query` goes with every request (node rm's force=true).
 */
export async function removeEach(
  client: ApiClient,
  io: CliIo,
  refs: readonly string[],
  pathOf: (ref: string) => string,
  options: { ignoreNotFound?: boolean; query?: Record<string, string> } = {},
): Promise<void> {
  const errors: unknown[] = [];
  for (const ref of refs) {
    try {
      await client.delete(pathOf(ref), options.query);
      io.stdout(`${ref}\n`);
    } catch (error) {
      if (options.ignoreNotFound && error instanceof SwarmtsError && error.code === 'not_found') {
        continue;
      }
      errors.push(error);
    }
  }
  failIfAny(io, errors);
}

/**
 * Failures of a command over several objects: one `Error:` line each, exit code 1. All but
 * the last are printed here; the last is thrown for runCli to print.
 */
export function failIfAny(io: CliIo, errors: readonly unknown[]): void {
  if (errors.length === 0) return;
  for (const error of errors.slice(0, -1)) io.stderr(`Error: ${oneLineMessage(error)}\n`);
  throw errors.at(-1);
}
