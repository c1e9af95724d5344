import { describe, expect, it } from 'vitest';
import {
  chooseBackend,
  endpointKey,
  type PoolEntry,
  toPool,
} from '../../../src/ingress/balancer.js';

const SELF = 'node-self';

function pool(...specs: Array<[taskId: string, nodeId: string, port: number]>): PoolEntry[] {
  return toPool(
    specs.map(([taskId, nodeId, port]) => ({ taskId, nodeId, addr: '10.0.0.1', hostPort: port })),
  );
}

function counts(entries: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(entries));
}

describe('chooseBackend', () => {
  it('returns undefined for an empty pool', () => {
    expect(chooseBackend([], new Map(), SELF)).toBeUndefined();
  });

  it('picks the backend with the fewest active connections', () => {
    const p = pool(['t1', 'a', 1], ['t2', 'b', 2], ['t3', 'c', 3]);
    const active = counts({ '10.0.0.1:1': 2, '10.0.0.1:2': 1, '10.0.0.1:3': 4 });
    expect(chooseBackend(p, active, SELF)?.taskId).toBe('t2');
  });

  it('prefers a backend on this node on a tie, not when it is busier', () => {
    const p = pool(['t1', 'a', 1], ['t2', SELF, 2]);
    expect(chooseBackend(p, new Map(), SELF)?.taskId).toBe('t2');
    expect(chooseBackend(p, counts({ '10.0.0.1:2': 1 }), SELF)?.taskId).toBe('t1');
  });

  it('breaks remaining ties by task id then endpoint, whatever the table order', () => {
    const forward = pool(['t1', 'a', 9], ['t2', 'b', 1]);
    expect(chooseBackend(forward, new Map(), SELF)?.taskId).toBe('t1');
    expect(chooseBackend([...forward].reverse(), new Map(), SELF)?.taskId).toBe('t1');
    const sameTask = pool(['t1', 'a', 9], ['t1', 'a', 10]);
    // "10.0.0.1:10" < "10.0.0.1:9" as strings: stable, if not numeric.
    expect(chooseBackend(sameTask, new Map(), SELF)?.hostPort).toBe(10);
  });

  it('takes tied backends in turn, so sequential connections reach every replica', () => {
    const p = pool(['t1', 'n2', 1], ['t2', 'n3', 2], ['t3', 'n2', 3]);
    const picks = [0, 1, 2, 3].map(
      (turn) => chooseBackend(p, new Map(), SELF, undefined, turn)?.taskId,
    );
    expect(picks).toEqual(['t1', 't2', 't3', 't1']);
    // A local backend still wins a tie, whatever the turn.
    const withLocal = pool(['t1', 'n2', 1], ['t2', SELF, 2]);
    expect(chooseBackend(withLocal, new Map(), SELF, undefined, 1)?.taskId).toBe('t2');
  });

  it('skips backends already tried, and gives up when all were', () => {
    const p = pool(['t1', SELF, 1], ['t2', 'b', 2]);
    expect(chooseBackend(p, new Map(), SELF, new Set(['10.0.0.1:1']))?.taskId).toBe('t2');
    expect(
      chooseBackend(p, new Map(), SELF, new Set(['10.0.0.1:1', '10.0.0.1:2'])),
    ).toBeUndefined();
  });

  it('spreads a burst of connections evenly when each one is counted', () => {
    const p = pool(['t1', 'a', 1], ['t2', 'b', 2], ['t3', SELF, 3]);
    const active = new Map<string, number>();
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const b = chooseBackend(p, active, SELF)!;
      active.set(b.key, (active.get(b.key) ?? 0) + 1);
      picks.push(b.taskId);
    }
    expect(picks).toEqual(['t3', 't1', 't2', 't3', 't1', 't2']);
  });
});

describe('endpointKey', () => {
  it('brackets IPv6 addresses', () => {
    expect(endpointKey('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(endpointKey('fd00::1', 80)).toBe('[fd00::1]:80');
  });
});
