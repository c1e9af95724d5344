/** Builders for the state tests: valid objects and commands, applied at chosen indexes. */
import type { Command, CommandResult, NewCluster, NewNode } from '../../../src/state/index.js';
import { ClusterStore, type ClusterStoreOptions, encodeCommand } from '../../../src/state/index.js';

export const T0 = '2025-01-01T00:00:00.000Z';
export const T1 = '2025-01-01T00:01:00.000Z';
export const T2 = '2025-01-01T00:02:00.000Z';

export function newCluster(overrides: Partial<NewCluster> = {}): NewCluster {
  return {
    ID: 'cluster1',
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      Name: 'default',
      Labels: {},
      Raft: { SnapshotInterval: 10_000, ElectionTick: 10, HeartbeatTick: 1 },
      Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
    },
    JoinTokens: { Worker: 'SWMTS-1-a-w', Manager: 'SWMTS-1-a-m' },
    ...overrides,
  };
}

export function newNode(id: string, hostname = `host-${id}`): NewNode {
  return {
    ID: id,
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2_000_000_000, MemoryBytes: 4 * 1024 ** 3 },
      Engine: { EngineVersion: '26.1.5' },
    },
    Status: { State: 'unknown', Addr: '10.0.0.1' },
    Role: 'worker',
    P2PAddrs: [],
  };
}

/** A store and an `apply` that proposes at the next index, as a Raft log would. */
export function setup(options: ClusterStoreOptions = {}) {
  const store = new ClusterStore(options);
  let index = 0;
  const apply = (command: Command): CommandResult =>
    store.apply(encodeCommand(command), { index: ++index, term: 1 });
  const applyBytes = (bytes: Uint8Array): CommandResult =>
    store.apply(bytes, { index: ++index, term: 1 });
  return { store, apply, applyBytes, lastIndex: () => index };
}

/** Narrows a result to success, failing the test with the refusal otherwise. */
export function ok<T>(result: CommandResult<T>): { ok: true; index: number; object?: T } {
  if (!result.ok) throw new Error(`refused: ${result.code}: ${result.message}`);
  return result;
}

export function newService(
  id: string,
  name = `svc-${id}`,
  ports: import('../../../src/state/service-types.js').PortConfig[] = [],
): import('../../../src/state/service-schema.js').NewService {
  return {
    ID: id,
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      Name: name,
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Ports: ports },
    },
    Endpoint: { Spec: { Ports: ports }, Ports: ports },
  };
}

export function newTask(
  id: string,
  serviceId: string,
  slot = 1,
): import('../../../src/state/service-schema.js').NewTask {
  return {
    ID: id,
    CreatedAt: T0,
    UpdatedAt: T0,
    Labels: {},
    Spec: { ContainerSpec: { Image: 'busybox' } },
    SpecVersion: { Index: 1 },
    ServiceID: serviceId,
    ServiceAnnotations: { Name: `svc-${serviceId}` },
    Slot: slot,
    NodeID: '',
    Status: { Timestamp: T0, State: 'new', Message: 'created' },
    DesiredState: 'running',
  };
}
