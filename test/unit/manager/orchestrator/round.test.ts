import { describe, expect, it } from 'vitest';
import { creates, harness, node, service, shutdowns, T0, task } from './fixtures.js';

describe('replicated services', () => {
  it('creates one pending task per missing slot', () => {
    const svc = service();
    const { run } = harness([node('n1')]);
    const out = run(svc, [task(svc, 2, 'running')]);
    expect(creates(out.ops)).toEqual([
      { slot: 1, nodeId: '' },
      { slot: 3, nodeId: '' },
    ]);
  });

  it('does nothing when every slot has a live task', () => {
    const svc = service();
    const { run } = harness([node('n1')]);
    const tasks = [1, 2, 3].map((slot) => task(svc, slot, 'running'));
    expect(run(svc, tasks).ops).toEqual([]);
  });

  it('scales down by shutting down the tasks of the slots above the count', () => {
    const svc = service({ Mode: { Replicated: { Replicas: 1 } } });
    const { run } = harness([node('n1')]);
    const tasks = [1, 2, 3].map((slot) => task(svc, slot, 'running', { id: `s${slot}` }));
    const out = run(svc, tasks);
    expect(shutdowns(out.ops).sort()).toEqual(['s2', 's3']);
    expect(creates(out.ops)).toEqual([]);
  });

  it('restarts a failed task only after the restart delay', () => {
    const svc = service({
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        RestartPolicy: { Condition: 'any', Delay: 2_000_000_000 },
      },
    });
    const { run, clock } = harness([node('n1')]);
    const failed = task(svc, 1, 'failed', { id: 'f1' });
    const first = run(svc, [failed]);
    expect(first.ops).toEqual([]);
    expect(first.wakeAt).toBe(clock.now + 2000);
    clock.now += 1999;
    expect(run(svc, [failed]).ops).toEqual([]);
    clock.now += 1;
    const due = run(svc, [failed]);
    expect(shutdowns(due.ops)).toEqual(['f1']);
    expect(creates(due.ops)).toEqual([{ slot: 1, nodeId: '' }]);
  });

  it('restarts with no delay when the delay is 0, and stops after max attempts in the window', () => {
    const svc = service({
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        RestartPolicy: {
          Condition: 'on-failure',
          Delay: 0,
          MaxAttempts: 2,
          Window: 60_000_000_000,
        },
      },
    });
    const { run, clock } = harness([node('n1')]);
    for (let attempt = 0; attempt < 2; attempt++) {
      const out = run(svc, [task(svc, 1, 'failed')]);
      expect(creates(out.ops)).toHaveLength(1);
      clock.now += 1000;
    }
    expect(run(svc, [task(svc, 1, 'failed')]).ops).toEqual([]);
    // Outside the window the attempts count again.
    clock.now += 61_000;
    expect(creates(run(svc, [task(svc, 1, 'failed')]).ops)).toHaveLength(1);
  });

  it('leaves a completed task alone under on-failure and a failed one under none', () => {
    const onFailure = service({
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        RestartPolicy: { Condition: 'on-failure', Delay: 0 },
      },
    });
    const none = service({
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: { Condition: 'none' } },
    });
    const { run } = harness([node('n1')]);
    expect(run(onFailure, [task(onFailure, 1, 'complete')]).ops).toEqual([]);
    expect(run(none, [task(none, 1, 'failed')]).ops).toEqual([]);
  });

  it('replaces at once the tasks of a node that is down or drained', () => {
    const svc = service({ Mode: { Replicated: { Replicas: 2 } } });
    const { run } = harness([node('n1', 'down'), node('n2', 'ready', 'drain'), node('n3')]);
    const out = run(svc, [
      task(svc, 1, 'running', { nodeId: 'n1', id: 'a' }),
      task(svc, 2, 'running', { nodeId: 'n2', id: 'b' }),
    ]);
    expect(shutdowns(out.ops).sort()).toEqual(['a', 'b']);
    expect(creates(out.ops)).toEqual([
      { slot: 1, nodeId: '' },
      { slot: 2, nodeId: '' },
    ]);
  });

  it('orders a slot by the log, not by clocks: a skewed leader clock does not skip the restart delay', () => {
    const svc = service({
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        RestartPolicy: { Delay: 2_000_000_000 },
      },
    });
    const { run } = harness([node('n1')]);
    // Made first, by a leader whose clock ran an hour ahead.
    const older = { ...task(svc, 1, 'failed', { desired: 'shutdown' }), CreatedIndex: 1 };
    const skewed = { ...older, CreatedAt: new Date(T0 + 3_600_000).toISOString() };
    const latest = { ...task(svc, 1, 'failed', { id: 'latest' }), CreatedIndex: 2 };
    expect(run(svc, [skewed, latest]).ops).toEqual([]);
  });

  it('keeps the replacement when the lost node comes back: the old task stays shut down', () => {
    const svc = service({ Mode: { Replicated: { Replicas: 1 } } });
    const { run } = harness([node('n1'), node('n2')]);
    const old = task(svc, 1, 'running', { nodeId: 'n1', desired: 'shutdown' });
    const replacement = task(svc, 1, 'running', { nodeId: 'n2' });
    expect(run(svc, [old, replacement]).ops).toEqual([]);
  });
});

describe('global services', () => {
  const globalSvc = () => service({ Mode: { Global: {} } });

  it('puts one task on every ready, active node and none on drained or paused ones', () => {
    const svc = globalSvc();
    const { run } = harness([
      node('n1'),
      node('n2', 'ready', 'drain'),
      node('n3', 'ready', 'pause'),
      node('n4', 'down'),
    ]);
    expect(creates(run(svc, []).ops)).toEqual([{ slot: 0, nodeId: 'n1' }]);
  });

  it('shuts down the task of a node that is drained, and leaves a paused node running', () => {
    const svc = globalSvc();
    const { run } = harness([node('n1', 'ready', 'drain'), node('n2', 'ready', 'pause')]);
    const out = run(svc, [
      task(svc, 0, 'running', { nodeId: 'n1', id: 'a' }),
      task(svc, 0, 'running', { nodeId: 'n2', id: 'b' }),
    ]);
    expect(shutdowns(out.ops)).toEqual(['a']);
    expect(creates(out.ops)).toEqual([]);
  });

  it('shuts down the task of a node that left the cluster', () => {
    const svc = globalSvc();
    const { run } = harness([node('n1')]);
    const out = run(svc, [
      task(svc, 0, 'running', { nodeId: 'n1' }),
      task(svc, 0, 'running', { nodeId: 'gone', id: 'g' }),
    ]);
    expect(shutdowns(out.ops)).toEqual(['g']);
  });
});

describe('jobs', () => {
  it('runs a replicated job to its completions, at most MaxConcurrent at a time', () => {
    const svc = service({ Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } } });
    const { run } = harness([node('n1')]);
    // A job's slots count from 0, as Swarm's (the docker CLI's job progress expects it).
    expect(creates(run(svc, []).ops)).toEqual([
      { slot: 0, nodeId: '' },
      { slot: 1, nodeId: '' },
    ]);
    const out = run(svc, [task(svc, 0, 'complete'), task(svc, 1, 'running')]);
    expect(creates(out.ops)).toEqual([{ slot: 2, nodeId: '' }]);
    const done = run(svc, [
      task(svc, 0, 'complete'),
      task(svc, 1, 'complete'),
      task(svc, 2, 'complete'),
    ]);
    expect(done.ops).toEqual([]);
  });

  it('runs a job again in a new iteration, stopping what still runs of the last one', () => {
    const svc = service(
      { Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } } },
      {
        JobStatus: { JobIteration: { Index: 1 } },
      },
    );
    const { run } = harness([node('n1')]);
    const out = run(svc, [task(svc, 1, 'running', { id: 'old' })]);
    expect(shutdowns(out.ops)).toEqual(['old']);
    expect(out.ops.flatMap((op) => (op.op === 'create' ? [op.task.JobIteration] : []))).toEqual([
      { Index: 1 },
    ]);
  });

  it('runs a failed job task again (on-failure by default)', () => {
    const svc = service({
      Mode: { ReplicatedJob: {} },
      TaskTemplate: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: { Delay: 0 } },
    });
    const { run } = harness([node('n1')]);
    expect(creates(run(svc, [task(svc, 0, 'failed')]).ops)).toEqual([{ slot: 0, nodeId: '' }]);
  });
});

describe('rolling updates', () => {
  const oldSpec = { ContainerSpec: { Image: 'busybox:old' } };
  const updating = (config = {}) =>
    service(
      {
        Mode: { Replicated: { Replicas: 3 } },
        TaskTemplate: { ContainerSpec: { Image: 'busybox:new' } },
        UpdateConfig: { Monitor: 1_000_000_000, ...config },
      },
      { UpdateStatus: { State: 'updating', StartedAt: new Date(0).toISOString() } },
    );

  it('replaces Parallelism tasks at a time, stop-first by default', () => {
    const svc = updating({ Parallelism: 2 });
    const { run } = harness([node('n1')]);
    const tasks = [1, 2, 3].map((slot) =>
      task(svc, slot, 'running', { spec: oldSpec, id: `o${slot}` }),
    );
    const out = run(svc, tasks);
    expect(shutdowns(out.ops)).toEqual(['o1', 'o2']);
    expect(creates(out.ops).map((c) => c.slot)).toEqual([1, 2]);
  });

  it('start-first keeps the old task until the new one runs', () => {
    const svc = updating({ Order: 'start-first' });
    const { run } = harness([node('n1')]);
    const old = task(svc, 1, 'running', { spec: oldSpec, id: 'o1' });
    const others = [2, 3].map((slot) => task(svc, slot, 'running', { spec: oldSpec }));
    const first = run(svc, [old, ...others]);
    expect(shutdowns(first.ops)).toEqual([]);
    expect(creates(first.ops).map((c) => c.slot)).toEqual([1]);
    const starting = task(svc, 1, 'starting');
    expect(run(svc, [old, starting, ...others]).ops).toEqual([]);
    const running = { ...starting, Status: { ...starting.Status, State: 'running' as const } };
    expect(shutdowns(run(svc, [old, running, ...others]).ops)).toEqual(['o1']);
  });

  it('a paused start-first update still stops the old task of a slot whose new one runs', () => {
    const svc = {
      ...updating({ Order: 'start-first' }),
      UpdateStatus: { State: 'paused' as const, StartedAt: new Date(0).toISOString() },
    };
    const { run } = harness([node('n1')]);
    const old = task(svc, 1, 'running', { spec: oldSpec, id: 'o1' });
    const fresh = task(svc, 1, 'running');
    const others = [2, 3].map((slot) => task(svc, slot, 'running', { spec: oldSpec }));
    const out = run(svc, [old, fresh, ...others]);
    expect(shutdowns(out.ops)).toEqual(['o1']);
    expect(creates(out.ops)).toEqual([]);
  });

  it('waits for the monitor window before the next batch and before completing', () => {
    const svc = updating();
    const { run, clock } = harness([node('n1')]);
    const fresh = [1, 2, 3].map((slot) => task(svc, slot, 'running'));
    const first = run(svc, fresh);
    expect(first.updateStatus).toBeUndefined();
    expect(first.wakeAt).toBe(clock.now + 1000);
    clock.now += 1000;
    expect(run(svc, fresh).updateStatus?.State).toBe('completed');
  });

  it('pauses on a failed new task by default, naming it', () => {
    const svc = updating();
    const { run } = harness([node('n1')]);
    const failed = task(svc, 1, 'failed', { id: 'bad' });
    const out = run(svc, [
      failed,
      ...[2, 3].map((slot) => task(svc, slot, 'running', { spec: oldSpec })),
    ]);
    expect(out.updateStatus).toMatchObject({ State: 'paused' });
    expect(out.updateStatus?.Message).toContain('bad');
  });

  it('asks for a rollback when the failure action says so', () => {
    const svc = updating({ FailureAction: 'rollback' });
    const { run } = harness([node('n1')]);
    const out = run(svc, [task(svc, 1, 'rejected', { id: 'bad' })]);
    expect(out.rollback?.message).toBe(
      'update rolled back due to failure or early termination of task bad',
    );
  });

  it('tolerates failures up to MaxFailureRatio', () => {
    const svc = updating({ FailureAction: 'rollback', MaxFailureRatio: 0.5 });
    const { run } = harness([node('n1')]);
    const out = run(svc, [
      task(svc, 1, 'failed'),
      ...[2, 3].map((slot) => task(svc, slot, 'running', { spec: oldSpec })),
    ]);
    expect(out.rollback).toBeUndefined();
  });
});

describe('rollback round', () => {
  it('starts no task of the failing spec in the round that decides to roll back', () => {
    const svc = service(
      {
        Mode: { Replicated: { Replicas: 1 } },
        TaskTemplate: { ContainerSpec: { Image: 'busybox:new' }, RestartPolicy: { Delay: 0 } },
        UpdateConfig: { FailureAction: 'rollback' },
      },
      { UpdateStatus: { State: 'updating', StartedAt: new Date(0).toISOString() } },
    );
    const { run } = harness([node('n1')]);
    const out = run(svc, [task(svc, 1, 'rejected', { id: 'bad' })]);
    expect(out.rollback).toBeDefined();
    expect(creates(out.ops)).toEqual([]);
  });
});
