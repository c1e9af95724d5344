import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../../src/state/types.js';
import { swarmts } from '../../support/cli.js';
import { type Routes, useFakeApi } from '../../support/fake-api.js';

// ---- a fake control API on a unix socket (test/support/fake-api.ts), one per test ----------

const fake = useFakeApi('swarmts-cli-node-');
const fakeApi = (routes: Routes) => fake.start(routes);
const calls = () => fake.calls();

// ---- fixtures ----------------------------------------------------------------------------

function node(id: string, hostname: string, extra: Partial<Node> = {}): Node {
  return {
    ID: id,
    Version: { Index: 7 },
    CreatedAt: '2024-05-01T10:00:00.000Z',
    UpdatedAt: '2024-05-01T10:05:00.000Z',
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2_000_000_000, MemoryBytes: 2_096_058_368 },
      Engine: { EngineVersion: '20.10.24' },
    },
    Status: { State: 'ready', Addr: '10.0.0.2' },
    Role: 'worker',
    P2PAddrs: [],
    ...extra,
  };
}

const leader = node('aaaaaaaaaaaaaaaaaaaaaaaaa1', 'node1', {
  Spec: { Labels: { zone: 'a' }, Role: 'manager', Availability: 'active' },
  Status: { State: 'ready', Addr: '10.0.0.1' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:4377' },
  Role: 'manager',
});
const follower = node('bbbbbbbbbbbbbbbbbbbbbbbbb2', 'node10', {
  Spec: { Labels: {}, Role: 'manager', Availability: 'drain' },
  Status: { State: 'down', Addr: '10.0.0.10' },
  ManagerStatus: { Reachability: 'unreachable', Addr: '10.0.0.10:4377' },
  Role: 'manager',
  Description: { ...node('x', 'x').Description, Hostname: 'node10' },
});
const worker = node('ccccccccccccccccccccccccc3', 'node2', {
  Spec: { Labels: { disk: 'ssd', gpu: '' }, Role: 'worker', Availability: 'pause' },
  Description: {
    ...node('x', 'x').Description,
    Hostname: 'node2',
    Engine: { EngineVersion: '24.0.7' },
  },
});
const info = { ID: leader.ID, Name: 'node1', Swarm: { NodeID: leader.ID, NodeAddr: '10.0.0.1' } };

const clusterRoutes = (): Routes => ({
  'GET /nodes': { body: [follower, worker, leader] },
  'GET /info': { body: info },
  [`GET /nodes/${leader.ID}`]: { body: leader },
  'GET /nodes/node1': { body: leader },
  'GET /nodes/node2': { body: worker },
  'GET /nodes/node10': { body: follower },
});

// ---- node ls ------------------------------------------------------------------------------

describe('swarmts node ls', () => {
  it('prints docker\'s table, sorted by hostname, with " *" on this node', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(['node', 'ls'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID                             HOSTNAME   STATUS   AVAILABILITY   MANAGER STATUS   ENGINE VERSION',
        'aaaaaaaaaaaaaaaaaaaaaaaaa1 *   node1      Ready    Active         Leader           20.10.24',
        'ccccccccccccccccccccccccc3     node2      Ready    Pause                           24.0.7',
        'bbbbbbbbbbbbbbbbbbbbbbbbb2     node10     Down     Drain          Unreachable      20.10.24',
        '',
      ].join('\n'),
    });
    expect(calls()).toEqual(['GET /nodes', 'GET /info']);
    expect(fake.requests[0]?.query).toEqual({});
  });

  it('prints only the IDs with -q, and list is an alias of ls', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(['node', 'list', '-q'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `${leader.ID}\n${worker.ID}\n${follower.ID}\n`,
    });
  });

  it('prints one JSON object per line with --format json, as docker does', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(['node', 'ls', '--format', 'json'], fake.hostEnv);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      Availability: 'Active',
      EngineVersion: '20.10.24',
      Hostname: 'node1',
      ID: leader.ID,
      ManagerStatus: 'Leader',
      Self: true,
      Status: 'Ready',
    });
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ Hostname: 'node2', ManagerStatus: '' });
  });

  it('renders a template per node', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(
      ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'],
      fake.hostEnv,
    );
    expect(result.stdout).toBe('node1 Ready\nnode2 Ready\nnode10 Down\n');
  });

  it("sends --filter as the API's filters JSON", async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(
      [
        'node',
        'ls',
        '-q',
        '--filter',
        'role=manager',
        '-f',
        'role=worker',
        '--filter',
        'node.label=zone=a',
      ],
      fake.hostEnv,
    );
    expect(result.code).toBe(0);
    expect(calls()).toEqual(['GET /nodes']);
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '')).toEqual({
      role: ['manager', 'worker'],
      'node.label': ['zone=a'],
    });
  });

  it('refuses a malformed or unknown filter before any request', async () => {
    await fakeApi(clusterRoutes());
    expect(await swarmts(['node', 'ls', '--filter', 'role'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: bad format of filter (expected name=value)\n',
    });
    const unknown = await swarmts(['node', 'ls', '--filter', 'color=red'], fake.hostEnv);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^Error: invalid filter 'color' \(allowed: .*\)\n$/);
    expect(await swarmts(['node', 'ls', '--format', 'yaml'], fake.hostEnv)).toMatchObject({
      code: 1,
    });
    expect(fake.requests).toEqual([]);
  });

  it("relays the agent's 503 message verbatim", async () => {
    const message =
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
    await fakeApi({ 'GET /nodes': { status: 503, body: { message } } });
    expect(await swarmts(['node', 'ls'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${message}\n`,
    });
  });

  it('says the agent cannot be reached when nothing listens on the socket', async () => {
    const missing = join(fake.dir, 'none.sock');
    expect(await swarmts(['node', 'ls'], { SWARMTS_HOST: missing })).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: cannot reach the swarmts agent at ${missing}. Is "swarmts agent" running?\n`,
    });
  });

  it('takes the socket from -H/--host before SWARMTS_HOST, before or after the command', async () => {
    await fakeApi(clusterRoutes());
    const env = { SWARMTS_HOST: join(fake.dir, 'none.sock') };
    expect((await swarmts(['-H', fake.socket, 'node', 'ls', '-q'], env)).code).toBe(0);
    expect((await swarmts(['node', 'ls', '-q', '--host', `unix://${fake.socket}`], env)).code).toBe(
      0,
    );
    expect(calls()).toEqual(['GET /nodes', 'GET /nodes']);
  });
});

// ---- node inspect ----------------------------------------------------------------------

describe('swarmts node inspect', () => {
  it('prints a JSON array indented like docker by default', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(['node', 'inspect', 'node1', 'node2'], fake.hostEnv);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify([leader, worker], null, 4)}\n`);
    expect(result.stdout.split('\n')[1]).toBe('    {');
  });

  it('prints one compact array with --format json, and a template per node', async () => {
    await fakeApi(clusterRoutes());
    const json = await swarmts(['node', 'inspect', '--format', 'json', 'node1'], fake.hostEnv);
    expect(json.stdout).toBe(`${JSON.stringify([leader])}\n`);
    const template = await swarmts(
      ['node', 'inspect', '-f', '{{.Spec.Role}}', 'node1', 'node2'],
      fake.hostEnv,
    );
    expect(template.stdout).toBe('manager\nworker\n');
  });

  it('inspects "self" through GET /info', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(
      ['node', 'inspect', '-f', '{{.Description.Hostname}}', 'self'],
      fake.hostEnv,
    );
    expect(result.stdout).toBe('node1\n');
    expect(calls()).toEqual(['GET /info', `GET /nodes/${leader.ID}`]);
  });

  it('prints a human block with --pretty', async () => {
    await fakeApi(clusterRoutes());
    const result = await swarmts(['node', 'inspect', '--pretty', 'node1', 'node2'], fake.hostEnv);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'ID:                     aaaaaaaaaaaaaaaaaaaaaaaaa1',
        'Labels:',
        ' - zone=a',
        'Hostname:               node1',
        'Joined at:              2024-05-01T10:00:00.000Z',
        'Status:',
        ' State:                 Ready',
        ' Availability:          Active',
        ' Address:               10.0.0.1',
        'Manager Status:',
        ' Address:               10.0.0.1:4377',
        ' Raft Status:           Reachable',
        ' Leader:                Yes',
        'Platform:',
        ' Operating System:      linux',
        ' Architecture:          x86_64',
        'Resources:',
        ' CPUs:                  2',
        ' Memory:                1.952GiB',
        'Engine Version:         20.10.24',
        '',
        'ID:                     ccccccccccccccccccccccccc3',
        'Labels:',
        ' - disk=ssd',
        ' - gpu',
        'Hostname:               node2',
        'Joined at:              2024-05-01T10:00:00.000Z',
        'Status:',
        ' State:                 Ready',
        ' Availability:          Pause',
        ' Address:               10.0.0.2',
        'Platform:',
        ' Operating System:      linux',
        ' Architecture:          x86_64',
        'Resources:',
        ' CPUs:                  2',
        ' Memory:                1.952GiB',
        'Engine Version:         24.0.7',
        '',
      ].join('\n'),
    );
  });

  it('prints the nodes it found, then one Error line per missing node, exit 1', async () => {
    await fakeApi({
      ...clusterRoutes(),
      'GET /nodes/nope': { status: 404, body: { message: 'node nope not found' } },
      'GET /nodes/gone': { status: 404, body: { message: 'node gone not found' } },
    });
    const result = await swarmts(
      ['node', 'inspect', '-f', '{{.ID}}', 'nope', 'node2', 'gone'],
      fake.hostEnv,
    );
    expect(result).toEqual({
      code: 1,
      stdout: `${worker.ID}\n`,
      stderr: 'Error: node nope not found\nError: node gone not found\n',
    });
  });

  it('refuses --pretty with --format', async () => {
    await fakeApi(clusterRoutes());
    expect(
      await swarmts(['node', 'inspect', '--pretty', '-f', 'json', 'node1'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: --format is incompatible with human friendly format\n',
    });
    expect(fake.requests).toEqual([]);
  });
});

// ---- node update, promote, demote ---------------------------------------------------------

describe('swarmts node update', () => {
  it('sends the whole spec at the node version, with labels added and removed', async () => {
    await fakeApi({ ...clusterRoutes(), [`POST /nodes/${worker.ID}/update`]: {} });
    const result = await swarmts(
      [
        'node',
        'update',
        '--availability',
        'drain',
        '--label-add',
        'zone=b',
        '--label-add',
        'rack',
        '--label-rm',
        'gpu',
        '--role',
        'manager',
        'node2',
      ],
      fake.hostEnv,
    );
    expect(result).toEqual({ code: 0, stdout: 'node2\n', stderr: '' });
    expect(calls()).toEqual(['GET /nodes/node2', `POST /nodes/${worker.ID}/update`]);
    expect(fake.requests[1]?.query).toEqual({ version: '7' });
    expect(fake.requests[1]?.body).toEqual({
      Labels: { disk: 'ssd', zone: 'b', rack: '' },
      Role: 'manager',
      Availability: 'drain',
    });
  });

  it('keeps the spec as it is for the flags not given', async () => {
    await fakeApi({ ...clusterRoutes(), [`POST /nodes/${leader.ID}/update`]: {} });
    const result = await swarmts(['node', 'update', '--label-add', 'a=1=2', 'self'], fake.hostEnv);
    expect(result).toEqual({ code: 0, stdout: 'self\n', stderr: '' });
    expect(fake.requests.at(-1)?.body).toEqual({
      Labels: { zone: 'a', a: '1=2' },
      Role: 'manager',
      Availability: 'active',
    });
  });

  it('refuses bad flags with one line and sends nothing', async () => {
    await fakeApi(clusterRoutes());
    expect(
      await swarmts(['node', 'update', '--availability', 'sleep', 'node2'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: invalid argument "sleep" for "--availability" flag: must be one of active, pause, drain\n',
    });
    expect(
      (await swarmts(['node', 'update', '--role', 'boss', 'node2'], fake.hostEnv)).stderr,
    ).toBe('Error: invalid argument "boss" for "--role" flag: must be one of worker, manager\n');
    expect(
      (await swarmts(['node', 'update', '--label-add', '=x', 'node2'], fake.hostEnv)).code,
    ).toBe(1);
    expect((await swarmts(['node', 'update', 'node1', 'node2'], fake.hostEnv)).stderr).toMatch(
      /^Error: too many arguments.*\n$/,
    );
    expect(fake.requests).toEqual([]);
  });

  it('refuses to remove a label the node does not have, before updating', async () => {
    await fakeApi(clusterRoutes());
    expect(await swarmts(['node', 'update', '--label-rm', 'nope', 'node2'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: key nope doesn't exist in node's labels\n",
    });
    expect(calls()).toEqual(['GET /nodes/node2']);
  });

  it("relays a version conflict's message", async () => {
    await fakeApi({
      ...clusterRoutes(),
      [`POST /nodes/${worker.ID}/update`]: {
        status: 409,
        body: { message: 'update out of sequence' },
      },
    });
    expect(
      await swarmts(['node', 'update', '--availability', 'active', 'node2'], fake.hostEnv),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: update out of sequence\n',
    });
  });
});

describe('swarmts node promote and demote', () => {
  it('promotes workers and skips nodes that are managers already', async () => {
    await fakeApi({ ...clusterRoutes(), [`POST /nodes/${worker.ID}/update`]: {} });
    const result = await swarmts(['node', 'promote', 'node1', 'node2'], fake.hostEnv);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'Node node1 is already a manager.\nNode node2 promoted to a manager in the swarm.\n',
    });
    expect(calls()).toEqual([
      'GET /nodes/node1',
      'GET /nodes/node2',
      `POST /nodes/${worker.ID}/update`,
    ]);
    expect(fake.requests[2]?.query).toEqual({ version: '7' });
    expect(fake.requests[2]?.body).toEqual({ ...worker.Spec, Role: 'manager' });
  });

  it('demotes managers, and stops at the first failure', async () => {
    await fakeApi({
      ...clusterRoutes(),
      [`POST /nodes/${follower.ID}/update`]: {},
      [`POST /nodes/${leader.ID}/update`]: {
        status: 400,
        body: { message: 'attempting to demote the last manager of the swarm (node1)' },
      },
    });
    const result = await swarmts(
      ['node', 'demote', 'node2', 'node10', 'node1', 'node10'],
      fake.hostEnv,
    );
    expect(result).toEqual({
      code: 1,
      stdout: 'Node node2 is already a worker.\nManager node10 demoted in the swarm.\n',
      stderr: 'Error: attempting to demote the last manager of the swarm (node1)\n',
    });
    expect(fake.requests.find((r) => r.method === 'POST')?.body).toEqual({
      ...follower.Spec,
      Role: 'worker',
    });
    expect(calls().filter((c) => c === 'GET /nodes/node10')).toHaveLength(1);
  });

  it('needs at least one node', async () => {
    const result = await swarmts(['node', 'promote'], fake.hostEnv);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: missing required argument 'node'.*\n$/);
  });
});

// ---- node rm ----------------------------------------------------------------------------

describe('swarmts node rm', () => {
  it('prints each removed node and one Error line per failure, exit 1', async () => {
    await fakeApi({
      'DELETE /nodes/node2': {},
      'DELETE /nodes/node1': {
        status: 400,
        body: {
          message: `node ${leader.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
        },
      },
      'DELETE /nodes/node3': { status: 404, body: { message: 'node node3 not found' } },
      'DELETE /nodes/node4': {},
    });
    const result = await swarmts(['node', 'rm', 'node2', 'node1', 'node3', 'node4'], fake.hostEnv);
    expect(result).toEqual({
      code: 1,
      stdout: 'node2\nnode4\n',
      stderr:
        `Error: node ${leader.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal\n` +
        'Error: node node3 not found\n',
    });
    expect(fake.requests.map((r) => r.query)).toEqual([{}, {}, {}, {}]);
  });

  it('forces with -f, and remove is an alias', async () => {
    await fakeApi({ 'DELETE /nodes/node2': {} });
    expect(await swarmts(['node', 'remove', '-f', 'node2'], fake.hostEnv)).toEqual({
      code: 0,
      stdout: 'node2\n',
      stderr: '',
    });
    expect(fake.requests[0]?.query).toEqual({ force: 'true' });
  });
});

describe('swarmts node --help', () => {
  it('lists the node commands and documents each one', async () => {
    const group = await swarmts(['node', '--help'], fake.hostEnv);
    expect(group.code).toBe(0);
    for (const name of ['ls|list', 'inspect', 'update', 'promote', 'demote', 'rm|remove']) {
      expect(group.stdout).toContain(`  ${name} `);
    }
    expect(group.stdout).not.toContain('help [command]');
    const update = await swarmts(['node', 'update', '--help'], fake.hostEnv);
    expect(update.stdout).toContain('Usage: swarmts node update [options] <node>');
    expect(update.stdout).toContain('--label-add <key=value>');
  });
});
