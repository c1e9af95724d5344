#!/usr/bin/env node
/**
 * A Raft node serving the key-value state machine over HTTP on loopback: the real Raft stack
 * (core, LevelDB storage, libp2p transport, driver) in a process of its own, so tests and the
 * benchmark can kill -9 it. Not part of the agent; the agent embeds the same pieces.
 *
 *   node dist/raft/kv-server.js --data-dir DIR --print-id
 *   node dist/raft/kv-server.js --data-dir DIR --listen /ip4/127.0.0.1/tcp/P --http-port H \
 *     --secret HEX [--bootstrap ID,ID,ID] [--peer ID=MULTIADDR ...] [--force-new-cluster]
 *
 * HTTP: GET /status, GET /kv/KEY (linearizable; ?stale=1 for local), PUT /kv/KEY {value},
 * DELETE /kv/KEY, POST /cas/KEY {expected, value}, GET /dump, POST /members
 * {type, nodeId, address?}, POST /transfer {to}, POST /bench {proposals, concurrency,
 * valueBytes} (proposes from inside this process and reports commits/s and latencies, so the
 * figure measures Raft rather than HTTP).
 */
import '../polyfill.js';
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { createHost } from '../p2p/host.js';
import { loadOrCreateIdentity } from '../p2p/identity.js';
import { isMember } from './confchange.js';
import { NotLeaderError, RaftDriver } from './driver.js';
import { encodeKvCommand, type KvCommand, KvStateMachine } from './kv.js';
import { LevelStorage } from './level-storage.js';
import { forceNewCluster } from './recovery.js';
import { RaftTransport } from './transport.js';
import type { ConfChangeType } from './types.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'print-id': { type: 'boolean', default: false },
    listen: { type: 'string', default: '/ip4/127.0.0.1/tcp/0' },
    'http-port': { type: 'string', default: '0' },
    secret: { type: 'string' },
    bootstrap: { type: 'string' },
    peer: { type: 'string', multiple: true, default: [] },
    'force-new-cluster': { type: 'boolean', default: false },
    'snapshot-every': { type: 'string', default: '10000' },
    'tick-ms': { type: 'string', default: '100' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

async function main(): Promise<void> {
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const identity = await loadOrCreateIdentity(dataDir);
  if (values['print-id']) {
    process.stdout.write(`${identity.nodeId}\n`);
    return;
  }
  if (!values.secret || !/^[0-9a-f]{64}$/.test(values.secret)) {
    throw new Error('--secret must be 64 hex digits');
  }
  const logger = createLogger({
    level: values['log-level'] as LogLevel,
    bindings: { node: identity.nodeId.slice(-8) },
  });
  const bootstrap = values.bootstrap?.split(',').filter(Boolean);
  const storage = await LevelStorage.open(
    `${dataDir}/raft`,
    bootstrap ? { bootstrap: { voters: bootstrap } } : {},
  );
  if (values['force-new-cluster'])
    await forceNewCluster(storage, new KvStateMachine(), identity.nodeId);

  const host = await createHost({
    privateKey: identity.privateKey,
    networkSecret: Buffer.from(values.secret, 'hex'),
    listen: [values.listen],
  });
  const known = new Set<string>();
  const kv = new KvStateMachine();
  let driver: RaftDriver | undefined;
  const transport = new RaftTransport({
    host,
    selfId: identity.nodeId,
    isPeerAllowed: (id) =>
      driver !== undefined &&
      !driver.membership.removed.includes(id) &&
      (known.has(id) || isMember(driver.membership, id)),
    deliver: (message) => driver?.step(message),
    reportUnreachable: (id) => driver?.reportUnreachable(id),
    reportSnapshot: (id, ok) => driver?.reportSnapshot(id, ok),
    reportDisconnected: (id) => driver?.reportLeaderLost(id),
    logger,
  });
  for (const peer of values.peer) {
    const eq = peer.indexOf('=');
    const id = peer.slice(0, eq);
    known.add(id);
    await transport.addPeer(id, [peer.slice(eq + 1)]);
  }
  driver = new RaftDriver({
    id: identity.nodeId,
    storage,
    stateMachine: kv,
    sender: transport,
    logger,
    random: () => randomInt(2 ** 47) / 2 ** 47,
    tickMs: Number(values['tick-ms']),
    snapshotEveryEntries: Number(values['snapshot-every']),
    catchUpEntries: Math.floor(Number(values['snapshot-every']) / 2),
    onConfChange: (change, _conf, context) => {
      if (change.type === 'removeNode') transport.removePeer(change.nodeId);
      else if (context?.length) {
        known.add(change.nodeId);
        transport
          .addPeer(change.nodeId, [new TextDecoder().decode(context)])
          .catch((error: unknown) =>
            logger.warn({ peer: change.nodeId, err: oneLineMessage(error) }, 'bad member address'),
          );
      }
    },
  });
  await transport.start();
  driver.start();

  const raft = driver;
  const server = createServer((req, res) => {
    handle(raft, kv, req, res).catch((error: unknown) =>
      reply(res, statusOf(error), {
        message: oneLineMessage(error),
        outcome: error instanceof NotLeaderError ? error.outcome : 'unknown',
      }),
    );
  });
  await new Promise<void>((resolve) =>
    server.listen(Number(values['http-port']), '127.0.0.1', resolve),
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // One line for whoever started us: where to reach this node.
  process.stdout.write(
    `${JSON.stringify({ id: identity.nodeId, http: port, p2p: host.getMultiaddrs().map(String) })}\n`,
  );

  const shutdown = async () => {
    server.close();
    await raft.stop();
    await transport.stop();
    await host.stop();
    await storage.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

async function handle(
  driver: RaftDriver,
  kv: KvStateMachine,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [, resource, key] = url.pathname.split('/').map(decodeURIComponent);
  if (req.method === 'GET' && resource === 'status') {
    const s = driver.status();
    return reply(res, 200, {
      id: s.id,
      leader: s.leader,
      role: s.role,
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      voters: s.conf.voters,
      learners: s.conf.learners,
    });
  }
  if (req.method === 'GET' && resource === 'dump') {
    await driver.readBarrier();
    return reply(res, 200, Object.fromEntries(kv.entries()));
  }
  if (resource === 'kv' && key) {
    if (req.method === 'GET') {
      if (url.searchParams.get('stale') !== '1') await driver.readBarrier();
      return reply(res, 200, { value: kv.get(key) });
    }
    if (req.method === 'PUT') {
      const body = (await readJson(req)) as { value?: unknown };
      if (typeof body.value !== 'string')
        return reply(res, 400, { message: 'value must be a string' });
      return reply(
        res,
        200,
        await driver.propose(encodeKvCommand({ op: 'put', key, value: body.value })),
      );
    }
    if (req.method === 'DELETE') {
      return reply(res, 200, await driver.propose(encodeKvCommand({ op: 'delete', key })));
    }
  }
  if (req.method === 'POST' && resource === 'cas' && key) {
    const body = (await readJson(req)) as { expected?: unknown; value?: unknown };
    if (
      typeof body.value !== 'string' ||
      !(body.expected === null || typeof body.expected === 'string')
    ) {
      return reply(res, 400, {
        message: 'expected (string or null) and value (string) are required',
      });
    }
    const command: KvCommand = { op: 'cas', key, expected: body.expected, value: body.value };
    return reply(res, 200, await driver.propose(encodeKvCommand(command)));
  }
  if (req.method === 'POST' && resource === 'members') {
    const body = (await readJson(req)) as {
      type?: ConfChangeType;
      nodeId?: string;
      address?: string;
    };
    if (!body.type || !body.nodeId)
      return reply(res, 400, { message: 'type and nodeId are required' });
    const refusal = memberRequestError(body.nodeId, body.address);
    if (refusal) return reply(res, 400, { message: refusal });
    const context = body.address ? new TextEncoder().encode(body.address) : undefined;
    const conf = await driver.proposeConfChange({ type: body.type, nodeId: body.nodeId }, context);
    return reply(res, 200, conf);
  }
  if (req.method === 'POST' && resource === 'bench') {
    const body = (await readJson(req)) as {
      proposals?: number;
      concurrency?: number;
      valueBytes?: number;
    };
    return reply(
      res,
      200,
      await benchmark(
        driver,
        body.proposals ?? 10_000,
        body.concurrency ?? 1,
        body.valueBytes ?? 200,
      ),
    );
  }
  if (req.method === 'POST' && resource === 'transfer') {
    const body = (await readJson(req)) as { to?: string };
    if (!body.to) return reply(res, 400, { message: 'to is required' });
    driver.transferLeadership(body.to);
    return reply(res, 202, {});
  }
  return reply(res, 404, { message: `no route for ${req.method} ${url.pathname}` });
}

/** Proposes `total` puts from `concurrency` loops; the latency of each is propose → applied. */
async function benchmark(
  driver: RaftDriver,
  total: number,
  concurrency: number,
  valueBytes: number,
) {
  const value = 'x'.repeat(valueBytes);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const key = `bench-${next++}`;
        const t = performance.now();
        await driver.propose(encodeKvCommand({ op: 'put', key, value }));
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    commits: latencies.length,
    seconds,
    commitsPerSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/** A bad id or address must be refused before it is committed: every member would apply it. */
function memberRequestError(nodeId: string, address: string | undefined): string | undefined {
  try {
    peerIdFromString(nodeId);
  } catch {
    return `nodeId ${nodeId} is not a peer id`;
  }
  if (address === undefined) return undefined;
  try {
    multiaddr(address);
  } catch {
    return `address ${address} is not a multiaddr`;
  }
  return undefined;
}

function statusOf(error: unknown): number {
  if (error instanceof NotLeaderError) return 503;
  if (error instanceof SwarmtsError && error.code === 'invalid_argument') return 400;
  if (error instanceof SwarmtsError && error.code === 'unavailable') return 503;
  return 500;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    return {};
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

main().catch((error: unknown) => {
  process.stderr.write(`Error: ${oneLineMessage(error)}\n`);
  process.exit(1);
});
