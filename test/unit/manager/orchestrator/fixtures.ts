/** Builders for orchestrator tests: services, tasks and nodes, and a round runner. */
import { newMemory, type OrchestratorMemory } from '../../../../src/manager/orchestrator/plan.js';
import { orchestrate } from '../../../../src/manager/orchestrator/round.js';
import type {
  Node,
  Service,
  ServiceSpec,
  Task,
  TaskOp,
  TaskState,
} from '../../../../src/state/index.js';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

export function service(spec: Partial<ServiceSpec> = {}, extra: Partial<Service> = {}): Service {
  return {
    ID: 'svc',
    Version: { Index: 10 },
    CreatedAt: new Date(T0).toISOString(),
    UpdatedAt: new Date(T0).toISOString(),
    Spec: {
      Name: 'web',
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
      Mode: { Replicated: { Replicas: 3 } },
      ...spec,
    },
    Endpoint: { Spec: {} },
    ...extra,
  };
}

export function node(
  id: string,
  state: Node['Status']['State'] = 'ready',
  availability: Node['Spec']['Availability'] = 'active',
): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: new Date(T0).toISOString(),
    UpdatedAt: new Date(T0).toISOString(),
    Spec: { Labels: {}, Role: 'worker', Availability: availability },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
      Engine: { EngineVersion: '26' },
    },
    Status: { State: state, Addr: '10.0.0.1' },
    Role: 'worker',
    P2PAddrs: [],
  };
}

let counter = 0;

export function task(
  svc: Service,
  slot: number,
  state: TaskState,
  options: {
    nodeId?: string;
    desired?: TaskState;
    createdAt?: number;
    id?: string;
    spec?: Service['Spec']['TaskTemplate'];
  } = {},
): Task {
  counter++;
  const at = new Date(options.createdAt ?? T0 + counter).toISOString();
  return {
    ID: options.id ?? `t${counter}`,
    Version: { Index: counter },
    CreatedAt: at,
    UpdatedAt: at,
    Labels: {},
    Spec: options.spec ?? svc.Spec.TaskTemplate,
    SpecVersion: { Index: svc.Version.Index },
    ServiceID: svc.ID,
    ServiceAnnotations: { Name: svc.Spec.Name },
    Slot: slot,
    NodeID: options.nodeId ?? 'n1',
    Status: { Timestamp: at, State: state, Message: state },
    DesiredState: options.desired ?? 'running',
    CreatedIndex: counter,
  };
}

/** Runs rounds with a fixed memory, a settable clock and counted ids. */
export function harness(nodes: Node[]) {
  const memory: OrchestratorMemory = newMemory();
  let ids = 0;
  const clock = { now: T0 + 1_000_000 };
  const run = (svc: Service, tasks: Task[]) =>
    orchestrate({
      service: svc,
      tasks,
      nodes: new Map(nodes.map((n) => [n.ID, n])),
      fits: () => true,
      now: clock.now,
      at: new Date(clock.now).toISOString(),
      newId: () => `new${++ids}`,
      memory,
    });
  return { memory, clock, run };
}

export function creates(ops: TaskOp[]): Array<{ slot: number; nodeId: string }> {
  return ops.flatMap((op) =>
    op.op === 'create' ? [{ slot: op.task.Slot, nodeId: op.task.NodeID }] : [],
  );
}

export function shutdowns(ops: TaskOp[]): string[] {
  return ops.flatMap((op) => (op.op === 'desire' ? [op.id] : []));
}
