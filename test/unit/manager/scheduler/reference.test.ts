/**
 * The heaps and buckets against a plain reference: for random small clusters, a scheduler
 * that re-runs every filter on every node for every task must choose the same nodes and give
 * the same reasons.
 */
import { describe, expect, it } from 'vitest';
import {
  matchesConstraint,
  parseConstraint,
  parseSpreadDescriptor,
  type SchedulerInput,
  type SchedulerOutput,
  schedule,
} from '../../../../src/manager/scheduler/index.js';
import { spreadValue } from '../../../../src/manager/scheduler/preferences.js';
import type { Task } from '../../../../src/state/service-types.js';
import type { Node } from '../../../../src/state/types.js';
import { Rng } from '../../../sim/rng.js';
import { CPU, GiB, hostPort, node, replicas, running, type TaskOptions } from './fixtures.js';

function reference(input: SchedulerInput): SchedulerOutput {
  const { nodes } = input;
  const total = new Map<string, number>();
  const perService = new Map<string, number>();
  const cpu = new Map(nodes.map((n) => [n.ID, n.Description.Resources.NanoCPUs]));
  const mem = new Map(nodes.map((n) => [n.ID, n.Description.Resources.MemoryBytes]));
  const ports = new Map<string, Set<string>>();
  const keyOf = (t: Task) =>
    (t.Endpoint?.Ports ?? [])
      .filter((p) => p.PublishMode === 'host' && (p.PublishedPort ?? 0) > 0)
      .map((p) => `${p.PublishedPort}/${p.Protocol ?? 'tcp'}`);
  const land = (t: Task, id: string) => {
    total.set(id, (total.get(id) ?? 0) + 1);
    perService.set(`${t.ServiceID}@${id}`, (perService.get(`${t.ServiceID}@${id}`) ?? 0) + 1);
    cpu.set(id, cpu.get(id)! - (t.Spec.Resources?.Reservations?.NanoCPUs ?? 0));
    mem.set(id, mem.get(id)! - (t.Spec.Resources?.Reservations?.MemoryBytes ?? 0));
    const used = ports.get(id) ?? new Set();
    for (const k of keyOf(t)) used.add(k);
    ports.set(id, used);
  };
  for (const t of input.placed) land(t, t.NodeID);
  const svc = (t: Task, id: string) => perService.get(`${t.ServiceID}@${id}`) ?? 0;

  // One service per group in these inputs, and groups arrive contiguous.
  const output: SchedulerOutput = { assignments: [], unplaced: [] };
  let failed: string | undefined;
  let current = '';
  let staticOk: Node[] = [];
  let staticCounts: string[] = [];
  for (const t of input.pending) {
    if (t.ServiceID !== current) {
      current = t.ServiceID;
      failed = undefined;
      staticCounts = [];
      staticOk = nodes.filter((n) => {
        if (n.Status.State !== 'ready') return !staticCounts.push('not ready');
        if (n.Spec.Availability !== 'active') return !staticCounts.push(n.Spec.Availability);
        const constraints = t.Spec.Placement?.Constraints ?? [];
        const bad = constraints.find((c) => !matchesConstraint(parseConstraint(c), n));
        return bad === undefined || !staticCounts.push(`c:${bad}`);
      });
    }
    if (failed !== undefined) {
      output.unplaced.push({ taskId: t.ID, reason: failed });
      continue;
    }
    const r = t.Spec.Resources?.Reservations ?? {};
    const max = t.Spec.Placement?.MaxReplicas ?? 0;
    const refuse = (n: Node): string | undefined => {
      if ((r.NanoCPUs ?? 0) > 0 && cpu.get(n.ID)! < r.NanoCPUs!) return 'cpu';
      if ((r.MemoryBytes ?? 0) > 0 && mem.get(n.ID)! < r.MemoryBytes!) return 'mem';
      const k = keyOf(t).find((key) => ports.get(n.ID)?.has(key));
      if (k !== undefined) return `port:${k}`;
      if (max > 0 && svc(t, n.ID) >= max) return 'max';
      return undefined;
    };
    const feasible = staticOk.filter((n) => refuse(n) === undefined);
    if (feasible.length === 0) {
      const counts = new Map<string, number>();
      for (const c of [...staticCounts, ...staticOk.map((n) => refuse(n)!)]) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      failed = JSON.stringify([...counts].sort());
      output.unplaced.push({ taskId: t.ID, reason: failed });
      continue;
    }
    const spread = (t.Spec.Placement?.Preferences ?? []).map((p) =>
      parseSpreadDescriptor(p.Spread.SpreadDescriptor),
    );
    // A candidate's key is the tuple down its chosen path: at each preference level the
    // service's tasks on the value's statically eligible nodes, then the node's own (tasks of
    // the service, tasks in total, ID). The smallest key over feasible nodes wins.
    type Key = (number | string)[];
    const less = (a: Key, b: Key) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
      return false;
    };
    const best = (members: Node[], level: number): { key: Key; node: Node } | undefined => {
      const key = spread[level];
      let chosen: { key: Key; node: Node } | undefined;
      if (key === undefined) {
        for (const n of members) {
          if (!feasible.includes(n)) continue;
          const k: Key = [svc(t, n.ID), total.get(n.ID) ?? 0, n.ID];
          if (chosen === undefined || less(k, chosen.key)) chosen = { key: k, node: n };
        }
        return chosen;
      }
      const byValue = new Map<string | undefined, Node[]>();
      for (const n of members) {
        const v = spreadValue(key, n);
        byValue.set(v, [...(byValue.get(v) ?? []), n]);
      }
      for (const group of byValue.values()) {
        const inner = best(group, level + 1);
        if (inner === undefined) continue;
        const k: Key = [group.reduce((sum, n) => sum + svc(t, n.ID), 0), ...inner.key];
        if (chosen === undefined || less(k, chosen.key)) chosen = { key: k, node: inner.node };
      }
      return chosen;
    };
    const target = best(staticOk, 0)!.node;
    land(t, target.ID);
    output.assignments.push({ taskId: t.ID, nodeId: target.ID });
  }
  return output;
}

/** The scheduler's reason turned into the reference's sortable form, for comparison. */
function canonical(reason: string): string {
  const inner = reason.replace(/^no suitable node \((.*)\)$/, '$1');
  const counts = inner.split(', ').map((part): [string, number] => {
    const m = /^(\d+) nodes? (.*)$/.exec(part)!;
    const what = m[2]!;
    const key = what.startsWith('not ready')
      ? 'not ready'
      : what === 'drained'
        ? 'drain'
        : what === 'paused'
          ? 'pause'
          : what.startsWith('fail')
            ? `c:${what.replace(/^fails? constraint /, '')}`
            : / CPUs?$/.test(what)
              ? 'cpu'
              : what.endsWith('memory')
                ? 'mem'
                : what.includes('host port')
                  ? `port:${/port (\S+)/.exec(what)![1]}`
                  : 'max';
    return [key, Number(m[1])];
  });
  return JSON.stringify(counts.sort());
}

function randomCase(seed: number): SchedulerInput {
  const rng = new Rng(seed); // seeded, so a failure can be replayed
  const rand = () => rng.next();
  const pickOf = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]!;
  const nodeCount = 1 + Math.floor(rand() * 12);
  const nodes: Node[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const labels: Record<string, string> = {};
    if (rand() < 0.8) labels.zone = pickOf(['a', 'b', 'c']);
    if (rand() < 0.7) labels.rack = pickOf(['r1', 'r2']);
    nodes.push(
      node(`n${String(Math.floor(rand() * 1000)).padStart(3, '0')}-${i}`, {
        state: rand() < 0.1 ? 'down' : 'ready',
        availability: rand() < 0.1 ? pickOf(['drain', 'pause'] as const) : 'active',
        role: rand() < 0.3 ? 'manager' : 'worker',
        labels,
        nanoCPUs: pickOf([1, 2, 4]) * CPU,
        memoryBytes: pickOf([1, 2, 4]) * GiB,
      }),
    );
  }
  const options = (): TaskOptions => {
    const o: TaskOptions = {};
    if (rand() < 0.3) o.constraints = [pickOf(['node.labels.zone!=c', 'node.role==worker'])];
    if (rand() < 0.4)
      o.spread = rand() < 0.5 ? ['node.labels.zone'] : ['node.labels.zone', 'node.labels.rack'];
    if (rand() < 0.3) o.maxReplicas = 1 + Math.floor(rand() * 3);
    if (rand() < 0.4) o.nanoCPUs = pickOf([0.5, 1]) * CPU;
    if (rand() < 0.4) o.memoryBytes = pickOf([0.25, 0.5, 1]) * GiB;
    if (rand() < 0.2) o.ports = [hostPort(pickOf([80, 443]))];
    return o;
  };
  const placed: Task[] = [];
  for (let i = 0; i < Math.floor(rand() * 10); i++) {
    placed.push(running(`p${i}`, pickOf(['s0', 's1', 'x']), pickOf(nodes).ID, options()));
  }
  const pending: Task[] = [];
  for (let s = 0; s < 1 + Math.floor(rand() * 4); s++) {
    pending.push(...replicas(`s${s}`, 1 + Math.floor(rand() * 15), options()));
  }
  return { nodes, placed, pending };
}

describe('the scheduler against a plain reference', () => {
  it('chooses the same nodes and gives the same reasons on 500 random clusters', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const input = randomCase(seed);
      const expected = reference(input);
      const actual = schedule(input);
      const normalized = {
        assignments: actual.assignments,
        unplaced: actual.unplaced.map((u) => ({ taskId: u.taskId, reason: canonical(u.reason) })),
      };
      expect(normalized, `seed ${seed}`).toEqual(expected);
    }
  });
});
