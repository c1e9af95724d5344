/**
 * Quiet noise framing on real libp2p hosts (TCP, the private network, noise, yamux on
 * loopback): both ends of a connection get the replaced length reader (so a noise upgrade that
 * changes its shape fails here), and messages small and large, sent back to back, arrive intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../../src/p2p/host.js';
import { framingStats } from '../../../src/p2p/noise-framing.js';
import { loopbackHost, newNetworkSecret } from '../../support/p2p.js';

const PROTOCOL = '/swarmts-test/echo-digest/1';
const hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

describe('quiet noise framing between real hosts', () => {
  it('is applied on both ends, and what is sent arrives intact', async () => {
    const before = { ...framingStats };
    const secret = newNetworkSecret();
    const sender = await loopbackHost(secret);
    const receiver = await loopbackHost(secret);
    hosts.push(sender, receiver);
    const sizes = [1, 17, 1_000, 65_519, 65_520, 200_000, 3, 1_048_576];
    const total = sizes.reduce((a, b) => a + b, 0);
    await receiver.handle(PROTOCOL, (stream) => {
      void (async () => {
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of stream as AsyncIterable<
          Uint8Array | { subarray(): Uint8Array }
        >) {
          const data = chunk instanceof Uint8Array ? chunk : chunk.subarray();
          hash.update(data);
          bytes += data.length;
          if (bytes >= total) break;
        }
        stream.send(new TextEncoder().encode(`${bytes} ${hash.digest('hex')}`));
        await stream.close();
      })();
    });
    await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() });
    const stream = await sender.dialProtocol(receiver.peerId, PROTOCOL);
    const hash = createHash('sha256');
    for (const size of sizes) {
      const chunk = new Uint8Array(randomBytes(size));
      hash.update(chunk);
      if (!stream.send(chunk)) await stream.onDrain();
    }
    let answer = '';
    for await (const chunk of stream as AsyncIterable<Uint8Array | { subarray(): Uint8Array }>) {
      answer += new TextDecoder().decode(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    }
    expect(answer).toBe(`${total} ${hash.digest('hex')}`);
    expect(framingStats.quiet - before.quiet).toBe(2);
    expect(framingStats.unchanged - before.unchanged).toBe(0);
  });
});
