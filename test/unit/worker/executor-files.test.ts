/**
 * The executor's secrets and configs: written before the container is created, mounted
 * read-only, refused when their data is missing, removed once the task has ended (its
 * container kept), restored or swept after a restart. Files go to a temporary directory; the engine is the FakeRuntime.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/log.js';
import type { ContainerSpec } from '../../../src/state/service-types.js';
import {
  containerSpecFor,
  type ExecutorOptions,
  type TaskFiles,
} from '../../../src/worker/index.js';
import { taskFilesFor, withFileMounts } from '../../../src/worker/task-files.js';
import { FakeRuntime } from './fake-runtime.js';
import {
  configRef,
  Harness,
  IMAGE,
  makeTask,
  NODE,
  secretRef,
  settle,
  waitFor,
  withDesired,
  withStatus,
} from './harness.js';

const SECRET_TEXT = 'correct-horse-battery-staple';
const CONFIG_TEXT = 'listen=8080';
const bytes = (text: string) => new TextEncoder().encode(text);
const DATA: TaskFiles = new Map([
  ['secret/s-db', bytes(SECRET_TEXT)],
  ['config/c-app', bytes(CONFIG_TEXT)],
]);

/** Every log line, as text, to show no secret or config data is in any. */
class CapturingLogger implements Logger {
  constructor(readonly lines: string[] = []) {}
  debug = (obj: object, msg?: string) => this.lines.push(JSON.stringify({ obj, msg }));
  info = this.debug;
  warn = this.debug;
  error = this.debug;
  child = (bindings: Record<string, unknown>): Logger =>
    new CapturingLogger(this.lines).withBindings(bindings);
  private withBindings(bindings: Record<string, unknown>): Logger {
    this.lines.push(JSON.stringify({ bindings }));
    return this;
  }
}

function taskWith(spec: Partial<ContainerSpec>, id = 't1') {
  return makeTask(id, {
    Spec: { ContainerSpec: { Image: IMAGE, Args: ['sleep', '60'], ...spec } },
  });
}

const dbSecret = secretRef('db_password', 's-db', { Mode: 0o400 });
const appConfig = configRef('app.conf', 'c-app');

let dir: string;
let logger: CapturingLogger;
const started: Harness[] = [];

async function startHarness(
  runtime?: FakeRuntime,
  options: Partial<ExecutorOptions> = {},
): Promise<Harness> {
  const h = new Harness(runtime, { filesDir: dir, logger, ...options });
  started.push(h);
  await h.executor.start();
  return h;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** File work runs on libuv's pool, not in event-loop turns: poll in real time (bounded). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmts-exec-files-'));
  logger = new CapturingLogger();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.executor.stop()));
  // No log line ever carries the data.
  const logs = logger.lines.join('\n');
  expect(logs).not.toContain(SECRET_TEXT);
  expect(logs).not.toContain(CONFIG_TEXT);
  await rm(dir, { recursive: true, force: true });
});

describe('Executor: secrets and configs', () => {
  it('writes the files before creating the container, and mounts them read-only', async () => {
    const h = await startHarness();
    const release = h.runtime.hold('create');
    h.executor.setAssignments([taskWith({ Secrets: [dbSecret], Configs: [appConfig] })], DATA);
    await waitFor(() => h.runtime.ops('create').length === 1, 'create in flight');
    const secretPath = join(dir, 't1/secrets/s-db');
    const configPath = join(dir, 't1/configs/c-app');
    expect(await readFile(secretPath, 'utf8')).toBe(SECRET_TEXT);
    expect(await readFile(configPath, 'utf8')).toBe(CONFIG_TEXT);
    expect((await stat(secretPath)).mode & 0o7777).toBe(0o400);
    expect((await stat(configPath)).mode & 0o7777).toBe(0o444);
    release();
    await h.until('t1', 'running');

    const container = h.runtime.byName('web.1.t1')!;
    expect(container.spec.mounts).toEqual([
      { type: 'bind', source: secretPath, target: '/run/secrets/db_password', readOnly: true },
      { type: 'bind', source: configPath, target: '/app.conf', readOnly: true },
    ]);
  });

  it('rejects a task whose secret is not here, creating nothing', async () => {
    const h = await startHarness();
    h.executor.setAssignments(
      [taskWith({ Secrets: [dbSecret], Configs: [appConfig] })],
      new Map([['config/c-app', bytes(CONFIG_TEXT)]]),
    );
    const rejected = await h.until('t1', 'rejected');
    expect(rejected.Err).toBe('secret db_password (id s-db) is not available on this node');
    expect(h.states('t1')).toEqual(['accepted', 'preparing', 'rejected']);
    expect(h.runtime.ops('create')).toEqual([]);
    expect(h.runtime.ops('hasImage')).toEqual([]);
    expect(await exists(join(dir, 't1'))).toBe(false);
  });

  it('rejects a task that uses a config when the executor has no files directory', async () => {
    const h = await startHarness(undefined, { filesDir: undefined });
    h.executor.setAssignments([taskWith({ Configs: [appConfig] })], DATA);
    const rejected = await h.until('t1', 'rejected');
    expect(rejected.Err).toMatch(/not supported on this node/);
    expect(h.runtime.ops('create')).toEqual([]);
    // Tasks without secrets or configs run as before.
    h.executor.setAssignments([taskWith({}, 't2')]);
    await h.until('t2', 'running');
  });

  it('removes the files with the container when the task leaves the set', async () => {
    const h = await startHarness();
    const task = taskWith({ Secrets: [dbSecret] });
    h.executor.setAssignments([task], DATA);
    await h.until('t1', 'running');
    const container = h.runtime.byName('web.1.t1')!;
    expect(await exists(join(dir, 't1/secrets/s-db'))).toBe(true);

    h.executor.setAssignments([], DATA);
    await waitFor(() => !h.runtime.containers.has(container.id), 'container removed');
    await eventually(async () => !(await exists(join(dir, 't1'))), 'files removed');
  });

  it('removes the files of a task shut down, keeping its stopped container', async () => {
    const h = await startHarness();
    const task = taskWith({ Configs: [appConfig] });
    h.executor.setAssignments([task], DATA);
    await h.until('t1', 'running');
    const container = h.runtime.byName('web.1.t1')!;
    expect(await exists(join(dir, 't1/configs/c-app'))).toBe(true);

    h.executor.setAssignments([withDesired(task, 'shutdown')], DATA);
    await h.until('t1', 'shutdown');
    await eventually(async () => !(await exists(join(dir, 't1'))), 'files removed');
    expect(container.state).toBe('exited');
    expect(h.runtime.containers.has(container.id)).toBe(true);
    expect(h.runtime.ops('remove')).toEqual([]);

    // Removing the task later removes the container; nothing is left either way.
    h.executor.setAssignments([withDesired(task, 'remove')], DATA);
    await waitFor(() => h.runtime.ops('remove').length === 1, 'container removed');
    expect(await exists(join(dir, 't1'))).toBe(false);
  });

  it.each([
    ['complete', 0],
    ['failed', 3],
  ] as const)(
    'removes the files of a task whose container ends (%s), keeping the container',
    async (state, exitCode) => {
      const h = await startHarness();
      h.executor.setAssignments([taskWith({ Secrets: [dbSecret], Configs: [appConfig] })], DATA);
      await h.until('t1', 'running');
      const container = h.runtime.byName('web.1.t1')!;
      expect(await exists(join(dir, 't1/secrets/s-db'))).toBe(true);

      h.runtime.exit(container.id, exitCode);
      const ended = await h.until('t1', state);
      expect(ended.ContainerStatus?.ExitCode).toBe(exitCode);
      await eventually(async () => !(await exists(join(dir, 't1'))), 'files removed');
      expect(h.runtime.containers.get(container.id)?.state).toBe('exited');
      expect(h.runtime.ops('remove')).toEqual([]);
      // Still assigned (the leader has not caught up): nothing writes them again.
      h.executor.setAssignments([taskWith({ Secrets: [dbSecret], Configs: [appConfig] })], DATA);
      await settle(200);
      expect(await exists(join(dir, 't1'))).toBe(false);
    },
  );

  it('removes the files of a task rejected after they were written', async () => {
    const runtime = new FakeRuntime();
    runtime.createErrors.set(IMAGE, new Error('cannot create: invalid mount config'));
    const h = await startHarness(runtime);
    h.executor.setAssignments([taskWith({ Secrets: [dbSecret] })], DATA);
    const rejected = await h.until('t1', 'rejected');
    expect(rejected.Err).toMatch(/invalid mount config/);
    expect(runtime.ops('create')).toHaveLength(1);
    await eventually(async () => !(await exists(join(dir, 't1'))), 'files removed');
  });

  it('removes the files of an unhealthy task once its container is stopped', async () => {
    const h = await startHarness();
    h.executor.setAssignments(
      [taskWith({ Secrets: [dbSecret], Healthcheck: { Test: ['CMD', 'true'] } })],
      DATA,
    );
    await h.until('t1', 'starting');
    const container = h.runtime.byName('web.1.t1')!;
    await waitFor(() => container.state === 'running', 'container started');
    h.runtime.setHealth(container.id, 'unhealthy');
    await h.until('t1', 'failed');
    expect(container.state).toBe('exited');
    await eventually(async () => !(await exists(join(dir, 't1'))), 'files removed');
    expect(h.runtime.containers.has(container.id)).toBe(true);
  });
});

describe('Executor: secrets and configs after a restart', () => {
  function seedTask(runtime: FakeRuntime, state: 'running' | 'created') {
    const task = taskWith({ Secrets: [dbSecret], Configs: [appConfig] });
    const spec = withFileMounts(containerSpecFor(task, NODE), taskFilesFor(task, dir));
    return { task, container: runtime.seed(spec, state) };
  }

  it('rewrites the files of an adopted running container when they are gone', async () => {
    const runtime = new FakeRuntime();
    const { task, container } = seedTask(runtime, 'running');
    const h = await startHarness(runtime);
    h.executor.setAssignments([withStatus(task, { State: 'running', Message: 'started' })], DATA);
    await eventually(() => exists(join(dir, 't1/configs/c-app')), 'files rewritten');
    expect(await readFile(join(dir, 't1/secrets/s-db'), 'utf8')).toBe(SECRET_TEXT);
    expect(await readFile(join(dir, 't1/configs/c-app'), 'utf8')).toBe(CONFIG_TEXT);
    expect(runtime.ops('create')).toEqual([]);
    expect(runtime.ops('start')).toEqual([]);
    expect(container.state).toBe('running');
    expect(h.executor.statuses()[0]?.status.State).toBe('running');
  });

  it('keeps an adopted running container whose data did not come, and fails one not started', async () => {
    const runtime = new FakeRuntime();
    const running = seedTask(runtime, 'running');
    const h = await startHarness(runtime);
    h.executor.setAssignments([withStatus(running.task, { State: 'running' })], new Map());
    await settle(200);
    expect(running.container.state).toBe('running');
    expect(h.executor.statuses()[0]?.status.State).toBe('running');
    await h.executor.stop();

    const runtime2 = new FakeRuntime();
    const created = seedTask(runtime2, 'created');
    const h2 = await startHarness(runtime2);
    h2.executor.setAssignments([withStatus(created.task, { State: 'preparing' })], new Map());
    const rejected = await h2.until('t1', 'rejected');
    expect(rejected.Err).toBe('secret db_password (id s-db) is not available on this node');
    expect(runtime2.ops('start')).toEqual([]);
  });

  it('removes the files of an adopted container that ended while the agent was down', async () => {
    const runtime = new FakeRuntime();
    const { task, container } = seedTask(runtime, 'running');
    await mkdir(join(dir, 't1/secrets'), { recursive: true });
    runtime.exit(container.id, 0, { silently: true });
    const h = await startHarness(runtime);
    h.executor.setAssignments([withStatus(task, { State: 'running', Message: 'started' })], DATA);
    await h.until('t1', 'complete');
    await eventually(async () => !(await exists(join(dir, 't1'))), 'files removed');
    expect(runtime.containers.has(container.id)).toBe(true);
    expect(runtime.ops('start')).toEqual([]);
  });

  it('sweeps the directories of tasks no longer assigned, once the first set arrived', async () => {
    await mkdir(join(dir, 'old-task/secrets'), { recursive: true });
    const h = await startHarness();
    await settle();
    expect(await exists(join(dir, 'old-task'))).toBe(true);

    const task = taskWith({ Secrets: [dbSecret] });
    h.executor.setAssignments([task], DATA);
    await h.until('t1', 'running');
    await eventually(async () => !(await exists(join(dir, 'old-task'))), 'old files swept');
    expect(await exists(join(dir, 't1/secrets/s-db'))).toBe(true);
  });
});
