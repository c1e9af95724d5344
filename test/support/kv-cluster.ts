/**
 * A cluster of real Raft KV nodes, each a separate `node dist/raft/kv-server.js` process with
 * its own LevelDB files and libp2p host on loopback, for tests that kill -9 and restart them.
 * Needs `npm run build` (npm test does it).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitUntil } from '../../cluster/agents.js';

export { waitUntil };

const SERVER = resolve(import.meta.dirname, '../../dist/raft/kv-server.js');

export interface KvNode {
  id: string;
  dataDir: string;
  p2pPort: number;
  httpPort: number;
  process: ChildProcess | undefined;
  stderr: string;
}

export interface NodeStatus {
  id: string;
  leader: string | null;
  role: string;
  term: number;
  commit: number;
  applied: number;
  voters: string[];
  learners: string[];
}

export class KvCluster {
  readonly nodes: KvNode[] = [];
  private readonly secret = randomBytes(32).toString('hex');
  private root = '';

  static async start(
    size: number,
    options: { snapshotEvery?: number; nodeFlags?: string[] } = {},
  ): Promise<KvCluster> {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build`);
    const cluster = new KvCluster(options.snapshotEvery ?? 10_000, options.nodeFlags ?? []);
    cluster.root = await mkdtemp(join(tmpdir(), 'swarmts-kv-'));
    for (let i = 0; i < size; i++) await cluster.prepare();
    const voters = cluster.nodes.map((n) => n.id);
    await Promise.all(
      cluster.nodes.map((n) => cluster.launch(n, ['--bootstrap', voters.join(',')])),
    );
    return cluster;
  }

  private constructor(
    private readonly snapshotEvery: number,
    /** Extra node flags for the servers, e.g. --cpu-prof when profiling. */
    private readonly nodeFlags: string[],
  ) {}

  /** A node with an identity and ports, not yet running. */
  async prepare(): Promise<KvNode> {
    const dataDir = join(this.root, `node${this.nodes.length + 1}`);
    const printed = spawnSync(process.execPath, [SERVER, '--data-dir', dataDir, '--print-id'], {
      encoding: 'utf8',
    });
    if (printed.status !== 0) throw new Error(`kv-server --print-id failed: ${printed.stderr}`);
    const node: KvNode = {
      id: printed.stdout.trim(),
      dataDir,
      p2pPort: await this.freePort(),
      httpPort: await this.freePort(),
      process: undefined,
      stderr: '',
    };
    this.nodes.push(node);
    return node;
  }

  private readonly ports = new Set<number>();

  /** A port free now and not handed to another node of this cluster (the OS may repeat one). */
  private async freePort(): Promise<number> {
    for (;;) {
      const port = await freePort();
      if (!this.ports.has(port)) {
        this.ports.add(port);
        return port;
      }
    }
  }

  address(node: KvNode): string {
    return `/ip4/127.0.0.1/tcp/${node.p2pPort}`;
  }

  /** Starts (or restarts) a node's process and waits until it serves HTTP. */
  async launch(node: KvNode, extra: string[] = []): Promise<void> {
    const peers = this.nodes
      .filter((n) => n !== node)
      .flatMap((n) => ['--peer', `${n.id}=${this.address(n)}`]);
    const child = spawn(
      process.execPath,
      [
        ...this.nodeFlags,
        SERVER,
        '--data-dir',
        node.dataDir,
        '--listen',
        this.address(node),
        '--http-port',
        String(node.httpPort),
        '--secret',
        this.secret,
        '--snapshot-every',
        String(this.snapshotEvery),
        ...peers,
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    node.process = child;
    node.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      node.stderr += chunk.toString();
    });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolvePromise, reject) => {
      child.once('exit', (code) => reject(new Error(`node exited with ${code}: ${node.stderr}`)));
      lines.once('line', () => resolvePromise());
    });
    child.removeAllListeners('exit');
  }

  kill(node: KvNode): void {
    node.process?.kill('SIGKILL');
    node.process = undefined;
  }

  running(): KvNode[] {
    return this.nodes.filter((n) => n.process !== undefined);
  }

  async status(node: KvNode): Promise<NodeStatus> {
    return (await this.call(node, 'GET', '/status')).body as NodeStatus;
  }

  /** The leader that every running node (or every one of `among`) agrees on. */
  async leader(timeoutMs = 20_000, among?: () => KvNode[]): Promise<KvNode> {
    const asked = among ?? (() => this.running());
    let found: KvNode | undefined;
    let statuses: Array<NodeStatus | undefined> = [];
    await waitUntil(async () => {
      statuses = await Promise.all(asked().map((n) => this.status(n).catch(() => undefined)));
      const leaderId = statuses[0]?.leader;
      const agreed = leaderId && statuses.every((s) => s?.leader === leaderId);
      found = agreed ? asked().find((n) => n.id === leaderId) : undefined;
      return found !== undefined;
    }, timeoutMs).catch((error: Error) => {
      const seen = statuses.map(
        (st) => st && `${st.id.slice(-6)}:${st.role}/${st.leader?.slice(-6)}@${st.term}`,
      );
      throw new Error(`${error.message}: no agreed leader (${seen.join(' ')})`);
    });
    return found!;
  }

  async put(node: KvNode, key: string, value: string): Promise<{ status: number; body: unknown }> {
    return this.call(node, 'PUT', `/kv/${encodeURIComponent(key)}`, { value });
  }

  async get(node: KvNode, key: string): Promise<{ status: number; body: unknown }> {
    return this.call(node, 'GET', `/kv/${encodeURIComponent(key)}`);
  }

  async cas(node: KvNode, key: string, expected: string | null, value: string) {
    return this.call(node, 'POST', `/cas/${encodeURIComponent(key)}`, { expected, value });
  }

  /** Every pair the node holds, after a linearizable read barrier. */
  async dump(node: KvNode): Promise<Record<string, string>> {
    const response = await this.call(node, 'GET', '/dump');
    if (response.status !== 200) throw new Error(`dump: ${JSON.stringify(response.body)}`);
    return response.body as Record<string, string>;
  }

  async changeMembers(node: KvNode, type: string, target: KvNode) {
    return this.call(node, 'POST', '/members', {
      type,
      nodeId: target.id,
      address: this.address(target),
    });
  }

  async call(
    node: KvNode,
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`http://127.0.0.1:${node.httpPort}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: signal ?? AbortSignal.timeout(5000),
    });
    return { status: response.status, body: await response.json() };
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) this.kill(node);
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
