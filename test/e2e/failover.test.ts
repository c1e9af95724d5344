/**
 * Services across a leader change: three managers on three test hosts run a service; the
 * leader's link is cut. The new leader must take over orchestration — replace the tasks of
 * the lost node, hear the other nodes' task status, accept a scale — and when the old leader
 * comes back, its stale task is stopped: one running container per slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOnHost, type TestAgent, waitUntil } from '../../cluster/agents.js';
import { createTestHosts, DEFAULT_TEST_IMAGE, type TestHosts } from '../../cluster/test-hosts.js';
import type { Node, Service, ServiceSpec, Task } from '../../src/state/index.js';

let hosts: TestHosts;
let agents: TestAgent[] = [];
const NAMES = ['m0', 'm1', 'm2'];

async function leaderName(via: TestAgent): Promise<string | undefined> {
  const nodes = await via.nodes();
  return nodes.find((n: Node) => n.ManagerStatus?.Leader)?.Description.Hostname;
}

async function running(via: TestAgent, id: string): Promise<Task[]> {
  const tasks = await via.client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ service: [id] }),
  });
  return tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
}

/** Running containers of the service on every engine. */
async function containers(id: string): Promise<string[]> {
  const lists = await Promise.all(
    hosts.hosts.map((h) =>
      h
        .docker()
        .listContainers({ filters: { label: [`swarmts.service=${id}`], status: ['running'] } }),
    ),
  );
  return lists.flat().map((c) => c.Labels['swarmts.task'] ?? '');
}

beforeAll(async () => {
  hosts = await createTestHosts({ count: NAMES.length, name: 'fover' });
  agents = NAMES.map((name, i) => agentOnHost(hosts.hosts[i]!, name));
  await Promise.all(agents.map((a) => a.start(30_000)));
  const [m0] = agents as [TestAgent];
  await m0.init(hosts.hosts[0]!.address);
  const tokens = (await m0.swarm()).JoinTokens;
  for (const a of agents.slice(1)) await a.join(tokens.Manager, m0);
  await waitUntil(
    async () => {
      const nodes = await m0.nodes();
      return (
        nodes.length === 3 &&
        nodes.every(
          (n) => n.Status.State === 'ready' && n.ManagerStatus?.Reachability === 'reachable',
        )
      );
    },
    30_000,
    'three reachable managers',
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await hosts?.destroy();
}, 120_000);

describe('services across a leader change', () => {
  it('the new leader replaces the lost node’s task, scales, and the old leader’s stale task stops on return', async () => {
    const spec: ServiceSpec = {
      Name: 'steady',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: DEFAULT_TEST_IMAGE, Args: ['sleep', '3600'], StopGracePeriod: 1e9 },
        RestartPolicy: { Condition: 'any', Delay: 0 },
      },
      Mode: { Replicated: { Replicas: 3 } },
    };
    const { ID } = await agents[0]!.client.post<{ ID: string }>('/services/create', spec);
    await waitUntil(async () => (await containers(ID)).length === 3, 60_000, 'three containers');
    const leader = (await leaderName(agents[0]!))!;
    const cut = hosts.hosts[NAMES.indexOf(leader)]!;
    const others = agents.filter((a) => a.name !== leader);
    const via = others[0]!;
    await cut.cut();
    try {
      await waitUntil(
        async () => {
          const now = await leaderName(via).catch(() => undefined);
          return now !== undefined && now !== leader;
        },
        30_000,
        'a new leader',
      );
      const lost = (await via.node(leader)).ID;
      // The new leader heard the survivors' status and replaced the lost node's task.
      await waitUntil(
        async () => {
          const list = await running(via, ID);
          return list.length === 3 && list.every((t) => t.NodeID !== lost);
        },
        30_000,
        'three tasks running on the survivors',
      );
      // And it takes writes: scale to 4.
      const service = await via.client.get<Service>(`/services/${ID}`);
      await via.client.post(
        `/services/${ID}/update`,
        { ...service.Spec, Mode: { Replicated: { Replicas: 4 } } },
        { version: String(service.Version.Index) },
      );
      await waitUntil(async () => (await running(via, ID)).length === 4, 30_000, 'four tasks');
    } finally {
      await cut.restore();
    }
    // Back, the old leader's task (shut down meanwhile) stops: four containers, one per task.
    await waitUntil(
      async () => {
        const tasks = new Set((await running(via, ID)).map((t) => t.ID));
        const live = await containers(ID);
        return tasks.size === 4 && live.length === 4 && live.every((t) => tasks.has(t));
      },
      60_000,
      'one running container per task',
    );
    const slots = (await running(via, ID)).map((t) => t.Slot).sort();
    expect(slots).toEqual([1, 2, 3, 4]);
    await via.client.delete(`/services/${ID}`);
    await waitUntil(async () => (await containers(ID)).length === 0, 30_000, 'no container left');
  }, 180_000);
});
