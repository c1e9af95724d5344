import { createServer } from 'node:http';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { type ServiceCommandDeps, serviceCommand } from '../../../src/cli/commands/service.js';
import { oneLineMessage } from '../../../src/errors.js';
import type { Service, ServiceSpec, Task, TaskState } from '../../../src/state/service-types.js';
import type { Node } from '../../../src/state/types.js';
import { type CliResult, swarmts } from '../../support/cli.js';
import { type Routes, useFakeApi } from '../../support/fake-api.js';

// ---- a fake control API on a unix socket (test/support/fake-api.ts), one per test ----------

const fake = useFakeApi('swarmts-cli-service-');
const fakeApi = (routes: Routes) => fake.start(routes);
const calls = () => fake.calls();

/** The wall clock the commands see. */
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

/**
 * `swarmts service ...` with a fixed clock, polls that do not wait, and no terminal; the
 * same error handling as runCli. (`swarmts()` runs the real program, with the real clock.)
 */
async function run(
  args: string[],
  extra: Partial<ServiceCommandDeps> = {},
): Promise<CliResult & { sleeps: number[] }> {
  let stdout = '';
  let stderr = '';
  const sleeps: number[] = [];
  const io = {
    stdout: (text: string) => {
      stdout += text;
    },
    stderr: (text: string) => {
      stderr += text;
    },
    env: fake.hostEnv,
  };
  const program = new Command('swarmts')
    .option('-H, --host <socket>')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });
  serviceCommand(program, {
    io,
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    tty: false,
    ...extra,
  });
  try {
    await program.parseAsync(['service', ...args], { from: 'user' });
    return { code: 0, stdout, stderr, sleeps };
  } catch (error) {
    stderr += `Error: ${oneLineMessage(error)}\n`;
    return { code: 1, stdout, stderr, sleeps };
  }
}

// ---- fixtures ----------------------------------------------------------------------------

const WEB_ID = 'webwebwebweb0123456789abc';

function service(id: string, spec: Partial<ServiceSpec>, extra: Partial<Service> = {}): Service {
  return {
    ID: id,
    Version: { Index: 42 },
    CreatedAt: ago(3_600_000),
    UpdatedAt: ago(3_600_000),
    Spec: {
      Name: 'web',
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' } },
      Mode: { Replicated: { Replicas: 3 } },
      ...spec,
    },
    Endpoint: { Spec: {} },
    ...extra,
  };
}

const web = service(
  WEB_ID,
  {
    TaskTemplate: {
      ContainerSpec: {
        Image: 'nginx:1.27@sha256:0123456789abcdef',
        Env: ['A=1'],
      },
    },
    EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 }] },
  },
  {
    Endpoint: {
      Spec: {},
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8081, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'ingress' },
        { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'host' },
      ],
    },
    ServiceStatus: { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 },
  },
);
const api = service(
  'apiapiapiapi0123456789abc',
  { Name: 'api', Mode: { Global: {} }, TaskTemplate: { ContainerSpec: { Image: 'redis' } } },
  { ServiceStatus: { RunningTasks: 3, DesiredTasks: 3, CompletedTasks: 0 } },
);
const batch = service(
  'batchbatchba0123456789abc',
  {
    Name: 'batch',
    Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 10 } },
    TaskTemplate: { ContainerSpec: { Image: 'docker.io/library/busybox:1.36' } },
  },
  { ServiceStatus: { RunningTasks: 2, DesiredTasks: 2, CompletedTasks: 3 } },
);
const capped = service(
  'cappedcapped0123456789abc',
  {
    Name: 'capped',
    Mode: { Replicated: { Replicas: 2 } },
    TaskTemplate: {
      ContainerSpec: { Image: 'ghcr.io/acme/app:2' },
      Placement: { MaxReplicas: 1 },
    },
  },
  { ServiceStatus: { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 } },
);

function node(id: string, hostname: string): Node {
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
    Status: { State: 'ready', Addr: '10.0.0.1' },
    Role: 'worker',
    P2PAddrs: [],
  };
}
const nodes = [node('12D3KooWnode1', 'node1'), node('12D3KooWnode2', 'node2')];

function task(
  id: string,
  svc: Service,
  slot: number,
  state: TaskState,
  extra: Partial<Task> & { err?: string; since?: number; created?: number } = {},
): Task {
  const { err, since = 5_000, created = since, ...rest } = extra;
  return {
    ID: id,
    Version: { Index: 50 },
    CreatedAt: ago(created),
    UpdatedAt: ago(since),
    Labels: {},
    Spec: svc.Spec.TaskTemplate,
    SpecVersion: { Index: 42 },
    ServiceID: svc.ID,
    ServiceAnnotations: { Name: svc.Spec.Name },
    Slot: slot,
    NodeID: '12D3KooWnode1',
    Status: { Timestamp: ago(since), State: state, Message: state, ...(err ? { Err: err } : {}) },
    DesiredState: 'running',
    Endpoint: { Ports: svc.Endpoint.Ports ?? [] },
    ...rest,
  };
}

// ---- service create ----------------------------------------------------------------------

describe('swarmts service create', () => {
  it('sends the spec a rich command line describes, and prints the ID', async () => {
    await fakeApi({ 'POST /services/create': { status: 201, body: { ID: WEB_ID } } });
    const result = await swarmts(
      [
        'service',
        'create',
        '--name',
        'web',
        '--replicas',
        '3',
        '-p',
        '8080:80',
        '--publish',
        'published=5353,target=53,protocol=udp,mode=host',
        '-e',
        'A=1',
        '--env',
        'B=two words',
        '-l',
        'tier=front',
        '--container-label',
        'c=1',
        '--constraint',
        'node.role==worker',
        '--placement-pref',
        'spread=node.labels.zone',
        '--reserve-cpu',
        '0.5',
        '--reserve-memory',
        '512M',
        '--limit-memory',
        '1g',
        '--restart-condition',
        'on-failure',
        '--restart-delay',
        '1m30s',
        '--update-parallelism',
        '2',
        '--update-failure-action',
        'rollback',
        '--rollback-order',
        'start-first',
        '--health-cmd',
        'curl -f http://localhost/ || exit 1',
        '--health-interval',
        '300ms',
        '--mount',
        'type=bind,src=/srv/www,dst=/usr/share/nginx/html,ro',
        '--stop-grace-period',
        '20s',
        '-u',
        'nginx',
        '-w',
        '/srv',
        '-d',
        'nginx:1.27',
        'nginx',
        '-g',
        'daemon off;',
      ],
      fake.hostEnv,
    );
    expect(result).toEqual({ code: 0, stdout: `${WEB_ID}\n`, stderr: '' });
    expect(calls()).toEqual(['POST /services/create']);
    expect(fake.requests[0]?.body).toEqual({
      Name: 'web',
      Labels: { tier: 'front' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'nginx:1.27',
          Args: ['nginx', '-g', 'daemon off;'],
          Labels: { c: '1' },
          Env: ['A=1', 'B=two words'],
          Dir: '/srv',
          User: 'nginx',
          Mounts: [
            { Type: 'bind', Source: '/srv/www', Target: '/usr/share/nginx/html', ReadOnly: true },
          ],
          StopGracePeriod: 20_000_000_000,
          Healthcheck: {
            Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
            Interval: 300_000_000,
          },
        },
        Resources: {
          Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 536_870_912 },
          Limits: { MemoryBytes: 1_073_741_824 },
        },
        RestartPolicy: { Condition: 'on-failure', Delay: 90_000_000_000 },
        Placement: {
          Constraints: ['node.role==worker'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
        },
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 2, FailureAction: 'rollback' },
      RollbackConfig: { Order: 'start-first' },
      EndpointSpec: {
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
          { Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' },
        ],
      },
    });
  });

  it('refuses a bad flag value with one line naming the flag, and sends nothing', async () => {
    await fakeApi({ 'POST /services/create': { status: 201, body: { ID: WEB_ID } } });
    const cases: Array<[string[], string]> = [
      [
        ['--replicas', 'x'],
        'Error: invalid argument "x" for "--replicas" flag: expected a non-negative integer\n',
      ],
      [
        ['--restart-delay', '5'],
        'Error: invalid argument "5" for "--restart-delay" flag: time: missing unit in duration "5"\n',
      ],
      [
        ['--reserve-memory', '5 parsecs'],
        `Error: invalid argument "5 parsecs" for "--reserve-memory" flag: invalid size: '5 parsecs'\n`,
      ],
      [
        ['--limit-cpu', '0.5x'],
        'Error: invalid argument "0.5x" for "--limit-cpu" flag: failed to parse 0.5x as a rational number\n',
      ],
      [
        ['-p', '8080:80/icmp'],
        'Error: invalid argument "8080:80/icmp" for "--publish" flag: invalid protocol "icmp" in 8080:80/icmp (tcp|udp|sctp)\n',
      ],
      [
        ['--mount', 'type=bind,target=/x'],
        'Error: invalid argument "type=bind,target=/x" for "--mount" flag: source is required for a bind mount\n',
      ],
      [
        ['--mode', 'global', '--replicas', '2'],
        'Error: replicas can only be used with replicated or replicated-job mode\n',
      ],
      [
        ['--update-order', 'sideways'],
        'Error: invalid argument "sideways" for "--update-order" flag: must be one of stop-first, start-first\n',
      ],
    ];
    for (const [flags, stderr] of cases) {
      const result = await swarmts(['service', 'create', '-d', ...flags, 'nginx'], fake.hostEnv);
      expect(result).toEqual({ code: 1, stdout: '', stderr });
    }
    const unknown = await swarmts(['service', 'create', '--colour', 'red', 'nginx'], fake.hostEnv);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^Error: unknown option '--colour'.*\n$/);
    const missing = await swarmts(['service', 'create', '--name', 'web'], fake.hostEnv);
    expect(missing.stderr).toMatch(/^Error: missing required argument 'image'.*\n$/);
    expect(fake.requests).toEqual([]);
  });

  it("relays the agent's conflict message", async () => {
    await fakeApi({
      'POST /services/create': { status: 409, body: { message: 'service web already exists' } },
    });
    expect(
      await swarmts(['service', 'create', '-d', '--name', 'web', 'nginx'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: service web already exists\n',
    });
  });

  it('waits for the tasks with docker progress lines, then says it converged', async () => {
    const created = service(WEB_ID, {});
    const polls: Task[][] = [
      [],
      [
        task('t1', created, 1, 'pending'),
        task('t2', created, 2, 'preparing'),
        task('t3', created, 3, 'assigned'),
      ],
      [
        task('t1', created, 1, 'running'),
        task('t2', created, 2, 'starting'),
        task('t3', created, 3, 'assigned'),
      ],
      [
        task('t1', created, 1, 'running'),
        task('t2', created, 2, 'running'),
        task('t3', created, 3, 'running'),
      ],
    ];
    let poll = 0;
    await fakeApi({
      'POST /services/create': {
        status: 201,
        body: { ID: WEB_ID, Warnings: ['image nginx:1.27 could not be accessed on a registry'] },
      },
      [`GET /services/${WEB_ID}`]: { body: created },
      'GET /tasks': () => ({ body: polls[Math.min(poll++, polls.length - 1)] }),
    });
    const result = await run(['create', '--name', 'web', '--replicas', '3', 'nginx:1.27']);
    const bar = (n: number) => `[${'='.repeat(n)}>${' '.repeat(50 - n)}]`;
    expect(result.stderr).toBe('image nginx:1.27 could not be accessed on a registry\n');
    expect(result.stdout).toBe(
      [
        WEB_ID,
        'overall progress: 0 out of 3 tasks',
        `1/3: pending   ${bar(16)}`,
        `2/3: preparing ${bar(33)}`,
        `3/3: assigned  ${bar(22)}`,
        'overall progress: 1 out of 3 tasks',
        `1/3: running   ${bar(50)}`,
        `2/3: starting  ${bar(44)}`,
        'overall progress: 3 out of 3 tasks',
        `2/3: running   ${bar(50)}`,
        `3/3: running   ${bar(50)}`,
        'verify: Service converged',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
    expect(result.sleeps).toEqual([200, 200, 200]);
    expect(JSON.parse(fake.requests[2]?.query.filters ?? '')).toEqual({ service: [WEB_ID] });
  });

  it('stops with an Error line when a task fails for good', async () => {
    const created = service(WEB_ID, {
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx:nope' },
        RestartPolicy: { Condition: 'none' },
      },
    });
    await fakeApi({
      'POST /services/create': { status: 201, body: { ID: WEB_ID } },
      [`GET /services/${WEB_ID}`]: { body: created },
      'GET /tasks': {
        body: [
          task('t1', created, 1, 'rejected', {
            err: 'No such image: nginx:nope',
          }),
        ],
      },
    });
    const result = await run(['create', '--restart-condition', 'none', 'nginx:nope']);
    expect(result).toMatchObject({
      code: 1,
      stdout: `${WEB_ID}\noverall progress: 0 out of 1 tasks\n1/1: No such image: nginx:nope\n`,
      stderr: 'Error: task web.1 was rejected: No such image: nginx:nope\n',
    });
  });

  it('prints nothing but the ID with --quiet, and still waits', async () => {
    const created = service(WEB_ID, { Mode: { Replicated: { Replicas: 1 } } });
    await fakeApi({
      'POST /services/create': { status: 201, body: { ID: WEB_ID } },
      [`GET /services/${WEB_ID}`]: { body: created },
      'GET /tasks': { body: [task('t1', created, 1, 'running')] },
    });
    expect(await run(['create', '-q', 'nginx:1.27'])).toMatchObject({
      code: 0,
      stdout: `${WEB_ID}\n`,
      stderr: '',
    });
    expect(calls()).toEqual(['POST /services/create', `GET /services/${WEB_ID}`, 'GET /tasks']);
  });

  it('asks for the nodes while a global service converges', async () => {
    const created = service(WEB_ID, { Mode: { Global: {} } });
    await fakeApi({
      'POST /services/create': { status: 201, body: { ID: WEB_ID } },
      [`GET /services/${WEB_ID}`]: { body: created },
      'GET /tasks': {
        body: [
          task('t1', created, 0, 'running', { NodeID: '12D3KooWnode1' }),
          task('t2', created, 0, 'running', { NodeID: '12D3KooWnode2' }),
        ],
      },
      'GET /nodes': { body: nodes },
    });
    const result = await run(['create', '--mode', 'global', 'nginx:1.27']);
    expect(result.stdout).toBe(
      [
        WEB_ID,
        'overall progress: 2 out of 2 tasks',
        `node1: running   [${'='.repeat(50)}>]`,
        `node2: running   [${'='.repeat(50)}>]`,
        'verify: Service converged',
        '',
      ].join('\n'),
    );
    expect(fake.requests[0]?.body).toMatchObject({ Mode: { Global: {} } });
  });
});

// ---- service update, rollback, scale -------------------------------------------------------

describe('swarmts service update', () => {
  it('reads the service, then posts its whole spec with the changes at its version', async () => {
    await fakeApi({
      'GET /services/web': { body: web },
      [`POST /services/${WEB_ID}/update`]: { body: { Warnings: null } },
    });
    const result = await swarmts(
      [
        'service',
        'update',
        '--image',
        'nginx:1.28',
        '--env-add',
        'B=2',
        '--env-rm',
        'A',
        '--publish-add',
        '8443:443',
        '--replicas',
        '5',
        '--force',
        '--update-delay',
        '10s',
        '-d',
        'web',
      ],
      fake.hostEnv,
    );
    expect(result).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect(calls()).toEqual(['GET /services/web', `POST /services/${WEB_ID}/update`]);
    expect(fake.requests[1]?.query).toEqual({ version: '42' });
    expect(fake.requests[1]?.body).toEqual({
      Name: 'web',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx:1.28', Env: ['B=2'] },
        ForceUpdate: 1,
      },
      Mode: { Replicated: { Replicas: 5 } },
      UpdateConfig: { Delay: 10_000_000_000 },
      EndpointSpec: {
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 },
          { Protocol: 'tcp', TargetPort: 443, PublishedPort: 8443, PublishMode: 'ingress' },
        ],
      },
    });
  });

  it('posts with rollback=previous for --rollback, and refuses other changes with it', async () => {
    await fakeApi({
      'GET /services/web': { body: web },
      [`POST /services/${WEB_ID}/update`]: { body: {} },
    });
    expect(await swarmts(['service', 'update', '--rollback', '-d', 'web'], fake.hostEnv)).toEqual({
      code: 0,
      stdout: 'web\n',
      stderr: '',
    });
    expect(fake.requests[1]?.query).toEqual({ version: '42', rollback: 'previous' });
    const mixed = await swarmts(
      ['service', 'update', '--rollback', '--image', 'x', 'web'],
      fake.hostEnv,
    );
    expect(mixed).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: other flags may not be combined with --rollback\n',
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('refuses bad flags before reading the service', async () => {
    await fakeApi({ 'GET /services/web': { body: web } });
    expect(
      await swarmts(['service', 'update', '--update-monitor', 'soon', 'web'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: invalid argument "soon" for "--update-monitor" flag: time: invalid duration "soon"\n',
    });
    expect(
      (await swarmts(['service', 'update', '--publish-rm', 'x', 'web'], fake.hostEnv)).stderr,
    ).toBe(
      'Error: invalid argument "x" for "--publish-rm" flag: invalid target port "x": must be 1-65535\n',
    );
    expect(fake.requests).toEqual([]);
  });

  it('refuses --replicas on a global service after reading it, without posting', async () => {
    await fakeApi({ 'GET /services/api': { body: api } });
    expect(await swarmts(['service', 'update', '--replicas', '2', 'api'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: replicas can only be used with replicated or replicated-job mode\n',
    });
    expect(calls()).toEqual(['GET /services/api']);
  });

  it("relays a version conflict's message", async () => {
    await fakeApi({
      'GET /services/web': { body: web },
      [`POST /services/${WEB_ID}/update`]: {
        status: 409,
        body: { message: 'update out of sequence' },
      },
    });
    expect(await swarmts(['service', 'update', '-d', '--force', 'web'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: update out of sequence\n',
    });
  });

  it('reports an update that was rolled back, exit 1', async () => {
    const reason = 'update rolled back due to failure or early termination of task t9';
    const before = service(WEB_ID, { Mode: { Replicated: { Replicas: 1 } } });
    const broken = { ...before.Spec, TaskTemplate: { ContainerSpec: { Image: 'nginx:broken' } } };
    const states = [
      {
        ...before,
        Spec: broken,
        UpdateStatus: {
          State: 'updating' as const,
          StartedAt: ago(2000),
          Message: 'update in progress',
        },
      },
      {
        ...before,
        UpdateStatus: { State: 'rollback_started' as const, StartedAt: ago(1000), Message: reason },
      },
      {
        ...before,
        UpdateStatus: {
          State: 'rollback_completed' as const,
          StartedAt: ago(1000),
          Message: 'rollback completed',
        },
      },
    ];
    let poll = 0;
    await fakeApi({
      'GET /services/web': { body: before },
      [`POST /services/${WEB_ID}/update`]: { body: {} },
      [`GET /services/${WEB_ID}`]: () => ({ body: states[Math.min(poll++, states.length - 1)] }),
      'GET /tasks': { body: [task('t1', before, 1, 'running')] },
    });
    const result = await run(['update', '--image', 'nginx:broken', 'web']);
    expect(result).toMatchObject({
      code: 1,
      stdout: [
        'web',
        'overall progress: 0 out of 1 tasks',
        'overall progress: rolling back update: 1 out of 1 tasks',
        `1/1: running   [>${' '.repeat(50)}]`,
        `rollback: ${reason}`,
        '',
      ].join('\n'),
      stderr: `Error: ${reason}\n`,
    });
  });
});

describe('swarmts service rollback', () => {
  it('posts the spec with rollback=previous and waits for the rollback', async () => {
    const current = service(WEB_ID, { Mode: { Replicated: { Replicas: 1 } } });
    const rolled = {
      ...current,
      UpdateStatus: {
        State: 'rollback_completed' as const,
        StartedAt: ago(1000),
        Message: 'rollback completed',
      },
    };
    await fakeApi({
      'GET /services/web': { body: current },
      [`POST /services/${WEB_ID}/update`]: { body: {} },
      [`GET /services/${WEB_ID}`]: { body: rolled },
      'GET /tasks': { body: [task('t1', current, 1, 'running')] },
    });
    const result = await run(['rollback', 'web']);
    expect(result).toMatchObject({
      code: 0,
      stderr: '',
      stdout: [
        'web',
        'overall progress: rolling back update: 1 out of 1 tasks',
        `1/1: running   [>${' '.repeat(50)}]`,
        'verify: Service converged',
        '',
      ].join('\n'),
    });
    expect(fake.requests[1]?.query).toEqual({ version: '42', rollback: 'previous' });
    expect(fake.requests[1]?.body).toEqual(current.Spec);
  });
});

describe('swarmts service scale', () => {
  it("sets the replicas of each service at its version and prints docker's line", async () => {
    await fakeApi({
      'GET /services/web': { body: web },
      'GET /services/batch': { body: batch },
      [`POST /services/${WEB_ID}/update`]: { body: {} },
      [`POST /services/${batch.ID}/update`]: { body: {} },
    });
    const result = await swarmts(['service', 'scale', '-d', 'web=5', 'batch=4'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stdout: 'web scaled to 5\nbatch scaled to 4\n',
      stderr: '',
    });
    expect(fake.requests[1]?.query).toEqual({ version: '42' });
    expect(fake.requests[1]?.body).toEqual({ ...web.Spec, Mode: { Replicated: { Replicas: 5 } } });
    expect(fake.requests[3]?.body).toEqual({
      ...batch.Spec,
      Mode: { ReplicatedJob: { MaxConcurrent: 4, TotalCompletions: 10 } },
    });
  });

  it('refuses to scale a global service, and goes on with the others', async () => {
    await fakeApi({
      'GET /services/api': { body: api },
      'GET /services/web': { body: web },
      [`POST /services/${WEB_ID}/update`]: { body: {} },
    });
    const result = await swarmts(['service', 'scale', '-d', 'api=2', 'web=1'], fake.hostEnv);
    expect(result).toEqual({
      code: 1,
      stdout: 'web scaled to 1\n',
      stderr: 'Error: api: scale can only be used with replicated or replicated-job mode\n',
    });
    expect(calls()).toEqual([
      'GET /services/api',
      'GET /services/web',
      `POST /services/${WEB_ID}/update`,
    ]);
  });

  it('checks every specifier before sending anything', async () => {
    await fakeApi({ 'GET /services/web': { body: web } });
    expect(await swarmts(['service', 'scale', 'web=2', 'api'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: invalid scale specifier 'api': expected SERVICE=REPLICAS (web=3)\n",
    });
    expect((await swarmts(['service', 'scale', 'web=two'], fake.hostEnv)).stderr).toBe(
      'Error: web: invalid replicas value two: expected a non-negative integer\n',
    );
    expect(fake.requests).toEqual([]);
  });

  it('waits for each scaled service unless --detach', async () => {
    const before = service(WEB_ID, { Mode: { Replicated: { Replicas: 1 } } });
    const after = service(WEB_ID, { Mode: { Replicated: { Replicas: 2 } } });
    await fakeApi({
      'GET /services/web': { body: before },
      [`POST /services/${WEB_ID}/update`]: { body: {} },
      [`GET /services/${WEB_ID}`]: { body: after },
      'GET /tasks': {
        body: [task('t1', after, 1, 'running'), task('t2', after, 2, 'running')],
      },
    });
    const result = await run(['scale', 'web=2']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      [
        'web scaled to 2',
        'overall progress: 2 out of 2 tasks',
        `1/2: running   [${'='.repeat(50)}>]`,
        `2/2: running   [${'='.repeat(50)}>]`,
        'verify: Service converged',
        '',
      ].join('\n'),
    );
  });
});

// ---- service rm --------------------------------------------------------------------------

describe('swarmts service rm', () => {
  it('prints each removed service and one Error line per failure', async () => {
    await fakeApi({
      'DELETE /services/web': {},
      'DELETE /services/nope': { status: 404, body: { message: 'service nope not found' } },
      'DELETE /services/api': {},
    });
    expect(await swarmts(['service', 'rm', 'web', 'nope', 'api'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: 'web\napi\n',
      stderr: 'Error: service nope not found\n',
    });
  });
});

// ---- service ls --------------------------------------------------------------------------

describe('swarmts service ls', () => {
  const routes = (): Routes => ({ 'GET /services': { body: [web, api, capped, batch] } });

  it("prints docker's table, sorted by name", async () => {
    await fakeApi(routes());
    const result = await swarmts(['service', 'ls'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID             NAME     MODE             REPLICAS               IMAGE                PORTS',
        'apiapiapiapi   api      global           3/3                    redis',
        'batchbatchba   batch    replicated job   2/2 (3/10 completed)   busybox:1.36',
        'cappedcapped   capped   replicated       1/2 (max 1 per node)   ghcr.io/acme/app:2',
        'webwebwebweb   web      replicated       2/3                    nginx:1.27           *:8080-8081->80-81/tcp, *:5353->53/udp',
        '',
      ].join('\n'),
    });
    expect(fake.requests[0]?.query).toEqual({ status: 'true' });
  });

  it('prints one JSON object per line with --format json, and short IDs with -q', async () => {
    await fakeApi(routes());
    const json = await swarmts(['service', 'ls', '--format', 'json'], fake.hostEnv);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[3] ?? '')).toEqual({
      ID: 'webwebwebweb',
      Image: 'nginx:1.27',
      Mode: 'replicated',
      Name: 'web',
      Ports: '*:8080-8081->80-81/tcp, *:5353->53/udp',
      Replicas: '2/3',
    });
    const template = await swarmts(
      ['service', 'ls', '--format', '{{.Name}}={{.Replicas}}'],
      fake.hostEnv,
    );
    expect(template.stdout).toBe(
      'api=3/3\nbatch=2/2 (3/10 completed)\ncapped=1/2 (max 1 per node)\nweb=2/3\n',
    );
    const quiet = await swarmts(['service', 'ls', '-q'], fake.hostEnv);
    expect(quiet.stdout).toBe('apiapiapiapi\nbatchbatchba\ncappedcapped\nwebwebwebweb\n');
  });

  it("sends --filter as the API's filters JSON, and refuses unknown keys before any request", async () => {
    await fakeApi(routes());
    await swarmts(
      ['service', 'ls', '-q', '-f', 'name=web', '--filter', 'mode=global'],
      fake.hostEnv,
    );
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '')).toEqual({
      name: ['web'],
      mode: ['global'],
    });
    expect(await swarmts(['service', 'ls', '--filter', 'color=red'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: invalid filter 'color' (allowed: id, label, mode, name)\n",
    });
    expect(fake.requests).toHaveLength(1);
  });
});

// ---- service ps --------------------------------------------------------------------------

describe('swarmts service ps', () => {
  const tasks = [
    task('t2aaaaaaaaaaaaaaaaaaaaaaa', web, 2, 'pending', {
      NodeID: '',
      since: 30_000,
      err: 'no suitable node (insufficient resources on 2 nodes)',
    }),
    task('t1oldaaaaaaaaaaaaaaaaaaaa', web, 1, 'failed', {
      DesiredState: 'shutdown',
      since: 120_000,
      created: 600_000,
      err: 'task: non-zero exit (137)',
    }),
    task('t10aaaaaaaaaaaaaaaaaaaaaa', web, 10, 'running', {
      NodeID: '12D3KooWnode2',
      since: 3_600_000,
    }),
    task('t1newaaaaaaaaaaaaaaaaaaaa', web, 1, 'running', {
      since: 5_000,
      Status: {
        Timestamp: ago(5_000),
        State: 'running',
        Message: 'started',
        PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090 }] },
      },
    }),
  ];
  const routes = (): Routes => ({
    'GET /services/web': { body: web },
    'GET /tasks': { body: tasks },
    'GET /nodes': { body: nodes },
  });

  it("prints docker's table: names, older tasks indented, hostnames, ages, errors", async () => {
    await fakeApi(routes());
    const result = await run(['ps', 'web']);
    expect(result).toMatchObject({
      code: 0,
      stderr: '',
      stdout: [
        'ID             NAME        IMAGE        NODE    DESIRED STATE   CURRENT STATE               ERROR                              PORTS',
        't1newaaaaaaa   web.1       nginx:1.27   node1   Running         Running 5 seconds ago                                          *:9090->90/tcp',
        't1oldaaaaaaa    \\_ web.1   nginx:1.27   node1   Shutdown        Failed 2 minutes ago        "task: non-zero exit (137)"',
        't2aaaaaaaaaa   web.2       nginx:1.27           Running         Pending 30 seconds ago      "no suitable node (insufficien…"',
        't10aaaaaaaaa   web.10      nginx:1.27   node2   Running         Running about an hour ago',
        '',
      ].join('\n'),
    });
    expect(calls()).toEqual(['GET /services/web', 'GET /tasks', 'GET /nodes']);
    expect(JSON.parse(fake.requests[1]?.query.filters ?? '')).toEqual({ service: [WEB_ID] });
  });

  it('shows everything whole with --no-trunc, and only IDs with -q', async () => {
    await fakeApi(routes());
    const full = await run([
      'ps',
      '--no-trunc',
      '--format',
      '{{.ID}} {{.Image}} {{.Error}}',
      'web',
    ]);
    expect(full.stdout.split('\n')[2]).toBe(
      't2aaaaaaaaaaaaaaaaaaaaaaa nginx:1.27@sha256:0123456789abcdef "no suitable node (insufficient resources on 2 nodes)"',
    );
    const quiet = await run(['ps', '-q', 'web']);
    expect(quiet.stdout).toBe('t1newaaaaaaa\nt1oldaaaaaaa\nt2aaaaaaaaaa\nt10aaaaaaaaa\n');
  });

  it('prints one JSON object per line with --format json, names not indented', async () => {
    await fakeApi(routes());
    const result = await run(['ps', '--format', 'json', 'web']);
    const rows = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows[1]).toEqual({
      CurrentState: 'Failed 2 minutes ago',
      DesiredState: 'Shutdown',
      Error: '"task: non-zero exit (137)"',
      ID: 't1oldaaaaaaa',
      Image: 'nginx:1.27',
      Name: 'web.1',
      Node: 'node1',
      Ports: '',
    });
  });

  it('passes filters on, with node=self resolved through /info', async () => {
    await fakeApi({
      ...routes(),
      'GET /info': { body: { ID: 'x', Swarm: { NodeID: '12D3KooWnode2' } } },
    });
    const result = await run(['ps', '-q', '-f', 'node=self', '-f', 'desired-state=running', 'web']);
    expect(result.code).toBe(0);
    expect(calls()).toEqual(['GET /services/web', 'GET /info', 'GET /tasks']);
    expect(JSON.parse(fake.requests[2]?.query.filters ?? '')).toEqual({
      node: ['12D3KooWnode2'],
      'desired-state': ['running'],
      service: [WEB_ID],
    });
    expect((await run(['ps', '-f', 'slot=1', 'web'])).stderr).toBe(
      "Error: invalid filter 'slot' (allowed: id, name, node, desired-state)\n",
    );
  });

  it('lists the services it found, then an Error line per missing one', async () => {
    await fakeApi({
      ...routes(),
      'GET /services/nope': { status: 404, body: { message: 'service nope not found' } },
    });
    const result = await run(['ps', '-q', 'nope', 'web']);
    expect(result).toMatchObject({
      code: 1,
      stdout: 't1newaaaaaaa\nt1oldaaaaaaa\nt2aaaaaaaaaa\nt10aaaaaaaaa\n',
      stderr: 'Error: service nope not found\n',
    });
  });
});

// ---- service inspect ---------------------------------------------------------------------

describe('swarmts service inspect', () => {
  it('prints a JSON array indented like docker, one line with --format json', async () => {
    await fakeApi({ 'GET /services/web': { body: web }, 'GET /services/api': { body: api } });
    const result = await swarmts(['service', 'inspect', 'web', 'api'], fake.hostEnv);
    expect(result.stdout).toBe(`${JSON.stringify([web, api], null, 4)}\n`);
    const json = await swarmts(['service', 'inspect', '--format', 'json', 'web'], fake.hostEnv);
    expect(json.stdout).toBe(`${JSON.stringify([web])}\n`);
    const template = await swarmts(
      ['service', 'inspect', '-f', '{{.Spec.Name}} {{.Version.Index}}', 'web', 'api'],
      fake.hostEnv,
    );
    expect(template.stdout).toBe('web 42\napi 42\n');
  });

  it('prints a human block with --pretty', async () => {
    const rich = service(
      WEB_ID,
      {
        Labels: { tier: 'front' },
        TaskTemplate: {
          ContainerSpec: {
            Image: 'nginx:1.27',
            Args: ['nginx', '-g', 'daemon off;'],
            Env: ['A=1'],
            Mounts: [{ Type: 'volume', Source: 'data', Target: '/data' }],
          },
          Resources: { Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 536_870_912 } },
          Placement: { Constraints: ['node.role==worker'] },
        },
        UpdateConfig: { Parallelism: 2, Delay: 10_000_000_000, FailureAction: 'rollback' },
      },
      {
        Endpoint: {
          Spec: {},
          Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
        },
        UpdateStatus: {
          State: 'completed',
          StartedAt: ago(300_000),
          CompletedAt: ago(240_000),
          Message: 'update completed',
        },
      },
    );
    await fakeApi({ 'GET /services/web': { body: rich } });
    const result = await run(['inspect', '--pretty', 'web']);
    expect(result.stdout).toBe(
      [
        `ID:                     ${WEB_ID}`,
        'Name:                   web',
        'Labels:',
        ' tier=front',
        'Service Mode:           Replicated',
        ' Replicas:              3',
        'UpdateStatus:',
        ' State:                 completed',
        ' Started:               5 minutes ago',
        ' Completed:             4 minutes ago',
        ' Message:               update completed',
        'Placement:',
        ' Constraints:           [node.role==worker]',
        'UpdateConfig:',
        ' Parallelism:           2',
        ' Delay:                 10s',
        ' On failure:            rollback',
        ' Monitoring Period:     5s',
        ' Max failure ratio:     0',
        ' Update order:          stop-first',
        'RollbackConfig:',
        ' Parallelism:           1',
        ' On failure:            pause',
        ' Monitoring Period:     5s',
        ' Max failure ratio:     0',
        ' Rollback order:        stop-first',
        'ContainerSpec:',
        ' Image:                 nginx:1.27',
        ' Args:                  nginx -g daemon off;',
        ' Env:                   A=1',
        'Mounts:',
        ' Target:                /data',
        '  Source:               data',
        '  ReadOnly:             false',
        '  Type:                 volume',
        'Resources:',
        ' Reservations:',
        '  CPU:                  0.5',
        '  Memory:               512MiB',
        'Endpoint Mode:          vip',
        'Ports:',
        ' PublishedPort = 8080',
        '  Protocol = tcp',
        '  TargetPort = 80',
        '  PublishMode = ingress',
        '',
      ].join('\n'),
    );
  });

  it('prints what it found, then an Error line per missing service', async () => {
    await fakeApi({
      'GET /services/web': { body: web },
      'GET /services/nope': { status: 404, body: { message: 'service nope not found' } },
    });
    expect(
      await swarmts(['service', 'inspect', '-f', '{{.ID}}', 'nope', 'web'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: `${WEB_ID}\n`,
      stderr: 'Error: service nope not found\n',
    });
  });
});

// ---- service logs ------------------------------------------------------------------------

describe('swarmts service logs', () => {
  /** The fake API answers JSON only; logs are a plain text stream, so this test has its own. */
  async function logServer(
    answer: (query: URLSearchParams, res: import('node:http').ServerResponse) => void,
  ) {
    const socket = join(fake.dir, 'logs.sock');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://agent');
      seen.push(`${req.method} ${url.pathname}?${url.searchParams}`);
      answer(url.searchParams, res);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return {
      env: { SWARMTS_HOST: socket },
      seen,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  it('streams the text the agent sends, with the flags as query parameters', async () => {
    const server = await logServer((_query, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('web.1@node1    | hello\n');
      res.end('web.2@node2    | world\n');
    });
    try {
      const result = await swarmts(
        ['service', 'logs', '-f', '--tail', '10', '-t', 'web'],
        server.env,
      );
      expect(result).toEqual({
        code: 0,
        stdout: 'web.1@node1    | hello\nweb.2@node2    | world\n',
        stderr: '',
      });
      expect(server.seen).toEqual([
        'GET /services/web/logs?follow=1&tail=10&timestamps=1&stdout=1&stderr=1',
      ]);
    } finally {
      await server.close();
    }
  });

  it("relays the agent's error, and refuses a bad --tail before any request", async () => {
    const server = await logServer((_query, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'service nope not found' }));
    });
    try {
      expect(await swarmts(['service', 'logs', 'nope'], server.env)).toEqual({
        code: 1,
        stdout: '',
        stderr: 'Error: service nope not found\n',
      });
      expect(await swarmts(['service', 'logs', '--tail', 'some', 'web'], server.env)).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'Error: invalid argument "some" for "--tail" flag: expected a non-negative integer\n',
      });
      expect(server.seen).toEqual(['GET /services/nope/logs?tail=all&stdout=1&stderr=1']);
    } finally {
      await server.close();
    }
  });
});

// ---- help --------------------------------------------------------------------------------

describe('swarmts service --help', () => {
  it('lists and documents every service command', async () => {
    const group = await swarmts(['service', '--help']);
    expect(group.code).toBe(0);
    for (const name of [
      'create',
      'update',
      'scale',
      'rollback',
      'rm|remove',
      'ls|list',
      'ps',
      'inspect',
      'logs',
    ]) {
      expect(group.stdout).toMatch(new RegExp(`\\n  ${name.replace('|', '\\|')} .*\\S`));
    }
    const create = await swarmts(['service', 'create', '--help']);
    expect(create.stdout).toContain(
      'Usage: swarmts service create [options] <image> [command] [arg...]',
    );
    expect(create.stdout).toContain('--reserve-memory <bytes>');
    const update = await swarmts(['service', 'update', '--help']);
    expect(update.stdout).toContain('--publish-rm <port>');
  });
});
