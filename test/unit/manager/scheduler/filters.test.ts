import { describe, expect, it } from 'vitest';
import { schedule } from '../../../../src/manager/scheduler/index.js';
import {
  CPU,
  countByNode,
  GiB,
  hostPort,
  MiB,
  node,
  placements,
  replicas,
  running,
  task,
} from './fixtures.js';

describe('node state and availability', () => {
  it('places only on ready nodes', () => {
    const output = schedule({
      nodes: [node('a', { state: 'down' }), node('b'), node('c', { state: 'disconnected' })],
      placed: [],
      pending: replicas('s', 3),
    });
    expect(countByNode(output)).toEqual(new Map([['b', 3]]));
  });

  it('skips drained and paused nodes', () => {
    const output = schedule({
      nodes: [
        node('a', { availability: 'drain' }),
        node('b', { availability: 'pause' }),
        node('c'),
      ],
      placed: [],
      pending: replicas('s', 2),
    });
    expect(countByNode(output)).toEqual(new Map([['c', 2]]));
  });
});

describe('constraints', () => {
  const cluster = [
    node('a', { hostname: 'alpha', role: 'manager', labels: { zone: 'east' } }),
    node('b', { hostname: 'beta', labels: { zone: 'west' }, engineLabels: { disk: 'ssd' } }),
    node('c', { hostname: 'gamma', arch: 'aarch64', labels: { gpu: 'yes' } }),
  ];
  const where = (...constraints: string[]) => {
    const output = schedule({
      nodes: cluster,
      placed: [],
      pending: replicas('s', 6, { constraints }),
    });
    return [...countByNode(output).keys()].sort();
  };

  it('filters on each key with == and !=', () => {
    expect(where('node.id==b')).toEqual(['b']);
    expect(where('node.id!=b')).toEqual(['a', 'c']);
    expect(where('node.hostname==GAMMA')).toEqual(['c']);
    expect(where('node.hostname!=gamma')).toEqual(['a', 'b']);
    expect(where('node.role==manager')).toEqual(['a']);
    expect(where('node.role!=manager')).toEqual(['b', 'c']);
    expect(where('node.platform.os==linux')).toEqual(['a', 'b', 'c']);
    expect(where('node.platform.arch==aarch64')).toEqual(['c']);
    expect(where('node.platform.arch!=aarch64')).toEqual(['a', 'b']);
    expect(where('node.labels.zone==east')).toEqual(['a']);
    expect(where('engine.labels.disk==ssd')).toEqual(['b']);
  });

  it('treats a missing label as failing == and passing !=', () => {
    expect(where('node.labels.zone!=east')).toEqual(['b', 'c']);
    expect(where('node.labels.gpu!=yes')).toEqual(['a', 'b']);
    expect(where('engine.labels.disk!=ssd')).toEqual(['a', 'c']);
  });

  it('requires every constraint', () => {
    expect(where('node.role!=manager', 'node.labels.zone!=west')).toEqual(['c']);
    expect(where('node.id==a', 'node.id==b')).toEqual([]);
  });
});

describe('reserved resources', () => {
  it('accumulates memory reservations of tasks placed earlier in the same call', () => {
    const output = schedule({
      nodes: [node('a', { memoryBytes: GiB }), node('b', { memoryBytes: GiB })],
      placed: [],
      pending: replicas('s', 5, { memoryBytes: 512 * MiB }),
    });
    expect(countByNode(output)).toEqual(
      new Map([
        ['a', 2],
        ['b', 2],
      ]),
    );
    expect(output.unplaced).toEqual([
      { taskId: 's.5', reason: 'no suitable node (2 nodes lack 512MiB memory)' },
    ]);
  });

  it('accumulates CPU across services in one call and counts placed tasks', () => {
    const output = schedule({
      nodes: [node('a', { nanoCPUs: 2 * CPU }), node('b', { nanoCPUs: 2 * CPU })],
      placed: [running('p1', 'old', 'a', { nanoCPUs: 1.5 * CPU })],
      pending: [
        task('x1', 'x', { nanoCPUs: CPU }),
        task('y1', 'y', { nanoCPUs: CPU }),
        task('z1', 'z', { nanoCPUs: CPU }),
      ],
    });
    // a has 0.5 CPU free: x1 and y1 fill b; z1 fits nowhere.
    expect(placements(output)).toEqual({ x1: 'b', y1: 'b' });
    expect(output.unplaced).toEqual([
      { taskId: 'z1', reason: 'no suitable node (2 nodes lack 1 CPU)' },
    ]);
  });

  it('places tasks without reservations on full nodes, and ignores limits', () => {
    const busy = task('t1', 's');
    busy.Spec.Resources = { Limits: { NanoCPUs: 64 * CPU, MemoryBytes: 1024 * GiB } };
    const output = schedule({
      nodes: [node('a', { nanoCPUs: CPU, memoryBytes: GiB })],
      placed: [running('p1', 'old', 'a', { nanoCPUs: CPU, memoryBytes: GiB })],
      pending: [busy],
    });
    expect(placements(output)).toEqual({ t1: 'a' });
  });

  it('lets a task take a node whose free amount equals its reservation', () => {
    const output = schedule({
      nodes: [node('a', { nanoCPUs: 2 * CPU, memoryBytes: GiB })],
      placed: [],
      pending: replicas('s', 2, { nanoCPUs: CPU, memoryBytes: 512 * MiB }),
    });
    expect(output.assignments).toHaveLength(2);
  });
});

describe('host-mode ports', () => {
  it('keeps a task off a node where the same port and protocol is taken', () => {
    const output = schedule({
      nodes: [node('a'), node('b')],
      placed: [running('p1', 'other', 'a', { ports: [hostPort(8080)] })],
      pending: [task('t1', 's', { ports: [hostPort(8080, 'tcp')] })],
    });
    expect(placements(output)).toEqual({ t1: 'b' });
  });

  it('lets a different protocol or an ingress port share the node', () => {
    const output = schedule({
      nodes: [node('a')],
      placed: [running('p1', 'other', 'a', { ports: [hostPort(8080)] })],
      pending: [
        task('udp', 'u', { ports: [hostPort(8080, 'udp')] }),
        task('ingress', 'i', {
          ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
        }),
        task('engine-chosen', 'e', { ports: [{ TargetPort: 80, PublishMode: 'host' }] }),
      ],
    });
    expect(output.unplaced).toEqual([]);
  });

  it('puts at most one replica per node when replicas publish a host port', () => {
    const output = schedule({
      nodes: [node('a'), node('b'), node('c')],
      placed: [],
      pending: replicas('s', 4, { ports: [hostPort(80)] }),
    });
    expect([...countByNode(output).values()]).toEqual([1, 1, 1]);
    expect(output.unplaced).toEqual([
      { taskId: 's.4', reason: 'no suitable node (3 nodes have host port 80/tcp in use)' },
    ]);
  });
});

describe('max replicas per node', () => {
  it('limits tasks of the service on a node, counting those already there', () => {
    const output = schedule({
      nodes: [node('a'), node('b'), node('c')],
      placed: [running('p1', 's', 'a'), running('p2', 's', 'a'), running('o1', 'other', 'b')],
      pending: replicas('s', 4, { maxReplicas: 2 }),
    });
    expect(countByNode(output)).toEqual(
      new Map([
        ['b', 2],
        ['c', 2],
      ]),
    );
    expect(output.unplaced).toEqual([]);
    const more = schedule({
      nodes: [node('a'), node('b')],
      placed: [],
      pending: replicas('s', 3, { maxReplicas: 1 }),
    });
    expect(more.unplaced).toEqual([
      { taskId: 's.3', reason: 'no suitable node (2 nodes reached max replicas per node (1))' },
    ]);
  });

  it('does not count other services', () => {
    const output = schedule({
      nodes: [node('a')],
      placed: [running('o1', 'other', 'a'), running('o2', 'other', 'a')],
      pending: [task('t1', 's', { maxReplicas: 1 })],
    });
    expect(placements(output)).toEqual({ t1: 'a' });
  });
});
