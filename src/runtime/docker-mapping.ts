/**
 * Pure translations between the runtime's types and the Docker Engine API's JSON.
 * Kept apart from docker-runtime.ts so they are tested without an engine.
 */
import type {
  ContainerInfo,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  EngineInfo,
  HealthState,
  LabelFilter,
  PortProtocol,
  PublishedPort,
  RuntimeEvent,
  RuntimeEventType,
} from './types.js';

const NS_PER_MS = 1_000_000;

/** Body of POST /containers/create. */
export interface DockerCreateBody {
  name?: string;
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  Hostname?: string;
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: {
    Test: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
  };
  HostConfig: {
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    Mounts?: Array<{ Type: string; Source?: string; Target: string; ReadOnly: boolean }>;
    NanoCpus?: number;
    Memory?: number;
    MemorySwap?: number;
    /** swarmts restarts tasks itself; the engine must not. */
    RestartPolicy: { Name: 'no' };
  };
}

export function toCreateBody(spec: ContainerSpec): DockerCreateBody {
  const body: DockerCreateBody = {
    Image: spec.image,
    HostConfig: { RestartPolicy: { Name: 'no' } },
  };
  if (spec.name) body.name = spec.name;
  if (spec.command) body.Entrypoint = spec.command;
  if (spec.args) body.Cmd = spec.args;
  if (spec.env) body.Env = Object.entries(spec.env).map(([key, value]) => `${key}=${value}`);
  if (spec.labels) body.Labels = { ...spec.labels };
  if (spec.hostname) body.Hostname = spec.hostname;
  if (spec.user) body.User = spec.user;
  if (spec.workingDir) body.WorkingDir = spec.workingDir;
  if (spec.stopSignal) body.StopSignal = spec.stopSignal;
  if (spec.stopGraceMs !== undefined) body.StopTimeout = Math.ceil(spec.stopGraceMs / 1000);
  if (spec.healthcheck) {
    const h = spec.healthcheck;
    body.Healthcheck = { Test: h.test };
    if (h.intervalMs !== undefined) body.Healthcheck.Interval = h.intervalMs * NS_PER_MS;
    if (h.timeoutMs !== undefined) body.Healthcheck.Timeout = h.timeoutMs * NS_PER_MS;
    if (h.retries !== undefined) body.Healthcheck.Retries = h.retries;
    if (h.startPeriodMs !== undefined) body.Healthcheck.StartPeriod = h.startPeriodMs * NS_PER_MS;
  }
  if (spec.ports?.length) {
    body.ExposedPorts = {};
    body.HostConfig.PortBindings = {};
    for (const port of spec.ports) {
      const key = `${port.containerPort}/${port.protocol}`;
      body.ExposedPorts[key] = {};
      const bindings = body.HostConfig.PortBindings[key] ?? [];
      bindings.push({
        HostIp: port.hostIp ?? '',
        HostPort: port.hostPort ? String(port.hostPort) : '',
      });
      body.HostConfig.PortBindings[key] = bindings;
    }
  }
  if (spec.mounts?.length) {
    body.HostConfig.Mounts = spec.mounts.map((m) => ({
      Type: m.type,
      ...(m.source !== undefined ? { Source: m.source } : {}),
      Target: m.target,
      ReadOnly: m.readOnly ?? false,
    }));
  }
  if (spec.nanoCpus !== undefined) body.HostConfig.NanoCpus = spec.nanoCpus;
  if (spec.memoryBytes !== undefined) {
    // The limit is the whole budget: no extra swap on top, as Swarm's memory limit behaves.
    body.HostConfig.Memory = spec.memoryBytes;
    body.HostConfig.MemorySwap = spec.memoryBytes;
  }
  return body;
}

/** Docker label filters: `key=value`, or `key` for "has the label". */
export function labelFilters(labels: LabelFilter | undefined): string[] {
  return Object.entries(labels ?? {}).map(([key, value]) =>
    value === true ? key : `${key}=${value}`,
  );
}

const CONTAINER_STATES = new Set<ContainerState>([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);

function toContainerState(value: unknown): ContainerState {
  return CONTAINER_STATES.has(value as ContainerState) ? (value as ContainerState) : 'dead';
}

function toHealth(value: unknown): HealthState {
  return value === 'starting' || value === 'healthy' || value === 'unhealthy' ? value : 'none';
}

/** Docker writes 0001-01-01T00:00:00Z for "never". */
function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value.startsWith('0001-')) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  }
  return out;
}

/** Raw GET /containers/{id}/json, only the fields swarmts reads. */
export interface DockerInspect {
  Id: string;
  Name?: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  State?: {
    Status?: string;
    Pid?: number;
    ExitCode?: number;
    Error?: string;
    OOMKilled?: boolean;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string };
  };
  NetworkSettings?: {
    Ports?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  };
}

export function fromInspect(raw: DockerInspect): ContainerInfo {
  const state = raw.State ?? {};
  const ports: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(raw.NetworkSettings?.Ports ?? {})) {
    const [portText, protocolText] = key.split('/');
    const protocol: PortProtocol = protocolText === 'udp' ? 'udp' : 'tcp';
    for (const binding of bindings ?? []) {
      ports.push({
        containerPort: Number(portText),
        protocol,
        hostIp: binding.HostIp ?? '',
        hostPort: Number(binding.HostPort ?? 0),
      });
    }
  }
  const info: ContainerInfo = {
    id: raw.Id,
    name: (raw.Name ?? '').replace(/^\//, ''),
    image: raw.Config?.Image ?? '',
    labels: stringRecord(raw.Config?.Labels),
    state: toContainerState(state.Status),
    health: toHealth(state.Health?.Status),
    pid: state.Pid ?? 0,
    exitCode: state.ExitCode ?? 0,
    error: state.Error ?? '',
    oomKilled: state.OOMKilled ?? false,
    ports,
  };
  const startedAt = toDate(state.StartedAt);
  const finishedAt = toDate(state.FinishedAt);
  if (startedAt) info.startedAt = startedAt;
  if (finishedAt) info.finishedAt = finishedAt;
  return info;
}

/** Raw item of GET /containers/json. */
export interface DockerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
}

export function fromSummary(raw: DockerSummary): ContainerSummary {
  return {
    id: raw.Id,
    name: (raw.Names?.[0] ?? '').replace(/^\//, ''),
    image: raw.Image ?? '',
    labels: stringRecord(raw.Labels),
    state: toContainerState(raw.State),
    status: raw.Status ?? '',
  };
}

/** Raw GET /info, the fields swarmts reads. */
export interface DockerInfo {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Labels?: string[] | null;
}

export function fromInfo(raw: DockerInfo, apiVersion: string): EngineInfo {
  const labels: Record<string, string> = {};
  for (const label of raw.Labels ?? []) {
    const eq = label.indexOf('=');
    if (eq > 0) labels[label.slice(0, eq)] = label.slice(eq + 1);
    else labels[label] = '';
  }
  return {
    id: raw.ID ?? '',
    hostname: raw.Name ?? '',
    version: raw.ServerVersion ?? '',
    apiVersion,
    os: raw.OSType ?? '',
    architecture: raw.Architecture ?? '',
    cpus: raw.NCPU ?? 0,
    memoryBytes: raw.MemTotal ?? 0,
    labels,
  };
}

/** Attributes Docker mixes in with a container's labels on its events. */
const EVENT_ATTRIBUTES = new Set(['image', 'name', 'exitCode', 'signal', 'execDuration']);

/**
 * One event from GET /events, or undefined for events swarmts does not follow. Health events
 * arrive as Action "health_status: healthy".
 */
export function fromEvent(raw: unknown): RuntimeEvent | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const event = raw as {
    Type?: string;
    Action?: string;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
    time?: number;
    timeNano?: number;
  };
  if (event.Type !== 'container' || !event.Actor?.ID || typeof event.Action !== 'string') {
    return undefined;
  }
  const attributes = stringRecord(event.Actor.Attributes);
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!EVENT_ATTRIBUTES.has(key)) labels[key] = value;
  }
  const time = new Date(
    event.timeNano ? Math.floor(event.timeNano / NS_PER_MS) : (event.time ?? 0) * 1000,
  );
  const base = { containerId: event.Actor.ID, labels, time };
  const [action, detail] = event.Action.split(/:\s*/, 2);
  switch (action) {
    case 'start':
    case 'oom':
    case 'destroy':
      return { type: action, ...base };
    case 'die':
      return { type: 'die', ...base, exitCode: Number(attributes.exitCode ?? -1) };
    case 'health_status': {
      const health = toHealth(detail);
      return health === 'none' ? undefined : { type: 'health_status', ...base, health };
    }
    default:
      return undefined;
  }
}

export const FOLLOWED_EVENTS: readonly RuntimeEventType[] = [
  'start',
  'die',
  'oom',
  'health_status',
  'destroy',
];
