import { describe, expect, it } from 'vitest';
import {
  assessProgress,
  type ProgressInput,
  ProgressPrinter,
  progressBar,
} from '../../../src/cli/service/progress.js';
import type {
  Service,
  ServiceSpec,
  Task,
  TaskState,
  UpdateStatus,
} from '../../../src/state/service-types.js';
import type { Node } from '../../../src/state/types.js';

const FULL = `[${'='.repeat(50)}>]`;

function service(extra: Partial<ServiceSpec> = {}, more: Partial<Service> = {}): Service {
  return {
    ID: 'svc1',
    Version: { Index: 10 },
    CreatedAt: '2024-05-01T10:00:00.000Z',
    UpdatedAt: '2024-05-01T10:00:00.000Z',
    Spec: {
      Name: 'web',
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' } },
      Mode: { Replicated: { Replicas: 3 } },
      ...extra,
    },
    Endpoint: { Spec: {} },
    ...more,
  };
}

let seq = 0;
function task(
  svc: Service,
  slot: number,
  state: TaskState,
  extra: Partial<Task> & { err?: string } = {},
): Task {
  seq++;
  const { err, ...rest } = extra;
  return {
    ID: `task${String(seq).padStart(3, '0')}`,
    Version: { Index: 20 + seq },
    CreatedAt: new Date(Date.parse('2024-05-01T10:00:00.000Z') + seq * 1000).toISOString(),
    UpdatedAt: '2024-05-01T10:00:00.000Z',
    Labels: {},
    Spec: svc.Spec.TaskTemplate,
    SpecVersion: { Index: 10 },
    ServiceID: svc.ID,
    ServiceAnnotations: { Name: svc.Spec.Name },
    Slot: slot,
    NodeID: 'n1',
    Status: {
      Timestamp: '2024-05-01T10:00:00.000Z',
      State: state,
      Message: state,
      ...(err ? { Err: err } : {}),
    },
    DesiredState: 'running',
    ...rest,
  };
}

function node(id: string, hostname: string, state: Node['Status']['State'] = 'ready'): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { EngineVersion: '24.0.7' },
    },
    Status: { State: state, Addr: '10.0.0.1' },
    Role: 'worker',
    P2PAddrs: [],
  };
}

const assess = (input: Partial<ProgressInput> & { service: Service; tasks: Task[] }) =>
  assessProgress({ nodes: [], rollback: false, ended: new Set(), poll: 1, ...input });

describe('assessProgress: replicated services', () => {
  it("draws docker's lines while tasks come up", () => {
    const svc = service();
    const report = assess({
      service: svc,
      tasks: [task(svc, 1, 'running'), task(svc, 2, 'preparing')],
    });
    expect(report.verdict).toBe('in-progress');
    expect(report.lines).toEqual([
      { id: 'overall progress', text: '1 out of 3 tasks' },
      { id: '1/3', text: `running   ${FULL}` },
      { id: '2/3', text: `preparing [${'='.repeat(33)}>${' '.repeat(17)}]` },
      { id: '3/3', text: '' },
    ]);
  });

  it('converges when the newest task of every slot runs', () => {
    const svc = service();
    const report = assess({
      service: svc,
      tasks: [
        task(svc, 1, 'failed', { DesiredState: 'shutdown' }),
        task(svc, 1, 'running'),
        task(svc, 2, 'running'),
        task(svc, 3, 'running'),
        task(svc, 4, 'running', { DesiredState: 'shutdown' }),
      ],
    });
    expect(report.verdict).toBe('converged');
    expect(report.lines.at(0)).toEqual({ id: 'overall progress', text: '3 out of 3 tasks' });
    expect(report.lines.at(-1)).toEqual({ id: 'verify', text: 'Service converged' });
  });

  it("counts only tasks of the service's current spec", () => {
    const svc = service();
    const old = { ...svc.Spec.TaskTemplate, ContainerSpec: { Image: 'nginx:1.26' } };
    const report = assess({
      service: svc,
      tasks: [1, 2, 3].map((slot) => task(svc, slot, 'running', { Spec: old })),
    });
    expect(report.verdict).toBe('in-progress');
    expect(report.lines[0]?.text).toBe('0 out of 3 tasks');
  });

  it("shows a pending task's scheduling reason on its line", () => {
    const svc = service({ Mode: { Replicated: { Replicas: 1 } } });
    const report = assess({
      service: svc,
      tasks: [
        task(svc, 1, 'pending', {
          NodeID: '',
          err: 'no suitable node (1 node not available for new tasks; insufficient resources on 2 nodes)',
        }),
      ],
    });
    expect(report.verdict).toBe('in-progress');
    expect(report.lines[1]).toEqual({
      id: '1/1',
      text: 'no suitable node (1 node not available for new tasks; insufficient resourc…',
    });
  });

  it('fails at once when a task failed and the restart policy will not replace it', () => {
    const svc = service({
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx:1.27' },
        RestartPolicy: { Condition: 'none' },
      },
    });
    const report = assess({
      service: svc,
      tasks: [
        task(svc, 1, 'running'),
        task(svc, 2, 'failed', { err: 'task: non-zero exit (1)' }),
        task(svc, 3, 'rejected', { err: 'No such image: nginx:1.27' }),
      ],
    });
    expect(report).toMatchObject({
      verdict: 'failed',
      error: 'task web.2 failed: task: non-zero exit (1)',
    });
    expect(report.lines[2]).toEqual({ id: '2/3', text: 'task: non-zero exit (1)' });
  });

  it('waits for restarts, and gives up after three failures in a slot', () => {
    const svc = service({ Mode: { Replicated: { Replicas: 1 } } });
    const failures = [1, 2, 3].map(() =>
      task(svc, 1, 'failed', { err: 'task: non-zero exit (2)' }),
    );
    expect(assess({ service: svc, tasks: failures.slice(0, 2) }).verdict).toBe('in-progress');
    expect(assess({ service: svc, tasks: failures })).toMatchObject({
      verdict: 'failed',
      error: 'task web.1 failed: task: non-zero exit (2)',
    });
    // Failures from before the wait began do not count.
    const ended = new Set(failures.slice(0, 2).map((t) => t.ID));
    expect(assess({ service: svc, tasks: failures, ended }).verdict).toBe('in-progress');
  });

  it('gives up after the last restart attempt the policy allows', () => {
    const svc = service({
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx:1.27' },
        RestartPolicy: { MaxAttempts: 1 },
      },
    });
    const tasks = [task(svc, 1, 'failed'), task(svc, 1, 'failed')];
    expect(assess({ service: svc, tasks: tasks.slice(0, 1) }).verdict).toBe('in-progress');
    expect(assess({ service: svc, tasks })).toMatchObject({
      verdict: 'failed',
      error: 'task web.1 failed: failed',
    });
  });

  it('shows no slot lines above 20 replicas', () => {
    const svc = service({ Mode: { Replicated: { Replicas: 21 } } });
    const report = assess({ service: svc, tasks: [] });
    expect(report.lines).toEqual([{ id: 'overall progress', text: '0 out of 21 tasks' }]);
  });

  it('converges at once with zero replicas', () => {
    const svc = service({ Mode: { Replicated: { Replicas: 0 } } });
    expect(assess({ service: svc, tasks: [] }).verdict).toBe('converged');
  });
});

describe('assessProgress: updates and rollbacks', () => {
  const at = (state: UpdateStatus['State'], message: string): UpdateStatus => ({
    State: state,
    StartedAt: '2024-05-01T10:01:00.000Z',
    Message: message,
  });
  const running = (svc: Service) => [1, 2, 3].map((slot) => task(svc, slot, 'running'));

  it('waits for the update to complete even when every task runs', () => {
    const svc = service({}, { UpdateStatus: at('updating', 'update in progress') });
    expect(assess({ service: svc, tasks: running(svc) }).verdict).toBe('in-progress');
    const done = service({}, { UpdateStatus: at('completed', 'update completed') });
    expect(assess({ service: done, tasks: running(done) }).verdict).toBe('converged');
  });

  it('leaves failed tasks to the update while it runs', () => {
    const svc = service(
      {
        TaskTemplate: {
          ContainerSpec: { Image: 'nginx:1.27' },
          RestartPolicy: { Condition: 'none' },
        },
      },
      { UpdateStatus: at('updating', 'update in progress') },
    );
    const tasks = [task(svc, 1, 'failed', { err: 'boom' })];
    expect(assess({ service: svc, tasks }).verdict).toBe('in-progress');
  });

  it('fails when the update pauses', () => {
    const message = 'update paused due to failure or early termination of task abc';
    const svc = service({}, { UpdateStatus: at('paused', message) });
    expect(assess({ service: svc, tasks: running(svc) })).toMatchObject({
      verdict: 'failed',
      error: `service update paused: ${message}`,
    });
  });

  it('ignores the status the service had before the command (a scale keeps it)', () => {
    const status = at('paused', 'update paused due to failure or early termination of task abc');
    const svc = service({}, { UpdateStatus: status });
    expect(assess({ service: svc, tasks: running(svc), baseline: { ...status } }).verdict).toBe(
      'converged',
    );
  });

  it('reports an automatic rollback as a failure, with its reason', () => {
    const reason = 'update rolled back due to failure or early termination of task abc';
    const started = service({}, { UpdateStatus: at('rollback_started', reason) });
    const first = assess({ service: started, tasks: running(started) });
    expect(first.verdict).toBe('in-progress');
    expect(first.lines[0]).toEqual({
      id: 'overall progress',
      text: 'rolling back update: 3 out of 3 tasks',
    });
    expect(first.lines[1]).toEqual({ id: '1/3', text: `running   [>${' '.repeat(50)}]` });
    expect(first.lines.at(-1)).toEqual({ id: 'rollback', text: reason });
    expect(first.rollbackReason).toBe(reason);

    const completed = service({}, { UpdateStatus: at('rollback_completed', 'rollback completed') });
    const second = assess({
      service: completed,
      tasks: running(completed),
      rollbackReason: first.rollbackReason,
    });
    expect(second).toMatchObject({ verdict: 'failed', error: reason });
    expect(second.lines.at(-1)).toEqual({ id: 'rollback', text: reason });
  });

  it('converges when the rollback the command asked for completes', () => {
    const started = service(
      {},
      { UpdateStatus: at('rollback_started', 'manually requested rollback') },
    );
    expect(assess({ service: started, tasks: running(started), rollback: true }).verdict).toBe(
      'in-progress',
    );
    const done = service({}, { UpdateStatus: at('rollback_completed', 'rollback completed') });
    const report = assess({
      service: done,
      tasks: running(done),
      rollback: true,
      rollbackReason: 'manually requested rollback',
    });
    expect(report.verdict).toBe('converged');
    expect(report.lines.slice(-2)).toEqual([
      { id: 'rollback', text: 'manually requested rollback' },
      { id: 'verify', text: 'Service converged' },
    ]);
  });

  it('fails when a rollback pauses', () => {
    const svc = service({}, { UpdateStatus: at('rollback_paused', 'rollback paused') });
    expect(assess({ service: svc, tasks: running(svc), rollback: true })).toMatchObject({
      verdict: 'failed',
      error: 'service rollback paused: rollback paused',
    });
  });
});

describe('assessProgress: global services and jobs', () => {
  const nodes = [node('n1', 'node1'), node('n2', 'node2'), node('n3', 'node3', 'down')];

  it('wants a running task on every node that has one, by hostname', () => {
    const svc = service({ Mode: { Global: {} } });
    const tasks = [
      task(svc, 0, 'running', { NodeID: 'n2' }),
      task(svc, 0, 'starting', { NodeID: 'n1' }),
      task(svc, 0, 'running', { NodeID: 'n3' }),
      task(svc, 0, 'running', { NodeID: 'gone' }),
    ];
    const report = assess({ service: svc, tasks, nodes });
    expect(report.verdict).toBe('in-progress');
    expect(report.lines).toEqual([
      { id: 'overall progress', text: '1 out of 2 tasks' },
      { id: 'node1', text: `starting  [${'='.repeat(44)}>${' '.repeat(6)}]` },
      { id: 'node2', text: `running   ${FULL}` },
    ]);
    const drained = [...tasks, task(svc, 0, 'running', { NodeID: 'n1', DesiredState: 'shutdown' })];
    expect(assess({ service: svc, tasks: drained, nodes }).verdict).toBe('converged');
  });

  it('names the node of a failing global task', () => {
    const svc = service({
      Mode: { Global: {} },
      TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'none' } },
    });
    const tasks = [task(svc, 0, 'failed', { NodeID: 'n1', err: 'no such image' })];
    expect(assess({ service: svc, tasks, nodes })).toMatchObject({
      verdict: 'failed',
      error: 'task web on node1 failed: no such image',
    });
  });

  it('gives an empty global service a few polls to get its tasks', () => {
    const svc = service({ Mode: { Global: {} } });
    expect(assess({ service: svc, tasks: [], nodes, poll: 1 }).verdict).toBe('in-progress');
    expect(assess({ service: svc, tasks: [], nodes, poll: 5 }).verdict).toBe('converged');
  });

  it('waits for every completion of a replicated job', () => {
    const svc = service(
      {
        Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } },
        TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
      },
      { JobStatus: { JobIteration: { Index: 1 } } },
    );
    const iteration = { JobIteration: { Index: 1 } };
    // A job's slots count from 0, as Swarm's; they show as 1/3..3/3.
    const tasks = [
      task(svc, 0, 'complete', { ...iteration }),
      task(svc, 1, 'running', { ...iteration }),
      task(svc, 2, 'complete', { JobIteration: { Index: 0 } }),
    ];
    const report = assess({ service: svc, tasks });
    expect(report.verdict).toBe('in-progress');
    expect(report.lines).toEqual([
      { id: 'job progress', text: '1 out of 3 complete' },
      { id: 'active tasks', text: '1 out of 2 tasks' },
      { id: '1/3', text: `complete  ${FULL}` },
      { id: '2/3', text: `running   [${'='.repeat(45)}>${' '.repeat(5)}]` },
      { id: '3/3', text: '' },
    ]);
    const finished = [
      ...tasks,
      task(svc, 1, 'complete', iteration),
      task(svc, 2, 'complete', iteration),
    ];
    expect(assess({ service: svc, tasks: finished }).verdict).toBe('converged');
  });

  it('completes a global job on every node', () => {
    const svc = service({ Mode: { GlobalJob: {} } });
    const tasks = [
      task(svc, 0, 'complete', { NodeID: 'n1' }),
      task(svc, 0, 'complete', { NodeID: 'n2' }),
    ];
    const report = assess({ service: svc, tasks, nodes });
    expect(report.verdict).toBe('converged');
    expect(report.lines[0]).toEqual({ id: 'job progress', text: '2 out of 2 complete' });
  });
});

describe('progress output', () => {
  it("draws docker's bar", () => {
    expect(progressBar(9, 9)).toBe(FULL);
    expect(progressBar(0, 9)).toBe(`[>${' '.repeat(50)}]`);
    expect(progressBar(3, 9)).toBe(`[${'='.repeat(16)}>${' '.repeat(34)}]`);
  });

  it('prints a plain line only when it changes, when not on a terminal', () => {
    let out = '';
    const printer = new ProgressPrinter((text) => {
      out += text;
    }, false);
    printer.render([
      { id: 'overall progress', text: '0 out of 2 tasks' },
      { id: '1/2', text: 'pending' },
      { id: '2/2', text: '' },
    ]);
    printer.render([
      { id: 'overall progress', text: '0 out of 2 tasks' },
      { id: '1/2', text: 'running' },
      { id: '2/2', text: '' },
    ]);
    printer.render([{ id: 'verify', text: 'Service converged' }]);
    expect(out).toBe(
      'overall progress: 0 out of 2 tasks\n1/2: pending\n1/2: running\nverify: Service converged\n',
    );
  });

  it('redraws the block in place on a terminal', () => {
    const writes: string[] = [];
    const printer = new ProgressPrinter((text) => writes.push(text), true);
    printer.render([
      { id: 'overall progress', text: '0 out of 1 tasks' },
      { id: '1/1', text: '' },
    ]);
    printer.render([
      { id: 'overall progress', text: '0 out of 1 tasks' },
      { id: '1/1', text: '' },
    ]);
    printer.render([
      { id: 'overall progress', text: '1 out of 1 tasks' },
      { id: '1/1', text: 'running' },
      { id: 'verify', text: 'Service converged' },
    ]);
    expect(writes).toEqual([
      '\x1b[2Koverall progress: 0 out of 1 tasks\n\x1b[2K1/1:\n',
      '\x1b[2A\x1b[2Koverall progress: 1 out of 1 tasks\n\x1b[2K1/1: running\n\x1b[2Kverify: Service converged\n',
    ]);
  });
});
