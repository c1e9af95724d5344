/**
 * What the worker needs from a container engine. The Docker implementation lives in
 * docker-runtime.ts; anything else that runs containers for swarmts implements this too.
 * Every call that waits on the engine takes an AbortSignal.
 */

export interface EngineInfo {
  /** The engine's own id (stable across restarts of the engine). */
  id: string;
  hostname: string;
  version: string;
  apiVersion: string;
  os: string;
  architecture: string;
  cpus: number;
  memoryBytes: number;
  /** Engine labels (`engine.labels.*` in placement constraints). */
  labels: Record<string, string>;
}

export type PortProtocol = 'tcp' | 'udp';

export interface PortBinding {
  containerPort: number;
  protocol: PortProtocol;
  /** Host port to bind; 0 or absent lets the engine choose one. */
  hostPort?: number;
  hostIp?: string;
}

export interface Mount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); unused for tmpfs. */
  source?: string;
  target: string;
  readOnly?: boolean;
}

export interface Healthcheck {
  /** Docker's form: ['CMD', 'prog', 'arg'], ['CMD-SHELL', 'cmd'] or ['NONE']. */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface ContainerSpec {
  name?: string;
  image: string;
  /** Replaces the image's entrypoint (Docker swarm's ContainerSpec.Command). */
  command?: string[];
  /** Replaces the image's CMD (Docker swarm's ContainerSpec.Args). */
  args?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  hostname?: string;
  user?: string;
  workingDir?: string;
  ports?: PortBinding[];
  mounts?: Mount[];
  /** CPU limit in units of 1e-9 CPUs, as Docker's NanoCpus. */
  nanoCpus?: number;
  memoryBytes?: number;
  healthcheck?: Healthcheck;
  stopSignal?: string;
  /** Default grace period for stop, stored on the container (Docker's StopTimeout). */
  stopGraceMs?: number;
}

export type ContainerState =
  | 'created'
  | 'running'
  | 'paused'
  | 'restarting'
  | 'removing'
  | 'exited'
  | 'dead';

export type HealthState = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface PublishedPort {
  containerPort: number;
  protocol: PortProtocol;
  hostIp: string;
  hostPort: number;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  health: HealthState;
  pid: number;
  exitCode: number;
  /** The engine's words on why the container stopped, if it says any ("OOMKilled" included). */
  error: string;
  oomKilled: boolean;
  startedAt?: Date;
  finishedAt?: Date;
  ports: PublishedPort[];
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  status: string;
}

/** Label filter: a value matches `key=value`, `true` matches any container that has the key. */
export type LabelFilter = Record<string, string | true>;

export interface ListOptions {
  labels?: LabelFilter;
  /** Include stopped containers (default true: the executor must see exited tasks). */
  all?: boolean;
  signal?: AbortSignal;
}

export type RuntimeEvent =
  | { type: 'start'; containerId: string; labels: Record<string, string>; time: Date }
  | {
      type: 'die';
      containerId: string;
      labels: Record<string, string>;
      time: Date;
      exitCode: number;
    }
  | { type: 'oom'; containerId: string; labels: Record<string, string>; time: Date }
  | {
      type: 'health_status';
      containerId: string;
      labels: Record<string, string>;
      time: Date;
      health: Exclude<HealthState, 'none'>;
    }
  | { type: 'destroy'; containerId: string; labels: Record<string, string>; time: Date };

export type RuntimeEventType = RuntimeEvent['type'];

export interface EventOptions {
  labels?: LabelFilter;
  types?: RuntimeEventType[];
  /** Replay events since this time; absent means only new events. */
  since?: Date;
  signal?: AbortSignal;
}

export interface LogOptions {
  follow?: boolean;
  /** Number of lines from the end, or 'all'. */
  tail?: number | 'all';
  timestamps?: boolean;
  since?: Date;
  signal?: AbortSignal;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** The line without its trailing newline (and without the timestamp). */
  text: string;
  /** Present when timestamps were asked for: the engine's RFC 3339 time, nanoseconds kept. */
  timestamp?: string;
}

export interface StopOptions {
  /** Time between the stop signal and SIGKILL; the container's own default if absent. */
  graceMs?: number;
  signal?: AbortSignal;
}

export interface ContainerRuntime {
  /** Resolves when the engine answers; rejects with EngineUnreachableError otherwise. */
  ping(signal?: AbortSignal): Promise<void>;
  info(signal?: AbortSignal): Promise<EngineInfo>;
  hasImage(ref: string, signal?: AbortSignal): Promise<boolean>;
  /** Pulls the image; ImageNotFoundError when no registry can serve it. */
  pullImage(ref: string, signal?: AbortSignal): Promise<void>;
  /** The image if present, else a pull. */
  ensureImage(ref: string, signal?: AbortSignal): Promise<void>;
  /** Creates (does not start) a container; returns its id. */
  createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string>;
  startContainer(id: string, signal?: AbortSignal): Promise<void>;
  /** Stop signal, then SIGKILL after the grace period. A stopped container is not an error. */
  stopContainer(id: string, options?: StopOptions): Promise<void>;
  killContainer(id: string, signalName?: string, signal?: AbortSignal): Promise<void>;
  /** Removes the container (and its anonymous volumes). An absent container is not an error. */
  removeContainer(id: string, options?: { force?: boolean; signal?: AbortSignal }): Promise<void>;
  inspectContainer(id: string, signal?: AbortSignal): Promise<ContainerInfo>;
  listContainers(options?: ListOptions): Promise<ContainerSummary[]>;
  /** Container events until the signal aborts (then the iteration ends quietly). */
  events(options?: EventOptions): AsyncIterable<RuntimeEvent>;
  logs(id: string, options?: LogOptions): AsyncIterable<LogLine>;
}
