/**
 * Request bodies and queries of the control API, checked with zod. A bad one is refused
 * with 400 and a message naming the field ("Spec.Availability: expected one of ...").
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

export const swarmInitBody = z.object({
  ListenAddr: z.string().optional(),
  AdvertiseAddr: z.string().optional(),
  ForceNewCluster: z.boolean().optional(),
});
export type SwarmInitBody = z.infer<typeof swarmInitBody>;

export const swarmJoinBody = z.object({
  ListenAddr: z.string().optional(),
  AdvertiseAddr: z.string().optional(),
  RemoteAddrs: z.array(z.string().min(1)).min(1),
  JoinToken: z.string().min(1),
});
export type SwarmJoinBody = z.infer<typeof swarmJoinBody>;

const labels = z
  .record(z.string().min(1).max(256), z.string().max(4096))
  .refine((value) => Object.keys(value).length <= 128, { message: 'at most 128 labels' });

export const nodeSpec = z.object({
  Name: z.string().optional(),
  Labels: labels.default({}),
  Role: z.enum(['worker', 'manager']),
  Availability: z.enum(['active', 'pause', 'drain']),
});

export const clusterSpec = z.object({
  Name: z.string().default('default'),
  Labels: labels.default({}),
  Raft: z
    .object({
      SnapshotInterval: z.number().int().positive().default(10_000),
      ElectionTick: z.number().int().positive().default(10),
      HeartbeatTick: z.number().int().positive().default(1),
    })
    .default({ SnapshotInterval: 10_000, ElectionTick: 10, HeartbeatTick: 1 }),
  Dispatcher: z
    .object({ HeartbeatPeriod: z.number().int().positive().default(500_000_000) })
    .default({ HeartbeatPeriod: 500_000_000 }),
});

/** Parses with `schema` or throws InvalidArgumentError naming the first bad fields. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, what = 'request body'): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || what}: ${issue.message}`)
    .join('; ');
  throw new InvalidArgumentError(`invalid ${what}: ${problems}`);
}

/** A required non-negative integer query parameter (Docker's ?version=N). */
export function versionParam(query: URLSearchParams): number {
  const text = query.get('version');
  if (text === null) throw new InvalidArgumentError('the version query parameter is required');
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`invalid version ${JSON.stringify(text)}: expected an integer`);
  }
  return value;
}

export function booleanParam(query: URLSearchParams, name: string): boolean {
  const text = query.get(name);
  if (text === null || text === '' || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new InvalidArgumentError(`invalid ${name} ${JSON.stringify(text)}: expected true or false`);
}

/** Docker's filters parameter: JSON {"key": ["v1", ...]} (or the old {"key": {"v1": true}}). */
export function filtersParam(
  query: URLSearchParams,
  allowed: readonly string[],
): Record<string, string[]> {
  const text = query.get('filters');
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('invalid filters: not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('invalid filters: expected an object');
  }
  const filters: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(`invalid filter '${key}' (allowed: ${allowed.join(', ')})`);
    }
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      filters[key] = value;
    } else if (typeof value === 'object' && value !== null) {
      filters[key] = Object.keys(value);
    } else {
      throw new InvalidArgumentError(`invalid filter '${key}': expected a list of strings`);
    }
  }
  return filters;
}
