/**
 * The stock docker CLI manages a swarmts cluster: three test hosts (one manager, two workers),
 * the CLI pointed at the manager's control socket with -H, as a user would. Debian's docker.io
 * client (API 1.41) runs every command; a newer client, when the machine has one at
 * /usr/local/bin/docker, runs version negotiation, the lists and a whole stack's life.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOnHost, type TestAgent, waitUntil } from '../../cluster/agents.js';
import {
  createTestHosts,
  DEFAULT_TEST_IMAGE,
  type TestHost,
  type TestHosts,
} from '../../cluster/test-hosts.js';
import type { Task } from '../../src/state/index.js';
import { memoryNodeDir } from '../../src/worker/task-files-dir.js';

const DEBIAN_DOCKER = '/usr/bin/docker';
const NEWER_DOCKER = '/usr/local/bin/docker';
const NAMES = ['m0', 'w1', 'w2'];

let hosts: TestHosts;
let work: string;
const agents = new Map<string, TestAgent>();
const hostOf = new Map<string, TestHost>();
const manager = () => agents.get('m0')!;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One docker CLI command against the manager's socket; never throws for a non-zero exit. */
function docker(args: string[], options: { client?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      options.client ?? DEBIAN_DOCKER,
      ['-H', `unix://${manager().socket}`, ...args],
      {
        cwd: options.cwd ?? work,
        timeout: 120_000,
        env: { ...process.env, DOCKER_CONFIG: join(work, '.docker'), DOCKER_CLI_HINTS: 'false' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A command that must succeed; its stdout. */
async function ok(args: string[], options: { client?: string; cwd?: string } = {}) {
  const run = await docker(args, options);
  if (run.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${run.code}: ${run.stderr.trim()}`);
  }
  return run.stdout;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

async function tasksOf(service: string): Promise<Task[]> {
  return manager().client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ service: [service] }),
  });
}

async function runningTasks(service: string): Promise<Task[]> {
  return (await tasksOf(service)).filter(
    (t) => t.Status.State === 'running' && t.DesiredState === 'running',
  );
}

/** Containers of every engine whose labels match, as the engines report them. */
async function containers(label: string): Promise<string[]> {
  const all = await Promise.all(
    [...hostOf.values()].map(async (host) =>
      (await host.docker().listContainers({ all: true, filters: { label: [label] } })).map(
        (c) => c.Id,
      ),
    ),
  );
  return all.flat();
}

/** Files under `dir` whose content includes `text` (missing directories: none). */
async function filesContaining(dir: string, text: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const content = await readFile(path, 'utf8').catch(() => '');
    if (content.includes(text)) found.push(path);
  }
  return found;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'swarmts-docker-cli-'));
  hosts = await createTestHosts({ count: NAMES.length, name: 'dcli' });
  NAMES.forEach((name, i) => {
    const host = hosts.hosts[i]!;
    agents.set(name, agentOnHost(host, name));
    hostOf.set(name, host);
  });
  await Promise.all([...agents.values()].map((a) => a.start(30_000)));
  await manager().init(hosts.hosts[0]!.address);
  const tokens = (await manager().swarm()).JoinTokens;
  await agents.get('w1')!.join(tokens.Worker, manager());
  await agents.get('w2')!.join(tokens.Worker, manager());
  await waitUntil(
    async () => {
      const nodes = await manager().nodes();
      return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready');
    },
    20_000,
    'three ready nodes',
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop().catch(() => {})));
  const keep = process.env.SWARMTS_KEEP_LOGS;
  if (keep) {
    await mkdir(keep, { recursive: true });
    for (const a of agents.values()) await copyFile(a.logFile, join(keep, `dcli-${a.name}.log`));
  }
  await hosts?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

describe('the docker CLI (Debian docker.io) against swarmts', () => {
  it('negotiates the API and shows the swarm in version and info', async () => {
    const version = await ok([
      'version',
      '--format',
      '{{.Server.APIVersion}} {{.Client.APIVersion}}',
    ]);
    expect(version.trim()).toBe('1.47 1.41');
    const info = await ok(['info']);
    expect(info).toMatch(/Swarm: active/);
    expect(info).toMatch(/Is Manager: true/);
    expect(info).toMatch(/Nodes: 3/);
    const swarm = JSON.parse(await ok(['info', '--format', '{{json .Swarm}}']));
    expect(swarm.ControlAvailable).toBe(true);
    expect(swarm.NodeID).toBe(
      (await manager().nodes()).find((n) => n.Description.Hostname === 'm0')?.ID,
    );
  });

  it('answers an engine-only command at once with a Docker-style error', async () => {
    const started = Date.now();
    const run = await docker(['ps']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Error response from daemon: swarmts does not serve \/containers/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('lists, labels, promotes and demotes nodes, and refuses to remove a live one', async () => {
    const ls = lines(await ok(['node', 'ls']));
    expect(ls[0]).toMatch(
      /^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION/,
    );
    expect(ls.filter((l) => / Ready /.test(l))).toHaveLength(3);
    expect(ls.find((l) => / m0 /.test(l))).toMatch(/\*\s+m0\s+Ready\s+Active\s+Leader/);
    await ok(['node', 'update', '--label-add', 'zone=east', 'w1']);
    expect((await ok(['node', 'inspect', '--format', '{{json .Spec.Labels}}', 'w1'])).trim()).toBe(
      '{"zone":"east"}',
    );
    await ok(['node', 'promote', 'w2']);
    await waitUntil(
      async () => /Reachable/.test(await ok(['node', 'ls', '--filter', 'name=w2'])),
      30_000,
      'w2 a reachable manager',
    );
    await ok(['node', 'demote', 'w2']);
    await waitUntil(
      async () =>
        (
          await ok(['node', 'inspect', '--format', '{{.Spec.Role}} {{.ManagerStatus}}', 'w2'])
        ).trim() === 'worker <nil>',
      30_000,
      'w2 a worker again',
    );
    const rm = await docker(['node', 'rm', 'w1']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(
      /Error response from daemon: node \S+ is not down and can't be removed/,
    );
  }, 90_000);

  it('creates, inspects, scales, updates, rolls back, logs and removes a service', async () => {
    // Without --detach the CLI follows the tasks until they converge, as with Docker Swarm.
    const create = await docker([
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '2',
      '--publish',
      '18080:80',
      DEFAULT_TEST_IMAGE,
      'sh',
      '-c',
      'mkdir -p /www && echo hello from $(hostname) && echo swarmts > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    expect(create.code, `${create.stdout}\n${create.stderr}`).toBe(0);
    expect(create.stdout).toMatch(/verify: Service (\S+ )?converged/);
    expect(await ok(['service', 'ls', '--format', '{{.Name}} {{.Replicas}} {{.Ports}}'])).toBe(
      'web 2/2 *:18080->80/tcp\n',
    );
    // The routing mesh answers on a node that may run no task.
    const page = await hostOf.get('w2')!.httpGet(`http://${hosts.hosts[0]!.address}:18080/`);
    expect(page.body.trim()).toBe('swarmts');
    expect(
      lines(await ok(['service', 'ps', '--filter', 'desired-state=running', '-q', 'web'])),
    ).toHaveLength(2);
    expect(
      (
        await ok(['service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', 'web'])
      ).trim(),
    ).toBe('2');

    await ok(['service', 'scale', 'web=3']);
    expect(await runningTasks('web')).toHaveLength(3);

    await ok(['service', 'update', '--env-add', 'COLOR=blue', 'web']);
    const env = await ok([
      'service',
      'inspect',
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
      'web',
    ]);
    expect(JSON.parse(env)).toEqual(['COLOR=blue']);
    await ok(['service', 'rollback', 'web']);
    const rolledBack = await ok([
      'service',
      'inspect',
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
      'web',
    ]);
    expect(JSON.parse(rolledBack) ?? []).toEqual([]);

    let logs = '';
    await waitUntil(
      async () => {
        logs = await ok(['service', 'logs', 'web']);
        return lines(logs).filter((l) => /\| hello from /.test(l)).length >= 3;
      },
      20_000,
      'three log lines',
    );
    expect(lines(logs)[0]).toMatch(/^web\.\d\.\w+@(m0|w1|w2)\s+\| hello from \w+/);

    await ok(['service', 'rm', 'web']);
    await waitUntil(
      async () => (await containers('swarmts.service')).length === 0,
      30_000,
      'no containers',
    );
    expect(lines(await ok(['service', 'ls', '-q']))).toEqual([]);
  }, 180_000);

  it('runs a replicated job and a global job to completion, following their progress', async () => {
    const job = await docker([
      'service',
      'create',
      '--mode',
      'replicated-job',
      '--replicas',
      '2',
      '--name',
      'once',
      DEFAULT_TEST_IMAGE,
      'true',
    ]);
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toMatch(/job complete/);
    const global = await docker([
      'service',
      'create',
      '--mode',
      'global-job',
      '--name',
      'everywhere',
      DEFAULT_TEST_IMAGE,
      'true',
    ]);
    expect(global.code, global.stderr).toBe(0);
    expect(await ok(['service', 'ls', '--format', '{{.Name}} {{.Replicas}}'])).toBe(
      'everywhere 0/0 (3/3 completed)\nonce 0/2 (2/2 completed)\n',
    );
    await ok(['service', 'rm', 'once', 'everywhere']);
  }, 120_000);

  it('creates, lists, inspects and removes secrets and configs; never shows a secret', async () => {
    await writeFile(join(work, 'token.txt'), 'very-secret-token');
    await writeFile(join(work, 'app.conf'), 'mode=fast\n');
    const secretId = (
      await ok(['secret', 'create', '--label', 'team=a', 'api_token', 'token.txt'])
    ).trim();
    const configId = (await ok(['config', 'create', 'app_conf', 'app.conf'])).trim();
    expect(await ok(['secret', 'ls', '--format', '{{.ID}} {{.Name}}'])).toBe(
      `${secretId} api_token\n`,
    );
    expect(await ok(['config', 'ls', '--format', '{{.ID}} {{.Name}}'])).toBe(
      `${configId} app_conf\n`,
    );
    const secret = await ok(['secret', 'inspect', 'api_token']);
    expect(JSON.parse(secret)[0].Spec).toEqual({ Name: 'api_token', Labels: { team: 'a' } });
    expect(secret).not.toContain(Buffer.from('very-secret-token').toString('base64'));
    expect(await ok(['config', 'inspect', '--pretty', 'app_conf'])).toMatch(/Data:\nmode=fast/);

    // Used by a service: removal is refused, naming the service.
    await ok([
      'service',
      'create',
      '--detach',
      '--name',
      'reader',
      '--secret',
      'api_token',
      '--config',
      'source=app_conf,target=/etc/app.conf',
      DEFAULT_TEST_IMAGE,
      'sh',
      '-c',
      'cat /run/secrets/api_token /etc/app.conf; sleep 3600',
    ]);
    const refused = await docker(['secret', 'rm', 'api_token']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/secret 'api_token' is in use by the following service: reader/);
    await waitUntil(
      async () => (await runningTasks('reader')).length === 1,
      30_000,
      'reader running',
    );
    let logs = '';
    await waitUntil(
      async () => {
        logs = await ok(['service', 'logs', 'reader']);
        return logs.includes('mode=fast');
      },
      20_000,
      'the reader printed its files',
    );
    expect(logs).toContain('very-secret-token');
    // Only the node running the task holds the secret (in its own directory on /dev/shm).
    const [readerTask] = await runningTasks('reader');
    const nodeDirs = (await manager().nodes()).map((n) => memoryNodeDir(n.ID));
    const holders = (
      await Promise.all(nodeDirs.map((dir) => filesContaining(dir, 'very-secret-token')))
    ).flat();
    expect(holders.length).toBeGreaterThan(0);
    const taskDir = `${memoryNodeDir(readerTask!.NodeID)}/`;
    expect(holders.filter((path) => !path.startsWith(taskDir))).toEqual([]);
    await ok(['service', 'rm', 'reader']);
    await ok(['secret', 'rm', 'api_token']);
    await ok(['config', 'rm', 'app_conf']);
    expect(await ok(['secret', 'ls', '-q'])).toBe('');
    expect(await ok(['config', 'ls', '-q'])).toBe('');
    // The secret reached the task and nothing else: no agent wrote it to its log.
    for (const a of agents.values()) {
      expect(await readFile(a.logFile, 'utf8')).not.toContain('very-secret-token');
    }
  }, 120_000);
});

const STACK_FILE = `version: "3.8"
x-common: &common
  image: ${DEFAULT_TEST_IMAGE}
services:
  web:
    <<: *common
    command: ["sh", "-c", "mkdir -p /www && cp /etc/site/index.html /www/ && cp /run/secrets/greeting /www/secret.txt && exec httpd -f -p 80 -h /www"]
    ports:
      - "18090:80"
    deploy:
      replicas: \${WEB_REPLICAS:-2}
      labels:
        tier: front
      update_config:
        parallelism: 1
        delay: 1s
        order: start-first
      restart_policy:
        condition: any
        delay: 1s
      resources:
        limits:
          memory: 64M
        reservations:
          memory: 16M
      placement:
        constraints: [node.role == worker]
    secrets:
      - greeting
    configs:
      - source: site
        target: /etc/site/index.html
  sidecar:
    <<: *common
    command: ["sleep", "3600"]
    deploy:
      mode: global
secrets:
  greeting:
    file: ./greeting.txt
configs:
  site:
    file: ./index.html
`;

/** A stack's whole life with one docker client: deploy, serve, update, remove. */
async function stackLife(client: string, port: number): Promise<void> {
  const dir = await mkdtemp(join(work, 'stack-'));
  await writeFile(join(dir, 'greeting.txt'), 'hello-secret');
  await writeFile(join(dir, 'index.html'), 'hello from the stack\n');
  await writeFile(join(dir, 'docker-compose.yml'), STACK_FILE.replace('18090', String(port)));
  const run = (args: string[]) => ok(args, { client, cwd: dir });

  await run(['stack', 'deploy', '-c', 'docker-compose.yml', 'shop']);
  expect(await run(['stack', 'ls', '--format', '{{.Name}} {{.Services}}'])).toBe('shop 2\n');
  await waitUntil(
    async () =>
      (await runningTasks('shop_web')).length === 2 &&
      (await runningTasks('shop_sidecar')).length === 3,
    60_000,
    'two web tasks and a sidecar on every node',
  );
  const services = await run([
    'stack',
    'services',
    '--format',
    '{{.Name}} {{.Mode}} {{.Replicas}}',
    'shop',
  ]);
  expect(lines(services).sort()).toEqual(['shop_sidecar global 3/3', 'shop_web replicated 2/2']);
  // Placement: web only on workers.
  const nodes = await manager().nodes();
  const webNodes = (await runningTasks('shop_web')).map(
    (t) => nodes.find((n) => n.ID === t.NodeID)?.Description.Hostname,
  );
  expect(webNodes.every((name) => name === 'w1' || name === 'w2')).toBe(true);
  // Deploy keys reached the spec.
  const spec = JSON.parse(
    await run(['service', 'inspect', '--format', '{{json .Spec}}', 'shop_web']),
  );
  expect(spec.Labels).toMatchObject({ tier: 'front', 'com.docker.stack.namespace': 'shop' });
  expect(spec.UpdateConfig).toMatchObject({ Parallelism: 1, Delay: 1e9, Order: 'start-first' });
  expect(spec.TaskTemplate.Resources.Limits.MemoryBytes).toBe(64 * 1024 * 1024);
  // The config and the secret were mounted: the mesh serves both, from the manager's address.
  const m0 = hosts.hosts[0]!.address;
  await waitUntil(
    async () =>
      (await hostOf.get('m0')!.httpGet(`http://${m0}:${port}/`)).body === 'hello from the stack\n',
    20_000,
    'the page through the routing mesh',
  );
  expect((await hostOf.get('w1')!.httpGet(`http://${m0}:${port}/secret.txt`)).body).toBe(
    'hello-secret',
  );
  const ps = lines(
    await run([
      'stack',
      'ps',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.Name}}',
      'shop',
    ]),
  );
  expect(ps).toHaveLength(5);

  // An update of the stack: more web replicas; the sidecar's spec did not change, its tasks stay.
  const sidecarBefore = (await runningTasks('shop_sidecar')).map((t) => t.ID).sort();
  process.env.WEB_REPLICAS = '3';
  try {
    await run(['stack', 'deploy', '-c', 'docker-compose.yml', 'shop']);
  } finally {
    delete process.env.WEB_REPLICAS;
  }
  await waitUntil(
    async () => (await runningTasks('shop_web')).length === 3,
    60_000,
    'three web tasks',
  );
  expect((await runningTasks('shop_sidecar')).map((t) => t.ID).sort()).toEqual(sidecarBefore);

  const serviceIds = lines(await run(['stack', 'services', '-q', 'shop']));
  await run(['stack', 'rm', 'shop']);
  await waitUntil(
    async () => {
      const left = await Promise.all(serviceIds.map((id) => containers(`swarmts.service=${id}`)));
      return left.flat().length === 0;
    },
    60_000,
    'every container of the stack gone',
  );
  expect(await run(['stack', 'ls', '--format', '{{.Name}}'])).toBe('');
  expect(await run(['secret', 'ls', '-q'])).toBe('');
  expect(await run(['config', 'ls', '-q'])).toBe('');
  expect(await run(['network', 'ls', '-q'])).toBe('');
}

describe('docker stack against swarmts', () => {
  it('deploys a Compose stack with deploy keys, ports, secrets and configs, updates it and removes it (Debian client)', async () => {
    await stackLife(DEBIAN_DOCKER, 18090);
  }, 240_000);

  it.skipIf(!existsSync(NEWER_DOCKER))(
    'does the same with a newer docker client, which negotiates down to swarmts API',
    async () => {
      const version = await ok(['version', '--format', '{{.Client.APIVersion}}'], {
        client: NEWER_DOCKER,
      });
      expect(version.trim()).toBe('1.47');
      await stackLife(NEWER_DOCKER, 18091);
    },
    240_000,
  );
});

/** The swarmts CLI as a user runs it (the built binary), against the manager's socket. */
function swarmtsCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(process.cwd(), 'dist/bundle/swarmts.js'), '-H', manager().socket, ...args],
      { cwd, timeout: 120_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('swarmts stack against the same cluster', () => {
  it('deploys merged Compose files, changes only what changed, prunes, and removes the stack', async () => {
    const dir = await mkdtemp(join(work, 'swarmts-stack-'));
    await writeFile(join(dir, 'greeting.txt'), 'hello-secret');
    await writeFile(join(dir, 'index.html'), 'hello from swarmts stack\n');
    await writeFile(join(dir, 'docker-compose.yml'), STACK_FILE.replace('18090', '18092'));
    // A second file merged over the first: another label, a build key Swarm ignores.
    await writeFile(
      join(dir, 'prod.yml'),
      'services:\n  web:\n    build: .\n    deploy:\n      labels:\n        env: prod\n',
    );
    const cli = async (args: string[], env: Record<string, string> = {}) => {
      const run = await swarmtsCli(args, dir, env);
      if (run.code !== 0) throw new Error(`swarmts ${args.join(' ')}: ${run.stderr}`);
      return run;
    };
    const files = ['-c', 'docker-compose.yml', '-c', 'prod.yml'];

    const first = await cli(['stack', 'deploy', ...files, 'shop2']);
    expect(first.stderr).toContain('Ignoring unsupported options: build');
    expect(lines(first.stdout)).toEqual([
      'Creating network shop2_default',
      'Creating secret shop2_greeting',
      'Creating config shop2_site',
      expect.stringMatching(/^Creating service shop2_(web|sidecar)$/),
      expect.stringMatching(/^Creating service shop2_(web|sidecar)$/),
    ]);
    await waitUntil(
      async () =>
        (await runningTasks('shop2_web')).length === 2 &&
        (await runningTasks('shop2_sidecar')).length === 3,
      60_000,
      'the stack running',
    );
    const labels = JSON.parse(
      await ok(['service', 'inspect', '--format', '{{json .Spec.Labels}}', 'shop2_web']),
    );
    expect(labels).toMatchObject({ tier: 'front', env: 'prod' });
    const m0 = hosts.hosts[0]!.address;
    await waitUntil(
      async () =>
        (await hostOf.get('w2')!.httpGet(`http://${m0}:18092/`)).body ===
        'hello from swarmts stack\n',
      20_000,
      'the page through the routing mesh',
    );
    // The docker CLI sees the same stack.
    expect(await ok(['stack', 'ls', '--format', '{{.Name}} {{.Services}}'])).toBe('shop2 2\n');

    // The same files again: nothing changes, no task is replaced.
    const before = [...(await runningTasks('shop2_web')), ...(await runningTasks('shop2_sidecar'))]
      .map((t) => t.ID)
      .sort();
    const again = await cli(['stack', 'deploy', ...files, 'shop2']);
    expect(again.stdout).toContain('Service shop2_web is up to date');
    expect(again.stdout).toContain('Service shop2_sidecar is up to date');
    const after = [...(await runningTasks('shop2_web')), ...(await runningTasks('shop2_sidecar'))]
      .map((t) => t.ID)
      .sort();
    expect(after).toEqual(before);

    // One value changed through the environment: only that service is updated.
    const scaled = await cli(['stack', 'deploy', ...files, 'shop2'], { WEB_REPLICAS: '3' });
    expect(scaled.stdout).toMatch(/Updating service shop2_web \(id: \w+\)/);
    expect(scaled.stdout).toContain('Service shop2_sidecar is up to date');
    await waitUntil(async () => (await runningTasks('shop2_web')).length === 3, 60_000, '3 web');

    const services = await cli([
      'stack',
      'services',
      '--format',
      '{{.Name}} {{.Replicas}}',
      'shop2',
    ]);
    expect(lines(services.stdout).sort()).toEqual(['shop2_sidecar 3/3', 'shop2_web 3/3']);
    const ps = await cli(['stack', 'ps', '-q', '--filter', 'desired-state=running', 'shop2']);
    expect(lines(ps.stdout)).toHaveLength(6);

    // --prune: a file without the sidecar removes it.
    await writeFile(
      join(dir, 'web-only.yml'),
      STACK_FILE.replace('18090', '18092').replace(/ {2}sidecar:\n(?: {4}.*\n)+/, ''),
    );
    const pruned = await cli(
      ['stack', 'deploy', '-c', 'web-only.yml', '-c', 'prod.yml', '--prune', 'shop2'],
      { WEB_REPLICAS: '3' },
    );
    expect(pruned.stdout).toContain('Removing service shop2_sidecar');
    expect(pruned.stdout).toContain('Service shop2_web is up to date');

    // A file that is not valid Compose: its path and line, nothing deployed.
    await writeFile(
      join(dir, 'bad.yml'),
      'services:\n  web:\n    image: x\n    deploy:\n      replicas: many\n',
    );
    const bad = await swarmtsCli(['stack', 'deploy', '-c', 'bad.yml', 'broken'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Error: bad\.yml:5:\d+: .*replicas/);
    expect(await ok(['service', 'ls', '--filter', 'name=broken', '-q'])).toBe('');

    const webId = (await ok(['service', 'inspect', '--format', '{{.ID}}', 'shop2_web'])).trim();
    const removed = await cli(['stack', 'rm', 'shop2']);
    expect(lines(removed.stdout)).toEqual([
      'Removing service shop2_web',
      'Removing secret shop2_greeting',
      'Removing config shop2_site',
      'Removing network shop2_default',
    ]);
    await waitUntil(
      async () => (await containers(`swarmts.service=${webId}`)).length === 0,
      60_000,
      'the stack gone from every engine',
    );
    expect((await cli(['stack', 'ls'])).stdout).toMatch(/^NAME\s+SERVICES\n$/);
  }, 240_000);
});
