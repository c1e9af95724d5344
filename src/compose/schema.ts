/**
 * The Compose subset Swarm honours, as zod schemas that validate a merged project and
 * normalise it: short and long syntaxes become one shape, durations nanoseconds, sizes bytes,
 * CPUs NanoCPUs, file modes numbers. Keys of the Compose spec that swarmts does not honour
 * are removed first, with docker's warning ("Ignoring unsupported options: ..."); keys that
 * are in no Compose spec are errors, as are wrong types, each naming its path and line.
 */
import { z } from 'zod';
import type { $ZodIssue } from 'zod/v4/core';
import { ComposeError, type SourcePos } from './errors.js';
import { type Path, pathText, type Tree } from './load.js';
import { parseBytes, parseCpus, parseDuration, splitWords } from './units.js';
import { stripUnsupported } from './unsupported.js';

// ---------------------------------------------------------------------------------------------
// Scalars. Interpolation yields strings (`replicas: ${N}`), so numbers and booleans may come as
// strings, as Compose allows.

const NUMERIC = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/;
const asNumber = (value: unknown): unknown =>
  typeof value === 'string' && NUMERIC.test(value) ? Number(value) : value;
const asBoolean = (value: unknown): unknown =>
  value === 'true' || value === 'True'
    ? true
    : value === 'false' || value === 'False'
      ? false
      : value;

const count = z.preprocess(asNumber, z.number().int().nonnegative());
const ratio = z.preprocess(asNumber, z.number().min(0).max(1));
const portNumber = z.preprocess(asNumber, z.number().int().min(1).max(65535));
const flag = z.preprocess(asBoolean, z.boolean());
const text = z.union([z.string(), z.number()]).transform(String);
const stringList = z.array(z.string());
const stringOrList = z
  .union([z.string(), stringList])
  .transform((value) => (typeof value === 'string' ? [value] : value));

/** A scalar made into a number by `parse`, else the issue `expected`. */
function unit(parse: (value: string | number) => number | undefined, expected: string) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${expected}` });
      return z.NEVER;
    }
    return parsed;
  });
}
const duration = unit(parseDuration, 'a duration such as "10s", "1m30s" or "500ms"');
const bytes = unit(parseBytes, 'a size such as "512M", "1g" or a number of bytes');
const cpus = unit(parseCpus, 'a number of CPUs such as 0.5 or "2"');
/** File modes are octal: `0440` in YAML is already a number; "0440" or "440" as a string. */
const fileMode = unit((value) => {
  const mode =
    typeof value === 'number'
      ? value
      : /^[0-7]{1,4}$/.test(value)
        ? Number.parseInt(value, 8)
        : NaN;
  return Number.isInteger(mode) && mode >= 0 && mode <= 0o7777 ? mode : undefined;
}, 'an octal file mode such as 0440');

/** A command as a list, or as one string split into words like a shell would. */
const command = z.union([z.string(), stringList]).transform((value, ctx) => {
  if (Array.isArray(value)) return value;
  try {
    return splitWords(value);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `cannot be split into words: ${(error as Error).message}`,
    });
    return z.NEVER;
  }
});

const scalarOrNull = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const listOrDict = z.union([stringList, z.record(z.string(), scalarOrNull)]);

/** `[A=1, B]` or `{A: 1, B: null}` → a map; `null` is "no value" (a bare `B`). */
function toMap(value: z.output<typeof listOrDict>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const eq = item.indexOf('=');
      if (eq < 0) out[item] = null;
      else out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else {
    for (const [key, item] of Object.entries(value)) out[key] = item === null ? null : String(item);
  }
  return out;
}
/** Environment: a `null` value is taken from the environment at conversion. */
const environment = listOrDict.transform(toMap);
const labels = listOrDict.transform((value) => {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(toMap(value))) out[key] = item ?? '';
  return out;
});

// ---------------------------------------------------------------------------------------------
// Ports

export interface PortEntry {
  target: number;
  published?: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  mode: 'ingress' | 'host';
  name?: string;
  /** Written but not honoured: Swarm publishes on every address of every node. */
  hostIp?: string;
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

/** `[[ip:]published:]target[/protocol]`, where published and target may be ranges `a-b`. */
export function parsePortSpec(spec: string): PortEntry[] | string {
  const slash = spec.lastIndexOf('/');
  const protocol = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    return `has an unknown protocol "${protocol}" (tcp, udp or sctp)`;
  }
  let rest = slash < 0 ? spec : spec.slice(0, slash);
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) return 'is not a port mapping';
    hostIp = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (parts.length === 3 && hostIp === undefined) hostIp = parts.shift();
  if (parts.length > 2 || parts.length === 0) return 'is not a port mapping';
  const target = range(parts[parts.length - 1] ?? '');
  const published = parts.length === 2 && parts[0] !== '' ? range(parts[0] as string) : undefined;
  if (!target || published === null) return 'is not a port mapping such as "8080:80" or "80/udp"';
  const size = target[1] - target[0];
  if (published && published[1] - published[0] !== size) {
    return 'must map ranges of the same length';
  }
  const entries: PortEntry[] = [];
  for (let i = 0; i <= size; i++) {
    entries.push({
      target: target[0] + i,
      ...(published ? { published: published[0] + i } : {}),
      protocol: protocol as PortEntry['protocol'],
      mode: 'ingress',
      ...(hostIp ? { hostIp } : {}),
    });
  }
  return entries;
}

/** `80` or `8000-8010` → [first, last]; null if malformed. */
function range(text: string): [number, number] | null {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!match) return null;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  return first >= 1 && last <= 65535 && first <= last ? [first, last] : null;
}

const portLong = z
  .strictObject({
    target: portNumber,
    published: portNumber.optional(),
    protocol: z.enum(PROTOCOLS).optional(),
    mode: z.enum(['ingress', 'host']).optional(),
    name: z.string().optional(),
    host_ip: z.string().optional(),
  })
  .transform((port): PortEntry[] => [
    {
      target: port.target,
      ...(port.published !== undefined ? { published: port.published } : {}),
      protocol: port.protocol ?? 'tcp',
      mode: port.mode ?? 'ingress',
      ...(port.name ? { name: port.name } : {}),
      ...(port.host_ip ? { hostIp: port.host_ip } : {}),
    },
  ]);

const port = z.union([z.string(), z.number(), portLong]).transform((value, ctx): PortEntry[] => {
  if (Array.isArray(value)) return value;
  const parsed = parsePortSpec(String(value));
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

// ---------------------------------------------------------------------------------------------
// Volumes

export interface VolumeEntry {
  type: 'bind' | 'volume' | 'tmpfs';
  /** As written: a host path (bind), a volume's key in the file (volume), or absent. */
  source?: string;
  target: string;
  readOnly: boolean;
}

const VOLUME_MODES = new Set(
  'ro rw z Z nocopy cached delegated consistent shared slave private rshared rslave rprivate'.split(
    ' ',
  ),
);

/** `target`, `source:target` or `source:target:mode[,mode]`. */
export function parseVolumeSpec(spec: string): VolumeEntry | string {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((part) => part === ''))
    return 'is not a volume such as "data:/var/lib/data"';
  if (parts.length === 1) return { type: 'volume', target: spec, readOnly: false };
  const [source, target, modes = ''] = parts as [string, string, string?];
  const flags = modes === '' ? [] : modes.split(',');
  const unknown = flags.find((mode) => !VOLUME_MODES.has(mode));
  if (unknown !== undefined) return `has an unknown mode "${unknown}"`;
  const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
  return { type: bind ? 'bind' : 'volume', source, target, readOnly: flags.includes('ro') };
}

const volumeLong = z
  .strictObject({
    type: z.enum(['bind', 'volume', 'tmpfs']),
    source: z.string().min(1).optional(),
    target: z.string().min(1),
    read_only: flag.optional(),
  })
  .transform(
    (volume): VolumeEntry => ({
      type: volume.type,
      ...(volume.source !== undefined ? { source: volume.source } : {}),
      target: volume.target,
      readOnly: volume.read_only ?? false,
    }),
  );

const volume = z.union([z.string(), volumeLong]).transform((value, ctx): VolumeEntry => {
  const entry = typeof value === 'string' ? parseVolumeSpec(value) : value;
  if (typeof entry === 'string') {
    ctx.addIssue({ code: 'custom', message: entry });
    return z.NEVER;
  }
  if (!entry.target.startsWith('/')) {
    ctx.addIssue({ code: 'custom', message: `target "${entry.target}" must be an absolute path` });
  }
  if (entry.type === 'bind' && !entry.source) {
    ctx.addIssue({ code: 'custom', message: 'a bind mount needs a source' });
  }
  if (entry.type === 'tmpfs' && entry.source) {
    ctx.addIssue({ code: 'custom', message: 'a tmpfs mount takes no source' });
  }
  return entry;
});

/** The service-level `tmpfs: [/run, /tmp:size=64m]` (options are not honoured). */
const tmpfs = stringOrList.transform((paths): VolumeEntry[] =>
  paths.map((path) => ({ type: 'tmpfs', target: path.split(':')[0] ?? path, readOnly: false })),
);

// ---------------------------------------------------------------------------------------------
// Secrets, configs, networks, env files of a service

const fileRef = z
  .union([
    z.string(),
    z.strictObject({
      source: z.string().min(1),
      target: z.string().min(1).optional(),
      uid: text.optional(),
      gid: text.optional(),
      mode: fileMode.optional(),
    }),
  ])
  .transform((value) => (typeof value === 'string' ? { source: value } : value));

const serviceNetworks = z
  .union([
    stringList,
    z.record(z.string(), z.strictObject({ aliases: stringList.optional() }).nullable()),
  ])
  .transform((value) => {
    const out: Record<string, { aliases: string[] }> = {};
    if (Array.isArray(value)) for (const name of value) out[name] = { aliases: [] };
    else
      for (const [name, net] of Object.entries(value)) out[name] = { aliases: net?.aliases ?? [] };
    return out;
  });

const envFile = z
  .union([
    z.string(),
    z.array(
      z.union([z.string(), z.strictObject({ path: z.string().min(1), required: flag.optional() })]),
    ),
  ])
  .transform((value) =>
    (Array.isArray(value) ? value : [value]).map((item) =>
      typeof item === 'string'
        ? { path: item, required: true }
        : { path: item.path, required: item.required ?? true },
    ),
  );

const healthcheck = z.strictObject({
  test: z.union([z.string(), stringList]).optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  start_period: duration.optional(),
  retries: count.optional(),
  disable: flag.optional(),
});

// ---------------------------------------------------------------------------------------------
// deploy

const updateConfig = z.strictObject({
  parallelism: count.optional(),
  delay: duration.optional(),
  failure_action: z.enum(['continue', 'rollback', 'pause']).optional(),
  monitor: duration.optional(),
  max_failure_ratio: ratio.optional(),
  order: z.enum(['stop-first', 'start-first']).optional(),
});

const amounts = z.strictObject({ cpus: cpus.optional(), memory: bytes.optional() });

const deploy = z.strictObject({
  mode: z.enum(['replicated', 'global', 'replicated-job', 'global-job']).optional(),
  replicas: count.optional(),
  labels: labels.optional(),
  endpoint_mode: z.enum(['vip', 'dnsrr']).optional(),
  update_config: updateConfig.optional(),
  rollback_config: updateConfig.optional(),
  resources: z
    .strictObject({ limits: amounts.optional(), reservations: amounts.optional() })
    .optional(),
  restart_policy: z
    .strictObject({
      condition: z.enum(['none', 'on-failure', 'any']).optional(),
      delay: duration.optional(),
      max_attempts: count.optional(),
      window: duration.optional(),
    })
    .optional(),
  placement: z
    .strictObject({
      constraints: stringList.optional(),
      preferences: z.array(z.strictObject({ spread: z.string().min(1) })).optional(),
      max_replicas_per_node: count.optional(),
    })
    .optional(),
});

const service = z.strictObject({
  image: z.string().trim().min(1),
  command: command.optional(),
  entrypoint: command.optional(),
  environment: environment.optional(),
  env_file: envFile.optional(),
  labels: labels.optional(),
  hostname: z.string().optional(),
  user: text.optional(),
  working_dir: z.string().optional(),
  stop_grace_period: duration.optional(),
  stop_signal: z.string().optional(),
  healthcheck: healthcheck.optional(),
  volumes: z.array(volume).optional(),
  tmpfs: tmpfs.optional(),
  ports: z
    .array(port)
    .transform((lists) => lists.flat())
    .optional(),
  secrets: z.array(fileRef).optional(),
  configs: z.array(fileRef).optional(),
  networks: serviceNetworks.optional(),
  deploy: deploy.nullable().optional(),
  /** Used for the restart policy when `deploy.restart_policy` is absent, as docker does. */
  restart: z
    .string()
    .regex(
      /^(?:no|always|unless-stopped|on-failure(?::\d+)?)$/,
      'must be no, always, unless-stopped or on-failure[:N]',
    )
    .optional(),
});

// ---------------------------------------------------------------------------------------------
// Top level

/** `external: true`, or the legacy `external: {name: x}`. */
const external = z.union([flag, z.strictObject({ name: z.string().min(1) })]).optional();

/** The common part of networks, volumes, secrets and configs: external and name. */
function resolveExternal(def: { external?: boolean | { name: string }; name?: string }) {
  const legacy = typeof def.external === 'object' ? def.external.name : undefined;
  const name = def.name ?? legacy;
  return {
    external: def.external !== undefined && def.external !== false,
    ...(name ? { name } : {}),
  };
}

const networkDef = z
  .strictObject({
    name: z.string().min(1).optional(),
    external,
    driver: z.string().min(1).optional(),
    driver_opts: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    labels: labels.optional(),
    attachable: flag.optional(),
    internal: flag.optional(),
  })
  .superRefine((def, ctx) => {
    if (!def.external) return;
    for (const key of ['driver', 'driver_opts', 'attachable', 'internal'] as const) {
      if (def[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'cannot be set on an external network',
        });
      }
    }
  })
  .transform((def) => ({
    ...resolveExternal(def),
    ...(def.driver ? { driver: def.driver } : {}),
    options: Object.fromEntries(
      Object.entries(def.driver_opts ?? {}).map(([key, value]) => [key, String(value)]),
    ),
    labels: def.labels ?? {},
    attachable: def.attachable ?? false,
    internal: def.internal ?? false,
  }));

/** Named volumes are created by the engine when a task starts: only their name matters here. */
const volumeDef = z
  .strictObject({ name: z.string().min(1).optional(), external })
  .transform(resolveExternal);

/**
 * Secrets and configs come from a file or already exist (external). The Compose spec's
 * `environment:` and `content:` sources are refused: the stack plan carries file paths only.
 */
function fileObjectDef(kind: 'secret' | 'config') {
  return z
    .strictObject({
      name: z.string().min(1).optional(),
      file: z.string().min(1).optional(),
      external,
      labels: labels.optional(),
      environment: z.unknown().optional(),
      content: z.unknown().optional(),
    })
    .superRefine((def, ctx) => {
      for (const key of ['environment', 'content'] as const) {
        if (def[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `is not supported for a ${kind}: use file: or external: true`,
          });
          return;
        }
      }
      const isExternal = def.external !== undefined && def.external !== false;
      if (isExternal && def.file !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['file'],
          message: `cannot be set on an external ${kind}`,
        });
      } else if (!isExternal && def.file === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must have file: or external: true' });
      }
    })
    .transform((def) => ({
      ...resolveExternal(def),
      ...(def.file !== undefined ? { file: def.file } : {}),
      labels: def.labels ?? {},
    }));
}

const projectSchema = z.strictObject({
  version: z.unknown().optional(),
  name: z.unknown().optional(),
  services: z.record(z.string(), service).nullable().optional(),
  networks: z.record(z.string(), networkDef.nullable()).nullable().optional(),
  volumes: z.record(z.string(), volumeDef.nullable()).nullable().optional(),
  secrets: z.record(z.string(), fileObjectDef('secret')).nullable().optional(),
  configs: z.record(z.string(), fileObjectDef('config')).nullable().optional(),
});

export type ComposeModel = z.output<typeof projectSchema>;
export type ComposeService = z.output<typeof service>;
export type NetworkDef = z.output<typeof networkDef>;

export interface ComposeProject {
  model: ComposeModel;
  /** Where a value of the merged files was written (the nearest written ancestor if absent). */
  locate(path: Path): SourcePos;
}

/** Validates and normalises a merged project; the first problem is thrown as a ComposeError. */
export function validateProject(
  raw: Tree,
  locate: (path: Path) => SourcePos,
  warnings: string[],
): ComposeProject {
  stripUnsupported(raw, locate, warnings);
  const result = projectSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const [first] = result.error.issues;
    const problem = first ? describeIssue(first, []) : { path: [], message: 'is not valid' };
    const where = problem.path.length ? `${pathText(problem.path)} ` : '';
    throw new ComposeError(`${where}${problem.message}`, locate(problem.path));
  }
  return { model: result.data, locate };
}

// ---------------------------------------------------------------------------------------------
// zod issues → one sentence

const KINDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  null: 'empty',
};

/** A branch of a union that failed only because the value has another type altogether. */
function wrongKind(issues: readonly $ZodIssue[]): boolean {
  const [issue] = issues;
  return (
    issues.length === 1 &&
    issue !== undefined &&
    issue.path.length === 0 &&
    issue.code === 'invalid_type'
  );
}

function describeIssue(issue: $ZodIssue, base: Path): { path: Path; message: string } {
  const path = [...base, ...(issue.path as Path)];
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return { path, message: 'is required' };
      return { path, message: `must be ${KINDS[issue.expected] ?? issue.expected}` };
    case 'invalid_union': {
      // The branch the value was meant for (right type, wrong content) says what is wrong.
      const meant = issue.errors.find((branch) => !wrongKind(branch));
      if (meant?.[0]) return describeIssue(meant[0], path);
      const kinds = issue.errors.flatMap((branch) =>
        branch[0]?.code === 'invalid_type' ? [KINDS[branch[0].expected] ?? branch[0].expected] : [],
      );
      return { path, message: `must be ${[...new Set(kinds)].join(' or ')}` };
    }
    case 'unrecognized_keys':
      return { path: [...path, issue.keys[0] ?? ''], message: 'is not a known option' };
    case 'invalid_value':
      return { path, message: `must be one of: ${issue.values.map(String).join(', ')}` };
    case 'too_small':
      return {
        path,
        message:
          issue.origin === 'string' ? 'must not be empty' : `must be at least ${issue.minimum}`,
      };
    case 'too_big':
      return { path, message: `must be at most ${issue.maximum}` };
    default:
      return { path, message: issue.message };
  }
}
