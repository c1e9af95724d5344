/**
 * The executor against the real Docker engine: tasks on the local test image, containers
 * labelled with this run's id (and a node id of its own), all removed afterwards.
 */
import { mkdtempSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { Task, TaskState, TaskStatus } from '../../../src/state/service-types.js';
import {
  defaultTaskFilesDir,
  Executor,
  NODE_LABEL,
  TASK_LABEL,
} from '../../../src/worker/index.js';
import {
  engineFixture,
  firstEvent,
  justBefore,
  removeLabelled,
  TEST_IMAGE,
} from '../../support/engine.js';

const engine = engineFixture();
const { runtime } = engine;
const nodeId = `node-${engine.runId}`;
const SECOND_NS = 1_000_000_000;
/** Exits at once on SIGTERM, so a stop does not wait out its grace period. */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 60 & wait'];
/**
 * Where the executors write tasks' secrets and configs: where the agent would, on /dev/shm
 * when it is a tmpfs (else under this data directory).
 */
const dataDir = mkdtempSync(join(tmpdir(), 'swarmts-int-data-'));
const filesDir = defaultTaskFilesDir(nodeId, dataDir, silentLogger);

afterAll(async () => {
  await removeLabelled(runtime, { [NODE_LABEL]: nodeId });
  await engine.cleanup();
  await rm(dirname(filesDir), { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
  expect(await runtime.listContainers({ labels: engine.labels })).toEqual([]);
});

/** Every report the executor made, and a way to wait for one (bounded, not a sleep). */
class Reports {
  readonly all: Array<{ taskId: string; status: TaskStatus }> = [];
  private waiters: Array<() => void> = [];

  add = (batch: Array<{ taskId: string; status: TaskStatus }>): void => {
    this.all.push(...batch);
    for (const wake of this.waiters.splice(0)) wake();
  };

  last(taskId: string): TaskStatus | undefined {
    return this.all.filter((r) => r.taskId === taskId).at(-1)?.status;
  }

  async until(taskId: string, state: TaskState, timeoutMs = 10_000): Promise<TaskStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.last(taskId);
      if (status?.State === state) return status;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${taskId}: wanted ${state}, last ${status?.State}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const executors: Executor[] = [];

function newExecutor(): { executor: Executor; reports: Reports } {
  const reports = new Reports();
  const executor = new Executor({
    runtime,
    nodeId,
    report: reports.add,
    now: () => new Date(),
    logger: silentLogger,
    retryMinMs: 100,
    retryMaxMs: 1000,
    filesDir,
  });
  executors.push(executor);
  return { executor, reports };
}

afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.stop()));
});

let taskCount = 0;
function makeTask(
  overrides: Partial<Task['Spec']['ContainerSpec']> = {},
  extra: Partial<Task> = {},
): Task {
  taskCount += 1;
  const id = `t${taskCount}-${engine.runId.slice(0, 8)}`;
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: new Date().toISOString(),
    UpdatedAt: new Date().toISOString(),
    Labels: {},
    Spec: {
      ContainerSpec: {
        Image: TEST_IMAGE,
        Args: SLEEPER,
        Labels: engine.labels,
        StopGracePeriod: 5 * SECOND_NS,
        ...overrides,
      },
    },
    SpecVersion: { Index: 1 },
    ServiceID: 'svc-int',
    ServiceAnnotations: { Name: 'swarmts-int' },
    Slot: taskCount,
    NodeID: nodeId,
    Status: { Timestamp: new Date().toISOString(), State: 'assigned', Message: 'assigned' },
    DesiredState: 'running',
    ...extra,
  };
}

async function containersOf(taskId: string) {
  return runtime.listContainers({ labels: { [NODE_LABEL]: nodeId, [TASK_LABEL]: taskId } });
}

describe('Executor against the real engine', () => {
  it('runs a task to running, with its container, PID and published port', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask({}, { Endpoint: { Ports: [{ TargetPort: 80, Protocol: 'tcp' }] } });
    executor.setAssignments([task]);
    const running = await reports.until(task.ID, 'running');

    const states = reports.all.filter((r) => r.taskId === task.ID).map((r) => r.status.State);
    expect(states).toEqual(['accepted', 'preparing', 'ready', 'starting', 'running']);
    const info = await runtime.inspectContainer(running.ContainerStatus!.ContainerID!);
    expect(info.state).toBe('running');
    expect(info.name).toBe(`swarmts-int.${task.Slot}.${task.ID}`);
    expect(running.ContainerStatus?.PID).toBe(info.pid);
    const port = running.PortStatus?.Ports?.[0];
    expect(port).toMatchObject({ TargetPort: 80, PublishMode: 'ingress', Protocol: 'tcp' });
    expect(port?.PublishedPort).toBeGreaterThan(0);
  });

  it('fails a task whose container is killed, with the exit code', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask();
    executor.setAssignments([task]);
    const running = await reports.until(task.ID, 'running');
    await runtime.killContainer(running.ContainerStatus!.ContainerID!);
    const failed = await reports.until(task.ID, 'failed');
    expect(failed.Err).toBe('task: non-zero exit (137)');
    expect(failed.ContainerStatus?.ExitCode).toBe(137);
  });

  it('shuts a task down on desired shutdown, and removes it once it leaves the set', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask();
    executor.setAssignments([task]);
    const running = await reports.until(task.ID, 'running');
    const id = running.ContainerStatus!.ContainerID!;

    executor.setAssignments([{ ...task, DesiredState: 'shutdown' }]);
    await reports.until(task.ID, 'shutdown');
    // (Exit code not checked: a stop that lands before the shell set its trap ends in 137.)
    expect((await runtime.inspectContainer(id)).state).toBe('exited');

    const since = justBefore();
    executor.setAssignments([]);
    await firstEvent(
      runtime,
      { since, labels: { [TASK_LABEL]: task.ID }, types: ['destroy'] },
      (e) => {
        return e.containerId === id;
      },
    );
    expect(await containersOf(task.ID)).toEqual([]);
  });

  it('follows a health check to running', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask({
      Healthcheck: { Test: ['CMD', 'true'], Interval: SECOND_NS / 10, Retries: 3 },
    });
    executor.setAssignments([task]);
    const running = await reports.until(task.ID, 'running');
    expect(running.Health).toBe('healthy');
    // 'starting' came first; whether Docker still said health "starting" when the executor
    // inspected after start depends on how fast the first check ran.
    const states = reports.all.filter((r) => r.taskId === task.ID).map((r) => r.status.State);
    expect(states.indexOf('starting')).toBeLessThan(states.indexOf('running'));
  });

  it('rejects a task whose image is missing', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask({ Image: 'swarmts/no-such-image:never' });
    executor.setAssignments([task]);
    const rejected = await reports.until(task.ID, 'rejected');
    expect(rejected.Err).toBe('image not found: swarmts/no-such-image:never');
    expect(await containersOf(task.ID)).toEqual([]);
  });

  it('adopts the running container after a restart instead of starting it again', async () => {
    const first = newExecutor();
    await first.executor.start();
    const task = makeTask();
    first.executor.setAssignments([task]);
    const running = await first.reports.until(task.ID, 'running');
    await first.executor.stop();

    const second = newExecutor();
    await second.executor.start();
    second.executor.setAssignments([{ ...task, Status: running }]);
    // The restarted executor still follows the adopted container's events.
    const id = running.ContainerStatus!.ContainerID!;
    expect(second.executor.statuses()).toEqual([{ taskId: task.ID, status: running }]);
    await runtime.killContainer(id, 'SIGKILL');
    const failed = await second.reports.until(task.ID, 'failed');
    expect(failed.ContainerStatus?.ExitCode).toBe(137);
    const containers = await containersOf(task.ID);
    expect(containers.map((c) => c.id)).toEqual([id]);
  });
});

describe('Executor against the real engine: secrets and configs', () => {
  const secretText = 's3cr3t-for-the-integration-test';
  const configText = 'listen=8080';
  const files = new Map([
    ['secret/sec-int', new TextEncoder().encode(secretText)],
    ['config/cfg-int', new TextEncoder().encode(configText)],
  ]);
  const file = { UID: '0', GID: '0', Mode: 0o444 };

  /** The container's output up to the line `until` (follows the log; bounded). */
  async function outputUntil(containerId: string, until: string): Promise<string[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    const lines: string[] = [];
    try {
      for await (const line of runtime.logs(containerId, {
        follow: true,
        signal: controller.signal,
      })) {
        lines.push(line.text);
        if (line.text === until) break;
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    return lines;
  }

  it('mounts a secret and a config read-only, and removes them with the task', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const script = [
      'cat /run/secrets/db_password; echo',
      'cat /app.conf; echo',
      'if echo x > /run/secrets/db_password; then echo secret-writable; else echo secret-ro; fi',
      'if echo x > /app.conf; then echo config-writable; else echo config-ro; fi',
      'echo done',
      'trap "exit 0" TERM; sleep 60 & wait',
    ].join('\n');
    const task = makeTask({
      Args: ['sh', '-c', script],
      Secrets: [
        { SecretID: 'sec-int', SecretName: 'db_password', File: { Name: 'db_password', ...file } },
      ],
      Configs: [{ ConfigID: 'cfg-int', ConfigName: 'app', File: { Name: '/app.conf', ...file } }],
    });
    executor.setAssignments([task], files);
    const running = await reports.until(task.ID, 'running');
    const id = running.ContainerStatus!.ContainerID!;

    const out = await outputUntil(id, 'done');
    expect(out.filter((line) => !line.includes('Read-only file system'))).toEqual([
      secretText,
      configText,
      'secret-ro',
      'config-ro',
      'done',
    ]);
    const taskDir = join(filesDir, task.ID);
    expect((await stat(join(taskDir, 'secrets/sec-int'))).mode & 0o777).toBe(0o444);

    const since = justBefore();
    executor.setAssignments([], files);
    await firstEvent(
      runtime,
      { since, labels: { [TASK_LABEL]: task.ID }, types: ['destroy'] },
      (e) => e.containerId === id,
    );
    // The files go right after the container: wait for them briefly (bounded).
    const deadline = Date.now() + 5000;
    while ((await readdir(filesDir)).includes(task.ID) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await readdir(filesDir)).not.toContain(task.ID);
  });

  it('removes the files of a task that completed, keeping its container', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask({
      Args: ['sh', '-c', 'cat /run/secrets/x'],
      Secrets: [{ SecretID: 'sec-int', SecretName: 'x', File: { Name: 'x', ...file } }],
    });
    executor.setAssignments([task], files);
    const complete = await reports.until(task.ID, 'complete');
    expect(complete.ContainerStatus?.ExitCode).toBe(0);
    const id = complete.ContainerStatus!.ContainerID!;
    // It read the secret before it ended.
    expect(await outputUntil(id, secretText)).toEqual([secretText]);

    const deadline = Date.now() + 5000;
    while ((await readdir(filesDir)).includes(task.ID) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await readdir(filesDir)).not.toContain(task.ID);
    // The container is kept, as history.
    expect((await runtime.inspectContainer(id)).state).toBe('exited');
  });

  it('rejects a task whose secret did not come with the assignments', async () => {
    const { executor, reports } = newExecutor();
    await executor.start();
    const task = makeTask({
      Secrets: [
        { SecretID: 'sec-none', SecretName: 'api_key', File: { Name: 'api_key', ...file } },
      ],
    });
    executor.setAssignments([task], files);
    const rejected = await reports.until(task.ID, 'rejected');
    expect(rejected.Err).toBe('secret api_key (id sec-none) is not available on this node');
    expect(await containersOf(task.ID)).toEqual([]);
  });
});
