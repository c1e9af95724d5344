import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IngressMesh, type IngressMeshOptions } from '../../../src/ingress/index.js';
import { silentLogger } from '../../../src/log.js';
import {
  cleanupAll,
  connect,
  freePort,
  HOST,
  onCleanup,
  table,
  tcpBackend,
  udpBackend,
  udpClient,
} from './harness.js';

const SELF = 'node-self';
const OTHER = 'node-other';

function mesh(options: Partial<IngressMeshOptions> = {}): IngressMesh {
  const m = new IngressMesh({
    listenAddress: HOST,
    selfNodeId: SELF,
    logger: silentLogger,
    ...options,
  });
  onCleanup(() => m.close());
  return m;
}

afterEach(cleanupAll);

describe('IngressMesh TCP', () => {
  it('spreads concurrent connections over the backends, local first on a tie', async () => {
    const [a, b] = [await tcpBackend('a'), await tcpBackend('b')];
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [a.backend(OTHER), b.backend(SELF)]));
    expect(m.errors()).toEqual([]);

    const greetings: string[] = [];
    for (let i = 0; i < 4; i++) greetings.push(await (await connect(port)).greeting());
    // Each held connection counts: b (local), a, b, a.
    expect(greetings).toEqual(['b', 'a', 'b', 'a']);
    expect(m.counters().web).toMatchObject({
      connections: 4,
      activeConnections: 4,
      failedDials: 0,
    });
  });

  it('echoes through with half-close, and counts the bytes', async () => {
    const a = await tcpBackend('a');
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [a.backend(OTHER)]));

    const client = await connect(port);
    client.socket.end('hello');
    // The backend only ends after it has seen our FIN: the reply must still come back.
    const { error } = await client.closed;
    expect(error).toBeUndefined();
    expect(client.received()).toBe('a\nhello');
    await m.close();
    expect(m.counters().web).toMatchObject({
      connections: 1,
      activeConnections: 0,
      bytesIn: 5,
      bytesOut: 7,
    });
  });

  it('answers only after the client has finished sending (half-close both ways)', async () => {
    const backend = await tcpBackend('counting', (socket) => {
      let length = 0;
      socket.on('data', (chunk: Buffer) => {
        length += chunk.length;
      });
      socket.on('end', () => socket.end(`got ${length}`));
    });
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [backend.backend(SELF)]));

    const client = await connect(port);
    // Several MiB: more than any socket buffer, so backpressure is exercised on the way in.
    const payload = Buffer.alloc(8 * 1024 * 1024, 7);
    client.socket.end(payload);
    await client.closed;
    expect(client.received()).toBe(`got ${payload.length}`);
  });

  it('carries a large echo both ways intact', async () => {
    const a = await tcpBackend('a', (socket) => socket.pipe(socket));
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [a.backend(SELF)]));

    const socket = net.connect({ host: HOST, port, allowHalfOpen: true });
    onCleanup(() => {
      socket.destroy();
    });
    let received = 0;
    const hash = createHash('sha256');
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
    });
    const payload = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    socket.end(payload);
    await once(socket, 'close');
    expect(received).toBe(payload.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('skips a backend that refuses and counts the failed dial', async () => {
    const live = await tcpBackend('live');
    const deadPort = await freePort();
    const port = await freePort();
    const m = mesh();
    // The dead one is local, so it is tried first.
    const dead = { taskId: 'task-dead', nodeId: SELF, addr: HOST, hostPort: deadPort };
    await m.update(table(port, [dead, live.backend(OTHER)]));

    expect(await (await connect(port)).greeting()).toBe('live');
    expect(m.counters().web).toMatchObject({ connections: 1, failedDials: 1 });
  });

  it('skips a backend that cannot be reached in time', async () => {
    const live = await tcpBackend('live');
    const port = await freePort();
    const m = mesh({ connectTimeoutMs: 200 });
    // TEST-NET-1: unroutable, so the dial fails at once (no route) or times out.
    const lost = { taskId: 'task-lost', nodeId: SELF, addr: '192.0.2.1', hostPort: 9 };
    await m.update(table(port, [lost, live.backend(OTHER)]));

    expect(await (await connect(port)).greeting()).toBe('live');
    expect(m.counters().web?.failedDials).toBe(1);
  });

  it('closes the client at once when there is no backend', async () => {
    const deadPort = await freePort();
    const [emptyPort, deadOnlyPort] = [await freePort(), await freePort()];
    const m = mesh({ connectTimeoutMs: 10_000 });
    const dead = { taskId: 'task-dead', nodeId: SELF, addr: HOST, hostPort: deadPort };
    await m.update([
      ...table(emptyPort, [], { name: 'empty' }),
      ...table(deadOnlyPort, [dead], { name: 'dead' }),
    ]);

    for (const port of [emptyPort, deadOnlyPort]) {
      const started = performance.now();
      const client = await connect(port);
      await client.closed;
      expect(client.received()).toBe('');
      // Well under the dial timeout: nothing waited on a timer.
      expect(performance.now() - started).toBeLessThan(2000);
    }
    expect(m.counters().dead).toMatchObject({ connections: 1, failedDials: 1 });
    expect(m.counters().empty).toMatchObject({ connections: 1, failedDials: 0 });
  });

  it('stops sending new connections to a removed backend; open ones keep working', async () => {
    const [a, b] = [await tcpBackend('a'), await tcpBackend('b')];
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [a.backend(SELF), b.backend(OTHER)]));
    const old = await connect(port);
    expect(await old.greeting()).toBe('a');

    await m.update(table(port, [b.backend(OTHER)]));
    for (let i = 0; i < 3; i++) expect(await (await connect(port)).greeting()).toBe('b');
    expect(a.accepted).toBe(1);

    old.socket.write('still here');
    await old.waitFor('still here');
    old.socket.end();
    const { error } = await old.closed;
    expect(error).toBeUndefined();
  });

  it('sends a PROXY v2 header with the client address first', async () => {
    let header: Buffer | undefined;
    const backend = await tcpBackend('pp', (socket) => {
      socket.once('readable', function read() {
        const chunk = socket.read(28) as Buffer | null;
        if (chunk === null) return void socket.once('readable', read);
        header = chunk;
        socket.end('ok');
      });
    });
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [backend.backend(SELF)], { proxyProtocol: true }));

    const client = await connect(port);
    await client.waitFor('ok');
    expect(header).toBeDefined();
    const h = header!;
    expect(h.subarray(0, 12).toString('hex')).toBe('0d0a0d0a000d0a515549540a');
    expect([h[12], h[13], h.readUInt16BE(14)]).toEqual([0x21, 0x11, 12]);
    expect([...h.subarray(16, 20)].join('.')).toBe('127.0.0.1');
    expect([...h.subarray(20, 24)].join('.')).toBe(HOST);
    expect(h.readUInt16BE(24)).toBe(client.socket.localPort);
    expect(h.readUInt16BE(26)).toBe(port);
  });

  it('survives a backend reset mid-stream: the client is closed, the agent goes on', async () => {
    const rude = await tcpBackend('rude', (socket) => {
      socket.write('bye\n');
      socket.once('data', () => socket.resetAndDestroy());
    });
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [rude.backend(SELF)]));

    const client = await connect(port);
    expect(await client.greeting()).toBe('bye');
    client.socket.write('x');
    // The backend's reset is passed on as a reset, not a clean end.
    expect((await client.closed).error?.code).toBe('ECONNRESET');
    // And a client reset reaches the backend as a close.
    const again = await connect(port);
    await again.greeting();
    const [backendSide] = [...rude.sockets];
    const backendClosed = new Promise((resolve) => backendSide!.once('close', resolve));
    again.socket.resetAndDestroy();
    await backendClosed;
    expect(m.counters().web?.connections).toBe(2);
  });

  it('lets a reply drain when the backend stops reading before the client stops sending', async () => {
    let backendGone: () => void = () => {};
    const gone = new Promise<void>((resolve) => {
      backendGone = resolve;
    });
    const early = await tcpBackend('early', (socket) => {
      socket.once('data', () => {
        socket.end('413\n');
        // Anything more from the client is refused outright: a reset.
        socket.once('data', () => socket.resetAndDestroy());
        socket.once('close', backendGone);
      });
    });
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [early.backend(SELF)]));

    const socket = net.connect({ host: HOST, port, allowHalfOpen: true });
    onCleanup(() => {
      socket.destroy();
    });
    let reply = '';
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
    });
    let error: Error | undefined;
    socket.on('error', (e) => {
      error = e;
    });
    socket.write('upload part 1');
    await once(socket, 'end');
    expect(reply).toBe('413\n');
    socket.write('upload part 2');
    await gone;
    // Still uploading after the backend reset: the mesh drops it rather than resetting us.
    socket.write('upload part 3');
    socket.end();
    await once(socket, 'close');
    expect(error).toBeUndefined();
  });

  it('reports a port it cannot bind without throwing, and retries it on the next update', async () => {
    const a = await tcpBackend('a');
    const taken = net.createServer();
    taken.listen(0, HOST);
    await once(taken, 'listening');
    const busyPort = (taken.address() as net.AddressInfo).port;
    const okPort = await freePort();
    const m = mesh();
    const both = [
      ...table(busyPort, [a.backend(SELF)], { name: 'busy' }),
      ...table(okPort, [a.backend(SELF)], { name: 'ok' }),
    ];
    await m.update(both);
    expect(m.errors()).toEqual([`port ${busyPort}/tcp: address in use`]);
    expect(await (await connect(okPort)).greeting()).toBe('a');

    await new Promise((resolve) => taken.close(resolve));
    await m.update(both);
    expect(m.errors()).toEqual([]);
    expect(await (await connect(busyPort)).greeting()).toBe('a');
  });

  it('closes a port dropped from the table but lets its connections finish', async () => {
    const a = await tcpBackend('a');
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [a.backend(SELF)]));
    const open = await connect(port);
    await open.greeting();

    await m.update([]);
    const refused = net.connect({ host: HOST, port });
    const [error] = (await once(refused, 'error').catch((e: unknown) => [e])) as [
      NodeJS.ErrnoException,
    ];
    expect(error.code).toBe('ECONNREFUSED');

    open.socket.write('ping');
    await open.waitFor('ping');
    // The service left the table but still has a connection: its counters stay.
    expect(m.counters().web?.activeConnections).toBe(1);
    await m.close();
    await open.closed;
  });

  it('uses the first entry when a port is listed twice', async () => {
    const [a, b] = [await tcpBackend('a'), await tcpBackend('b')];
    const port = await freePort();
    const m = mesh();
    await m.update([
      ...table(port, [a.backend(SELF)], { name: 'first' }),
      ...table(port, [b.backend(SELF)], { name: 'second' }),
    ]);
    expect(m.errors()).toEqual([]);
    expect(await (await connect(port)).greeting()).toBe('a');
  });

  it('cuts every proxied connection on close', async () => {
    const a = await tcpBackend('a');
    const port = await freePort();
    const m = mesh();
    await m.update(table(port, [a.backend(SELF)]));
    const client = await connect(port);
    await client.greeting();
    await m.close();
    await client.closed;
    expect(a.sockets.size).toBe(0);
  });
});

describe('IngressMesh UDP', () => {
  it('relays datagrams both ways, one session per client, spread and counted', async () => {
    const [a, b] = [await udpBackend('a'), await udpBackend('b')];
    const port = await freePort('udp');
    const m = mesh();
    await m.update(table(port, [a.backend(OTHER), b.backend(SELF)], { protocol: 'udp' }));
    expect(m.errors()).toEqual([]);

    const one = await udpClient(port);
    const two = await udpClient(port);
    expect(await one.ask('hi')).toBe('b:hi');
    expect(await two.ask('yo')).toBe('a:yo');
    expect(await one.ask('again')).toBe('b:again');
    // One session socket per client: the backend saw one source port.
    expect(b.peers.size).toBe(1);
    expect(m.counters().web).toMatchObject({
      connections: 2,
      activeConnections: 2,
      udpPackets: 6,
      bytesIn: 9,
      bytesOut: 15,
    });
  });
});
