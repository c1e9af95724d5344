import { afterEach, describe, expect, it } from 'vitest';
import { toPool } from '../../../src/ingress/balancer.js';
import { emptyCounters } from '../../../src/ingress/types.js';
import { UdpProxy } from '../../../src/ingress/udp-proxy.js';
import { type Logger, silentLogger } from '../../../src/log.js';
import { cleanupAll, freePort, HOST, onCleanup, udpBackend, udpClient } from './harness.js';

afterEach(cleanupAll);

describe('UdpProxy', () => {
  it('ends a session after it has been idle, and opens a new one on the next datagram', async () => {
    const a = await udpBackend('a');
    const port = await freePort('udp');
    const closed: Array<() => void> = [];
    const counters = emptyCounters();
    const proxy = new UdpProxy({
      host: HOST,
      port,
      selfNodeId: 'n1',
      idleMs: 20,
      logger: silentLogger,
      route: { serviceName: 'dns', counters, pool: toPool([a.backend('n1')]) },
      onSessionClosed: () => closed.shift()?.(),
    });
    await proxy.listen();
    onCleanup(() => proxy.destroy());

    const client = await udpClient(port);
    const sessionEnded = new Promise<void>((resolve) => closed.push(resolve));
    expect(await client.ask('one')).toBe('a:one');
    await sessionEnded;
    expect(proxy.sessionCount).toBe(0);
    expect(counters.activeConnections).toBe(0);

    expect(await client.ask('two')).toBe('a:two');
    // A new session, so a new source port at the backend.
    expect(a.peers.size).toBe(2);
    expect(counters.connections).toBe(2);
  });

  it('drops datagrams when there is no backend, opening no session', async () => {
    const port = await freePort('udp');
    const counters = emptyCounters();
    // The drop is only visible in the log: wait for that line rather than for a timer.
    let dropped: () => void = () => {};
    const droppedOne = new Promise<void>((resolve) => {
      dropped = resolve;
    });
    const logger: Logger = {
      debug: (_obj, msg) => {
        if (msg === 'no backend for datagram') dropped();
      },
      info: () => {},
      warn: () => {},
      error: () => {},
      child: () => logger,
    };
    const proxy = new UdpProxy({
      host: HOST,
      port,
      selfNodeId: 'n1',
      idleMs: 1000,
      logger,
      route: { serviceName: 'dns', counters, pool: [] },
    });
    await proxy.listen();
    onCleanup(() => proxy.destroy());
    const client = await udpClient(port);
    client.send('lost');
    await droppedOne;
    expect(proxy.sessionCount).toBe(0);
    expect(counters).toMatchObject({ connections: 0, udpPackets: 0 });

    const b = await udpBackend('b');
    proxy.setRoute({ serviceName: 'dns', counters, pool: toPool([b.backend('n1')]) });
    expect(await client.ask('found')).toBe('b:found');
    expect(counters.connections).toBe(1);
  });
});
