import { describe, expect, it } from 'vitest';
import { formatBytes, formatCpus, schedule } from '../../../../src/manager/scheduler/index.js';
import { CPU, GiB, hostPort, MiB, node, replicas, running, task } from './fixtures.js';

const reasonFor = (...args: Parameters<typeof schedule>) => {
  const output = schedule(...args);
  expect(output.assignments).toEqual([]);
  return output.unplaced.map((u) => u.reason);
};

describe('reasons for a task left pending', () => {
  it('counts each cause with singular and plural, in filter order', () => {
    const reasons = reasonFor({
      nodes: [
        node('a', { availability: 'drain' }),
        node('b', { memoryBytes: 256 * MiB }),
        node('c', { availability: 'drain' }),
      ],
      placed: [],
      pending: [task('t1', 's', { memoryBytes: 512 * MiB })],
    });
    expect(reasons).toEqual(['no suitable node (2 nodes drained, 1 node lacks 512MiB memory)']);
  });

  it('names every filter', () => {
    const nodes = [
      node('down', { state: 'down' }),
      node('unknown', { state: 'unknown' }),
      node('drained', { availability: 'drain' }),
      node('paused', { availability: 'pause' }),
      node('paused2', { availability: 'pause' }),
      node('west', { labels: { zone: 'west' } }),
      node('east-manager', { labels: { zone: 'east' }, role: 'manager' }),
      node('small-cpu', { labels: { zone: 'east' }, nanoCPUs: CPU }),
      node('small-mem', { labels: { zone: 'east' }, memoryBytes: GiB }),
      node('port', { labels: { zone: 'east' } }),
      node('full', { labels: { zone: 'east' } }),
    ];
    const spec = {
      constraints: ['node.labels.zone==east', 'node.role!=manager'],
      nanoCPUs: 2 * CPU,
      memoryBytes: 1.5 * GiB,
      ports: [hostPort(8080)],
      maxReplicas: 1,
    };
    const reasons = reasonFor({
      nodes,
      placed: [
        running('p1', 'other', 'port', { ports: [hostPort(8080)] }),
        running('p2', 's', 'full'),
      ],
      pending: [task('t1', 's', spec)],
    });
    expect(reasons).toEqual([
      'no suitable node (2 nodes not ready, 1 node drained, 2 nodes paused, ' +
        '1 node fails constraint node.labels.zone==east, ' +
        '1 node fails constraint node.role!=manager, 1 node lacks 2 CPUs, ' +
        '1 node lacks 1.5GiB memory, 1 node has host port 8080/tcp in use, ' +
        '1 node reached max replicas per node (1))',
    ]);
  });

  it('uses plural verbs for several nodes', () => {
    const reasons = reasonFor({
      nodes: [node('a', { nanoCPUs: CPU }), node('b', { nanoCPUs: CPU })],
      placed: [],
      pending: [task('t1', 's', { nanoCPUs: 2 * CPU, constraints: ['node.role!=worker'] })],
    });
    expect(reasons).toEqual(['no suitable node (2 nodes fail constraint node.role!=worker)']);
    const more = reasonFor({
      nodes: [node('a', { nanoCPUs: CPU }), node('b', { nanoCPUs: CPU })],
      placed: [
        running('p1', 'x', 'a', { ports: [hostPort(53, 'udp')] }),
        running('p2', 'x', 'b', { ports: [hostPort(53, 'udp')] }),
      ],
      pending: [task('t1', 's', { nanoCPUs: CPU / 2, ports: [hostPort(53, 'udp')] })],
    });
    expect(more).toEqual(['no suitable node (2 nodes have host port 53/udp in use)']);
    const cpu = reasonFor({
      nodes: [node('a', { nanoCPUs: CPU }), node('b', { nanoCPUs: CPU })],
      placed: [],
      pending: [task('t1', 's', { nanoCPUs: 1.5 * CPU })],
    });
    expect(cpu).toEqual(['no suitable node (2 nodes lack 1.5 CPUs)']);
  });

  it('counts a node once, under the first filter that refused it', () => {
    const reasons = reasonFor({
      nodes: [
        node('a', { state: 'down', availability: 'drain', memoryBytes: 0 }),
        node('b', { availability: 'pause', memoryBytes: 0 }),
        node('c', { nanoCPUs: 0, memoryBytes: 0 }),
      ],
      placed: [],
      pending: [task('t1', 's', { nanoCPUs: CPU, memoryBytes: GiB })],
    });
    expect(reasons).toEqual([
      'no suitable node (1 node not ready, 1 node paused, 1 node lacks 1 CPU)',
    ]);
  });

  it('says so when the cluster has no nodes', () => {
    expect(reasonFor({ nodes: [], placed: [], pending: [task('t1', 's')] })).toEqual([
      'no suitable node (no nodes in the cluster)',
    ]);
  });

  it('gives every task of a group that runs out of room the same reason', () => {
    const output = schedule({
      nodes: [node('a', { memoryBytes: GiB })],
      placed: [],
      pending: replicas('s', 4, { memoryBytes: 512 * MiB }),
    });
    expect(output.assignments.map((a) => a.taskId)).toEqual(['s.1', 's.2']);
    expect(output.unplaced).toEqual([
      { taskId: 's.3', reason: 'no suitable node (1 node lacks 512MiB memory)' },
      { taskId: 's.4', reason: 'no suitable node (1 node lacks 512MiB memory)' },
    ]);
  });

  it('reports a bad constraint or preference in the task as its reason', () => {
    const output = schedule({
      nodes: [node('a')],
      placed: [],
      pending: [
        task('t1', 's1', { constraints: ['node.zone==east'] }),
        task('t2', 's2', { spread: ['node.hostname'] }),
      ],
    });
    expect(output.assignments).toEqual([]);
    expect(output.unplaced[0]!.reason).toMatch(
      /^invalid constraint "node.zone==east": unknown key/,
    );
    expect(output.unplaced[1]!.reason).toMatch(
      /^invalid placement preference "spread=node.hostname"/,
    );
  });
});

describe('amounts in reasons', () => {
  it('prints memory in binary units', () => {
    expect(formatBytes(512 * MiB)).toBe('512MiB');
    expect(formatBytes(1.5 * GiB)).toBe('1.5GiB');
    expect(formatBytes(GiB)).toBe('1GiB');
    expect(formatBytes(1000)).toBe('1000B');
    expect(formatBytes(2048)).toBe('2KiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3TiB');
  });

  it('prints CPUs with the right plural', () => {
    expect(formatCpus(2 * CPU)).toBe('2 CPUs');
    expect(formatCpus(CPU)).toBe('1 CPU');
    expect(formatCpus(CPU / 2)).toBe('0.5 CPUs');
    expect(formatCpus(250_000_000)).toBe('0.25 CPUs');
  });
});
