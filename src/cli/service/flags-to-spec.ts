/**
 * `service create` and `service update` flags → ServiceSpec, with docker's flag syntax:
 * Go durations, memory sizes, decimal CPUs, `--publish` short and long forms, `--mount`
 * CSV, `--placement-pref spread=...`. Pure: `parseServiceFlags` checks every value (each
 * error names its flag) before anything is sent; `specFromOptions` builds a new spec and
 * `applyOptions` changes a service's whole spec for an update.
 */
import { InvalidArgumentError } from '../../errors.js';
import type {
  FailureAction,
  HealthConfig,
  Mount,
  PlacementPreference,
  PortConfig,
  PortProtocol,
  PublishMode,
  ResourceAmounts,
  RestartCondition,
  RestartPolicy,
  ServiceMode,
  ServiceSpec,
  TaskSpec,
  UpdateConfig,
  UpdateOrder,
} from '../../state/service-types.js';
import { parseBytes, parseCpus, parseDuration, shellWords } from '../../units.js';

export type ModeName = 'replicated' | 'global' | 'replicated-job' | 'global-job';
const MODES: readonly ModeName[] = ['replicated', 'global', 'replicated-job', 'global-job'];
const RESTART_CONDITIONS: readonly RestartCondition[] = ['none', 'on-failure', 'any'];
const UPDATE_FAILURE_ACTIONS: readonly FailureAction[] = ['pause', 'continue', 'rollback'];
const ROLLBACK_FAILURE_ACTIONS: readonly FailureAction[] = ['pause', 'continue'];
const ORDERS: readonly UpdateOrder[] = ['stop-first', 'start-first'];
const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];
const PUBLISH_MODES: readonly PublishMode[] = ['ingress', 'host'];
const MOUNT_TYPES: readonly Mount['Type'][] = ['bind', 'volume', 'tmpfs'];

/** The flag values as commander hands them over: strings, repeatable flags as lists. */
export interface ServiceFlags {
  name?: string;
  mode?: string;
  replicas?: string;
  maxConcurrent?: string;
  image?: string;
  args?: string;
  entrypoint?: string;
  env?: string[];
  envAdd?: string[];
  envRm?: string[];
  label?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabel?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraint?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPref?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  replicasMaxPerNode?: string;
  publish?: string[];
  publishAdd?: string[];
  publishRm?: string[];
  mount?: string[];
  mountAdd?: string[];
  mountRm?: string[];
  reserveCpu?: string;
  reserveMemory?: string;
  limitCpu?: string;
  limitMemory?: string;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  updateParallelism?: string;
  updateDelay?: string;
  updateOrder?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  rollbackParallelism?: string;
  rollbackDelay?: string;
  rollbackOrder?: string;
  rollbackFailureAction?: string;
  rollbackMonitor?: string;
  rollbackMaxFailureRatio?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  /** false: --no-healthcheck (commander's negated flag). */
  healthcheck?: boolean;
  stopGracePeriod?: string;
  user?: string;
  workdir?: string;
  hostname?: string;
  force?: boolean;
  rollback?: boolean;
}

/** Every flag checked and converted; absent fields leave the spec as it is. */
export interface ServiceOptions {
  name?: string;
  mode?: ModeName;
  replicas?: number;
  maxConcurrent?: number;
  image?: string;
  args?: string[];
  entrypoint?: string[];
  envAdd: string[];
  envRm: string[];
  labelAdd: Array<[string, string]>;
  labelRm: string[];
  containerLabelAdd: Array<[string, string]>;
  containerLabelRm: string[];
  constraintAdd: string[];
  constraintRm: string[];
  placementPrefAdd: PlacementPreference[];
  placementPrefRm: PlacementPreference[];
  maxReplicasPerNode?: number;
  publishAdd: PortConfig[];
  publishRm: PortConfig[];
  mountAdd: Mount[];
  mountRm: string[];
  reservations: ResourceAmounts;
  limits: ResourceAmounts;
  restart: RestartPolicy;
  update: UpdateConfig;
  rollbackConfig: UpdateConfig;
  health: HealthConfig;
  noHealthcheck: boolean;
  stopGracePeriod?: number;
  user?: string;
  workdir?: string;
  hostname?: string;
  force: boolean;
  rollback: boolean;
}

/** `invalid argument "x" for "--flag" flag: reason`, docker's wording. */
export function badFlag(flag: string, value: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid argument "${value}" for "${flag}" flag: ${reason}`);
}

/** Runs a parser, turning its failure into an error that names the flag. */
function checked<T>(flag: string, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw badFlag(flag, value, error instanceof Error ? error.message : String(error));
  }
}

export function oneOfFlag<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const match = allowed.find((a) => a === value.toLowerCase());
  if (match === undefined) throw badFlag(flag, value, `must be one of ${allowed.join(', ')}`);
  return match;
}

export function uintFlag(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw badFlag(flag, value, 'expected a non-negative integer');
  }
  return Number(value);
}

function ratioFlag(flag: string, value: string): number {
  const ratio = Number(value);
  if (value.trim() === '' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw badFlag(flag, value, 'expected a number between 0 and 1');
  }
  return ratio;
}

function durationFlag(flag: string, value: string): number {
  const ns = checked(flag, value, parseDuration);
  if (ns < 0) throw badFlag(flag, value, 'duration cannot be negative');
  return ns;
}

/** `KEY=value` or `KEY` (the value then comes from the CLI's environment, as docker does). */
export function parseEnv(text: string, env: Record<string, string | undefined>): string {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (key.trim() === '' || /\s/.test(key)) throw new Error(`invalid environment variable: ${text}`);
  if (eq >= 0) return text;
  const value = env[key];
  return value === undefined ? key : `${key}=${value}`;
}

/** `key=value` or `key` (empty value). */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (key.trim() === '') throw new Error('expected key=value with a non-empty key');
  return [key, eq < 0 ? '' : text.slice(eq + 1)];
}

/** `spread=node.labels.zone`. */
export function parsePlacementPref(text: string): PlacementPreference {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) {
    throw new Error('placement preference must be of the format "<strategy>=<arg>"');
  }
  const strategy = text.slice(0, eq).toLowerCase();
  if (strategy !== 'spread') {
    throw new Error(`unsupported placement preference ${strategy} (only spread is supported)`);
  }
  return { Spread: { SpreadDescriptor: text.slice(eq + 1) } };
}

function portNumber(text: string, what: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new Error(`invalid ${what} port ${JSON.stringify(text)}: must be 1-65535`);
  }
  return port;
}

function portRange(text: string, what: string): number[] {
  const dash = text.indexOf('-');
  if (dash < 0) return [portNumber(text, what)];
  const first = portNumber(text.slice(0, dash), what);
  const last = portNumber(text.slice(dash + 1), what);
  if (last < first) throw new Error(`invalid ${what} port range ${text}`);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * `--publish`: short `8080:80`, `8080:80/udp`, `80` (target only), `8080-8081:80-81`, or
 * long `published=8080,target=80,protocol=udp,mode=host`.
 */
export function parsePublish(text: string): PortConfig[] {
  if (text.includes('=')) return [parseLongPublish(text)];
  const slash = text.lastIndexOf('/');
  const protocol =
    slash < 0 ? 'tcp' : oneOfValue('protocol', text.slice(slash + 1), PROTOCOLS, text);
  const spec = slash < 0 ? text : text.slice(0, slash);
  const parts = spec.split(':');
  if (parts.length > 2) throw new Error('hostip is not supported');
  const [first = '', second] = parts;
  if (second === undefined) {
    return portRange(first, 'target').map((target) => ({
      Protocol: protocol,
      TargetPort: target,
      PublishMode: 'ingress',
    }));
  }
  const published = portRange(first, 'published');
  const targets = portRange(second, 'target');
  if (published.length !== targets.length) {
    throw new Error(`invalid ranges specified for published and target ports: ${text}`);
  }
  return targets.map((target, i) => ({
    Protocol: protocol,
    TargetPort: target,
    PublishedPort: published[i] ?? 0,
    PublishMode: 'ingress',
  }));
}

function parseLongPublish(text: string): PortConfig {
  let target: number | undefined;
  let published: number | undefined;
  let protocol: PortProtocol = 'tcp';
  let mode: PublishMode = 'ingress';
  let proxyProtocol = false;
  for (const field of text.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new Error(`invalid field ${JSON.stringify(field)}: must be a key=value pair`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (key === 'target') target = portNumber(value, 'target');
    else if (key === 'published') published = portNumber(value, 'published');
    else if (key === 'protocol') protocol = oneOfValue('protocol', value, PROTOCOLS, text);
    else if (key === 'mode') mode = oneOfValue('mode', value, PUBLISH_MODES, text);
    else if (key === 'proxy-protocol') {
      // swarmts: the mesh sends a PROXY protocol v2 header, so backends see the client.
      if (value !== 'v2')
        throw new Error(`invalid proxy-protocol ${JSON.stringify(value)}: only v2`);
      proxyProtocol = true;
    } else throw new Error(`invalid field key ${key}`);
  }
  if (target === undefined) throw new Error('missing mandatory field "target"');
  if (proxyProtocol && (mode !== 'ingress' || protocol !== 'tcp')) {
    throw new Error('proxy-protocol needs a tcp port in ingress mode');
  }
  return {
    Protocol: protocol,
    TargetPort: target,
    ...(published !== undefined ? { PublishedPort: published } : {}),
    PublishMode: mode,
    ...(proxyProtocol ? { ProxyProtocol: 'v2' as const } : {}),
  };
}

function oneOfValue<T extends string>(
  what: string,
  value: string,
  allowed: readonly T[],
  text: string,
): T {
  const match = allowed.find((a) => a === value.toLowerCase());
  if (match === undefined) {
    throw new Error(`invalid ${what} ${JSON.stringify(value)} in ${text} (${allowed.join('|')})`);
  }
  return match;
}

function parseBool(value: string): boolean {
  const lower = value.toLowerCase();
  if (['1', 'true', 't'].includes(lower)) return true;
  if (['0', 'false', 'f'].includes(lower)) return false;
  throw new Error(`invalid boolean ${JSON.stringify(value)}`);
}

/**
 * `--mount type=bind|volume|tmpfs,source=...,target=...,readonly`; also src=, dst= or
 * destination=, ro, readonly=true|false. The type defaults to volume, as docker's does.
 */
export function parseMount(text: string): Mount {
  let type: Mount['Type'] = 'volume';
  let source: string | undefined;
  let target: string | undefined;
  let readOnly: boolean | undefined;
  for (const field of text.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        readOnly = true;
        continue;
      }
      throw new Error(`invalid field '${field}' must be a key=value pair`);
    }
    const value = field.slice(eq + 1);
    if (key === 'type') type = oneOfValue('mount type', value, MOUNT_TYPES, text);
    else if (key === 'source' || key === 'src') source = value;
    else if (key === 'target' || key === 'dst' || key === 'destination') target = value;
    else if (key === 'readonly' || key === 'ro') readOnly = parseBool(value);
    else throw new Error(`unexpected key '${key}' in '${text}'`);
  }
  if (!target) throw new Error('target is required');
  if (type === 'bind' && !source) throw new Error('source is required for a bind mount');
  if (type === 'tmpfs' && source) throw new Error('a tmpfs mount takes no source');
  return {
    Type: type,
    ...(source ? { Source: source } : {}),
    Target: target,
    ...(readOnly ? { ReadOnly: true } : {}),
  };
}

/** Checks and converts every flag; throws the first bad one, before any request. */
export function parseServiceFlags(
  flags: ServiceFlags,
  env: Record<string, string | undefined> = {},
): ServiceOptions {
  const each = <T>(flag: string, values: string[] | undefined, parse: (v: string) => T): T[] =>
    (values ?? []).map((v) => checked(flag, v, parse));
  const nonEmpty = (flag: string, values: string[] | undefined): string[] =>
    each(flag, values, (v) => {
      if (v.trim() === '') throw new Error('must not be empty');
      return v;
    });
  const opt = <T>(value: string | undefined, parse: (v: string) => T): T | undefined =>
    value === undefined ? undefined : parse(value);
  const updateConfig = (prefix: '--update' | '--rollback', raw: UpdateRaw): UpdateConfig =>
    strip({
      Parallelism: opt(raw.parallelism, (v) => uintFlag(`${prefix}-parallelism`, v)),
      Delay: opt(raw.delay, (v) => durationFlag(`${prefix}-delay`, v)),
      Order: opt(raw.order, (v) => oneOfFlag(`${prefix}-order`, v, ORDERS)),
      FailureAction: opt(raw.failureAction, (v) =>
        oneOfFlag(
          `${prefix}-failure-action`,
          v,
          prefix === '--update' ? UPDATE_FAILURE_ACTIONS : ROLLBACK_FAILURE_ACTIONS,
        ),
      ),
      Monitor: opt(raw.monitor, (v) => durationFlag(`${prefix}-monitor`, v)),
      MaxFailureRatio: opt(raw.maxFailureRatio, (v) => ratioFlag(`${prefix}-max-failure-ratio`, v)),
    });

  const health = strip<HealthConfig>({
    ...(flags.healthCmd !== undefined ? { Test: ['CMD-SHELL', flags.healthCmd] } : {}),
    Interval: opt(flags.healthInterval, (v) => durationFlag('--health-interval', v)),
    Timeout: opt(flags.healthTimeout, (v) => durationFlag('--health-timeout', v)),
    Retries: opt(flags.healthRetries, (v) => uintFlag('--health-retries', v)),
    StartPeriod: opt(flags.healthStartPeriod, (v) => durationFlag('--health-start-period', v)),
  });
  const noHealthcheck = flags.healthcheck === false;
  if (noHealthcheck && Object.keys(health).length > 0) {
    throw new InvalidArgumentError('--no-healthcheck conflicts with --health-* options');
  }

  const words = (flag: string, value: string | undefined) =>
    opt(value, (v) => checked(flag, v, shellWords));
  const options: ServiceOptions = {
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...strip({
      mode: opt(flags.mode, (v) => oneOfFlag('--mode', v, MODES)),
      replicas: opt(flags.replicas, (v) => uintFlag('--replicas', v)),
      maxConcurrent: opt(flags.maxConcurrent, (v) => uintFlag('--max-concurrent', v)),
      image: opt(flags.image, (v) => {
        if (v.trim() === '') throw badFlag('--image', v, 'must not be empty');
        return v;
      }),
      args: words('--args', flags.args),
      entrypoint: words('--entrypoint', flags.entrypoint),
      maxReplicasPerNode: opt(flags.replicasMaxPerNode, (v) =>
        uintFlag('--replicas-max-per-node', v),
      ),
      stopGracePeriod: opt(flags.stopGracePeriod, (v) => durationFlag('--stop-grace-period', v)),
      user: flags.user,
      workdir: flags.workdir,
      hostname: flags.hostname,
    }),
    envAdd: [
      ...each('--env', flags.env, (v) => parseEnv(v, env)),
      ...each('--env-add', flags.envAdd, (v) => parseEnv(v, env)),
    ],
    envRm: nonEmpty('--env-rm', flags.envRm),
    labelAdd: [
      ...each('--label', flags.label, parseLabel),
      ...each('--label-add', flags.labelAdd, parseLabel),
    ],
    labelRm: nonEmpty('--label-rm', flags.labelRm),
    containerLabelAdd: [
      ...each('--container-label', flags.containerLabel, parseLabel),
      ...each('--container-label-add', flags.containerLabelAdd, parseLabel),
    ],
    containerLabelRm: nonEmpty('--container-label-rm', flags.containerLabelRm),
    constraintAdd: [
      ...nonEmpty('--constraint', flags.constraint),
      ...nonEmpty('--constraint-add', flags.constraintAdd),
    ],
    constraintRm: nonEmpty('--constraint-rm', flags.constraintRm),
    placementPrefAdd: [
      ...each('--placement-pref', flags.placementPref, parsePlacementPref),
      ...each('--placement-pref-add', flags.placementPrefAdd, parsePlacementPref),
    ],
    placementPrefRm: each('--placement-pref-rm', flags.placementPrefRm, parsePlacementPref),
    publishAdd: [
      ...each('--publish', flags.publish, parsePublish).flat(),
      ...each('--publish-add', flags.publishAdd, parsePublish).flat(),
    ],
    publishRm: each('--publish-rm', flags.publishRm, parsePublish).flat(),
    mountAdd: [
      ...each('--mount', flags.mount, parseMount),
      ...each('--mount-add', flags.mountAdd, parseMount),
    ],
    mountRm: nonEmpty('--mount-rm', flags.mountRm),
    reservations: strip({
      NanoCPUs: opt(flags.reserveCpu, (v) => checked('--reserve-cpu', v, parseCpus)),
      MemoryBytes: opt(flags.reserveMemory, (v) => checked('--reserve-memory', v, parseBytes)),
    }),
    limits: strip({
      NanoCPUs: opt(flags.limitCpu, (v) => checked('--limit-cpu', v, parseCpus)),
      MemoryBytes: opt(flags.limitMemory, (v) => checked('--limit-memory', v, parseBytes)),
    }),
    restart: strip({
      Condition: opt(flags.restartCondition, (v) =>
        oneOfFlag('--restart-condition', v, RESTART_CONDITIONS),
      ),
      Delay: opt(flags.restartDelay, (v) => durationFlag('--restart-delay', v)),
      MaxAttempts: opt(flags.restartMaxAttempts, (v) => uintFlag('--restart-max-attempts', v)),
      Window: opt(flags.restartWindow, (v) => durationFlag('--restart-window', v)),
    }),
    update: updateConfig('--update', {
      parallelism: flags.updateParallelism,
      delay: flags.updateDelay,
      order: flags.updateOrder,
      failureAction: flags.updateFailureAction,
      monitor: flags.updateMonitor,
      maxFailureRatio: flags.updateMaxFailureRatio,
    }),
    rollbackConfig: updateConfig('--rollback', {
      parallelism: flags.rollbackParallelism,
      delay: flags.rollbackDelay,
      order: flags.rollbackOrder,
      failureAction: flags.rollbackFailureAction,
      monitor: flags.rollbackMonitor,
      maxFailureRatio: flags.rollbackMaxFailureRatio,
    }),
    health,
    noHealthcheck,
    force: flags.force === true,
    rollback: flags.rollback === true,
  };
  if (options.name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(options.name)) {
    throw badFlag(
      '--name',
      options.name,
      'a service name starts with a letter or digit, then letters, digits, "_", "." or "-"',
    );
  }
  return options;
}

interface UpdateRaw {
  parallelism?: string | undefined;
  delay?: string | undefined;
  order?: string | undefined;
  failureAction?: string | undefined;
  monitor?: string | undefined;
  maxFailureRatio?: string | undefined;
}

/** Drops the keys whose value is undefined. */
function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const isEmpty = (value: object | undefined) => !value || Object.keys(value).length === 0;

/** The mode a new service gets from --mode, --replicas and --max-concurrent. */
function modeFromOptions(options: ServiceOptions): ServiceMode {
  const mode = options.mode ?? 'replicated';
  if (options.replicas !== undefined && (mode === 'global' || mode === 'global-job')) {
    throw new InvalidArgumentError(
      'replicas can only be used with replicated or replicated-job mode',
    );
  }
  if (options.maxConcurrent !== undefined && mode !== 'replicated-job') {
    throw new InvalidArgumentError('max-concurrent can only be used with replicated-job mode');
  }
  if (options.maxReplicasPerNode !== undefined && mode !== 'replicated') {
    throw new InvalidArgumentError('replicas-max-per-node can only be used with replicated mode');
  }
  switch (mode) {
    case 'replicated':
      return { Replicated: { Replicas: options.replicas ?? 1 } };
    case 'global':
      return { Global: {} };
    case 'replicated-job': {
      const concurrent = options.maxConcurrent ?? options.replicas;
      return {
        ReplicatedJob: strip({
          MaxConcurrent: concurrent,
          TotalCompletions: options.replicas,
        }),
      };
    }
    case 'global-job':
      return { GlobalJob: {} };
  }
}

/** What the flags that only make sense on an update refuse on create. */
function refuseUpdateOnly(options: ServiceOptions): void {
  const updateOnly: Array<[string, boolean]> = [
    ['--env-rm', options.envRm.length > 0],
    ['--label-rm', options.labelRm.length > 0],
    ['--container-label-rm', options.containerLabelRm.length > 0],
    ['--constraint-rm', options.constraintRm.length > 0],
    ['--placement-pref-rm', options.placementPrefRm.length > 0],
    ['--publish-rm', options.publishRm.length > 0],
    ['--mount-rm', options.mountRm.length > 0],
    ['--force', options.force],
    ['--rollback', options.rollback],
  ];
  const used = updateOnly.find(([, on]) => on);
  if (used) throw new InvalidArgumentError(`unknown flag: ${used[0]}`);
}

/** The spec `service create IMAGE [COMMAND] [ARG...]` sends. */
export function specFromOptions(
  image: string,
  args: string[],
  options: ServiceOptions,
): Omit<ServiceSpec, 'Name'> & { Name?: string } {
  refuseUpdateOnly(options);
  if (image.trim() === '') throw new InvalidArgumentError('an image is required');
  const base: ServiceSpec = {
    Name: options.name ?? '',
    Labels: {},
    TaskTemplate: { ContainerSpec: { Image: image } },
    Mode: modeFromOptions(options),
  };
  const spec = applyOptions(base, { ...options, image, ...(args.length > 0 ? { args } : {}) });
  if (options.name === undefined) {
    const { Name: _name, ...rest } = spec;
    return rest;
  }
  return spec;
}

/**
 * The whole spec with the flags applied: lists gain their additions (an entry with the same
 * key is replaced), then lose their removals; scalars are set when their flag was given.
 */
export function applyOptions(spec: ServiceSpec, options: ServiceOptions): ServiceSpec {
  const template = spec.TaskTemplate;
  const container = { ...template.ContainerSpec };
  if (options.image !== undefined) container.Image = options.image;
  if (options.args !== undefined) container.Args = options.args;
  if (options.entrypoint !== undefined) {
    if (options.entrypoint.length > 0) container.Command = options.entrypoint;
    else delete container.Command;
  }
  if (options.user !== undefined) container.User = options.user;
  if (options.workdir !== undefined) container.Dir = options.workdir;
  if (options.hostname !== undefined) container.Hostname = options.hostname;
  if (options.stopGracePeriod !== undefined) container.StopGracePeriod = options.stopGracePeriod;

  const env = changeList(
    container.Env ?? [],
    options.envAdd,
    options.envRm,
    (e) => envKey(e),
    (key) => key,
  );
  setOrDrop(container, 'Env', env);
  const containerLabels = changeLabels(
    container.Labels ?? {},
    options.containerLabelAdd,
    options.containerLabelRm,
  );
  setOrDrop(container, 'Labels', containerLabels);
  const mounts = changeList(
    container.Mounts ?? [],
    options.mountAdd,
    options.mountRm,
    (m) => m.Target,
    (target) => target,
  );
  setOrDrop(container, 'Mounts', mounts);

  if (options.noHealthcheck) container.Healthcheck = { Test: ['NONE'] };
  else if (!isEmpty(options.health)) {
    const previous = container.Healthcheck?.Test?.[0] === 'NONE' ? {} : container.Healthcheck;
    container.Healthcheck = { ...previous, ...options.health };
  }

  const next: TaskSpec = { ...template, ContainerSpec: container };
  const resources = {
    ...template.Resources,
    ...(isEmpty(options.reservations)
      ? {}
      : { Reservations: { ...template.Resources?.Reservations, ...options.reservations } }),
    ...(isEmpty(options.limits)
      ? {}
      : { Limits: { ...template.Resources?.Limits, ...options.limits } }),
  };
  setOrDrop(next, 'Resources', resources);
  if (!isEmpty(options.restart)) {
    next.RestartPolicy = { ...template.RestartPolicy, ...options.restart };
  }

  const placement = { ...template.Placement };
  const constraints = changeList(
    placement.Constraints ?? [],
    options.constraintAdd,
    options.constraintRm,
    (c) => c,
    (c) => c,
  );
  setOrDrop(placement, 'Constraints', constraints);
  const prefs = changeList(
    placement.Preferences ?? [],
    options.placementPrefAdd,
    options.placementPrefRm,
    (p) => p.Spread.SpreadDescriptor,
    (p) => p.Spread.SpreadDescriptor,
  );
  setOrDrop(placement, 'Preferences', prefs);
  if (options.maxReplicasPerNode !== undefined) {
    if (options.maxReplicasPerNode > 0) placement.MaxReplicas = options.maxReplicasPerNode;
    else delete placement.MaxReplicas;
  }
  setOrDrop(next, 'Placement', placement);
  if (options.force) next.ForceUpdate = (template.ForceUpdate ?? 0) + 1;

  const result: ServiceSpec = {
    ...spec,
    Labels: changeLabels(spec.Labels ?? {}, options.labelAdd, options.labelRm),
    TaskTemplate: next,
  };
  if (!isEmpty(options.update)) result.UpdateConfig = { ...spec.UpdateConfig, ...options.update };
  if (!isEmpty(options.rollbackConfig)) {
    result.RollbackConfig = { ...spec.RollbackConfig, ...options.rollbackConfig };
  }
  const ports = changePorts(spec.EndpointSpec?.Ports ?? [], options.publishAdd, options.publishRm);
  if (ports.length > 0 || spec.EndpointSpec) {
    const endpoint = { ...spec.EndpointSpec };
    setOrDrop(endpoint, 'Ports', ports);
    setOrDrop(result, 'EndpointSpec', endpoint);
  }
  return result;
}

/** A spec for `service update --replicas N` (and `service scale`): refuses global modes. */
export function withReplicas(spec: ServiceSpec, replicas: number): ServiceSpec {
  const mode = spec.Mode;
  if (mode.Replicated)
    return { ...spec, Mode: { Replicated: { ...mode.Replicated, Replicas: replicas } } };
  if (mode.ReplicatedJob) {
    return {
      ...spec,
      Mode: { ReplicatedJob: { ...mode.ReplicatedJob, TotalCompletions: replicas } },
    };
  }
  throw new InvalidArgumentError(
    'replicas can only be used with replicated or replicated-job mode',
  );
}

/** A spec for `service update --max-concurrent N` (replicated jobs only). */
export function withMaxConcurrent(spec: ServiceSpec, maxConcurrent: number): ServiceSpec {
  if (!spec.Mode.ReplicatedJob) {
    throw new InvalidArgumentError('max-concurrent can only be used with replicated-job mode');
  }
  return {
    ...spec,
    Mode: { ReplicatedJob: { ...spec.Mode.ReplicatedJob, MaxConcurrent: maxConcurrent } },
  };
}

/**
 * Ports as docker's update changes them: `--publish-rm` first (by target port, protocol and
 * mode, so `--publish-rm 80 --publish-add 9090:80` moves a port), then `--publish-add`
 * (an identical mapping is not added twice).
 */
function changePorts(
  current: readonly PortConfig[],
  add: readonly PortConfig[],
  remove: readonly PortConfig[],
): PortConfig[] {
  const target = (p: PortConfig) =>
    `${p.TargetPort}/${p.Protocol ?? 'tcp'}/${p.PublishMode ?? 'ingress'}`;
  const whole = (p: PortConfig) => `${p.PublishedPort ?? 0}:${target(p)}`;
  const drop = new Set(remove.map(target));
  const ports = current.filter((p) => !drop.has(target(p)));
  for (const port of add) {
    if (!ports.some((p) => whole(p) === whole(port))) ports.push(port);
  }
  return ports;
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** Adds (replacing an entry with the same key in place), then removes by key. */
function changeList<T, R>(
  current: readonly T[],
  add: readonly T[],
  remove: readonly R[],
  keyOf: (item: T) => string,
  keyOfRemoval: (item: R) => string,
): T[] {
  const list = [...current];
  for (const item of add) {
    const at = list.findIndex((existing) => keyOf(existing) === keyOf(item));
    if (at >= 0) list[at] = item;
    else list.push(item);
  }
  const drop = new Set(remove.map(keyOfRemoval));
  return list.filter((item) => !drop.has(keyOf(item)));
}

function changeLabels(
  current: Record<string, string>,
  add: ReadonlyArray<[string, string]>,
  remove: readonly string[],
): Record<string, string> {
  const labels = { ...current };
  for (const [key, value] of add) labels[key] = value;
  for (const key of remove) delete labels[key];
  return labels;
}

/** Sets `key` to `value`, or deletes it when the value is empty (no `"Env": []` noise). */
function setOrDrop<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): void {
  const empty = Array.isArray(value)
    ? value.length === 0
    : typeof value === 'object' && value !== null && Object.keys(value).length === 0;
  if (empty) delete target[key];
  else target[key] = value;
}
