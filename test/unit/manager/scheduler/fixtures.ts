/** Builders for the scheduler tests: nodes and tasks with only the fields that matter set. */
import type { SchedulerOutput } from '../../../../src/manager/scheduler/index.js';
import type { PortConfig, Task, TaskSpec } from '../../../../src/state/service-types.js';
import type { Node, NodeAvailability, NodeRole, NodeState } from '../../../../src/state/types.js';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const CPU = 1e9;

export interface NodeOptions {
  hostname?: string;
  state?: NodeState;
  availability?: NodeAvailability;
  role?: NodeRole;
  labels?: Record<string, string>;
  engineLabels?: Record<string, string>;
  os?: string;
  arch?: string;
  nanoCPUs?: number;
  memoryBytes?: number;
}

export function node(id: string, options: NodeOptions = {}): Node {
  const engine: Node['Description']['Engine'] = { EngineVersion: '26.1.5' };
  if (options.engineLabels !== undefined) engine.Labels = options.engineLabels;
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2025-01-01T00:00:00.000Z',
    UpdatedAt: '2025-01-01T00:00:00.000Z',
    Spec: {
      Labels: options.labels ?? {},
      Role: options.role ?? 'worker',
      Availability: options.availability ?? 'active',
    },
    Description: {
      Hostname: options.hostname ?? `host-${id}`,
      Platform: { OS: options.os ?? 'linux', Architecture: options.arch ?? 'x86_64' },
      Resources: {
        NanoCPUs: options.nanoCPUs ?? 4 * CPU,
        MemoryBytes: options.memoryBytes ?? 8 * GiB,
      },
      Engine: engine,
    },
    Status: { State: options.state ?? 'ready', Addr: '10.0.0.1' },
    Role: options.role ?? 'worker',
    P2PAddrs: [],
  };
}

/** `count` ready, active nodes n1..nN (IDs zero-padded so they sort in number order). */
export function nodes(count: number, options: NodeOptions = {}): Node[] {
  return Array.from({ length: count }, (_, i) =>
    node(`n${String(i + 1).padStart(4, '0')}`, options),
  );
}

export interface TaskOptions {
  nodeId?: string;
  constraints?: string[];
  spread?: string[];
  maxReplicas?: number;
  nanoCPUs?: number;
  memoryBytes?: number;
  ports?: PortConfig[];
  slot?: number;
}

export function task(id: string, serviceId: string, options: TaskOptions = {}): Task {
  const spec: TaskSpec = { ContainerSpec: { Image: 'busybox' } };
  if (
    options.constraints !== undefined ||
    options.spread !== undefined ||
    options.maxReplicas !== undefined
  ) {
    spec.Placement = {
      Constraints: options.constraints ?? [],
      Preferences: (options.spread ?? []).map((d) => ({ Spread: { SpreadDescriptor: d } })),
    };
    if (options.maxReplicas !== undefined) spec.Placement.MaxReplicas = options.maxReplicas;
  }
  if (options.nanoCPUs !== undefined || options.memoryBytes !== undefined) {
    spec.Resources = {
      Reservations: { NanoCPUs: options.nanoCPUs ?? 0, MemoryBytes: options.memoryBytes ?? 0 },
    };
  }
  const placed = options.nodeId !== undefined;
  const result: Task = {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2025-01-01T00:00:00.000Z',
    UpdatedAt: '2025-01-01T00:00:00.000Z',
    Labels: {},
    Spec: spec,
    SpecVersion: { Index: 1 },
    ServiceID: serviceId,
    ServiceAnnotations: { Name: serviceId },
    Slot: options.slot ?? 1,
    NodeID: options.nodeId ?? '',
    Status: {
      Timestamp: '2025-01-01T00:00:00.000Z',
      State: placed ? 'running' : 'pending',
      Message: '',
    },
    DesiredState: 'running',
  };
  if (options.ports !== undefined) result.Endpoint = { Ports: options.ports };
  return result;
}

/** `count` pending tasks of a service, IDs `${serviceId}.1`..N, sharing one spec. */
export function replicas(serviceId: string, count: number, options: TaskOptions = {}): Task[] {
  const first = task(`${serviceId}.1`, serviceId, options);
  return Array.from({ length: count }, (_, i) => ({
    ...first,
    ID: `${serviceId}.${i + 1}`,
    Slot: i + 1,
  }));
}

/** A placed task: already running on `nodeId`. */
export function running(id: string, serviceId: string, nodeId: string, options: TaskOptions = {}) {
  return task(id, serviceId, { ...options, nodeId });
}

/** Tasks per node ID in an output. */
export function countByNode(output: SchedulerOutput): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { nodeId } of output.assignments) counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
  return counts;
}

/** taskId → nodeId. */
export function placements(output: SchedulerOutput): Record<string, string> {
  return Object.fromEntries(output.assignments.map((a) => [a.taskId, a.nodeId]));
}

export function hostPort(published: number, protocol?: PortConfig['Protocol']): PortConfig {
  const port: PortConfig = { TargetPort: 80, PublishedPort: published, PublishMode: 'host' };
  if (protocol !== undefined) port.Protocol = protocol;
  return port;
}
