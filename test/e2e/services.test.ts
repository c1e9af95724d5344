/**
 * Services on real engines: a swarm of four test hosts (one manager, two workers, and one
 * that joins late), each with its own dockerd. Containers are counted on the engines
 * themselves, by the labels the executor puts on them, not only through the API.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOnHost, type TestAgent, waitUntil } from '../../cluster/agents.js';
import {
  createTestHosts,
  DEFAULT_TEST_IMAGE,
  type TestHost,
  type TestHosts,
} from '../../cluster/test-hosts.js';
import type { Service, ServiceSpec, Task } from '../../src/state/index.js';

let hosts: TestHosts;
const agents = new Map<string, TestAgent>();
const hostOf = new Map<string, TestHost>();
const agent = (name: string) => agents.get(name)!;
const manager = () => agent('m0');
const NAMES = ['m0', 'w1', 'w2', 'w3'];
/** No engine has it, and its registry refuses at once (a name to resolve would hang on DNS). */
const MISSING_IMAGE = '127.0.0.1:9/swarmts/missing:latest';
/** Node id → hostname, filled once every node joined. */
const hostnames = new Map<string, string>();

function agentOn(host: TestHost, name: string): TestAgent {
  const a = agentOnHost(host, name);
  agents.set(name, a);
  hostOf.set(name, host);
  return a;
}

function spec(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    Name: name,
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: DEFAULT_TEST_IMAGE, Args: ['sleep', '3600'], StopGracePeriod: 1e9 },
      RestartPolicy: { Condition: 'any', Delay: 0 },
    },
    Mode: { Replicated: { Replicas: 3 } },
    ...extra,
  };
}

async function create(s: ServiceSpec): Promise<string> {
  const { ID } = await manager().client.post<{ ID: string }>('/services/create', s);
  return ID;
}

async function service(id: string): Promise<Service> {
  return manager().client.get<Service>(`/services/${id}`);
}

async function update(id: string, change: (s: ServiceSpec) => ServiceSpec): Promise<void> {
  const current = await service(id);
  await manager().client.post(`/services/${id}/update`, change(current.Spec), {
    version: String(current.Version.Index),
  });
}

async function tasks(serviceId: string): Promise<Task[]> {
  return manager().client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ service: [serviceId] }),
  });
}

/** Running tasks meant to run, by slot (global: by node). */
async function running(serviceId: string): Promise<Task[]> {
  return (await tasks(serviceId)).filter(
    (t) => t.Status.State === 'running' && t.DesiredState === 'running',
  );
}

/** Running containers of a service on every host, as the engines report them. */
async function containers(serviceId: string): Promise<Array<{ host: string; task: string }>> {
  const all = await Promise.all(
    [...agents.keys()].map(async (name) => {
      const list = await hostOf
        .get(name)!
        .docker()
        .listContainers({
          filters: { label: [`swarmts.service=${serviceId}`], status: ['running'] },
        });
      return list.map((c) => ({ host: name, task: c.Labels['swarmts.task'] ?? '' }));
    }),
  );
  return all.flat();
}

function spread(list: Task[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of list) {
    const name = hostnames.get(t.NodeID) ?? t.NodeID;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Waits until `n` tasks run and exactly those have a running container, one each. */
async function converged(serviceId: string, n: number, timeoutMs = 30_000): Promise<Task[]> {
  let last: Task[] = [];
  await waitUntil(
    async () => {
      last = await running(serviceId);
      const live = await containers(serviceId);
      const ids = new Set(last.map((t) => t.ID));
      return (
        last.length === n &&
        live.length === n &&
        live.every((c) => ids.has(c.task)) &&
        new Set(live.map((c) => c.task)).size === n
      );
    },
    timeoutMs,
    `${n} running tasks, one container each`,
  );
  return last;
}

async function remove(serviceId: string): Promise<void> {
  await manager().client.delete(`/services/${serviceId}`);
  await waitUntil(
    async () => (await containers(serviceId)).length === 0,
    30_000,
    'no container left',
  );
}

beforeAll(async () => {
  hosts = await createTestHosts({ count: NAMES.length, name: 'svc' });
  NAMES.forEach((name, i) => {
    agentOn(hosts.hosts[i]!, name);
  });
  await Promise.all([...agents.values()].map((a) => a.start(30_000)));
  await manager().init(hosts.hosts[0]!.address);
  const tokens = (await manager().swarm()).JoinTokens;
  await agent('w1').join(tokens.Worker, manager());
  await agent('w2').join(tokens.Worker, manager());
  await waitUntil(
    async () => {
      const nodes = await manager().nodes();
      return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready');
    },
    20_000,
    'three ready nodes',
  );
  for (const n of await manager().nodes()) hostnames.set(n.ID, n.Description.Hostname);
}, 180_000);

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop().catch(() => {})));
  const keep = process.env.SWARMTS_KEEP_LOGS;
  if (keep) {
    await mkdir(keep, { recursive: true });
    for (const a of agents.values()) await copyFile(a.logFile, join(keep, `svc-${a.name}.log`));
  }
  await hosts?.destroy();
}, 120_000);

describe('services on three nodes', () => {
  it('spreads three replicas over the three nodes, scales 3 → 6 → 2, and rm leaves nothing', async () => {
    const id = await create(spec('web'));
    expect(spread(await converged(id, 3))).toEqual({ m0: 1, w1: 1, w2: 1 });
    await update(id, (s) => ({ ...s, Mode: { Replicated: { Replicas: 6 } } }));
    expect(spread(await converged(id, 6))).toEqual({ m0: 2, w1: 2, w2: 2 });
    await update(id, (s) => ({ ...s, Mode: { Replicated: { Replicas: 2 } } }));
    const two = await converged(id, 2);
    expect(two.map((t) => t.Slot).sort()).toEqual([1, 2]);
    await remove(id);
    expect(await tasks(id)).toEqual([]);
  }, 90_000);

  it('replaces a container killed behind its back', async () => {
    const id = await create(spec('crashy', { Mode: { Replicated: { Replicas: 1 } } }));
    const [first] = await converged(id, 1);
    const host = hostOf.get(hostnames.get(first!.NodeID)!)!;
    await host.docker().getContainer(first!.Status.ContainerStatus!.ContainerID!).kill();
    await waitUntil(
      async () => (await running(id)).some((t) => t.ID !== first!.ID && t.Slot === first!.Slot),
      30_000,
      'a replacement task running',
    );
    const old = (await tasks(id)).find((t) => t.ID === first!.ID)!;
    expect(old.Status.State).toBe('failed');
    expect(old.Status.Err).toBe('task: non-zero exit (137)');
    expect(old.DesiredState).toBe('shutdown');
    await converged(id, 1);
    await remove(id);
  }, 90_000);

  it('gathers the logs of every task from every node', async () => {
    const s = spec('chatty');
    s.TaskTemplate.ContainerSpec.Args = ['sh', '-c', 'echo hello from slot; sleep 3600'];
    const id = await create(s);
    const tasksNow = await converged(id, 3);
    let text = '';
    await waitUntil(
      async () => {
        text = '';
        await manager().client.stream(`/services/${id}/logs`, { tail: 'all' }, (chunk) => {
          text += chunk;
        });
        return text.split('\n').filter((l) => l.endsWith('| hello from slot')).length === 3;
      },
      10_000,
      'three log lines',
    );
    for (const t of tasksNow) {
      expect(text).toContain(
        `chatty.${t.Slot}.${t.ID}@${hostnames.get(t.NodeID)}    | hello from slot`,
      );
    }
    await remove(id);
  }, 90_000);

  it('leaves a task pending with its reason when no node meets the constraint', async () => {
    const s = spec('nowhere', { Mode: { Replicated: { Replicas: 1 } } });
    s.TaskTemplate.Placement = { Constraints: ['node.labels.zone==mars'] };
    const id = await create(s);
    let pending: Task | undefined;
    await waitUntil(
      async () => {
        pending = (await tasks(id)).find((t) => t.Status.State === 'pending' && t.Status.Err);
        return pending !== undefined;
      },
      10_000,
      'a pending task with a reason',
    );
    expect(pending!.Status.Err).toBe(
      'no suitable node (3 nodes fail constraint node.labels.zone==mars)',
    );
    expect(pending!.NodeID).toBe('');
    await remove(id);
  }, 90_000);

  it('moves tasks off a drained node and back when it is active again', async () => {
    const id = await create(spec('drainme'));
    await converged(id, 3);
    await manager().updateNode('w1', (s) => ({ ...s, Availability: 'drain' }));
    await waitUntil(
      async () => (await running(id)).every((t) => hostnames.get(t.NodeID) !== 'w1'),
      30_000,
      'no task running on w1',
    );
    const moved = await converged(id, 3);
    expect(spread(moved).w1).toBeUndefined();
    expect((await containers(id)).filter((c) => c.host === 'w1')).toEqual([]);
    await manager().updateNode('w1', (s) => ({ ...s, Availability: 'active' }));
    await remove(id);
  }, 90_000);

  it('rolls back an update to an image that does not exist', async () => {
    const id = await create(
      spec('rollme', {
        UpdateConfig: { Parallelism: 1, FailureAction: 'rollback', Monitor: 1e9 },
        RollbackConfig: { Parallelism: 0, Monitor: 1e9 },
      }),
    );
    await converged(id, 3);
    await update(id, (s) => ({
      ...s,
      TaskTemplate: {
        ...s.TaskTemplate,
        ContainerSpec: { ...s.TaskTemplate.ContainerSpec, Image: MISSING_IMAGE },
      },
    }));
    await waitUntil(
      async () => (await service(id)).UpdateStatus?.State === 'rollback_completed',
      60_000,
      'the update rolled back',
    );
    const after = await service(id);
    expect(after.Spec.TaskTemplate.ContainerSpec.Image).toBe(DEFAULT_TEST_IMAGE);
    expect(after.UpdateStatus?.Message).toMatch(
      /^rollback completed: update rolled back due to failure or early termination of task /,
    );
    const rejected = (await tasks(id)).filter((t) => t.Status.State === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected[0]!.Status.Err).toBe(`image not found: ${MISSING_IMAGE}`);
    const back = await converged(id, 3);
    expect(back.every((t) => t.Spec.ContainerSpec.Image === DEFAULT_TEST_IMAGE)).toBe(true);
    await remove(id);
  }, 90_000);

  it('runs a global service on every node, following a node that joins', async () => {
    const id = await create(spec('everywhere', { Mode: { Global: {} } }));
    expect(spread(await converged(id, 3))).toEqual({ m0: 1, w1: 1, w2: 1 });
    const tokens = (await manager().swarm()).JoinTokens;
    await agent('w3').join(tokens.Worker, manager());
    const w3 = await agent('w3').id();
    hostnames.set(w3, 'w3');
    const four = await converged(id, 4);
    expect(spread(four)).toEqual({ m0: 1, w1: 1, w2: 1, w3: 1 });
    await remove(id);
  }, 90_000);

  it('adopts its containers after kill -9 and restart of an agent: no duplicates', async () => {
    const id = await create(spec('sturdy'));
    const before = await converged(id, 3);
    const victim = before.map((t) => hostnames.get(t.NodeID)!).find((name) => name !== 'm0')!;
    await agent(victim).kill9();
    await agent(victim).start(30_000);
    // Whatever the detector made of the gap, every slot ends with one task and one container.
    const after = await converged(id, 3);
    const live = await containers(id);
    expect(new Set(live.map((c) => c.task)).size).toBe(live.length);
    const onW2 = before.find((t) => hostnames.get(t.NodeID) === victim)!;
    const stillThere = after.find((t) => t.ID === onW2.ID);
    if (stillThere) {
      // Adopted: the same container, not a second one.
      expect(stillThere.Status.ContainerStatus?.ContainerID).toBe(
        onW2.Status.ContainerStatus?.ContainerID,
      );
    }
    await remove(id);
  }, 90_000);

  it('runs the tasks of a cut-off node elsewhere, and after the cut heals no slot runs twice', async () => {
    const id = await create(spec('survivor'));
    const before = await converged(id, 3);
    // A worker that runs one of the tasks (the manager must stay reachable).
    const victim = before.map((t) => hostnames.get(t.NodeID)!).find((name) => name !== 'm0')!;
    const cutHost = hostOf.get(victim)!;
    await cutHost.cut();
    try {
      await waitUntil(
        async () => {
          const list = await running(id);
          return list.length === 3 && list.every((t) => hostnames.get(t.NodeID) !== victim);
        },
        30_000,
        "the cut node's task running elsewhere",
      );
      // Cut off from the managers, w1 keeps running what it ran.
      expect((await containers(id)).filter((c) => c.host === victim)).toHaveLength(1);
    } finally {
      await cutHost.restore();
    }
    await waitUntil(
      async () => (await manager().node(victim)).Status.State === 'ready',
      30_000,
      'the cut node ready again',
    );
    // The stale task on the cut node is stopped: three containers in all, one per slot.
    const final = await converged(id, 3);
    expect(new Set(final.map((t) => t.Slot)).size).toBe(3);
    await remove(id);
  }, 90_000);
});
