/** Task status reaches Raft in batches bounded by time and count, newest report per task. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/log.js';
import type { Consensus } from '../../../src/manager/consensus.js';
import { StatusBatcher } from '../../../src/manager/status-batcher.js';
import type { Command, TaskStatus } from '../../../src/state/index.js';

function recorder(leader = true) {
  const proposed: Command[] = [];
  const consensus = {
    isLeader: () => leader,
    propose: async (command: Command) => {
      proposed.push(command);
      return [];
    },
  } as unknown as Consensus;
  const batcher = new StatusBatcher({
    consensus,
    now: () => new Date('2026-01-01T00:00:00Z'),
    logger: createLogger({ level: 'silent' as never }),
    maxDelayMs: 50,
    maxOps: 3,
  });
  return { proposed, batcher };
}

const status = (State: TaskStatus['State']): TaskStatus => ({
  Timestamp: '2026-01-01T00:00:00.000Z',
  State,
  Message: State,
});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StatusBatcher', () => {
  it('commits the reports of one interval as one entry, keeping the newest state per task', async () => {
    const { proposed, batcher } = recorder();
    batcher.add('n1', [{ taskId: 't1', status: status('starting') }]);
    batcher.add('n1', [{ taskId: 't1', status: status('running') }]);
    batcher.add('n1', [{ taskId: 't1', status: status('preparing') }]);
    batcher.add('n2', [{ taskId: 't2', status: status('running') }]);
    expect(proposed).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(proposed).toHaveLength(1);
    const ops = proposed[0]?.type === 'tasks.write' ? proposed[0].ops : [];
    expect(
      ops.map((op) => (op.op === 'status' ? [op.id, op.nodeId, op.status.State] : [])),
    ).toEqual([
      ['t1', 'n1', 'running'],
      ['t2', 'n2', 'running'],
    ]);
  });

  it('does not wait for the interval once a full batch is waiting', async () => {
    const { proposed, batcher } = recorder();
    const start = Date.now();
    batcher.add(
      'n1',
      ['a', 'b', 'c', 'd'].map((taskId) => ({ taskId, status: status('running') })),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(proposed).toHaveLength(1);
    // The rest follows as soon as the first is committed, not after another interval.
    await vi.runAllTimersAsync();
    expect(proposed).toHaveLength(2);
    expect(Date.now() - start).toBeLessThan(50);
    const sizes = proposed.map((c) => (c.type === 'tasks.write' ? c.ops.length : 0));
    expect(sizes).toEqual([3, 1]);
  });

  it('drops reports on a manager that does not lead (the agent resends them to the leader)', async () => {
    const { proposed, batcher } = recorder(false);
    batcher.add('n1', [{ taskId: 't1', status: status('running') }]);
    await vi.advanceTimersByTimeAsync(100);
    expect(proposed).toEqual([]);
  });
});
