/**
 * npm run bench:mesh — the routing mesh against the same backend reached directly, same run,
 * same client (our own, below), on two test hosts: the backend task runs on m0; the mesh is
 * entered on w1 (one proxy hop across nodes, the common case) and the direct path goes to
 * m0's address and the host port Docker gave the task.
 *
 *   persistent connections: 8 connections, each sending 64-byte messages to an echo backend
 *     (busybox `nc -ll -e cat`) and waiting for the echo, for --seconds: requests/s, p50, p99
 *   new connections: 8 clients, each opening a connection per HTTP GET to busybox httpd
 *
 * Prints a table, then one JSON line (prefixed `BENCH_JSON `).
 */
import '../../src/polyfill.js';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { agentOnHost, waitUntil } from '../../cluster/agents.js';
import { createTestHosts, DEFAULT_TEST_IMAGE } from '../../cluster/test-hosts.js';
import type { ServiceSpec, Task } from '../../src/state/index.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);

interface Run {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function summarize(latencies: number[], errors: number, seconds: number): Run {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    requests: sorted.length,
    perSecond: sorted.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errors,
  };
}

/** Echo round trips on persistent connections. */
async function persistent(host: string, port: number, concurrency = CONCURRENCY): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const message = Buffer.alloc(64, 'x');
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const socket: Socket = await new Promise((resolve, reject) => {
        const s = connect({ host, port, noDelay: true }, () => resolve(s));
        s.once('error', reject);
      });
      try {
        while (performance.now() < deadline) {
          const started = performance.now();
          await new Promise<void>((resolve, reject) => {
            let got = 0;
            const onData = (chunk: Buffer) => {
              got += chunk.length;
              if (got >= message.length) {
                socket.off('data', onData);
                socket.off('error', reject);
                resolve();
              }
            };
            socket.on('data', onData);
            socket.once('error', reject);
            socket.write(message);
          });
          latencies.push(performance.now() - started);
        }
      } catch {
        errors++;
      } finally {
        socket.destroy();
      }
    }),
  );
  return summarize(latencies, errors, SECONDS);
}

/** One HTTP GET per new connection. */
async function fresh(host: string, port: number, concurrency = CONCURRENCY): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const ok = await new Promise<boolean>((resolve) => {
          const req = request(
            { host, port, path: '/', agent: false, headers: { connection: 'close' } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200));
              res.on('error', () => resolve(false));
            },
          );
          req.on('error', () => resolve(false));
          req.setTimeout(3000, () => req.destroy());
          req.end();
        });
        if (ok) latencies.push(performance.now() - started);
        else errors++;
      }
    }),
  );
  return summarize(latencies, errors, SECONDS);
}

async function main(): Promise<void> {
  const hosts = await createTestHosts({ count: 2, name: 'bmesh' });
  const agents = ['m0', 'w1'].map((name, i) => agentOnHost(hosts.hosts[i]!, name));
  try {
    await Promise.all(agents.map((a) => a.start(30_000)));
    const [m0, w1] = agents as [(typeof agents)[0], (typeof agents)[0]];
    await m0.init(hosts.hosts[0]!.address);
    await w1.join((await m0.swarm()).JoinTokens.Worker, m0);
    await waitUntil(
      async () => (await m0.nodes()).filter((n) => n.Status.State === 'ready').length === 2,
      30_000,
    );
    const service = (name: string, args: string[], published: number): ServiceSpec => ({
      Name: name,
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: DEFAULT_TEST_IMAGE, Args: args, StopGracePeriod: 1e9 },
        Placement: { Constraints: ['node.hostname==m0'] },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: published }] },
    });
    const echo = await m0.client.post<{ ID: string }>(
      '/services/create',
      service('echo', ['nc', '-ll', '-p', '80', '-e', 'cat'], 18081),
    );
    const web = await m0.client.post<{ ID: string }>(
      '/services/create',
      service(
        'web',
        [
          'sh',
          '-c',
          'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www',
        ],
        18080,
      ),
    );
    const hostPort = async (id: string): Promise<number> => {
      let port = 0;
      await waitUntil(async () => {
        const tasks = await m0.client.get<Task[]>('/tasks', {
          filters: JSON.stringify({ service: [id] }),
        });
        const running = tasks.find((t) => t.Status.State === 'running');
        port = running?.Status.PortStatus?.Ports?.[0]?.PublishedPort ?? 0;
        return port > 0;
      }, 60_000);
      return port;
    };
    const echoPort = await hostPort(echo.ID);
    const webPort = await hostPort(web.ID);
    const m0Addr = hosts.hosts[0]!.address;
    const w1Addr = hosts.hosts[1]!.address;
    // The mesh answers once the table reaches w1.
    await waitUntil(
      async () => (await fresh(w1Addr, 18080).catch(() => undefined))?.requests !== undefined,
      30_000,
    );
    // Warm-up, then alternate direct and mesh.
    await persistent(m0Addr, echoPort);
    // Throughput with CONCURRENCY clients (the machine saturated); latency with one client
    // (queueing on two busy cores would otherwise drown what the hop adds).
    const f = {
      persistentDirect: await persistent(m0Addr, echoPort),
      persistentMesh: await persistent(w1Addr, 18081),
      persistentDirect1: await persistent(m0Addr, echoPort, 1),
      persistentMesh1: await persistent(w1Addr, 18081, 1),
      newDirect: await fresh(m0Addr, webPort),
      newMesh: await fresh(w1Addr, 18080),
      newDirect1: await fresh(m0Addr, webPort, 1),
      newMesh1: await fresh(w1Addr, 18080, 1),
    };
    const figures = f;
    const row = (what: string, direct: Run, mesh: Run, direct1: Run, mesh1: Run) =>
      [
        what,
        `${direct.perSecond.toFixed(0)} req/s; 1 client: p50 ${direct1.p50Ms.toFixed(2)} ms, p99 ${direct1.p99Ms.toFixed(2)} ms`,
        `${mesh.perSecond.toFixed(0)} req/s; 1 client: p50 ${mesh1.p50Ms.toFixed(2)} ms, p99 ${mesh1.p99Ms.toFixed(2)} ms`,
        `${(mesh.perSecond / direct.perSecond).toFixed(2)}× throughput, +${(mesh1.p50Ms - direct1.p50Ms).toFixed(2)} ms p50, +${(mesh1.p99Ms - direct1.p99Ms).toFixed(2)} ms p99, errors ${mesh.errors + mesh1.errors}`,
      ].join(' | ');
    console.log(
      'figure | direct | through the mesh (another node) | ratio (targets ≥ 0.7×, ≤ +0.5 ms p50)',
    );
    console.log(
      row(
        `persistent connections, 64-byte echo, ${CONCURRENCY} clients`,
        f.persistentDirect,
        f.persistentMesh,
        f.persistentDirect1,
        f.persistentMesh1,
      ),
    );
    console.log(
      row(
        `new connection per HTTP GET, ${CONCURRENCY} clients`,
        f.newDirect,
        f.newMesh,
        f.newDirect1,
        f.newMesh1,
      ),
    );
    console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
  } finally {
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    await hosts.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
