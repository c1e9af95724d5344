import { describe, expect, it } from 'vitest';
import { schedule } from '../../../../src/manager/scheduler/index.js';
import type { Task } from '../../../../src/state/service-types.js';
import { countByNode, node, nodes, placements, replicas, running, task } from './fixtures.js';

describe('spreading a service over nodes', () => {
  it('puts 3 replicas on 3 nodes, one each', () => {
    const output = schedule({ nodes: nodes(3), placed: [], pending: replicas('s', 3) });
    expect([...countByNode(output).values()]).toEqual([1, 1, 1]);
  });

  it('puts 6 replicas on 3 nodes, two each', () => {
    const output = schedule({ nodes: nodes(3), placed: [], pending: replicas('s', 6) });
    expect([...countByNode(output).values()]).toEqual([2, 2, 2]);
  });

  it('prefers the node with the fewest tasks of the service', () => {
    const output = schedule({
      nodes: [node('a'), node('b')],
      placed: [running('p1', 's', 'a'), running('p2', 's', 'a'), running('o1', 'other', 'b')],
      pending: replicas('s', 3),
    });
    // b first (0 of s) until it catches up with a's 2, then a (fewer in total: 2 vs 3).
    expect(placements(output)).toEqual({ 's.1': 'b', 's.2': 'b', 's.3': 'a' });
  });

  it('breaks ties by fewest tasks in total, then by node ID', () => {
    const output = schedule({
      nodes: [node('c'), node('b'), node('a')],
      placed: [running('o1', 'other', 'a'), running('o2', 'other', 'a'), running('o3', 'x', 'b')],
      pending: replicas('s', 3),
    });
    expect(placements(output)).toEqual({ 's.1': 'c', 's.2': 'b', 's.3': 'a' });
    const even = schedule({
      nodes: [node('c'), node('b'), node('a')],
      placed: [],
      pending: replicas('s', 1),
    });
    expect(placements(even)).toEqual({ 's.1': 'a' });
  });

  it('sees the tasks it placed earlier in the same call when ranking another service', () => {
    const output = schedule({
      nodes: [node('a'), node('b')],
      placed: [],
      pending: [...replicas('x', 3), ...replicas('y', 1)],
    });
    // x puts 2 on a (ID order first) and 1 on b; y then prefers b, the less busy node.
    expect(placements(output)['y.1']).toBe('b');
  });

  it('gives the same answer whatever the order of the nodes', () => {
    const cluster = nodes(20);
    const pending = [...replicas('s', 37), ...replicas('t', 11)];
    const forward = schedule({ nodes: cluster, placed: [], pending });
    const backward = schedule({ nodes: [...cluster].reverse(), placed: [], pending });
    expect(backward).toEqual(forward);
  });

  it('returns assignments and unplaced tasks in the order of pending', () => {
    const pending: Task[] = [
      task('b1', 'b'),
      task('a1', 'a', { constraints: ['node.id==none'] }),
      task('b2', 'b'),
      task('a2', 'a', { constraints: ['node.id==none'] }),
      task('c1', 'c'),
    ];
    const output = schedule({ nodes: nodes(2), placed: [], pending });
    expect(output.assignments.map((a) => a.taskId)).toEqual(['b1', 'b2', 'c1']);
    expect(output.unplaced.map((u) => u.taskId)).toEqual(['a1', 'a2']);
  });

  it('keeps tasks of one service with different constraints apart', () => {
    // A global service's orchestrator may pin each task to its node.
    const pending = ['n0001', 'n0002', 'n0003'].map((id, i) =>
      task(`g${i}`, 'global', { constraints: [`node.id==${id}`] }),
    );
    const output = schedule({ nodes: nodes(3), placed: [], pending });
    expect(placements(output)).toEqual({ g0: 'n0001', g1: 'n0002', g2: 'n0003' });
  });

  it('places 10,000 tasks on 1,000 nodes, 10 on every node', () => {
    const cluster = nodes(1000);
    const pending: Task[] = [];
    for (let s = 0; s < 10; s++) pending.push(...replicas(`svc${s}`, 1000));
    const output = schedule({ nodes: cluster, placed: [], pending });
    expect(output.unplaced).toEqual([]);
    const counts = countByNode(output);
    expect(counts.size).toBe(1000);
    expect(new Set(counts.values())).toEqual(new Set([10]));
    // And each service one task per node.
    const perService = new Set(
      output.assignments.map((a) => `${a.taskId.split('.')[0]}@${a.nodeId}`),
    );
    expect(perService.size).toBe(10_000);
  });
});

describe('placement preferences', () => {
  const zoned = [
    node('a1', { labels: { zone: 'a' } }),
    node('a2', { labels: { zone: 'a' } }),
    node('b1', { labels: { zone: 'b' } }),
  ];

  it('spreads evenly over the values of a label before the nodes', () => {
    const output = schedule({
      nodes: zoned,
      placed: [],
      pending: replicas('s', 6, { spread: ['node.labels.zone'] }),
    });
    expect(countByNode(output)).toEqual(
      new Map([
        ['a1', 2],
        ['a2', 1],
        ['b1', 3],
      ]),
    );
  });

  it('without the preference spreads over the nodes instead', () => {
    const output = schedule({ nodes: zoned, placed: [], pending: replicas('s', 6) });
    expect([...countByNode(output).values()]).toEqual([2, 2, 2]);
  });

  it('puts the nodes that lack the label in a group of their own', () => {
    const output = schedule({
      nodes: [...zoned, node('x1'), node('x2')],
      placed: [],
      pending: replicas('s', 6, { spread: ['node.labels.zone'] }),
    });
    const counts = countByNode(output);
    const zone = (ids: string[]) => ids.reduce((sum, id) => sum + (counts.get(id) ?? 0), 0);
    expect([zone(['a1', 'a2']), zone(['b1']), zone(['x1', 'x2'])]).toEqual([2, 2, 2]);
  });

  it('counts tasks already running in each value', () => {
    const output = schedule({
      nodes: zoned,
      placed: [running('p1', 's', 'a1'), running('p2', 's', 'a2')],
      pending: replicas('s', 2, { spread: ['node.labels.zone'] }),
    });
    expect(placements(output)).toEqual({ 's.1': 'b1', 's.2': 'b1' });
  });

  it('spreads hierarchically: over the first label, then the second within it', () => {
    const racks = [
      node('e1', { labels: { zone: 'east', rack: 'r1' } }),
      node('e2', { labels: { zone: 'east', rack: 'r1' } }),
      node('e3', { labels: { zone: 'east', rack: 'r2' } }),
      node('w1', { labels: { zone: 'west', rack: 'r1' } }),
    ];
    const output = schedule({
      nodes: racks,
      placed: [],
      pending: replicas('s', 8, { spread: ['node.labels.zone', 'node.labels.rack'] }),
    });
    // 4 per zone; in east 2 per rack, so e3 alone takes rack r2's two.
    expect(countByNode(output)).toEqual(
      new Map([
        ['e1', 1],
        ['e2', 1],
        ['e3', 2],
        ['w1', 4],
      ]),
    );
  });

  it('spreads over engine labels too', () => {
    const output = schedule({
      nodes: [
        node('a', { engineLabels: { dc: '1' } }),
        node('b', { engineLabels: { dc: '1' } }),
        node('c', { engineLabels: { dc: '2' } }),
      ],
      placed: [],
      pending: replicas('s', 2, { spread: ['engine.labels.dc'] }),
    });
    expect(new Set(Object.values(placements(output))).has('c')).toBe(true);
  });

  it('moves on to the next value when a value has no room left', () => {
    const output = schedule({
      nodes: zoned,
      placed: [],
      pending: replicas('s', 4, { spread: ['node.labels.zone'], maxReplicas: 1 }),
    });
    expect(countByNode(output)).toEqual(
      new Map([
        ['a1', 1],
        ['a2', 1],
        ['b1', 1],
      ]),
    );
    expect(output.unplaced).toHaveLength(1);
  });
});
