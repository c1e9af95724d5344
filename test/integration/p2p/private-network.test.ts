/**
 * The private network on real libp2p hosts (TCP on loopback): members talk; a host with
 * another key, or a raw socket that sends garbage, is turned away at the handshake, at once,
 * and reaches no protocol; the member that turned it away keeps working.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../../src/p2p/host.js';
import { loopbackHost, newNetworkSecret } from '../../support/p2p.js';

const PROTOCOL = '/swarmts-test/echo/1';
const hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

/** A host that echoes what each stream sends, and counts the streams it was offered. */
async function echoHost(secret: Uint8Array) {
  const host = await loopbackHost(secret);
  hosts.push(host);
  const offered = { streams: 0 };
  await host.handle(PROTOCOL, (stream) => {
    offered.streams++;
    stream.addEventListener('message', (event) => {
      const data = event.data instanceof Uint8Array ? event.data : event.data.subarray();
      stream.send(data);
    });
  });
  return { host, offered };
}

async function echo(from: Host, to: Host, payload: Uint8Array): Promise<Uint8Array> {
  await from.peerStore.merge(to.peerId, { multiaddrs: to.getMultiaddrs() });
  const stream = await from.dialProtocol(to.peerId, PROTOCOL, {
    signal: AbortSignal.timeout(5000),
  });
  const chunks: Uint8Array[] = [];
  let received = 0;
  const done = new Promise<void>((resolve) => {
    stream.addEventListener('message', (event) => {
      const data = event.data instanceof Uint8Array ? event.data : event.data.subarray();
      chunks.push(data);
      received += data.length;
      if (received >= payload.length) resolve();
    });
  });
  stream.send(payload);
  await done;
  await stream.close();
  return Buffer.concat(chunks);
}

/** Everything a raw TCP client receives until the host closes the connection. */
async function rawExchange(host: Host, send: Uint8Array): Promise<{ bytes: number }> {
  // /ip4/127.0.0.1/tcp/<port>/p2p/<id>
  const port = Number(host.getMultiaddrs()[0]!.toString().split('/')[4]);
  const socket: Socket = connect(port, '127.0.0.1');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  // The host aborts the connection: a reset here is the expected end.
  socket.on('error', () => {});
  socket.write(send);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { bytes };
}

describe('the private network between hosts', () => {
  it('carries a protocol between members, large messages intact', async () => {
    const secret = newNetworkSecret();
    const { host: a } = await echoHost(secret);
    const { host: b } = await echoHost(secret);
    const payload = new Uint8Array(randomBytes(300_000));
    expect(Buffer.from(await echo(a, b, payload)).equals(payload)).toBe(true);
    expect(
      Buffer.from(await echo(b, a, payload.subarray(0, 10))).equals(payload.subarray(0, 10)),
    ).toBe(true);
  });

  it('turns away a host with another key at once, before any protocol', async () => {
    const secret = newNetworkSecret();
    const { host: member, offered } = await echoHost(secret);
    const { host: outsider } = await echoHost(newNetworkSecret());
    const started = performance.now();
    await expect(echo(outsider, member, new Uint8Array([1]))).rejects.toThrow(
      /does not hold this network key/,
    );
    // Refused as soon as the proof arrives, not at the 2 s handshake timeout.
    expect(performance.now() - started).toBeLessThan(1500);
    expect(offered.streams).toBe(0);
    expect(outsider.getConnections(member.peerId)).toHaveLength(0);

    const { host: friend } = await echoHost(secret);
    expect([...(await echo(friend, member, new Uint8Array([7, 8])))]).toEqual([7, 8]);
    expect(offered.streams).toBe(1);
  });

  it('closes a raw connection that sends a bad proof at once, having sent only its handshake', async () => {
    const secret = newNetworkSecret();
    const { host: member, offered } = await echoHost(secret);
    const started = performance.now();
    // A nonce, then 16 bytes that are not a proof.
    const { bytes } = await rawExchange(member, new Uint8Array(randomBytes(48)));
    // Refused on the proof, not at the 2 s handshake timeout.
    expect(performance.now() - started).toBeLessThan(1000);
    // Its nonce and its proof (made for our nonce, useless anywhere else), nothing more.
    expect(bytes).toBe(48);
    expect(offered.streams).toBe(0);

    const { host: friend } = await echoHost(secret);
    expect([...(await echo(friend, member, new Uint8Array([9])))]).toEqual([9]);
  });

  it('gives up on a peer that never finishes the handshake at its own deadline', async () => {
    const { host: member } = await echoHost(newNetworkSecret());
    const started = performance.now();
    // Connects and says nothing: libp2p alone would wait 10 s for an inbound upgrade.
    const { bytes } = await rawExchange(member, new Uint8Array(0));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(bytes).toBe(32); // its nonce only
  });
});
