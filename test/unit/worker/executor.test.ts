import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../src/runtime/errors.js';
import { containerSpecFor } from '../../../src/worker/index.js';
import { FakeRuntime } from './fake-runtime.js';
import {
  Harness,
  IMAGE,
  makeTask,
  NODE,
  settle,
  waitFor,
  withDesired,
  withStatus,
} from './harness.js';

const SECOND_NS = 1_000_000_000;
const started: Harness[] = [];

async function startHarness(runtime?: FakeRuntime): Promise<Harness> {
  const h = new Harness(runtime);
  started.push(h);
  await h.executor.start();
  return h;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.executor.stop()));
});

describe('Executor: running a task', () => {
  it('moves a task accepted → preparing → ready → starting → running, once', async () => {
    const h = await startHarness();
    const task = makeTask('t1');
    h.executor.setAssignments([task]);
    const running = await h.until('t1', 'running');

    expect(h.states('t1')).toEqual(['accepted', 'preparing', 'ready', 'starting', 'running']);
    const container = h.runtime.byName('web.1.t1')!;
    expect(container.spec).toEqual(containerSpecFor(task, NODE));
    expect(running.ContainerStatus).toEqual({ ContainerID: container.id, PID: container.pid });
    expect(running.Err).toBeUndefined();
    h.expectMonotonic();

    // The leader resends the set (with what it learnt): nothing new happens.
    h.executor.setAssignments([withStatus(task, running)]);
    await settle();
    expect(h.runtime.ops('create')).toHaveLength(1);
    expect(h.runtime.ops('start')).toHaveLength(1);
    expect(h.executor.statuses()).toEqual([{ taskId: 't1', status: running }]);
  });

  it('runs tasks in parallel and batches what changed in one turn', async () => {
    const h = await startHarness();
    const release = h.runtime.hold('create');
    h.executor.setAssignments([makeTask('a'), makeTask('b', { Slot: 2 })]);
    await waitFor(() => h.runtime.ops('create').length === 2, 'both creates in flight');
    await waitFor(() => h.batches.length > 0, 'a report');
    // accepted+preparing of each task went out together, before any create answered.
    expect(h.batches).toEqual([4]);
    release();
    await h.until('a', 'running');
    await h.until('b', 'running');
  });

  it('reports the host ports the engine bound for published ports', async () => {
    const h = await startHarness();
    h.executor.setAssignments([
      makeTask('t1', {
        Endpoint: {
          Ports: [
            { TargetPort: 80, PublishedPort: 30080, PublishMode: 'ingress', Protocol: 'tcp' },
            { TargetPort: 81, PublishedPort: 8081, PublishMode: 'host', Protocol: 'tcp' },
          ],
        },
      }),
    ]);
    const running = await h.until('t1', 'running');
    expect(running.PortStatus?.Ports).toEqual([
      { TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress', Protocol: 'tcp' },
      { TargetPort: 81, PublishedPort: 8081, PublishMode: 'host', Protocol: 'tcp' },
    ]);
  });

  it('rejects a task whose image is missing, and never retries it', async () => {
    const h = await startHarness();
    const task = makeTask('t1', { Spec: { ContainerSpec: { Image: 'nope:1' } } });
    h.executor.setAssignments([task]);
    const rejected = await h.until('t1', 'rejected');
    expect(rejected.Err).toBe('image not found: nope:1');
    expect(h.states('t1')).toEqual(['accepted', 'preparing', 'rejected']);
    expect(h.runtime.ops('create')).toEqual([]);

    h.executor.setAssignments([task]);
    await settle();
    expect(h.runtime.ops('pullImage')).toHaveLength(1);
    expect(h.states('t1')).toHaveLength(3);
  });

  it('turns an engine error for one task into its status, and the others go on', async () => {
    const h = await startHarness();
    h.runtime.images.add('bad:1');
    h.runtime.createErrors.set(
      'bad:1',
      new EngineError(500, 'port is already allocated\nsecond line'),
    );
    h.executor.setAssignments([
      makeTask('bad', { Spec: { ContainerSpec: { Image: 'bad:1' } } }),
      makeTask('good', { Slot: 2 }),
    ]);
    const rejected = await h.until('bad', 'rejected');
    expect(rejected.Err).toBe('Docker engine error: port is already allocated second line');
    await h.until('good', 'running');
  });

  it('leaves a task that is already terminal alone', async () => {
    const h = await startHarness();
    h.executor.setAssignments([withStatus(makeTask('t1'), { State: 'failed', Err: 'earlier' })]);
    await settle();
    expect(h.reports).toEqual([]);
    expect(h.runtime.calls.filter((c) => c.op !== 'events' && c.op !== 'list')).toEqual([]);
  });

  it('clears an Err the leader set while pending once the task moves on', async () => {
    const h = await startHarness();
    h.executor.setAssignments([withStatus(makeTask('t1'), { Err: 'no suitable node' })]);
    await h.until('t1', 'running');
    expect(h.reports.every((r) => r.status.Err === undefined)).toBe(true);
  });

  it('does one thing at a time per task', async () => {
    const h = await startHarness();
    const release = h.runtime.hold('create');
    const task = makeTask('t1');
    h.executor.setAssignments([task]);
    await waitFor(() => h.runtime.ops('create').length === 1, 'create in flight');
    // Told to shut down while its create is in flight: nothing else is sent to the engine.
    h.executor.setAssignments([withDesired(task, 'shutdown')]);
    await settle();
    expect(h.runtime.calls.map((c) => c.op)).toEqual(['events', 'list', 'hasImage', 'create']);
    release();
    await h.until('t1', 'shutdown');
    expect(h.runtime.ops('start')).toEqual([]);
    expect(h.states('t1')).toEqual(['accepted', 'preparing', 'ready', 'shutdown']);
  });
});

describe('Executor: exits, health and shutdown', () => {
  async function runningTask(h: Harness, task = makeTask('t1')) {
    h.executor.setAssignments([task]);
    await h.until(task.ID, 'running');
    return h.runtime.byName(`web.${task.Slot}.${task.ID}`)!;
  }

  it('completes a task whose container exits 0', async () => {
    const h = await startHarness();
    const container = await runningTask(h);
    h.runtime.exit(container.id, 0);
    const complete = await h.until('t1', 'complete');
    expect(complete.ContainerStatus).toMatchObject({ ContainerID: container.id, ExitCode: 0 });
  });

  it('fails a task whose container exits non-zero, with the exit code', async () => {
    const h = await startHarness();
    const container = await runningTask(h);
    h.runtime.exit(container.id, 3);
    const failed = await h.until('t1', 'failed');
    expect(failed.Err).toBe('task: non-zero exit (3)');
    expect(failed.ContainerStatus?.ExitCode).toBe(3);
    // A later event (the container is removed by hand) changes nothing.
    await h.runtime.removeContainer(container.id);
    await settle();
    expect(h.states('t1').at(-1)).toBe('failed');
    h.expectMonotonic();
  });

  it('says when the kernel OOM killer ended the container', async () => {
    const h = await startHarness();
    const container = await runningTask(h);
    h.runtime.exit(container.id, 137, { oom: true });
    const failed = await h.until('t1', 'failed');
    expect(failed.Err).toMatch(/OOM/);
  });

  it('stops the container with its grace period on desired shutdown, and keeps it', async () => {
    const h = await startHarness();
    const task = makeTask('t1', {
      Spec: { ContainerSpec: { Image: IMAGE, StopGracePeriod: 2 * SECOND_NS } },
    });
    const container = await runningTask(h, task);
    h.executor.setAssignments([withDesired(task, 'shutdown')]);
    await h.until('t1', 'shutdown');
    expect(h.runtime.ops('stop')).toEqual([{ op: 'stop', id: container.id, graceMs: 2000 }]);
    expect(container.state).toBe('exited');
    // The die caused by the stop (exit 143) does not turn the shutdown into a failure.
    await settle();
    expect(h.states('t1').at(-1)).toBe('shutdown');
    expect(h.runtime.containers.has(container.id)).toBe(true);
    expect(h.runtime.ops('remove')).toEqual([]);
  });

  it('reports shutdown when the container dies while it is meant to stop', async () => {
    const h = await startHarness();
    const task = makeTask('t1');
    const container = await runningTask(h);
    const release = h.runtime.hold('stop');
    h.executor.setAssignments([withDesired(task, 'shutdown')]);
    await waitFor(() => h.runtime.ops('stop').length === 1, 'stop in flight');
    h.runtime.exit(container.id, 1);
    release();
    await h.until('t1', 'shutdown');
    await settle();
    expect(h.states('t1').at(-1)).toBe('shutdown');
  });

  it('does not shut down a task that already failed, but stops nothing twice', async () => {
    const h = await startHarness();
    const task = makeTask('t1');
    const container = await runningTask(h, task);
    h.runtime.exit(container.id, 2);
    await h.until('t1', 'failed');
    h.executor.setAssignments([withDesired(task, 'shutdown')]);
    await settle();
    expect(h.states('t1').at(-1)).toBe('failed');
    expect(h.runtime.ops('stop')).toEqual([]);
  });

  it('stops and removes the container of a task with desired state remove', async () => {
    const h = await startHarness();
    const task = makeTask('t1');
    const container = await runningTask(h, task);
    h.executor.setAssignments([withDesired(task, 'remove')]);
    await waitFor(() => !h.runtime.containers.has(container.id), 'container removed');
    expect(
      h.runtime.calls.map((c) => c.op).filter((op) => op === 'stop' || op === 'remove'),
    ).toEqual(['stop', 'remove']);
    await h.until('t1', 'shutdown');
  });

  it('stops and removes the container of a task that leaves the set, reporting nothing', async () => {
    const h = await startHarness();
    const container = await runningTask(h);
    const reported = h.reports.length;
    h.executor.setAssignments([]);
    await waitFor(() => !h.runtime.containers.has(container.id), 'container removed');
    expect(h.runtime.ops('stop')).toHaveLength(1);
    expect(h.reports).toHaveLength(reported);
    expect(h.executor.statuses()).toEqual([]);
  });

  it('waits for a health check: starting until healthy, then running', async () => {
    const h = await startHarness();
    const task = makeTask('t1', {
      Spec: {
        ContainerSpec: {
          Image: IMAGE,
          Healthcheck: { Test: ['CMD', 'true'], Interval: SECOND_NS },
        },
      },
    });
    h.executor.setAssignments([task]);
    const starting = await waitFor(
      () => h.last('t1')?.Health === 'starting',
      'health starting',
    ).then(() => h.last('t1')!);
    expect(starting.State).toBe('starting');
    await settle();
    expect(h.state('t1')).toBe('starting');

    const container = h.runtime.byName('web.1.t1')!;
    h.runtime.setHealth(container.id, 'healthy');
    const running = await h.until('t1', 'running');
    expect(running.Health).toBe('healthy');
    expect(running.ContainerStatus?.PID).toBe(container.pid);
  });

  it('stops an unhealthy container and fails its task', async () => {
    const h = await startHarness();
    const task = makeTask('t1', {
      Spec: { ContainerSpec: { Image: IMAGE, Healthcheck: { Test: ['CMD', 'false'] } } },
    });
    h.executor.setAssignments([task]);
    await waitFor(() => h.last('t1')?.Health === 'starting', 'health starting');
    const container = h.runtime.byName('web.1.t1')!;
    h.runtime.setHealth(container.id, 'healthy');
    await h.until('t1', 'running');
    h.runtime.setHealth(container.id, 'unhealthy');
    const failed = await h.until('t1', 'failed');
    expect(failed).toMatchObject({ Err: 'container unhealthy', Health: 'unhealthy' });
    expect(h.runtime.ops('stop')).toEqual([{ op: 'stop', id: container.id, graceMs: 10_000 }]);
    expect(container.state).toBe('exited');
    h.expectMonotonic();
  });

  it('treats a health check of NONE as no health check', async () => {
    const h = await startHarness();
    h.executor.setAssignments([
      makeTask('t1', {
        Spec: { ContainerSpec: { Image: IMAGE, Healthcheck: { Test: ['NONE'] } } },
      }),
    ]);
    const running = await h.until('t1', 'running');
    expect(running.Health).toBeUndefined();
  });
});

describe('Executor: restarts, orphans and an unreliable engine', () => {
  function seedTask(
    runtime: FakeRuntime,
    id: string,
    state: 'running' | 'exited' | 'created',
    exitCode = 0,
  ) {
    const task = makeTask(id);
    return { task, container: runtime.seed(containerSpecFor(task, NODE), state, exitCode) };
  }

  it('removes nothing before the first assignment set, then removes orphans', async () => {
    const runtime = new FakeRuntime();
    const orphan = seedTask(runtime, 'gone', 'running').container;
    const otherNode = runtime.seed(containerSpecFor(makeTask('x'), 'node-b'), 'running');
    const h = await startHarness(runtime);
    await settle();
    expect(runtime.ops('stop')).toEqual([]);
    expect(runtime.ops('remove')).toEqual([]);
    expect(orphan.state).toBe('running');

    h.executor.setAssignments([]);
    await waitFor(() => !runtime.containers.has(orphan.id), 'orphan removed');
    // Stopped (with the container's own grace period) before being removed.
    expect(runtime.calls.filter((c) => c.op === 'stop' || c.op === 'remove')).toEqual([
      { op: 'stop', id: orphan.id },
      { op: 'remove', id: orphan.id },
    ]);
    expect(runtime.containers.has(otherNode.id)).toBe(true);
    expect(h.reports).toEqual([]);
  });

  it('adopts a running container after a restart instead of starting another', async () => {
    const runtime = new FakeRuntime();
    const { task, container } = seedTask(runtime, 't1', 'running');
    const h = await startHarness(runtime);
    h.executor.setAssignments([withStatus(task, { State: 'running', Message: 'started' })]);
    await settle();
    expect(runtime.ops('create')).toEqual([]);
    expect(runtime.ops('start')).toEqual([]);
    expect(h.executor.statuses()[0]?.status).toMatchObject({
      State: 'running',
      ContainerStatus: { ContainerID: container.id, PID: container.pid },
    });
    // Events for the adopted container are followed.
    runtime.exit(container.id, 0);
    await h.until('t1', 'complete');
  });

  it('reports an adopted container that exited while the agent was down', async () => {
    const runtime = new FakeRuntime();
    const failed = seedTask(runtime, 'f', 'exited', 7);
    const done = seedTask(runtime, 'd', 'exited', 0);
    const stopped = seedTask(runtime, 's', 'exited', 143);
    const h = await startHarness(runtime);
    const running = { State: 'running' as const, Message: 'started' };
    h.executor.setAssignments([
      withStatus(failed.task, running),
      withStatus(done.task, running),
      withDesired(withStatus(stopped.task, running), 'shutdown'),
    ]);
    expect((await h.until('f', 'failed')).Err).toBe('task: non-zero exit (7)');
    await h.until('d', 'complete');
    await h.until('s', 'shutdown');
    expect(runtime.ops('start')).toEqual([]);
  });

  it('starts an adopted container that was created but never started', async () => {
    const runtime = new FakeRuntime();
    const { task, container } = seedTask(runtime, 't1', 'created');
    const h = await startHarness(runtime);
    h.executor.setAssignments([withStatus(task, { State: 'preparing' })]);
    await h.until('t1', 'running');
    expect(runtime.ops('create')).toEqual([]);
    expect(runtime.ops('start')).toEqual([{ op: 'start', id: container.id }]);
  });

  it('hands over to a new executor without duplicating the container', async () => {
    const runtime = new FakeRuntime();
    const first = await startHarness(runtime);
    const task = makeTask('t1');
    first.executor.setAssignments([task]);
    const running = await first.until('t1', 'running');
    await first.executor.stop();

    const second = await startHarness(runtime);
    second.executor.setAssignments([withStatus(task, running)]);
    await settle();
    expect(runtime.containers.size).toBe(1);
    expect(runtime.ops('create')).toHaveLength(1);
    expect(second.executor.statuses()).toEqual([
      { taskId: 't1', status: expect.objectContaining({ State: 'running' }) },
    ]);
  });

  it('applies assignments that arrive before adoption finished, after it', async () => {
    const runtime = new FakeRuntime();
    const { task } = seedTask(runtime, 't1', 'running');
    const h = new Harness(runtime);
    started.push(h);
    const starting = h.executor.start();
    h.executor.setAssignments([withStatus(task, { State: 'running' })]);
    await starting;
    await settle();
    expect(runtime.ops('create')).toEqual([]);
  });

  it('waits for an unreachable engine instead of failing the task', async () => {
    const h = await startHarness();
    h.runtime.unreachable = true;
    h.executor.setAssignments([makeTask('t1')]);
    await waitFor(() => h.runtime.ops('hasImage').length >= 2, 'a retry');
    // The retry timer (1 ms) can beat the report batch's setImmediate on a busy machine.
    await settle();
    expect(h.states('t1')).toEqual(['accepted', 'preparing']);
    h.runtime.unreachable = false;
    await h.until('t1', 'running');
    expect(h.runtime.ops('create')).toHaveLength(1);
  });

  it('keeps trying to adopt while the engine does not answer, and starts nothing meanwhile', async () => {
    const runtime = new FakeRuntime();
    const { task } = seedTask(runtime, 't1', 'running');
    runtime.unreachable = true;
    const h = await startHarness(runtime);
    h.executor.setAssignments([withStatus(task, { State: 'running' })]);
    await waitFor(() => runtime.ops('list').length >= 2, 'a second list');
    expect(runtime.ops('create')).toEqual([]);
    runtime.unreachable = false;
    await waitFor(() => runtime.ops('inspect').length > 0, 'the adopted container inspected');
    await settle();
    expect(runtime.ops('create')).toEqual([]);
    expect(h.executor.statuses()[0]?.status.State).toBe('running');
  });

  it('re-reads containers after the event stream was cut', async () => {
    const h = await startHarness();
    h.executor.setAssignments([makeTask('t1')]);
    await h.until('t1', 'running');
    const container = h.runtime.byName('web.1.t1')!;
    h.runtime.cutEvents();
    h.runtime.exit(container.id, 4, { silently: true }); // lost with the stream
    const failed = await h.until('t1', 'failed');
    expect(failed.Err).toBe('task: non-zero exit (4)');
    await waitFor(() => h.runtime.subscriberCount === 1, 'the stream reopened');
  });

  it('stop() ends watching and leaves containers running', async () => {
    const h = await startHarness();
    h.executor.setAssignments([makeTask('t1')]);
    await h.until('t1', 'running');
    await h.executor.stop();
    expect(h.runtime.subscriberCount).toBe(0);
    expect(h.runtime.byName('web.1.t1')?.state).toBe('running');
    h.executor.setAssignments([]);
    await settle();
    expect(h.runtime.ops('stop')).toEqual([]);
  });
});
