/**
 * Services and tasks, in the shapes of Docker's swarm object model (PascalCase, Docker's
 * field names), so `docker service inspect` and tools on the Docker API read them unchanged.
 *
 * Durations are nanoseconds (Docker's time.Duration in JSON); sizes are bytes; CPUs are
 * NanoCPUs (1e9 = one CPU).
 */
import type { ConfigReference, NetworkAttachmentConfig, SecretReference } from './object-types.js';
import type { ObjectMeta } from './types.js';

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); absent for tmpfs. */
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
}

export interface HealthConfig {
  /** ['CMD', ...], ['CMD-SHELL', 'cmd'] or ['NONE']; absent = the image's own. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface ContainerSpec {
  Image: string;
  Labels?: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  /** "KEY=value" entries, as Docker keeps them. */
  Env?: string[];
  Dir?: string;
  User?: string;
  Mounts?: Mount[];
  StopGracePeriod?: number;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  /** Mounted read-only at /run/secrets/<File.Name> (or File.Name when absolute). */
  Secrets?: SecretReference[];
  /** Mounted read-only at File.Name (default /<config name>). */
  Configs?: ConfigReference[];
}

export interface ResourceAmounts {
  NanoCPUs?: number;
  MemoryBytes?: number;
}

export interface ResourceRequirements {
  Limits?: ResourceAmounts;
  Reservations?: ResourceAmounts;
}

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface RestartPolicy {
  Condition?: RestartCondition;
  Delay?: number;
  /** 0 or absent: no limit. */
  MaxAttempts?: number;
  /** The window MaxAttempts counts in; 0 or absent: forever. */
  Window?: number;
}

export interface PlacementPreference {
  Spread: { SpreadDescriptor: string };
}

export interface Placement {
  Constraints?: string[];
  Preferences?: PlacementPreference[];
  /** 0 or absent: no limit. */
  MaxReplicas?: number;
}

export interface TaskSpec {
  ContainerSpec: ContainerSpec;
  Resources?: ResourceRequirements;
  RestartPolicy?: RestartPolicy;
  Placement?: Placement;
  /** Bumped by `service update --force` to replace every task without another change. */
  ForceUpdate?: number;
  /** Recorded and shown; tasks run on each node's default bridge (docs/compatibility.md). */
  Networks?: NetworkAttachmentConfig[];
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export type FailureAction = 'pause' | 'continue' | 'rollback';
export type UpdateOrder = 'stop-first' | 'start-first';

export interface UpdateConfig {
  /** Tasks replaced at once; 0 = all at once. */
  Parallelism?: number;
  Delay?: number;
  FailureAction?: FailureAction;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: UpdateOrder;
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';
export type PublishMode = 'ingress' | 'host';

export interface PortConfig {
  Name?: string;
  Protocol?: PortProtocol;
  TargetPort: number;
  /** Absent in a spec: one is allocated (ingress) or chosen by the engine (host). */
  PublishedPort?: number;
  PublishMode?: PublishMode;
  /** swarmts: the routing mesh opens each connection with a PROXY protocol v2 header. */
  ProxyProtocol?: 'v2';
}

export interface EndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: PortConfig[];
}

export interface ServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: TaskSpec;
  Mode: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: EndpointSpec;
}

export type UpdateState =
  | 'updating'
  | 'paused'
  | 'completed'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed';

export interface UpdateStatus {
  State: UpdateState;
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface Service extends ObjectMeta {
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  /** Ports as allocated (published ports filled in). */
  Endpoint: {
    Spec: EndpointSpec;
    Ports?: PortConfig[];
    /**
     * swarmts, filled in by inspect, never stored: where the routing mesh sends each
     * published port's connections now (node address and host port of each serving task).
     */
    Backends?: Array<{
      PublishedPort: number;
      Protocol: string;
      Tasks: Array<{ TaskID: string; Addr: string }>;
    }>;
  };
  UpdateStatus?: UpdateStatus;
  /** Jobs: bumped on every run; tasks carry the iteration they belong to. */
  JobStatus?: { JobIteration: { Index: number }; LastExecution?: string };
  /** Filled in when read with ?status=true; never stored. */
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
}

/** Docker's task states, in the order a task moves through them (never backwards). */
export const TASK_STATES = [
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

const ORDER = new Map<TaskState, number>(TASK_STATES.map((state, i) => [state, i]));

/** Rank of a state in TASK_STATES: a task's state and desired state only ever go up. */
export function taskStateRank(state: TaskState): number {
  return ORDER.get(state) ?? 0;
}

/** A state a task never leaves (complete, shutdown, failed, rejected, ...). */
export function isTerminal(state: TaskState): boolean {
  return taskStateRank(state) > taskStateRank('running');
}

/** Texts in a task's status are bounded (the schema allows 4,096 characters): cut longer ones. */
export function clipTaskText(text: string, max = 4000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export interface ContainerStatus {
  ContainerID?: string;
  PID?: number;
  ExitCode?: number;
}

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  /** Why the task failed, or (while pending) why it cannot be placed. */
  Err?: string;
  ContainerStatus?: ContainerStatus;
  PortStatus?: { Ports?: PortConfig[] };
  /** swarmts: the container's health as Docker reports it, when it has a healthcheck. */
  Health?: 'starting' | 'healthy' | 'unhealthy';
}

export interface Task extends ObjectMeta {
  Labels: Record<string, string>;
  Spec: TaskSpec;
  /** The Version.Index of the service spec this task was made from. */
  SpecVersion: { Index: number };
  ServiceID: string;
  /** The service's name when the task was made (container names start with it). */
  ServiceAnnotations: { Name: string };
  /** Replicated services: the slot (1..replicas). Global services: 0, the node identifies. */
  Slot: number;
  /** Empty until scheduled. */
  NodeID: string;
  Status: TaskStatus;
  DesiredState: TaskState;
  /** Ports the task publishes (the service's allocated ports). */
  Endpoint?: { Ports?: PortConfig[] };
  JobIteration?: { Index: number };
  /** swarmts: the Raft index that created the task, which orders a slot's history. */
  CreatedIndex?: number;
}
