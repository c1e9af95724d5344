/**
 * Runs `swarmts agent` processes for tests, each with its own data dir, control socket and
 * listen address, started by a launcher: a plain child process on loopback, or a process
 * inside a test host's network namespace. Talks to each through the real control API client.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiClient } from '../src/api/client.js';
import type { Cluster, Node } from '../src/state/types.js';
import { memoryNodeDir } from '../src/worker/task-files-dir.js';
import type { TestHost } from './test-hosts.js';

/** What `swarmts` runs: the tests exercise the bundle users get (scripts/bundle.mjs). */
const MAIN = resolve(import.meta.dirname, '../dist/bundle/swarmts.js');

export type Launcher = (command: string, args: string[]) => ChildProcess;

export const loopbackLauncher: Launcher = (command, args) =>
  spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });

export interface AgentSpec {
  name: string;
  /** Directory for the data dir, the socket and the log. */
  dir: string;
  /** host:port the agent listens on. */
  listen: string;
  dockerHost?: string;
  launcher?: Launcher;
  extraArgs?: string[];
}

export class TestAgent {
  readonly client: ApiClient;
  readonly socket: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | undefined;
  /** The node id as the agent last said (for clean-up after it is gone). */
  nodeId: string | undefined;

  constructor(readonly spec: AgentSpec) {
    this.socket = join(spec.dir, 'swarmts.sock');
    this.dataDir = join(spec.dir, 'data');
    this.logFile = join(spec.dir, 'agent.log');
    this.client = new ApiClient(this.socket, 30_000);
  }

  get name(): string {
    return this.spec.name;
  }

  get address(): string {
    return this.spec.listen;
  }

  /** Starts the agent and waits until its control API answers. */
  async start(timeoutMs = 20_000): Promise<void> {
    await mkdir(this.spec.dir, { recursive: true });
    const args = [
      // As the `swarmts` launcher line does (see src/cli/main.ts).
      '--max-semi-space-size=1',
      '--v8-pool-size=1',
      MAIN,
      'agent',
      '--data-dir',
      this.dataDir,
      '--socket',
      this.socket,
      '--listen-addr',
      this.spec.listen,
      '--hostname',
      this.spec.name,
      '--log-level',
      'info',
      ...(this.spec.dockerHost ? ['--docker-host', this.spec.dockerHost] : []),
      ...(this.spec.extraArgs ?? []),
    ];
    const child = (this.spec.launcher ?? loopbackLauncher)(process.execPath, args);
    child.stderr?.pipe(createWriteStream(this.logFile, { flags: 'a' }));
    this.process = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`agent ${this.name} exited (${code ?? signal}) while starting`)),
      ),
    );
    exited.catch(() => {});
    await Promise.race([
      waitUntil(async () => (await this.client.get<string>('/_ping')) === 'OK', timeoutMs),
      exited,
    ]);
    this.nodeId = (await this.info()).ID;
  }

  /**
   * SIGTERM and wait for the exit. The task files the agent kept in memory (/dev/shm) go too,
   * as the test hosts' engines and data dirs do, so no run leaves secrets behind; a restarted
   * agent writes them again for the containers it adopts.
   */
  async stop(): Promise<number | null> {
    const nodeId = await this.info()
      .then((info) => info.ID)
      .catch(() => this.nodeId);
    const code = await this.signal('SIGTERM');
    if (nodeId) await rm(memoryNodeDir(nodeId), { recursive: true, force: true });
    return code;
  }

  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  private async signal(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exit = new Promise<number | null>((resolveExit) =>
      child.once('exit', (code) => resolveExit(code)),
    );
    child.kill(signal);
    return exit;
  }

  async info(): Promise<{
    ID: string;
    Swarm: { LocalNodeState: string; ControlAvailable: boolean };
  }> {
    return this.client.get('/info');
  }

  async id(): Promise<string> {
    return (await this.info()).ID;
  }

  nodes(): Promise<Node[]> {
    return this.client.get<Node[]>('/nodes');
  }

  node(ref: string): Promise<Node> {
    return this.client.get<Node>(`/nodes/${encodeURIComponent(ref)}`);
  }

  swarm(): Promise<Cluster> {
    return this.client.get<Cluster>('/swarm');
  }

  async init(advertise?: string): Promise<string> {
    return this.client.post<string>('/swarm/init', advertise ? { AdvertiseAddr: advertise } : {});
  }

  async join(token: string, manager: TestAgent): Promise<void> {
    await this.client.post('/swarm/join', { RemoteAddrs: [manager.address], JoinToken: token });
  }

  async updateNode(ref: string, change: (spec: Node['Spec']) => Node['Spec']): Promise<void> {
    const node = await this.node(ref);
    await this.client.post(`/nodes/${node.ID}/update`, change(node.Spec), {
      version: String(node.Version.Index),
    });
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }
}

/** Polls `condition` every 50 ms until it holds; fails with the last error after the deadline. */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not met within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The nodes as one manager sees them, by hostname. */
export async function nodesByName(agent: TestAgent): Promise<Map<string, Node>> {
  return new Map((await agent.nodes()).map((n) => [n.Description.Hostname, n]));
}

/** An agent on a test host: its data dir, its engine, listening on the host's address. */
export function agentOnHost(host: TestHost, name: string): TestAgent {
  return new TestAgent({
    name,
    dir: host.dataDir,
    listen: `${host.address}:4377`,
    dockerHost: host.dockerHost,
    launcher: (command, args) => host.spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] }),
  });
}
