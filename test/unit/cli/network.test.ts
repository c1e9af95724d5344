import { describe, expect, it } from 'vitest';
import type { NetworkResource } from '../../../src/cli/commands/network.js';
import { swarmts } from '../../support/cli.js';
import { type Routes, useFakeApi } from '../../support/fake-api.js';

const fake = useFakeApi('swarmts-cli-network-');
const fakeApi = (routes: Routes) => fake.start(routes);
const calls = () => fake.calls();
const run = (args: string[]) => swarmts(['network', ...args], fake.hostEnv);

// ---- fixtures ----------------------------------------------------------------------------

function network(id: string, name: string, extra: Partial<NetworkResource> = {}) {
  return {
    Name: name,
    Id: id,
    Created: '2024-05-01T10:00:00.000Z',
    Scope: 'swarm',
    Driver: 'overlay',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
    ...extra,
  };
}

const backend = network('bk1bk1bk1bk1bk1bk1bk1bk1a', 'backend', {
  Internal: true,
  Labels: { tier: 'db', env: 'prod' },
});
const front10 = network('fr10fr10fr10fr10fr10fr10b', 'front10');
const front2 = network('fr2fr2fr2fr2fr2fr2fr2fr2c', 'front2', {
  Created: '2024-05-01T10:00:00.123Z',
  Attachable: true,
});

const listRoutes = (): Routes => ({ 'GET /networks': { body: [front10, backend, front2] } });

// ---- network ls ----------------------------------------------------------------------------

describe('swarmts network ls', () => {
  it("prints docker's table, sorted by name, IDs cut to 12", async () => {
    await fakeApi(listRoutes());
    expect(await run(['ls'])).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'NETWORK ID     NAME      DRIVER    SCOPE',
        'bk1bk1bk1bk1   backend   overlay   swarm',
        'fr2fr2fr2fr2   front2    overlay   swarm',
        'fr10fr10fr10   front10   overlay   swarm',
        '',
      ].join('\n'),
    });
    expect(calls()).toEqual(['GET /networks']);
    expect(fake.requests[0]?.query).toEqual({});
  });

  it('prints the short IDs with -q, the full ones with --no-trunc', async () => {
    await fakeApi(listRoutes());
    expect((await run(['ls', '-q'])).stdout).toBe('bk1bk1bk1bk1\nfr2fr2fr2fr2\nfr10fr10fr10\n');
    expect((await run(['list', '-q', '--no-trunc'])).stdout).toBe(
      `${backend.Id}\n${front2.Id}\n${front10.Id}\n`,
    );
    const table = await run(['ls', '--no-trunc']);
    expect(table.stdout.split('\n')[1]).toBe(`${backend.Id}   backend   overlay   swarm`);
  });

  it("prints docker's fields with --format json, and renders templates", async () => {
    await fakeApi(listRoutes());
    const lines = (await run(['ls', '--format', 'json'])).stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      CreatedAt: '2024-05-01 10:00:00 +0000 UTC',
      Driver: 'overlay',
      ID: 'bk1bk1bk1bk1',
      IPv6: 'false',
      Internal: 'true',
      Labels: 'env=prod,tier=db',
      Name: 'backend',
      Scope: 'swarm',
    });
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({
      CreatedAt: '2024-05-01 10:00:00.123 +0000 UTC',
    });
    expect((await run(['ls', '--format', '{{.Name}}:{{.Internal}}'])).stdout).toBe(
      'backend:true\nfront2:false\nfront10:false\n',
    );
  });

  it("sends --filter as the API's filters JSON, and refuses unknown keys first", async () => {
    await fakeApi(listRoutes());
    const result = await run(['ls', '-q', '-f', 'driver=overlay', '--filter', 'label=tier=db']);
    expect(result.code).toBe(0);
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '')).toEqual({
      driver: ['overlay'],
      label: ['tier=db'],
    });
    expect(await run(['ls', '--filter', 'dangling=true'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: invalid filter 'dangling' (allowed: driver, id, label, name, scope, type)\n",
    });
    expect(calls()).toEqual(['GET /networks']);
  });
});

// ---- network create ------------------------------------------------------------------------

describe('swarmts network create', () => {
  const created = {
    'POST /networks/create': { status: 201, body: { Id: backend.Id, Warning: '' } },
  };

  it('creates an overlay network by default and prints its ID', async () => {
    await fakeApi(created);
    expect(await run(['create', 'backend'])).toEqual({
      code: 0,
      stdout: `${backend.Id}\n`,
      stderr: '',
    });
    expect(fake.requests[0]?.body).toEqual({
      Name: 'backend',
      Driver: 'overlay',
      Labels: {},
      Options: {},
      Attachable: false,
      Internal: false,
    });
  });

  it('sends the driver, labels, options and switches', async () => {
    await fakeApi(created);
    const result = await run([
      'create',
      '-d',
      'overlay',
      '--attachable',
      '--internal',
      '--label',
      'tier=db',
      '--label',
      'env',
      '-o',
      'encrypted',
      '--opt',
      'com.docker.network.driver.mtu=1400',
      'backend',
    ]);
    expect(result.code).toBe(0);
    expect(fake.requests[0]?.body).toEqual({
      Name: 'backend',
      Driver: 'overlay',
      Labels: { tier: 'db', env: '' },
      Options: { encrypted: '', 'com.docker.network.driver.mtu': '1400' },
      Attachable: true,
      Internal: true,
    });
  });

  it("prints the agent's warning on stderr", async () => {
    await fakeApi({
      'POST /networks/create': {
        status: 201,
        body: { Id: front2.Id, Warning: 'tasks reach each other through published ports' },
      },
    });
    expect(await run(['create', 'front2'])).toEqual({
      code: 0,
      stdout: `${front2.Id}\n`,
      stderr: 'tasks reach each other through published ports\n',
    });
  });

  it('refuses a bad option before any request, and relays the agent', async () => {
    const message = 'network driver "bridge" is not supported: swarm networks use overlay';
    await fakeApi({ 'POST /networks/create': { status: 400, body: { message } } });
    expect(await run(['create', '--opt', '=1', 'x'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: invalid argument "=1" for "--opt" flag: expected key=value\n',
    });
    expect(fake.requests).toEqual([]);
    expect(await run(['create', '--driver', 'bridge', 'x'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${message}\n`,
    });
    expect(fake.requests[0]?.body).toMatchObject({ Driver: 'bridge' });
  });

  it('needs a name', async () => {
    expect(await run(['create'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: missing required argument 'network'. See 'swarmts --help'.\n",
    });
  });
});

// ---- network inspect -----------------------------------------------------------------------

describe('swarmts network inspect', () => {
  it('prints the NetworkResource array like docker, and one Error line per missing one', async () => {
    await fakeApi({
      'GET /networks/backend': { body: backend },
      'GET /networks/fr2': { body: front2 },
      'GET /networks/nope': { status: 404, body: { message: 'network nope not found' } },
    });
    expect(await run(['inspect', 'backend', 'fr2'])).toEqual({
      code: 0,
      stderr: '',
      stdout: `${JSON.stringify([backend, front2], null, 4)}\n`,
    });
    expect(await run(['inspect', '--format', '{{.Id}} {{json .Labels}}', 'backend'])).toEqual({
      code: 0,
      stderr: '',
      stdout: `${backend.Id} {"tier":"db","env":"prod"}\n`,
    });
    expect(await run(['inspect', '-f', 'json', 'nope', 'fr2'])).toEqual({
      code: 1,
      stdout: `${JSON.stringify([front2])}\n`,
      stderr: 'Error: network nope not found\n',
    });
  });
});

// ---- network rm ----------------------------------------------------------------------------

describe('swarmts network rm', () => {
  const routes = (): Routes => ({
    'DELETE /networks/backend': { status: 204 },
    'DELETE /networks/front2': { status: 204 },
    'DELETE /networks/used': {
      status: 400,
      body: { message: "network 'used' is in use by the following service: web" },
    },
    'DELETE /networks/nope': { status: 404, body: { message: 'network nope not found' } },
  });

  it('prints each removed network, goes on past failures, exits 1', async () => {
    await fakeApi(routes());
    expect(await run(['rm', 'backend', 'used', 'nope', 'front2'])).toEqual({
      code: 1,
      stdout: 'backend\nfront2\n',
      stderr:
        "Error: network 'used' is in use by the following service: web\nError: network nope not found\n",
    });
    expect(calls()).toHaveLength(4);
  });

  it('ignores a missing network with -f, not other failures', async () => {
    await fakeApi(routes());
    expect(await run(['remove', '-f', 'nope', 'backend'])).toEqual({
      code: 0,
      stdout: 'backend\n',
      stderr: '',
    });
    expect(await run(['rm', '--force', 'used'])).toMatchObject({ code: 1 });
  });
});

// ---- help --------------------------------------------------------------------------------

describe('swarmts network --help', () => {
  it('lists and documents every network command', async () => {
    const top = await swarmts(['--help']);
    expect(top.stdout).toMatch(/\n {2}network +Manage networks/);
    const group = await swarmts(['network', '--help']);
    expect(group.code).toBe(0);
    for (const name of ['create', 'ls|list', 'inspect', 'rm|remove']) {
      expect(group.stdout).toMatch(new RegExp(`\\n  ${name.replace('|', '\\|')} .*\\S`));
    }
    const create = await swarmts(['network', 'create', '--help']);
    expect(create.stdout).toContain('Usage: swarmts network create [options] <network>');
    for (const flag of ['-d, --driver <driver>', '--attachable', '--internal', '-o, --opt']) {
      expect(create.stdout).toContain(flag);
    }
    const ls = await swarmts(['network', 'ls', '--help']);
    expect(ls.stdout).toContain('--no-trunc');
  });
});
