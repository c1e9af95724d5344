/**
 * The zod schemas of services and tasks: one definition checks a spec arriving in an API body
 * and the same objects read back from the Raft log or a snapshot.
 */
import { z } from 'zod';
import type {
  PortConfig,
  Service,
  ServiceSpec,
  Task,
  TaskSpec,
  TaskStatus,
} from './service-types.js';
import { TASK_STATES } from './service-types.js';

const duration = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const count = z.number().int().nonnegative().max(1_000_000);
const labels = z.record(z.string().min(1).max(256), z.string().max(4096));
const port = z.number().int().min(1).max(65535);
const timestamp = z.iso.datetime({ offset: true });
const id = z.string().min(1).max(128);

/** An optional choice; Docker's clients send "" for one they leave unset. */
function optionalEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess((value) => (value === '' ? undefined : value), z.enum(values).optional());
}

/** Docker's rule for service names (they become container and DNS names). */
export const SERVICE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?$/;

const mount = z.object({
  Type: z.enum(['bind', 'volume', 'tmpfs']),
  Source: z.string().max(4096).optional(),
  Target: z.string().min(1).max(4096).startsWith('/', 'must be an absolute path'),
  ReadOnly: z.boolean().optional(),
});

const healthConfig = z.object({
  Test: z.array(z.string().max(4096)).max(64).optional(),
  Interval: duration.optional(),
  Timeout: duration.optional(),
  Retries: count.optional(),
  StartPeriod: duration.optional(),
});

const fileTarget = z.object({
  Name: z.string().min(1).max(4096),
  UID: z.string().max(32).default('0'),
  GID: z.string().max(32).default('0'),
  Mode: z.number().int().min(0).max(0o7777).default(0o444),
});

const secretReference = z.object({
  File: fileTarget,
  SecretID: z.string().max(128).default(''),
  SecretName: z.string().min(1).max(256),
});

const configReference = z.object({
  File: fileTarget,
  ConfigID: z.string().max(128).default(''),
  ConfigName: z.string().min(1).max(256),
});

const networkAttachment = z.object({
  Target: z.string().min(1).max(256),
  Aliases: z.array(z.string().min(1).max(256)).max(64).optional(),
});

const containerSpec = z.object({
  Image: z.string().trim().min(1, 'an image is required').max(512),
  Labels: labels.optional(),
  Command: z.array(z.string().max(65536)).max(1024).optional(),
  Args: z.array(z.string().max(65536)).max(1024).optional(),
  Hostname: z.string().max(253).optional(),
  Env: z
    .array(z.string().regex(/^[^=]+=/, 'must be KEY=value'))
    .max(4096)
    .optional(),
  Dir: z.string().max(4096).optional(),
  User: z.string().max(256).optional(),
  Mounts: z.array(mount).max(256).optional(),
  StopGracePeriod: duration.optional(),
  StopSignal: z.string().max(32).optional(),
  Healthcheck: healthConfig.optional(),
  Secrets: z.array(secretReference).max(256).optional(),
  Configs: z.array(configReference).max(256).optional(),
});

const amounts = z.object({
  NanoCPUs: z.number().int().nonnegative().optional(),
  MemoryBytes: z.number().int().nonnegative().optional(),
});

const taskSpec: z.ZodType<TaskSpec> = z.object({
  ContainerSpec: containerSpec,
  Resources: z.object({ Limits: amounts.optional(), Reservations: amounts.optional() }).optional(),
  RestartPolicy: z
    .object({
      Condition: optionalEnum(['none', 'on-failure', 'any']),
      Delay: duration.optional(),
      MaxAttempts: count.optional(),
      Window: duration.optional(),
    })
    .optional(),
  Placement: z
    .object({
      Constraints: z.array(z.string().min(1).max(1024)).max(64).optional(),
      Preferences: z
        .array(z.object({ Spread: z.object({ SpreadDescriptor: z.string().min(1).max(256) }) }))
        .max(16)
        .optional(),
      MaxReplicas: count.optional(),
    })
    .optional(),
  ForceUpdate: count.optional(),
  Networks: z.array(networkAttachment).max(64).optional(),
});

const empty = z.object({}).strict();

const serviceMode = z
  .object({
    Replicated: z.object({ Replicas: count.optional() }).optional(),
    Global: empty.optional(),
    ReplicatedJob: z
      .object({ MaxConcurrent: count.optional(), TotalCompletions: count.optional() })
      .optional(),
    GlobalJob: empty.optional(),
  })
  .refine((mode) => Object.values(mode).filter((v) => v !== undefined).length <= 1, {
    message: 'only one of Replicated, Global, ReplicatedJob and GlobalJob may be set',
  });

const updateConfig = z.object({
  Parallelism: count.optional(),
  Delay: duration.optional(),
  FailureAction: optionalEnum(['pause', 'continue', 'rollback']),
  Monitor: duration.optional(),
  MaxFailureRatio: z.number().min(0).max(1).optional(),
  Order: optionalEnum(['stop-first', 'start-first']),
});

export const portConfig: z.ZodType<PortConfig> = z.object({
  Name: z.string().max(256).optional(),
  Protocol: optionalEnum(['tcp', 'udp', 'sctp']),
  TargetPort: port,
  PublishedPort: z.number().int().min(0).max(65535).optional(),
  PublishMode: optionalEnum(['ingress', 'host']),
  ProxyProtocol: z.literal('v2').optional(),
});

const endpointSpec = z.object({
  Mode: optionalEnum(['vip', 'dnsrr']),
  Ports: z.array(portConfig).max(256).optional(),
});

export const serviceSpec: z.ZodType<ServiceSpec> = z.object({
  Name: z.string().regex(SERVICE_NAME, 'must be 1-63 letters, digits, "-", "_" or "."'),
  Labels: labels,
  TaskTemplate: taskSpec,
  Mode: serviceMode,
  UpdateConfig: updateConfig.optional(),
  RollbackConfig: updateConfig.optional(),
  EndpointSpec: endpointSpec.optional(),
});

/** A spec as a user sends it: Name and Labels may be missing (checked by the control API). */
export const serviceSpecInput = z.object({
  Name: z.string().optional(),
  Labels: labels.optional(),
  TaskTemplate: taskSpec,
  Mode: serviceMode.optional(),
  UpdateConfig: updateConfig.optional(),
  RollbackConfig: updateConfig.optional(),
  EndpointSpec: endpointSpec.optional(),
});
export type ServiceSpecInput = z.infer<typeof serviceSpecInput>;

const version = z.object({ Index: z.number().int().nonnegative() });

const updateStatus = z.object({
  State: z.enum([
    'updating',
    'paused',
    'completed',
    'rollback_started',
    'rollback_paused',
    'rollback_completed',
  ]),
  StartedAt: timestamp.optional(),
  CompletedAt: timestamp.optional(),
  Message: z.string().max(4096).optional(),
});

const serviceShape = {
  ID: id,
  CreatedAt: timestamp,
  UpdatedAt: timestamp,
  Spec: serviceSpec,
  PreviousSpec: serviceSpec.optional(),
  Endpoint: z.object({ Spec: endpointSpec, Ports: z.array(portConfig).optional() }),
  UpdateStatus: updateStatus.optional(),
  JobStatus: z.object({ JobIteration: version, LastExecution: timestamp.optional() }).optional(),
};

export type NewService = Omit<Service, 'Version' | 'ServiceStatus'>;
export const newService: z.ZodType<NewService> = z.object(serviceShape);
export const serviceSchema: z.ZodType<Service> = z.object({ ...serviceShape, Version: version });
export const updateStatusSchema = updateStatus;

const taskState = z.enum(TASK_STATES);

export const taskStatus: z.ZodType<TaskStatus> = z.object({
  Timestamp: timestamp,
  State: taskState,
  Message: z.string().max(4096),
  Err: z.string().max(4096).optional(),
  ContainerStatus: z
    .object({
      ContainerID: z.string().max(128).optional(),
      PID: z.number().int().nonnegative().optional(),
      ExitCode: z.number().int().optional(),
    })
    .optional(),
  PortStatus: z.object({ Ports: z.array(portConfig).max(256).optional() }).optional(),
  Health: z.enum(['starting', 'healthy', 'unhealthy']).optional(),
});

const taskShape = {
  ID: id,
  CreatedAt: timestamp,
  UpdatedAt: timestamp,
  Labels: labels,
  Spec: taskSpec,
  SpecVersion: version,
  ServiceID: id,
  ServiceAnnotations: z.object({ Name: z.string() }),
  Slot: z.number().int().nonnegative(),
  NodeID: z.string().max(128),
  Status: taskStatus,
  DesiredState: taskState,
  Endpoint: z.object({ Ports: z.array(portConfig).optional() }).optional(),
  JobIteration: version.optional(),
  CreatedIndex: z.number().int().nonnegative().optional(),
};

export type NewTask = Omit<Task, 'Version'>;
export const newTask: z.ZodType<NewTask> = z.object(taskShape);
export const taskSchema: z.ZodType<Task> = z.object({ ...taskShape, Version: version });
export const taskStateSchema = taskState;
