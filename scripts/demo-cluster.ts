/**
 * The demo's cluster part. `up` (the default): three test hosts on this machine (each its own
 * network namespace, address and dockerd; without root, three addresses on loopback sharing
 * this machine's engine), a swarmts agent on each, then the CLI a user would
 * type — init, join, node ls, service create with three replicas of a small web server,
 * service ps — and a request to every node. The cluster stays up; `down` removes it. Running
 * `up` again first removes the previous demo, so it can be repeated.
 *
 * The web service publishes port 8080 through the routing mesh: every node answers on it.
 */
import '../src/polyfill.js';
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitUntil } from '../cluster/agents.js';
import { createTestHosts, DEFAULT_TEST_IMAGE, openTestHosts } from '../cluster/test-hosts.js';
import { ApiClient } from '../src/api/client.js';
import { DockerRuntime } from '../src/runtime/index.js';
import type { Node } from '../src/state/index.js';
import { memoryNodeDir } from '../src/worker/task-files-dir.js';

const CLI = resolve(import.meta.dirname, '../dist/bundle/swarmts.js');
const ROOT = process.getuid?.() === 0;
/**
 * Without root there are no network namespaces: three agents on 127.0.0.1–3 share this
 * machine's engine instead (SWARMTS_DEMO_LOOPBACK=1 picks that mode as root too).
 */
const LOOPBACK = !ROOT || process.env.SWARMTS_DEMO_LOOPBACK === '1';
const STATE_FILE = ROOT
  ? '/run/swarmts-demo.json'
  : join(tmpdir(), `swarmts-demo-${process.getuid?.()}.json`);
const LOOPBACK_DIR = join(tmpdir(), `swarmts-demo-${process.getuid?.() ?? 0}`);
const NAMES = ['node1', 'node2', 'node3'];

interface DemoState {
  /** The test-host run; empty in loopback mode. */
  runId: string;
  /** Loopback mode: the node ids, whose containers the shared engine must lose on `down`. */
  nodeIds?: string[];
  agents: Array<{ name: string; pid: number; socket: string; address: string; log: string }>;
}

function swarmts(socket: string, name: string, args: string[], quiet = false): Promise<string> {
  const shown = args.map((a) => (/[\s{}$;]/.test(a) ? `'${a}'` : a)).join(' ');
  if (!quiet) console.log(`\n[${name}]$ swarmts ${shown}`);
  return new Promise((resolvePromise, reject) => {
    execFile(CLI, args, { env: { ...process.env, SWARMTS_HOST: socket } }, (error, out, err) => {
      if (!quiet) process.stdout.write(out + err);
      if (error) reject(new Error(`swarmts ${args.join(' ')} failed: ${err.trim()}`));
      else resolvePromise(out);
    });
  });
}

async function down(): Promise<void> {
  const text = await readFile(STATE_FILE, 'utf8').catch(() => undefined);
  if (!text) return;
  const state = JSON.parse(text) as DemoState;
  for (const agent of state.agents) {
    try {
      process.kill(agent.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await waitUntil(
    () => state.agents.every((a) => !alive(a.pid)),
    15_000,
    'the demo agents to stop',
  ).catch(() => {
    for (const a of state.agents) if (alive(a.pid)) process.kill(a.pid, 'SIGKILL');
  });
  if (state.runId) {
    const hosts = await openTestHosts(state.runId).catch(() => undefined);
    await hosts?.destroy();
  } else {
    // Agents leave their containers running when they stop (a restart adopts them); the
    // shared engine keeps them, so they go here.
    const docker = new DockerRuntime();
    for (const nodeId of state.nodeIds ?? []) {
      for (const c of await docker.listContainers({ labels: { 'swarmts.node': nodeId } })) {
        await docker.removeContainer(c.id, { force: true });
      }
    }
    await rm(LOOPBACK_DIR, { recursive: true, force: true });
  }
  // The agents' task files (secrets, configs) on /dev/shm go with them.
  for (const nodeId of state.nodeIds ?? []) {
    await rm(memoryNodeDir(nodeId), { recursive: true, force: true });
  }
  await rm(STATE_FILE, { force: true });
  console.log('Demo cluster removed.');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The agents' machines: test hosts as root, 127.0.0.x addresses sharing the engine otherwise. */
async function startAgents(): Promise<DemoState> {
  const agentArgs = (dir: string, socket: string, listen: string, name: string) => [
    '--max-semi-space-size=1',
    '--v8-pool-size=1',
    CLI,
    'agent',
    '--data-dir',
    `${dir}/data`,
    '--socket',
    socket,
    '--listen-addr',
    listen,
    '--hostname',
    name,
  ];
  if (LOOPBACK) {
    console.log("Starting three agents on 127.0.0.1-3, sharing this machine's Docker engine...");
    const state: DemoState = { runId: '', agents: [] };
    for (const [i, name] of NAMES.entries()) {
      const dir = join(LOOPBACK_DIR, name);
      await mkdir(dir, { recursive: true });
      const log = `${dir}/agent.log`;
      const socket = `${dir}/swarmts.sock`;
      const address = `127.0.0.${i + 1}`;
      const child = spawn(process.execPath, agentArgs(dir, socket, `${address}:4377`, name), {
        detached: true,
        stdio: ['ignore', 'ignore', openSync(log, 'a')],
      });
      child.unref();
      state.agents.push({ name, pid: child.pid ?? 0, socket, address, log });
      console.log(`  ${name}: ${address}`);
    }
    return state;
  }
  console.log('Creating three test hosts (network namespaces, each with its own dockerd)...');
  const hosts = await createTestHosts({ count: 3, name: 'demo', persistent: true });
  const state: DemoState = { runId: hosts.id, agents: [] };
  for (const [i, host] of hosts.hosts.entries()) {
    const name = NAMES[i]!;
    const dir = `${host.dataDir}/swarmts`;
    await mkdir(dir, { recursive: true });
    const log = `${dir}/agent.log`;
    const socket = `${dir}/swarmts.sock`;
    // The agent outlives this script: its log goes to a file, not to a pipe we would close.
    const child = host.spawn(
      process.execPath,
      [...agentArgs(dir, socket, `${host.address}:4377`, name), '--docker-host', host.dockerHost],
      { stdio: ['ignore', 'ignore', openSync(log, 'a')] },
    );
    child.unref();
    state.agents.push({ name, pid: child.pid ?? 0, socket, address: host.address, log });
    console.log(`  ${name}: ${host.address}, engine ${host.dockerHost}`);
  }
  return state;
}

async function up(): Promise<void> {
  await down();
  const state = await startAgents();
  await writeFile(STATE_FILE, JSON.stringify(state, null, 2));
  await Promise.all(
    state.agents.map((a) =>
      waitUntil(async () => (await new ApiClient(a.socket).get('/_ping')) === 'OK', 30_000),
    ),
  );
  const [a1, a2, a3] = state.agents as [
    DemoState['agents'][0],
    DemoState['agents'][0],
    DemoState['agents'][0],
  ];
  const manager = `${a1.address}:4377`;
  await swarmts(a1.socket, a1.name, ['init', '--advertise-addr', a1.address]);
  const workerToken = (
    await swarmts(a1.socket, a1.name, ['join-token', '-q', 'worker'], true)
  ).trim();
  await swarmts(a2.socket, a2.name, ['join', '--token', workerToken, manager]);
  await swarmts(a3.socket, a3.name, ['join', '--token', workerToken, manager]);
  const api = new ApiClient(a1.socket);
  await waitUntil(async () => {
    const nodes = await api.get<Node[]>('/nodes');
    return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready');
  }, 20_000);
  state.nodeIds = (await api.get<Node[]>('/nodes')).map((n) => n.ID);
  await writeFile(STATE_FILE, JSON.stringify(state, null, 2));
  await swarmts(a1.socket, a1.name, ['node', 'ls']);
  await swarmts(a1.socket, a1.name, [
    'service',
    'create',
    '--name',
    'web',
    '--replicas',
    '3',
    '--publish',
    '8080:80',
    '--stop-grace-period',
    '2s',
    DEFAULT_TEST_IMAGE,
    'sh',
    '-c',
    'mkdir -p /www && echo "hello from task $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www',
  ]);
  await swarmts(a1.socket, a1.name, ['service', 'ps', 'web']);
  console.log('\nThe routing mesh answers on port 8080 of every node, wherever the replicas run:');
  for (const agent of state.agents) {
    const url = `http://${agent.address}:8080/`;
    // The mesh learns of the replicas a moment after they run: a few tries at most.
    let body = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      body = await fetch(url, { signal: AbortSignal.timeout(3000) })
        .then((r) => r.text())
        .catch((error: unknown) => `(no answer: ${String(error)})`);
      if (!body.startsWith('(no answer')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`  $ curl ${url}    # ${agent.name}\n  ${body.trim()}`);
  }
  console.log(`
The cluster keeps running. Try, for instance:
  SWARMTS_HOST=${a1.socket} npx swarmts service scale web=6
  SWARMTS_HOST=${a1.socket} npx swarmts service ps web
  SWARMTS_HOST=${a1.socket} npx swarmts service logs web
Agent logs: ${state.agents.map((a) => a.log).join(' ')}
Remove it all with: bash scripts/demo.sh down`);
}

const command = process.argv[2] ?? 'up';
(command === 'down' ? down() : up()).catch((error: unknown) => {
  console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
