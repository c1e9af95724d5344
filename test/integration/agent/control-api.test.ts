/**
 * Agents on loopback (real processes, real libp2p, real LevelDB): the control API's answers
 * to good and bad requests, forwarding from a follower to the leader, join refusals, and a
 * restart keeping the node's identity.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodesByName, TestAgent, waitUntil } from '../../../cluster/agents.js';
import { ApiError } from '../../../src/api/errors.js';
import { formatJoinToken, parseJoinToken } from '../../../src/p2p/tokens.js';

let dir: string;
const agents: TestAgent[] = [];
let m1: TestAgent;
let m2: TestAgent;
let w1: TestAgent;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function agent(name: string): Promise<TestAgent> {
  const a = new TestAgent({ name, dir: join(dir, name), listen: `127.0.0.1:${await freePort()}` });
  agents.push(a);
  await a.start();
  return a;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmts-agent-'));
  [m1, m2, w1] = await Promise.all([agent('m1'), agent('m2'), agent('w1')]);
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('a swarm on loopback', () => {
  it('answers cluster requests with 503 until the node is in a swarm', async () => {
    const error = await rejection(m1.nodes());
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/not part of a swarm/);
    expect((await m1.info()).Swarm.LocalNodeState).toBe('inactive');
  });

  it('inits, and a manager and a worker join with the printed tokens', async () => {
    const id = await m1.init();
    expect(id).toBe(await m1.id());
    const swarm = await m1.swarm();
    expect(swarm.JoinTokens.Worker).toMatch(/^SWMTS-1-/);
    await m2.join(swarm.JoinTokens.Manager, m1);
    await w1.join(swarm.JoinTokens.Worker, m1);
    await waitUntil(
      async () => {
        const nodes = await nodesByName(m1);
        return (
          nodes.get('m2')?.ManagerStatus?.Reachability === 'reachable' &&
          nodes.get('w1')?.Status.State === 'ready'
        );
      },
      15_000,
      'm2 a reachable manager and w1 ready',
    );
    const nodes = await nodesByName(m2);
    expect(nodes.get('m1')?.ManagerStatus?.Leader).toBe(true);
    expect(nodes.get('w1')?.Spec.Role).toBe('worker');
    expect(nodes.get('w1')?.ManagerStatus).toBeUndefined();
  });

  it("refuses cluster requests on a worker with docker's message", async () => {
    const error = await rejection(w1.nodes());
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/not a swarm manager/);
  });

  it('runs a write sent to a follower on the leader, and refuses a stale version', async () => {
    const before = await m2.node('w1');
    await m2.updateNode('w1', (spec) => ({
      ...spec,
      Availability: 'drain',
      Labels: { zone: 'a' },
    }));
    const after = await m1.node('w1');
    expect(after.Spec.Availability).toBe('drain');
    expect(after.Spec.Labels).toEqual({ zone: 'a' });
    expect(after.Version.Index).toBeGreaterThan(before.Version.Index);
    const stale = await rejection(
      m2.client.post(`/nodes/${before.ID}/update`, before.Spec, {
        version: String(before.Version.Index),
      }),
    );
    expect(stale.status).toBe(409);
    expect(stale.message).toMatch(/out of sequence/);
  });

  it('answers bad requests with 400 naming the field', async () => {
    const node = await m1.node('w1');
    const badSpec = await rejection(
      m1.client.post(
        `/nodes/${node.ID}/update`,
        { ...node.Spec, Availability: 'sometimes' },
        {
          version: String(node.Version.Index),
        },
      ),
    );
    expect(badSpec.status).toBe(400);
    expect(badSpec.message).toMatch(/Availability/);
    const noVersion = await rejection(m1.client.post(`/nodes/${node.ID}/update`, node.Spec));
    expect(noVersion.status).toBe(400);
    expect(noVersion.message).toMatch(/version/);
    const badFilter = await rejection(m1.client.get('/nodes', { filters: '{"color":["red"]}' }));
    expect(badFilter.status).toBe(400);
    const missing = await rejection(m1.node('no-such-node'));
    expect(missing.status).toBe(404);
    const notJson = await rawRequest(m1.socket, 'POST', '/v1.41/swarm/join', '{"RemoteAddrs": [');
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).message).toMatch(/not valid JSON/);
  });

  it('refuses to remove a live node without --force, and a manager at all', async () => {
    const live = await rejection(m1.client.delete(`/nodes/${(await m1.node('w1')).ID}`));
    expect(live.status).toBe(400);
    expect(live.message).toMatch(/not down/);
    const manager = await rejection(
      m1.client.delete(`/nodes/${(await m1.node('m2')).ID}`, { force: 'true' }),
    );
    expect(manager.message).toMatch(/must be demoted/);
  });

  it('refuses a join with a wrong role secret, a rotated token, or a wrong network key', async () => {
    const outsider = await agent('outsider');
    const swarm = await m1.swarm();
    // The right network key with a secret of our own making.
    const forged = formatJoinToken({
      networkKey: parseJoinToken(swarm.JoinTokens.Worker).networkKey,
      roleSecret: new Uint8Array(16).fill(7),
    });
    const refused = await rejection(outsider.join(forged, m1));
    expect(refused.message).toMatch(/invalid join token/);

    const old = swarm.JoinTokens.Worker;
    await m1.client.post('/swarm/update', undefined, {
      version: String(swarm.Version.Index),
      rotateWorkerToken: 'true',
    });
    expect((await m1.swarm()).JoinTokens.Worker).not.toBe(old);
    const rotated = await rejection(outsider.join(old, m1));
    expect(rotated.message).toMatch(/invalid join token/);

    const otherNetwork = formatJoinToken({
      networkKey: new Uint8Array(32).fill(1),
      roleSecret: new Uint8Array(16).fill(2),
    });
    const started = Date.now();
    const unreachable = await rejection(outsider.join(otherNetwork, m1));
    expect(unreachable.message).toBe('invalid join token or unreachable manager');
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await outsider.info()).Swarm.LocalNodeState).toBe('inactive');
  });

  it('keeps its identity across kill -9 and is ready again', async () => {
    const id = await w1.id();
    await w1.kill9();
    await waitUntil(
      async () => (await m1.node(id)).Status.State === 'down',
      10_000,
      'w1 down after kill -9',
    );
    await w1.start();
    expect(await w1.id()).toBe(id);
    await waitUntil(
      async () => (await m1.node(id)).Status.State === 'ready',
      10_000,
      'w1 ready after restart',
    );
  });

  it('leaves with a new identity: the old node stays listed as down', async () => {
    const id = await w1.id();
    await w1.client.post('/swarm/leave');
    expect((await w1.info()).Swarm.LocalNodeState).toBe('inactive');
    expect(await w1.id()).not.toBe(id);
    await expect(stat(join(w1.dataDir, 'swarm.json'))).rejects.toThrow();
    await waitUntil(
      async () => (await m1.node(id)).Status.State === 'down',
      10_000,
      'left node down',
    );
    await m1.client.delete(`/nodes/${id}`);
    const gone = await rejection(m1.node(id));
    expect(gone.status).toBe(404);
  });
});

function rawRequest(
  socketPath: string,
  method: string,
  path: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
