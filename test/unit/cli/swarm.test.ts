import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { swarmts } from '../../support/cli.js';
import { type Routes, useFakeApi } from '../../support/fake-api.js';

// ---- a fake control API on a unix socket (test/support/fake-api.ts), one per test ----------

const fake = useFakeApi('swarmts-cli-swarm-');
const fakeApi = (routes: Routes) => fake.start(routes);
const calls = () => fake.calls();

// ---- fixtures ----------------------------------------------------------------------------

const NODE_ID = '12D3KooWSelfNode';
const WORKER_TOKEN = 'SWMTS-1-clustersecret-workersecret';
const MANAGER_TOKEN = 'SWMTS-1-clustersecret-managersecret';

function cluster(index = 12, tokens = { Worker: WORKER_TOKEN, Manager: MANAGER_TOKEN }) {
  return {
    ID: 'cluster1',
    Version: { Index: index },
    CreatedAt: '2024-05-01T10:00:00.000Z',
    UpdatedAt: '2024-05-01T10:00:00.000Z',
    Spec: { Name: 'default', Labels: {} },
    JoinTokens: tokens,
  };
}

function info(extra: { ControlAvailable?: boolean; RemoteManagers?: unknown[] } = {}) {
  return {
    ID: NODE_ID,
    Name: 'node1',
    Swarm: {
      NodeID: NODE_ID,
      NodeAddr: '10.0.0.1',
      LocalNodeState: 'active',
      ControlAvailable: true,
      RemoteManagers: [
        { NodeID: 'otherManager', Addr: '10.0.0.2:4377' },
        { NodeID: NODE_ID, Addr: '10.0.0.1:4400' },
      ],
      ...extra,
    },
  };
}

const joinText = (role: string, token: string, addr = '10.0.0.1:4400') =>
  `To add a ${role} to this swarm, run the following command:\n\n    swarmts join --token ${token} ${addr}\n\n`;

// ---- init ---------------------------------------------------------------------------------

describe('swarmts init', () => {
  it("initializes, then prints docker's join instructions", async () => {
    await fakeApi({
      'POST /swarm/init': { body: NODE_ID },
      'GET /swarm': { body: cluster() },
      'GET /info': { body: info() },
    });
    const result = await swarmts(
      ['init', '--advertise-addr', '10.0.0.1', '--listen-addr', '0.0.0.0:4400'],
      fake.hostEnv,
    );
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        `Swarm initialized: current node (${NODE_ID}) is now a manager.\n\n` +
        joinText('worker', WORKER_TOKEN) +
        "To add a manager to this swarm, run 'swarmts join-token manager' and follow the instructions.\n\n",
    });
    expect(calls()).toEqual(['POST /swarm/init', 'GET /swarm', 'GET /info']);
    expect(fake.requests[0]?.body).toEqual({
      ListenAddr: '0.0.0.0:4400',
      AdvertiseAddr: '10.0.0.1',
    });
  });

  it("sends only what was given, and reads the address from the node's ManagerStatus when the agent does not list itself", async () => {
    await fakeApi({
      'POST /swarm/init': { body: NODE_ID },
      'GET /swarm': { body: cluster() },
      'GET /info': { body: info({ RemoteManagers: [] }) },
      [`GET /nodes/${NODE_ID}`]: {
        body: { ID: NODE_ID, ManagerStatus: { Addr: '10.0.0.1:4377', Reachability: 'reachable' } },
      },
    });
    const result = await swarmts(['init', '--force-new-cluster'], fake.hostEnv);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`swarmts join --token ${WORKER_TOKEN} 10.0.0.1:4377\n`);
    expect(fake.requests[0]?.body).toEqual({ ForceNewCluster: true });
  });

  it("relays the agent's refusal", async () => {
    const message =
      'This node is already part of a swarm. Use "swarmts leave" to leave this swarm and join another one.';
    await fakeApi({ 'POST /swarm/init': { status: 503, body: { message } } });
    expect(await swarmts(['init'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${message}\n`,
    });
    expect(fake.requests[0]?.body).toEqual({});
  });

  it('says the agent cannot be reached when nothing listens', async () => {
    const missing = join(fake.dir, 'none.sock');
    expect(await swarmts(['init'], { SWARMTS_HOST: missing })).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: cannot reach the swarmts agent at ${missing}. Is "swarmts agent" running?\n`,
    });
  });
});

// ---- join ---------------------------------------------------------------------------------

describe('swarmts join', () => {
  it('joins as a worker when the agent has no control afterwards', async () => {
    await fakeApi({
      'POST /swarm/join': {},
      'GET /info': { body: info({ ControlAvailable: false }) },
    });
    const result = await swarmts(['join', '--token', WORKER_TOKEN, '10.0.0.1:4377'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'This node joined a swarm as a worker.\n',
    });
    expect(calls()).toEqual(['POST /swarm/join', 'GET /info']);
    expect(fake.requests[0]?.body).toEqual({
      RemoteAddrs: ['10.0.0.1:4377'],
      JoinToken: WORKER_TOKEN,
    });
  });

  it('joins as a manager, passing the addresses given', async () => {
    await fakeApi({ 'POST /swarm/join': {}, 'GET /info': { body: info() } });
    const result = await swarmts(
      [
        '-H',
        fake.socket,
        'join',
        '--token',
        MANAGER_TOKEN,
        '--advertise-addr',
        'eth0',
        '--listen-addr',
        '0.0.0.0:4400',
        '10.0.0.1',
      ],
      fake.hostEnv,
    );
    expect(result.stdout).toBe('This node joined a swarm as a manager.\n');
    expect(fake.requests[0]?.body).toEqual({
      ListenAddr: '0.0.0.0:4400',
      AdvertiseAddr: 'eth0',
      RemoteAddrs: ['10.0.0.1'],
      JoinToken: MANAGER_TOKEN,
    });
  });

  it('needs a token and a manager address', async () => {
    await fakeApi({});
    const noToken = await swarmts(['join', '10.0.0.1:4377'], fake.hostEnv);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^Error: required option '--token <token>' not specified.*\n$/);
    const noAddr = await swarmts(['join', '--token', WORKER_TOKEN], fake.hostEnv);
    expect(noAddr.code).toBe(1);
    expect(noAddr.stderr).toMatch(/^Error: missing required argument 'host:port'.*\n$/);
    expect(fake.requests).toEqual([]);
  });

  it("relays a refused token's message", async () => {
    const message = 'invalid join token: it matches neither the worker nor the manager token';
    await fakeApi({ 'POST /swarm/join': { status: 400, body: { message } } });
    expect(
      await swarmts(['join', '--token', 'SWMTS-1-x-y', '10.0.0.1:4377'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${message}\n`,
    });
  });
});

// ---- join-token ---------------------------------------------------------------------------

describe('swarmts join-token', () => {
  const routes = (): Routes => ({
    'GET /swarm': { body: cluster() },
    'GET /info': { body: info() },
  });

  it('prints the join command of a worker and of a manager', async () => {
    await fakeApi(routes());
    expect(await swarmts(['join-token', 'worker'], fake.hostEnv)).toEqual({
      code: 0,
      stderr: '',
      stdout: joinText('worker', WORKER_TOKEN),
    });
    expect((await swarmts(['join-token', 'manager'], fake.hostEnv)).stdout).toBe(
      joinText('manager', MANAGER_TOKEN),
    );
  });

  it('prints only the token with -q', async () => {
    await fakeApi(routes());
    expect(await swarmts(['join-token', '-q', 'manager'], fake.hostEnv)).toEqual({
      code: 0,
      stderr: '',
      stdout: `${MANAGER_TOKEN}\n`,
    });
    expect(calls()).toEqual(['GET /swarm']);
  });

  it('rotates at the current version without a spec, then prints the new token', async () => {
    let rotated = false;
    const fresh = 'SWMTS-1-clustersecret-newworkersecret';
    await fakeApi({
      'GET /swarm': () => ({
        body: rotated ? cluster(13, { Worker: fresh, Manager: MANAGER_TOKEN }) : cluster(12),
      }),
      'POST /swarm/update': () => {
        rotated = true;
        return {};
      },
      'GET /info': { body: info() },
    });
    const result = await swarmts(['join-token', '--rotate', 'worker'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `Successfully rotated worker join token.\n\n${joinText('worker', fresh)}`,
    });
    expect(calls()).toEqual(['GET /swarm', 'POST /swarm/update', 'GET /swarm', 'GET /info']);
    expect(fake.requests[1]?.query).toEqual({ version: '12', rotateWorkerToken: 'true' });
    expect(fake.requests[1]?.body).toBeUndefined();
  });

  it('rotates the manager token quietly with -q', async () => {
    await fakeApi({ ...routes(), 'POST /swarm/update': {} });
    const result = await swarmts(['join-token', '-q', '--rotate', 'manager'], fake.hostEnv);
    expect(result).toEqual({ code: 0, stderr: '', stdout: `${MANAGER_TOKEN}\n` });
    expect(fake.requests[1]?.query).toEqual({ version: '12', rotateManagerToken: 'true' });
  });

  it('refuses an unknown role before any request', async () => {
    await fakeApi(routes());
    expect(await swarmts(['join-token', 'boss'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: unknown role boss (use worker or manager)\n',
    });
    expect(fake.requests).toEqual([]);
  });

  it("relays a worker's 503", async () => {
    const message =
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
    await fakeApi({ 'GET /swarm': { status: 503, body: { message } } });
    expect(await swarmts(['join-token', 'worker'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${message}\n`,
    });
  });
});

// ---- leave --------------------------------------------------------------------------------

describe('swarmts leave', () => {
  it('leaves, with force=true only when forced', async () => {
    await fakeApi({ 'POST /swarm/leave': {} });
    expect(await swarmts(['leave'], fake.hostEnv)).toEqual({
      code: 0,
      stderr: '',
      stdout: 'Node left the swarm.\n',
    });
    expect(await swarmts(['leave', '-f'], fake.hostEnv)).toMatchObject({ code: 0 });
    expect(await swarmts(['leave', '--force'], fake.hostEnv)).toMatchObject({ code: 0 });
    expect(fake.requests.map((r) => r.query)).toEqual([{}, { force: 'true' }, { force: 'true' }]);
  });

  it("relays the last manager's warning", async () => {
    const message =
      'You are attempting to leave the swarm on a node that is its last manager: the swarm and all its state would be lost. Use --force to do it anyway.';
    await fakeApi({ 'POST /swarm/leave': { status: 503, body: { message } } });
    expect(await swarmts(['leave'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${message}\n`,
    });
  });
});

describe('swarm commands --help', () => {
  it('documents every command, and the global --host', async () => {
    const top = await swarmts(['--help'], fake.hostEnv);
    expect(top.stdout).toContain('-H, --host <socket>');
    for (const name of ['init', 'join', 'join-token', 'leave', 'node']) {
      expect(top.stdout).toMatch(new RegExp(`\\n  ${name} `));
    }
    const joinToken = await swarmts(['join-token', '--help'], fake.hostEnv);
    expect(joinToken.code).toBe(0);
    expect(joinToken.stdout).toContain('Usage: swarmts join-token [options] <role>');
    expect(joinToken.stdout).toContain('--rotate');
  });
});
