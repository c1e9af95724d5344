import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { stackCommand } from '../../../src/cli/commands/stack.js';
import { canonical } from '../../../src/cli/stack/deploy.js';
import { NAMESPACE_LABEL } from '../../../src/compose/index.js';
import { oneLineMessage } from '../../../src/errors.js';
import { labelMatches } from '../../../src/manager/filters.js';
import { completeSpec, resolveReferences } from '../../../src/manager/serviceapi.js';
import { serviceSpecInput } from '../../../src/state/service-schema.js';
import type { Service, ServiceSpec, Task } from '../../../src/state/service-types.js';
import type { ClusterStore } from '../../../src/state/store.js';
import type { Node } from '../../../src/state/types.js';
import { type CliResult, swarmts } from '../../support/cli.js';
import { type Answer, type Recorded, type Routes, useFakeApi } from '../../support/fake-api.js';

const fake = useFakeApi('swarmts-cli-stack-');
const calls = () => fake.calls();

/** The wall clock the commands see. */
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

/**
 * `swarmts stack ...` with a fixed clock, Compose file names relative to the test's directory,
 * and the same error handling as runCli. (`swarmts()` runs the real program.)
 */
async function run(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
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
  stackCommand(program, { io, now: () => NOW, cwd: () => fake.dir });
  try {
    await program.parseAsync(['stack', ...args], { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    stderr += `Error: ${oneLineMessage(error)}\n`;
    return { code: 1, stdout, stderr };
  }
}

// ---- a fake swarm behind the fake API ----------------------------------------------------

interface DataObject {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels: Record<string, string>; Data?: string };
}

interface NetworkResource {
  Id: string;
  Name: string;
  Scope: string;
  Labels: Record<string, string>;
}

/**
 * What the agent holds and how it answers the calls `stack` makes. A service spec is stored as
 * the agent stores it: read with the API's schema (its key order and defaults), completed and
 * with its secrets, configs and networks resolved to ids by the agent's own code.
 */
class FakeSwarm {
  networks: NetworkResource[] = [];
  secrets: DataObject[] = [];
  configs: DataObject[] = [];
  services: Service[] = [];
  tasks: Task[] = [];
  nodes: Node[] = [];
  private counter = 0;

  newId(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`.padEnd(25, '0');
  }

  addNetwork(name: string, labels: Record<string, string> = {}, scope = 'swarm'): string {
    const Id = this.newId('net');
    this.networks.push({ Id, Name: name, Scope: scope, Labels: labels });
    return Id;
  }

  addObject(kind: 'secret' | 'config', name: string, labels: Record<string, string> = {}): string {
    const ID = this.newId(kind === 'secret' ? 'sec' : 'cfg');
    this.list(kind).push({ ID, Version: { Index: 5 }, Spec: { Name: name, Labels: labels } });
    return ID;
  }

  addService(spec: unknown): Service {
    const service: Service = {
      ID: this.newId('svc'),
      Version: { Index: 7 },
      CreatedAt: ago(60_000),
      UpdatedAt: ago(60_000),
      Spec: this.stored(spec),
      Endpoint: { Spec: {} },
    };
    this.services.push(service);
    return service;
  }

  /** The spec as the agent keeps it after POST /services/create or update. */
  stored(body: unknown): ServiceSpec {
    const byId = (kind: 'secret' | 'config', id: string) =>
      this.list(kind).find((o) => o.ID === id);
    const byName = (kind: 'secret' | 'config' | 'network', name: string) => {
      if (kind !== 'network') return this.list(kind).find((o) => o.Spec.Name === name);
      const net = this.networks.find((n) => n.Name === name);
      return net && { ID: net.Id, Spec: { Name: net.Name } };
    };
    const store = {
      listObjects: (kind: 'secret' | 'config') => this.list(kind),
      getObjectByName: byName,
      getNetwork: (id: string) => {
        const net = this.networks.find((n) => n.Id === id);
        return net && { ID: net.Id, Spec: { Name: net.Name } };
      },
      getSecret: (id: string) => byId('secret', id),
      getConfig: (id: string) => byId('config', id),
    } as unknown as ClusterStore;
    return resolveReferences(completeSpec(serviceSpecInput.parse(body)), store);
  }

  list(kind: 'secret' | 'config'): DataObject[] {
    return kind === 'secret' ? this.secrets : this.configs;
  }

  /** Every request goes to `answer` (the fake API looks routes up by 'METHOD /path'). */
  routes(): Routes {
    return new Proxy<Routes>({}, { get: () => (req: Recorded) => this.answer(req) });
  }

  private answer(req: Recorded): Answer {
    const [, area = '', ref, action] = req.path.split('/');
    const labelFilter = (labels: Record<string, string>) => {
      const filters = JSON.parse(req.query.filters ?? '{}') as { label?: string[] };
      return (filters.label ?? []).every((f) => labelMatches(labels, f));
    };
    const notFound = (what: string): Answer => ({
      status: 404,
      body: { message: `${what} ${ref} not found` },
    });
    const key = `${req.method} /${area}${ref === undefined ? '' : ref === 'create' ? '/create' : '/:id'}${action ? `/${action}` : ''}`;
    switch (area) {
      case 'networks': {
        const found = this.networks.find((n) => n.Id === ref || n.Name === ref);
        if (key === 'GET /networks')
          return { body: this.networks.filter((n) => labelFilter(n.Labels)) };
        if (key === 'POST /networks/create') {
          const body = req.body as { Name: string; Labels?: Record<string, string> };
          return { status: 201, body: { Id: this.addNetwork(body.Name, body.Labels) } };
        }
        if (!found) return notFound('network');
        if (key === 'GET /networks/:id') return { body: found };
        if (key === 'DELETE /networks/:id') {
          this.networks = this.networks.filter((n) => n !== found);
          return { status: 204 };
        }
        break;
      }
      case 'secrets':
      case 'configs': {
        const kind = area === 'secrets' ? 'secret' : 'config';
        const list = this.list(kind);
        const found = list.find((o) => o.ID === ref || o.Spec.Name === ref);
        if (key === `GET /${area}`) return { body: list.filter((o) => labelFilter(o.Spec.Labels)) };
        if (key === `POST /${area}/create`) {
          const body = req.body as { Name: string; Labels: Record<string, string> };
          return { status: 201, body: { ID: this.addObject(kind, body.Name, body.Labels) } };
        }
        if (!found) return notFound(kind);
        if (key === `GET /${area}/:id`) return { body: found };
        if (key === `POST /${area}/:id/update`) {
          found.Version.Index += 1;
          return {};
        }
        if (key === `DELETE /${area}/:id`) {
          list.splice(list.indexOf(found), 1);
          return { status: 204 };
        }
        break;
      }
      case 'services': {
        const found = this.services.find((s) => s.ID === ref || s.Spec.Name === ref);
        if (key === 'GET /services')
          return { body: this.services.filter((s) => labelFilter(s.Spec.Labels)) };
        if (key === 'POST /services/create') {
          return { status: 201, body: { ID: this.addService(req.body).ID } };
        }
        if (!found) return notFound('service');
        if (key === 'POST /services/:id/update') {
          if (req.query.version !== String(found.Version.Index)) {
            return { status: 409, body: { message: 'update out of sequence' } };
          }
          found.Spec = this.stored(req.body);
          found.Version.Index += 1;
          return { body: {} };
        }
        if (key === 'DELETE /services/:id') {
          this.services = this.services.filter((s) => s !== found);
          return {};
        }
        break;
      }
      case 'tasks': {
        const filters = JSON.parse(req.query.filters ?? '{}') as Record<string, string[]>;
        const wanted = filters.service ?? [];
        const states = filters['desired-state'] ?? [];
        return {
          body: this.tasks.filter(
            (t) =>
              wanted.includes(t.ServiceID) &&
              (states.length === 0 || states.includes(t.DesiredState)),
          ),
        };
      }
      case 'nodes':
        return { body: this.nodes };
    }
    return { status: 404, body: { message: `no route ${req.method} ${req.path}` } };
  }
}

async function startSwarm(swarm = new FakeSwarm()): Promise<FakeSwarm> {
  await fake.start(swarm.routes());
  return swarm;
}

/** Writes the test directory's files (Compose files, secret and config data). */
async function files(contents: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(contents)) await writeFile(join(fake.dir, name), text);
}

const ns = (name: string) => ({ [NAMESPACE_LABEL]: name });
const writes = () => calls().filter((c) => !c.startsWith('GET '));

const COMPOSE = `services:
  web:
    image: nginx:1.27
    networks: [front]
    secrets: [db_password]
    configs:
      - source: site
        target: /etc/nginx/conf.d/site.conf
    deploy:
      replicas: 2
  worker:
    image: busybox:1.36
    command: ["sleep", "1d"]
networks:
  front: {}
secrets:
  db_password:
    file: ./db_password.txt
configs:
  site:
    file: ./site.conf
`;

const STACK_FILES = {
  'docker-compose.yml': COMPOSE,
  'db_password.txt': 's3cr3t\n',
  'site.conf': 'server { listen 80; }\n',
};

// ---- stack deploy ------------------------------------------------------------------------

describe('swarmts stack deploy', () => {
  it('creates networks, secrets, configs, then services, printing docker’s lines', async () => {
    const swarm = await startSwarm();
    await files(STACK_FILES);
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'Creating network app_default',
      'Creating network app_front',
      'Creating secret app_db_password',
      'Creating config app_site',
    ]);
    // Docker creates services in no particular order.
    expect(lines.slice(4).sort()).toEqual([
      'Creating service app_web',
      'Creating service app_worker',
    ]);

    const created = writes();
    expect(created.slice(0, 4)).toEqual([
      'POST /networks/create',
      'POST /networks/create',
      'POST /secrets/create',
      'POST /configs/create',
    ]);
    expect(created.slice(4)).toEqual(['POST /services/create', 'POST /services/create']);

    const body = (path: string) => fake.requests.filter((r) => r.path === path).map((r) => r.body);
    expect(body('/secrets/create')).toEqual([
      {
        Name: 'app_db_password',
        Labels: ns('app'),
        Data: Buffer.from('s3cr3t\n').toString('base64'),
      },
    ]);
    expect(body('/configs/create')).toEqual([
      {
        Name: 'app_site',
        Labels: ns('app'),
        Data: Buffer.from('server { listen 80; }\n').toString('base64'),
      },
    ]);
    expect(body('/networks/create')).toEqual([
      expect.objectContaining({ Name: 'app_default', Labels: ns('app'), Driver: 'overlay' }),
      expect.objectContaining({ Name: 'app_front', Labels: ns('app'), Driver: 'overlay' }),
    ]);
    expect(swarm.services.map((s) => s.Spec.Name).sort()).toEqual(['app_web', 'app_worker']);
  });

  it('puts the ids of the secrets, configs and networks it made into the service specs', async () => {
    const swarm = await startSwarm();
    await files(STACK_FILES);
    await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    const idOf = (name: string) => swarm.networks.find((n) => n.Name === name)?.Id;
    const specs = fake.requests
      .filter((r) => r.path === '/services/create')
      .map((r) => r.body as ServiceSpec);
    const web = specs.find((s) => s.Name === 'app_web');
    const worker = specs.find((s) => s.Name === 'app_worker');
    expect(web?.TaskTemplate.Networks).toEqual([{ Target: idOf('app_front'), Aliases: ['web'] }]);
    expect(worker?.TaskTemplate.Networks).toEqual([
      { Target: idOf('app_default'), Aliases: ['worker'] },
    ]);
    expect(web?.TaskTemplate.ContainerSpec.Secrets).toEqual([
      {
        File: { Name: 'db_password', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: swarm.secrets[0]?.ID,
        SecretName: 'app_db_password',
      },
    ]);
    expect(web?.TaskTemplate.ContainerSpec.Configs).toEqual([
      {
        File: { Name: '/etc/nginx/conf.d/site.conf', UID: '0', GID: '0', Mode: 0o444 },
        ConfigID: swarm.configs[0]?.ID,
        ConfigName: 'app_site',
      },
    ]);
    expect(web?.Labels).toMatchObject(ns('app'));
    expect(web?.Mode).toEqual({ Replicated: { Replicas: 2 } });
  });

  it('leaves a service alone when the agent holds the same spec', async () => {
    const swarm = await startSwarm();
    await files(STACK_FILES);
    expect((await run(['deploy', '-c', 'docker-compose.yml', 'app'])).code).toBe(0);
    const versions = swarm.services.map((s) => s.Version.Index);
    fake.requests.length = 0;

    const again = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(again.code).toBe(0);
    expect(again.stdout.trimEnd().split('\n').sort()).toEqual([
      'Service app_web is up to date',
      'Service app_worker is up to date',
      'Updating config app_site',
      'Updating secret app_db_password',
    ]);
    // The networks exist; the secret and config are sent again (their data cannot change in
    // place, the agent refuses that); no service is touched.
    expect(writes()).toEqual([
      `POST /secrets/${swarm.secrets[0]?.ID}/update`,
      `POST /configs/${swarm.configs[0]?.ID}/update`,
    ]);
    expect(swarm.services.map((s) => s.Version.Index)).toEqual(versions);
  });

  it('updates a changed service with the version it read, and only that one', async () => {
    const swarm = await startSwarm();
    await files(STACK_FILES);
    await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    const web = swarm.services.find((s) => s.Spec.Name === 'app_web');
    const worker = swarm.services.find((s) => s.Spec.Name === 'app_worker');
    if (!web || !worker) throw new Error('not deployed');
    fake.requests.length = 0;

    await files({ 'docker-compose.yml': COMPOSE.replace('replicas: 2', 'replicas: 5') });
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Updating service app_web (id: ${web.ID})\n`);
    expect(result.stdout).toContain('Service app_worker is up to date\n');
    const updates = fake.requests.filter((r) => r.path.startsWith('/services/'));
    expect(updates.map((r) => [r.method, r.path, r.query])).toEqual([
      ['POST', `/services/${web.ID}/update`, { version: '7' }],
    ]);
    expect(web.Spec.Mode).toEqual({ Replicated: { Replicas: 5 } });
    expect(worker.Version.Index).toBe(7);
  });

  it('with --prune removes the services the files no longer name, in this stack only', async () => {
    const swarm = await startSwarm();
    await files(STACK_FILES);
    await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    const other = swarm.addService({
      Name: 'other_old',
      Labels: ns('other'),
      TaskTemplate: { ContainerSpec: { Image: 'redis:7' } },
    });
    const loose = swarm.addService({
      Name: 'app_by_hand',
      TaskTemplate: { ContainerSpec: { Image: 'redis:7' } },
    });
    const worker = swarm.services.find((s) => s.Spec.Name === 'app_worker');
    fake.requests.length = 0;

    await files({ 'docker-compose.yml': COMPOSE.replace(/ {2}worker:\n(?: {4}.*\n)+/, '') });
    const withoutPrune = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(withoutPrune.code).toBe(0);
    expect(withoutPrune.stdout).not.toContain('Removing');
    expect(swarm.services).toContain(worker);

    const pruned = await run(['deploy', '--prune', '-c', 'docker-compose.yml', 'app']);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('Removing service app_worker\n');
    expect(writes().filter((c) => c.startsWith('DELETE'))).toEqual([
      `DELETE /services/${worker?.ID}`,
    ]);
    expect(swarm.services.map((s) => s.Spec.Name).sort()).toEqual([
      'app_by_hand',
      'app_web',
      'other_old',
    ]);
    expect(swarm.services).toContain(other);
    expect(swarm.services).toContain(loose);
  });

  it('refuses an external network that does not exist, creating nothing', async () => {
    await startSwarm();
    await files({
      ...STACK_FILES,
      'docker-compose.yml': COMPOSE.replace(
        'networks: [front]',
        'networks: [front, outside]',
      ).replace(
        'networks:\n  front: {}\n',
        'networks:\n  front: {}\n  outside:\n    external: true\n',
      ),
    });
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: network "outside" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed\n',
    });
    expect(writes()).toEqual([]);
  });

  it('refuses an external network that is not swarm-scoped', async () => {
    const swarm = await startSwarm();
    swarm.addNetwork('bridge', {}, 'local');
    await files({
      'docker-compose.yml': `services:
  web:
    image: nginx
    networks: [bridge]
networks:
  bridge:
    external: true
`,
    });
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: network "bridge" is declared as external, .*\n$/);
    expect(writes()).toEqual([]);
  });

  it('attaches to an external network that exists, by its id, without creating it', async () => {
    const swarm = await startSwarm();
    const id = swarm.addNetwork('shared');
    await files({
      'docker-compose.yml': `services:
  web:
    image: nginx
    networks: [shared]
networks:
  shared:
    external: true
`,
    });
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result).toEqual({ code: 0, stdout: 'Creating service app_web\n', stderr: '' });
    expect(writes()).toEqual(['POST /services/create']);
    const spec = fake.requests.find((r) => r.path === '/services/create')?.body as ServiceSpec;
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: id, Aliases: ['web'] }]);
  });

  it('refuses an external secret that does not exist, creating nothing', async () => {
    await startSwarm();
    await files({
      ...STACK_FILES,
      'docker-compose.yml': COMPOSE.replace(
        'secrets: [db_password]',
        'secrets: [db_password, api_key]',
      ).replace(
        'secrets:\n  db_password:',
        'secrets:\n  api_key:\n    external: true\n  db_password:',
      ),
    });
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'Error: secret not found: api_key\n' });
    expect(writes()).toEqual([]);
  });

  it('names a secret file that is missing, creating nothing', async () => {
    await startSwarm();
    await files({
      ...STACK_FILES,
      'docker-compose.yml': COMPOSE.replace('./db_password.txt', './nope.txt'),
    });
    const result = await run(['deploy', '-c', 'docker-compose.yml', 'app']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: secret db_password: ${join(fake.dir, 'nope.txt')}: no such file\n`,
    });
    expect(writes()).toEqual([]);
  });

  it('names a Compose file that is missing, before any request', async () => {
    await startSwarm();
    const result = await run(['deploy', '-c', 'missing.yml', 'app']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: open missing.yml: no such file or directory\n',
    });
    expect(calls()).toEqual([]);
    const none = await run(['deploy', 'app']);
    expect(none.stderr).toBe('Error: specify a Compose file (with --compose-file)\n');
  });

  it('reports a Compose mistake as one line with file, line and column', async () => {
    await startSwarm();
    const file = join(fake.dir, 'stack.yml');
    await writeFile(
      file,
      `services:
  web:
    image: nginx
    networks:
      back:
        aliases: [www]
`,
    );
    const result = await swarmts(['stack', 'deploy', '-c', file, 'app'], fake.hostEnv);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: ${file}:5:7: service "web" refers to undefined network "back"\n`,
    });
    expect(calls()).toEqual([]);
  });

  it('prints nothing with --quiet, and still deploys', async () => {
    const swarm = await startSwarm();
    await files(STACK_FILES);
    expect(await run(['deploy', '-q', '-c', 'docker-compose.yml', 'app'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect(swarm.services).toHaveLength(2);
  });
});

// ---- canonical ---------------------------------------------------------------------------

describe('canonical', () => {
  it('ignores key order and empty values', () => {
    expect(canonical({ b: 1, a: { d: [1, 2], c: 'x' } })).toBe(
      canonical({ a: { c: 'x', d: [1, 2] }, b: 1 }),
    );
    expect(canonical({ a: 1, Labels: {}, Env: [], Dir: '', User: null, x: { y: {} } })).toBe(
      canonical({ a: 1 }),
    );
  });

  it('tells real differences apart', () => {
    const base = { Name: 'web', Mode: { Replicated: { Replicas: 2 } }, Env: ['A=1', 'B=2'] };
    const differs = (other: unknown) => expect(canonical(other)).not.toBe(canonical(base));
    differs({ ...base, Mode: { Replicated: { Replicas: 3 } } });
    differs({ ...base, Env: ['B=2', 'A=1'] });
    differs({ ...base, Env: ['A=1'] });
    differs({ ...base, Mode: { Replicated: { Replicas: '2' } } });
    differs({ ...base, Labels: { a: 'b' } });
    differs({ ...base, ReadOnly: false });
    differs({ ...base, Count: 0 });
  });
});

// ---- stack ls, services, ps --------------------------------------------------------------

function seedServices(swarm: FakeSwarm): { web: Service; db: Service; other: Service } {
  const web = swarm.addService({
    Name: 'app_web',
    Labels: ns('app'),
    TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' } },
    Mode: { Replicated: { Replicas: 2 } },
  });
  const db = swarm.addService({
    Name: 'app_db',
    Labels: ns('app'),
    TaskTemplate: { ContainerSpec: { Image: 'postgres:16' } },
  });
  const other = swarm.addService({
    Name: 'app10_web',
    Labels: ns('app10'),
    TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' } },
  });
  swarm.addService({ Name: 'loose', TaskTemplate: { ContainerSpec: { Image: 'redis' } } });
  swarm.addService({
    Name: 'app2_api',
    Labels: ns('app2'),
    TaskTemplate: { ContainerSpec: { Image: 'redis' } },
  });
  return { web, db, other };
}

function task(id: string, service: Service, slot: number): Task {
  return {
    ID: id,
    Version: { Index: 50 },
    CreatedAt: ago(5_000),
    UpdatedAt: ago(5_000),
    Labels: {},
    Spec: service.Spec.TaskTemplate,
    SpecVersion: { Index: 7 },
    ServiceID: service.ID,
    ServiceAnnotations: { Name: service.Spec.Name },
    Slot: slot,
    NodeID: '12D3KooWnode1',
    Status: { Timestamp: ago(5_000), State: 'running', Message: 'started' },
    DesiredState: 'running',
    Endpoint: { Ports: [] },
  };
}

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

describe('swarmts stack ls', () => {
  it('counts the services of each namespace, ignoring services of no stack', async () => {
    seedServices(await startSwarm());
    expect(await run(['ls'])).toEqual({
      code: 0,
      stdout: 'NAME    SERVICES\napp     2\napp2    1\napp10   1\n',
      stderr: '',
    });
    expect(await run(['ls', '--format', '{{.Name}}:{{.Services}}'])).toMatchObject({
      stdout: 'app:2\napp2:1\napp10:1\n',
    });
  });

  it('prints only the header when there is no stack', async () => {
    await startSwarm();
    expect((await run(['ls'])).stdout).toBe('NAME   SERVICES\n');
  });
});

describe('swarmts stack services', () => {
  it('lists the services labelled with the namespace, asking the agent by that label', async () => {
    const swarm = await startSwarm();
    const { web, db } = seedServices(swarm);
    const result = await run(['services', '--format', '{{.Name}} {{.Image}} {{.ID}}', 'app']);
    expect(result).toEqual({
      code: 0,
      stdout: `app_db postgres:16 ${db.ID.slice(0, 12)}\napp_web nginx:1.27 ${web.ID.slice(0, 12)}\n`,
      stderr: '',
    });
    const query = fake.requests[0]?.query ?? {};
    expect(JSON.parse(query.filters ?? '{}')).toEqual({ label: [`${NAMESPACE_LABEL}=app`] });
    expect(query.status).toBe('true');
  });

  it('adds its own filters to the namespace label, and prints IDs with -q', async () => {
    const swarm = await startSwarm();
    const { web } = seedServices(swarm);
    swarm.services[0] = {
      ...web,
      Spec: { ...web.Spec, Labels: { ...web.Spec.Labels, tier: 'front' } },
    };
    const result = await run(['services', '-q', '-f', 'label=tier=front', 'app']);
    expect(result).toEqual({ code: 0, stdout: `${web.ID.slice(0, 12)}\n`, stderr: '' });
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '{}')).toEqual({
      label: ['tier=front', `${NAMESPACE_LABEL}=app`],
    });
  });

  it('says so on stderr when the stack has no services', async () => {
    seedServices(await startSwarm());
    expect(await run(['services', 'nope'])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'Nothing found in stack: nope\n',
    });
  });
});

describe('swarmts stack ps', () => {
  it("lists the tasks of the stack's services only", async () => {
    const swarm = await startSwarm();
    const { web, db, other } = seedServices(swarm);
    swarm.nodes = [node('12D3KooWnode1', 'node1')];
    swarm.tasks = [
      task('t1webwebwebwebwebwebwebwe', web, 1),
      task('t2webwebwebwebwebwebwebwe', web, 2),
      task('t3dbdbdbdbdbdbdbdbdbdbdbd', db, 1),
      task('t4otherotherotherotherotr', other, 1),
    ];
    const result = await run(['ps', '--format', '{{.Name}} {{.Node}} {{.CurrentState}}', 'app']);
    expect(result).toEqual({
      code: 0,
      stdout:
        'app_db.1 node1 Running 5 seconds ago\napp_web.1 node1 Running 5 seconds ago\napp_web.2 node1 Running 5 seconds ago\n',
      stderr: '',
    });
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '{}')).toEqual({
      label: [`${NAMESPACE_LABEL}=app`],
    });
    const tasksQuery = fake.requests.find((r) => r.path === '/tasks')?.query.filters ?? '{}';
    expect(JSON.parse(tasksQuery).service.sort()).toEqual([db.ID, web.ID].sort());
  });

  it('passes its filters on and prints task IDs with -q', async () => {
    const swarm = await startSwarm();
    const { web } = seedServices(swarm);
    swarm.tasks = [
      task('t1webwebwebwebwebwebwebwe', web, 1),
      { ...task('t0webwebwebwebwebwebwebwe', web, 1), DesiredState: 'shutdown' },
    ];
    const result = await run(['ps', '-q', '--no-trunc', '-f', 'desired-state=running', 'app']);
    expect(result).toEqual({ code: 0, stdout: 't1webwebwebwebwebwebwebwe\n', stderr: '' });
    expect(calls()).not.toContain('GET /nodes');
  });

  it('says so on stderr when the stack has no services', async () => {
    await startSwarm();
    expect(await run(['ps', 'nope'])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'Nothing found in stack: nope\n',
    });
    expect(calls()).toEqual(['GET /services']);
  });
});

// ---- stack rm ----------------------------------------------------------------------------

describe('swarmts stack rm', () => {
  it('removes services, secrets, configs, then networks, of that stack only', async () => {
    const swarm = await startSwarm();
    seedServices(swarm);
    swarm.addObject('secret', 'app_db_password', ns('app'));
    swarm.addObject('secret', 'shared_key');
    swarm.addObject('config', 'app_site', ns('app'));
    swarm.addNetwork('app_default', ns('app'));
    swarm.addNetwork('app10_default', ns('app10'));
    const result = await run(['rm', 'app']);
    expect(result).toEqual({
      code: 0,
      stdout:
        'Removing service app_db\nRemoving service app_web\nRemoving secret app_db_password\nRemoving config app_site\nRemoving network app_default\n',
      stderr: '',
    });
    expect(writes().map((c) => c.replace(/\/[a-z]+\d+0+$/, '/ID'))).toEqual([
      'DELETE /services/ID',
      'DELETE /services/ID',
      'DELETE /secrets/ID',
      'DELETE /configs/ID',
      'DELETE /networks/ID',
    ]);
    expect(swarm.services.map((s) => s.Spec.Name).sort()).toEqual([
      'app10_web',
      'app2_api',
      'loose',
    ]);
    expect(swarm.secrets.map((s) => s.Spec.Name)).toEqual(['shared_key']);
    expect(swarm.configs).toEqual([]);
    expect(swarm.networks.map((n) => n.Name)).toEqual(['app10_default']);
  });

  it('says "Nothing found in stack" on stderr and succeeds for an empty stack', async () => {
    seedServices(await startSwarm());
    expect(await run(['rm', 'nope'])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'Nothing found in stack: nope\n',
    });
    expect(writes()).toEqual([]);
  });

  it('removes several stacks', async () => {
    const swarm = await startSwarm();
    seedServices(swarm);
    const result = await run(['down', 'app2', 'empty', 'app10']);
    expect(result).toEqual({
      code: 0,
      stdout: 'Removing service app2_api\nRemoving service app10_web\n',
      stderr: 'Nothing found in stack: empty\n',
    });
    expect(swarm.services.map((s) => s.Spec.Name).sort()).toEqual(['app_db', 'app_web', 'loose']);
  });
});

// ---- help --------------------------------------------------------------------------------

describe('swarmts stack --help', () => {
  it('lists and documents every stack command', async () => {
    const top = await swarmts(['--help']);
    expect(top.stdout).toMatch(/\n {2}stack +Manage swarm stacks/);
    const group = await swarmts(['stack', '--help']);
    expect(group.code).toBe(0);
    for (const name of ['deploy|up', 'ls|list', 'services', 'ps', 'rm|remove']) {
      expect(group.stdout).toMatch(new RegExp(`\\n  ${name.replace('|', '\\|')}\\b.*\\S`));
    }
    expect(group.stdout).not.toContain('help [command]');

    const deploy = await swarmts(['stack', 'deploy', '--help']);
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toContain('Usage: swarmts stack deploy|up [options] <stack>');
    expect(deploy.stdout).toContain('-c, --compose-file <file>');
    expect(deploy.stdout).toContain('--prune');
    expect(deploy.stdout).toContain('-q, --quiet');

    const ls = await swarmts(['stack', 'ls', '--help']);
    expect(ls.stdout).toContain('Usage: swarmts stack ls|list [options]');
    expect(ls.stdout).toContain('--format <format>');

    const services = await swarmts(['stack', 'services', '--help']);
    expect(services.stdout).toContain('Usage: swarmts stack services [options] <stack>');
    expect(services.stdout).toContain('-f, --filter <key=value>');

    const ps = await swarmts(['stack', 'ps', '--help']);
    expect(ps.stdout).toContain('Usage: swarmts stack ps [options] <stack>');
    expect(ps.stdout).toContain('--no-trunc');

    const rm = await swarmts(['stack', 'rm', '--help']);
    expect(rm.stdout).toContain('Usage: swarmts stack rm|remove [options] <stack...>');
  });

  it('asks for the stack name', async () => {
    expect(await swarmts(['stack', 'rm'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: missing required argument 'stack'. See 'swarmts --help'.\n",
    });
  });
});
