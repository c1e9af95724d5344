/**
 * Shared set-up for the executor's unit tests: task builders, an executor on a FakeRuntime
 * whose reports are recorded, and waitFor, which lets the event loop turn (no timers) until
 * a condition holds.
 */
import { expect } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { ConfigReference, SecretReference } from '../../../src/state/object-types.js';
import type { Task, TaskState, TaskStatus } from '../../../src/state/service-types.js';
import { taskStateRank } from '../../../src/state/service-types.js';
import {
  Executor,
  type ExecutorOptions,
  type TaskStatusReport,
} from '../../../src/worker/index.js';
import { FakeRuntime } from './fake-runtime.js';

export const NODE = 'node-a';
export const IMAGE = 'busybox:latest';

export function makeTask(id: string, overrides: Partial<Task> = {}): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2024-01-01T00:00:00.000Z',
    UpdatedAt: '2024-01-01T00:00:00.000Z',
    Labels: {},
    Spec: { ContainerSpec: { Image: IMAGE, Args: ['sleep', '60'] } },
    SpecVersion: { Index: 1 },
    ServiceID: 'svc-1',
    ServiceAnnotations: { Name: 'web' },
    Slot: 1,
    NodeID: NODE,
    Status: { Timestamp: '2024-01-01T00:00:00.000Z', State: 'assigned', Message: 'assigned' },
    DesiredState: 'running',
    ...overrides,
  };
}

/** A reference to secret `id`, at /run/secrets/<name> unless `file` says otherwise. */
export function secretRef(name: string, id: string, file: Partial<SecretReference['File']> = {}) {
  return {
    SecretID: id,
    SecretName: name,
    File: { Name: name, UID: '0', GID: '0', Mode: 0o444, ...file },
  } satisfies SecretReference;
}

/** A reference to config `id`, at /<name> unless `file` says otherwise. */
export function configRef(name: string, id: string, file: Partial<ConfigReference['File']> = {}) {
  return {
    ConfigID: id,
    ConfigName: name,
    File: { Name: `/${name}`, UID: '0', GID: '0', Mode: 0o444, ...file },
  } satisfies ConfigReference;
}

/** The same task as the leader would resend it: a new desired state or status. */
export function withDesired(task: Task, desired: TaskState): Task {
  return { ...task, DesiredState: desired };
}

export function withStatus(task: Task, status: Partial<TaskStatus>): Task {
  return { ...task, Status: { ...task.Status, ...status } };
}

/** Turns of the event loop before waitFor gives up: generous, and still finite. */
const MAX_TURNS = 20_000;

export async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < MAX_TURNS; i++) {
    if (predicate()) return;
    await new Promise(setImmediate);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A few turns of the event loop: lets anything already queued run (for "nothing happens"). */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise(setImmediate);
}

export class Harness {
  readonly reports: TaskStatusReport[] = [];
  readonly batches: number[] = [];
  readonly executor: Executor;
  private tick = 0;

  constructor(
    readonly runtime: FakeRuntime = new FakeRuntime(),
    options: Partial<ExecutorOptions> = {},
  ) {
    this.executor = new Executor({
      runtime,
      nodeId: NODE,
      report: (batch) => {
        this.batches.push(batch.length);
        this.reports.push(...batch);
      },
      now: () => new Date(Date.UTC(2024, 0, 1) + ++this.tick * 1000),
      logger: silentLogger,
      retryMinMs: 1,
      retryMaxMs: 4,
      ...options,
    });
  }

  states(taskId: string): TaskState[] {
    return this.reports.filter((r) => r.taskId === taskId).map((r) => r.status.State);
  }

  last(taskId: string): TaskStatus | undefined {
    return this.reports.filter((r) => r.taskId === taskId).at(-1)?.status;
  }

  state(taskId: string): TaskState | undefined {
    return this.last(taskId)?.State;
  }

  async until(taskId: string, state: TaskState): Promise<TaskStatus> {
    await waitFor(() => this.state(taskId) === state, `${taskId} to be ${state}`);
    return this.last(taskId)!;
  }

  /** Every task's reported states only go up, and timestamps follow the clock. */
  expectMonotonic(): void {
    const seen = new Map<string, TaskStatus>();
    for (const { taskId, status } of this.reports) {
      const before = seen.get(taskId);
      if (before) {
        expect(taskStateRank(status.State)).toBeGreaterThanOrEqual(taskStateRank(before.State));
        expect(status.Timestamp > before.Timestamp).toBe(true);
      }
      seen.set(taskId, status);
    }
  }
}
