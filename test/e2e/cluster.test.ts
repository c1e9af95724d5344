/**
 * A swarm on five test hosts — each its own network namespace, address and dockerd — with
 * three managers and two workers, and faults injected the way they happen: a host's link
 * cut, an agent killed with kill -9, the leader cut off.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOnHost, nodesByName, type TestAgent, waitUntil } from '../../cluster/agents.js';
import { createTestHosts, type TestHost, type TestHosts } from '../../cluster/test-hosts.js';
import type { ApiError } from '../../src/api/errors.js';
import { formatJoinToken, parseJoinToken } from '../../src/p2p/tokens.js';
import type { Node } from '../../src/state/types.js';

let hosts: TestHosts;
const agents = new Map<string, TestAgent>();
const agent = (name: string) => agents.get(name)!;

function agentOn(host: TestHost, name: string): TestAgent {
  const a = agentOnHost(host, name);
  agents.set(name, a);
  return a;
}

const NAMES = ['m0', 'm1', 'm2', 'w3', 'w4'];

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: ApiError) => error,
  );
}

/** The node list as every reachable manager agrees on it: one leader, everyone ready. */
async function settled(managers: string[]): Promise<Map<string, Node>> {
  let seen = new Map<string, Node>();
  await waitUntil(
    async () => {
      const views = await Promise.all(managers.map((m) => nodesByName(agent(m))));
      seen = views[0]!;
      const leaders = views.map((v) => [...v.values()].filter((n) => n.ManagerStatus?.Leader));
      return (
        leaders.every((l) => l.length === 1 && l[0]!.ID === leaders[0]![0]!.ID) &&
        views.every((v) => [...v.values()].every((n) => n.Status.State === 'ready'))
      );
    },
    20_000,
    'managers agree on one leader and every node is ready',
  );
  return seen;
}

beforeAll(async () => {
  hosts = await createTestHosts({ count: NAMES.length, name: 'e2e' });
  NAMES.forEach((name, i) => {
    agentOn(hosts.hosts[i]!, name);
  });
  await Promise.all([...agents.values()].map((a) => a.start(30_000)));
  await agent('m0').init(hosts.hosts[0]!.address);
}, 180_000);

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop().catch(() => {})));
  const keep = process.env.SWARMTS_KEEP_LOGS;
  if (keep) {
    await mkdir(keep, { recursive: true });
    for (const a of agents.values()) await copyFile(a.logFile, join(keep, `${a.name}.log`));
  }
  await hosts?.destroy();
}, 120_000);

describe('a five-host swarm', () => {
  it('refuses a wrong network key and a wrong role secret', async () => {
    const tokens = (await agent('m0').swarm()).JoinTokens;
    const wrongKey = formatJoinToken({
      networkKey: new Uint8Array(32).fill(9),
      roleSecret: parseJoinToken(tokens.Worker).roleSecret,
    });
    const started = Date.now();
    const noHandshake = await failure(agent('w3').join(wrongKey, agent('m0')));
    expect(noHandshake.message).toBe('invalid join token or unreachable manager');
    expect(Date.now() - started).toBeLessThan(3000);
    const wrongSecret = formatJoinToken({
      networkKey: parseJoinToken(tokens.Worker).networkKey,
      roleSecret: new Uint8Array(16).fill(1),
    });
    const refused = await failure(agent('w3').join(wrongSecret, agent('m0')));
    expect(refused.message).toMatch(/invalid join token/);
    expect((await agent('w3').info()).Swarm.LocalNodeState).toBe('inactive');
  });

  it('forms: three managers, two workers, all ready with one leader', async () => {
    const tokens = (await agent('m0').swarm()).JoinTokens;
    await agent('m1').join(tokens.Manager, agent('m0'));
    await agent('m2').join(tokens.Manager, agent('m1'));
    await agent('w3').join(tokens.Worker, agent('m0'));
    await agent('w4').join(tokens.Worker, agent('m2'));
    const nodes = await settled(['m0', 'm1', 'm2']);
    expect([...nodes.keys()].sort()).toEqual(NAMES);
    for (const name of ['m0', 'm1', 'm2']) {
      expect(nodes.get(name)?.ManagerStatus?.Reachability).toBe('reachable');
      expect(nodes.get(name)?.Role).toBe('manager');
    }
    for (const name of ['w3', 'w4']) expect(nodes.get(name)?.ManagerStatus).toBeUndefined();
    expect(nodes.get('w4')?.Status.Addr).toBe(hosts.hosts[4]!.address);
    expect(nodes.get('w4')?.Description.Engine.EngineVersion).not.toBe('');
  });

  it('drains a node and edits its labels, from any manager', async () => {
    await agent('m2').updateNode('w3', (spec) => ({
      ...spec,
      Availability: 'drain',
      Labels: { ...spec.Labels, disk: 'ssd' },
    }));
    const seen = await agent('m0').node('w3');
    expect(seen.Spec.Availability).toBe('drain');
    expect(seen.Spec.Labels).toEqual({ disk: 'ssd' });
    await agent('m1').updateNode('w3', (spec) => ({ ...spec, Availability: 'active', Labels: {} }));
    expect((await agent('m2').node('w3')).Spec.Availability).toBe('active');
  });

  it('refuses to remove a live node without --force', async () => {
    const error = await failure(agent('m0').client.delete(`/nodes/${await agent('w4').id()}`));
    expect(error.message).toMatch(/is not down/);
    expect((await agent('m0').node('w4')).Status.State).toBe('ready');
  });

  it('marks a cut-off worker down, and ready again when its link returns', async () => {
    const host = hosts.hosts[4]!;
    await host.cut();
    await waitUntil(
      async () => (await agent('m0').node('w4')).Status.State === 'down',
      10_000,
      'w4 down',
    );
    await host.restore();
    await waitUntil(
      async () => (await agent('m0').node('w4')).Status.State === 'ready',
      15_000,
      'w4 ready again',
    );
  });

  it('elects a new leader when the leader is cut off, and accepts writes', async () => {
    const nodes = await settled(['m0', 'm1', 'm2']);
    const leaderName = [...nodes.values()].find((n) => n.ManagerStatus?.Leader)!.Description
      .Hostname;
    const others = ['m0', 'm1', 'm2'].filter((n) => n !== leaderName);
    const leaderHost = hosts.hosts[NAMES.indexOf(leaderName)]!;
    await leaderHost.cut();
    let label = 0;
    await waitUntil(
      async () => {
        await agent(others[0]!).updateNode('w3', (spec) => ({
          ...spec,
          Labels: { write: String(++label) },
        }));
        return true;
      },
      15_000,
      'a write accepted after the leader was cut',
    );
    await waitUntil(
      async () => {
        const view = await nodesByName(agent(others[1]!));
        const leader = [...view.values()].find((n) => n.ManagerStatus?.Leader);
        return leader !== undefined && leader.Description.Hostname !== leaderName;
      },
      10_000,
      'a new leader',
    );
    await leaderHost.restore();
    const after = await settled(['m0', 'm1', 'm2']);
    expect(after.get(leaderName)?.ManagerStatus?.Reachability).toBe('reachable');
  });

  it("keeps a node's id across kill -9 and restart, and it is ready again", async () => {
    const w3 = agent('w3');
    const id = await w3.id();
    await w3.kill9();
    await waitUntil(
      async () => (await agent('m1').node(id)).Status.State === 'down',
      10_000,
      'w3 down after kill -9',
    );
    await w3.start(30_000);
    expect(await w3.id()).toBe(id);
    await waitUntil(
      async () => (await agent('m1').node(id)).Status.State === 'ready',
      15_000,
      'w3 ready after restart',
    );
  });

  it('does not mark a node down that only stalls for a moment (SIGSTOP, then SIGCONT)', async () => {
    const w3 = agent('w3');
    const host = hosts.hosts[3]!;
    let sawDown = false;
    const watching = (async () => {
      const until = Date.now() + 4000;
      while (Date.now() < until) {
        if ((await agent('m0').node('w3')).Status.State !== 'ready') sawDown = true;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await host.pause(w3.process!);
    await new Promise((r) => setTimeout(r, 800));
    await host.resume(w3.process!);
    await watching;
    expect(sawDown).toBe(false);
  });

  it('promotes a worker and demotes a manager', async () => {
    await agent('m0').updateNode('w4', (spec) => ({ ...spec, Role: 'manager' }));
    await waitUntil(
      async () => {
        const node = await agent('m1').node('w4');
        return node.Role === 'manager' && node.ManagerStatus?.Reachability === 'reachable';
      },
      20_000,
      'w4 a reachable manager',
    );
    await waitUntil(async () => (await agent('w4').nodes()).length === 5, 10_000, 'w4 serves');

    await agent('m0').updateNode('m1', (spec) => ({ ...spec, Role: 'worker' }));
    await waitUntil(
      async () => {
        const node = await agent('m0').node('m1');
        return node.Role === 'worker' && node.ManagerStatus === undefined;
      },
      20_000,
      'm1 a worker',
    );
    await waitUntil(
      async () => (await failure(agent('m1').nodes())).message.includes('not a swarm manager'),
      15_000,
      'm1 stops serving cluster state',
    );
    const managers = (await agent('w4').nodes()).filter((n) => n.ManagerStatus);
    expect(managers.map((n) => n.Description.Hostname).sort()).toEqual(['m0', 'm2', 'w4']);
  });

  it('refuses to demote the last managers when that would lose quorum', async () => {
    // Cut one of the three managers: demoting a second would leave one reachable of two.
    const nodes = await settled(['m0', 'm2', 'w4']);
    const leader = [...nodes.values()].find((n) => n.ManagerStatus?.Leader)!.Description.Hostname;
    const [victim, target] = ['m0', 'm2', 'w4'].filter((n) => n !== leader);
    const victimHost = hosts.hosts[NAMES.indexOf(victim!)]!;
    await victimHost.cut();
    await waitUntil(
      async () => (await agent(leader).node(victim!)).Status.State === 'down',
      10_000,
      'victim down',
    );
    const error = await failure(
      agent(leader).updateNode(target!, (spec) => ({ ...spec, Role: 'worker' })),
    );
    expect(error.message).toMatch(/loss of quorum/);
    await victimHost.restore();
    await settled(['m0', 'm2', 'w4']);
  });
});
