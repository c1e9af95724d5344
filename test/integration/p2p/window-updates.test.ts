/**
 * Deferred yamux window updates on real libp2p hosts (TCP, the private network, noise, yamux
 * on loopback): a receiving stream stops answering every data frame with a window update, and
 * a transfer far larger than the window still completes intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Stream } from '@libp2p/interface';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../../src/p2p/host.js';
import { deferWindowUpdates } from '../../../src/p2p/window-updates.js';
import { loopbackHost, newNetworkSecret } from '../../support/p2p.js';

const PROTOCOL = '/swarmts-test/window/1';
const READY = new Uint8Array([1]);
const hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

interface Received {
  bytes: number;
  sha256: string;
}

/**
 * A receiver that reads `expected` bytes on each stream (deferring window updates when asked),
 * then answers with the digest of what it read; and a sender stream dialled to it, with the
 * window updates it receives counted.
 */
async function pair(defer: boolean, expected: number) {
  const secret = newNetworkSecret();
  const sender = await loopbackHost(secret);
  const receiver = await loopbackHost(secret);
  hosts.push(sender, receiver);
  let deferred: boolean | undefined;
  await receiver.handle(PROTOCOL, (stream) => {
    if (defer) deferred = deferWindowUpdates(stream);
    // Data that arrived before this handler ran met an unpatched stream: tell the sender
    // when to start.
    stream.send(READY);
    void (async () => {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of stream as AsyncIterable<Uint8Array | { subarray(): Uint8Array }>) {
        const data = chunk instanceof Uint8Array ? chunk : chunk.subarray();
        hash.update(data);
        bytes += data.length;
        if (bytes >= expected) break;
      }
      const answer: Received = { bytes, sha256: hash.digest('hex') };
      stream.send(new TextEncoder().encode(JSON.stringify(answer)));
      await stream.close();
    })();
  });
  await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() });
  const stream = await sender.dialProtocol(receiver.peerId, PROTOCOL);
  const counted = stream as unknown as { handleWindowUpdate(frame: unknown): void };
  const original = counted.handleWindowUpdate.bind(stream);
  const updates = { count: 0 };
  counted.handleWindowUpdate = (frame: unknown) => {
    updates.count++;
    original(frame);
  };
  const reader = (stream as AsyncIterable<Uint8Array | { subarray(): Uint8Array }>)[
    Symbol.asyncIterator
  ]();
  const ready = await reader.next();
  expect(ready.done).toBe(false);
  updates.count = 0;
  return { stream, reader, updates, deferred: () => deferred };
}

async function sendAll(stream: Stream, chunks: Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    if (!stream.send(chunk)) await stream.onDrain();
    // One data frame per chunk: let the muxer write it before the next one is queued.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

async function answer(
  reader: AsyncIterator<Uint8Array | { subarray(): Uint8Array }>,
): Promise<Received> {
  let text = '';
  for (let next = await reader.next(); !next.done; next = await reader.next()) {
    const chunk = next.value;
    text += new TextDecoder().decode(chunk instanceof Uint8Array ? chunk : chunk.subarray());
  }
  return JSON.parse(text) as Received;
}

function digest(chunks: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

describe('deferred yamux window updates', () => {
  it('a stream receiving small messages sends no window update per message', async () => {
    const chunks = Array.from({ length: 100 }, () => new Uint8Array(randomBytes(200)));
    const plain = await pair(false, 100 * 200);
    await sendAll(plain.stream, chunks);
    expect(await answer(plain.reader)).toEqual({ bytes: 20_000, sha256: digest(chunks) });

    const lazy = await pair(true, 100 * 200);
    await sendAll(lazy.stream, chunks);
    expect(await answer(lazy.reader)).toEqual({ bytes: 20_000, sha256: digest(chunks) });

    expect(lazy.deferred()).toBe(true);
    // As shipped, yamux answers (nearly) every frame; deferred, 20 KB never needs an update.
    expect(plain.updates.count).toBeGreaterThanOrEqual(50);
    expect(lazy.updates.count).toBeLessThanOrEqual(1);
  });

  it('a transfer far larger than the window completes intact, with few updates', async () => {
    const chunks = Array.from({ length: 256 }, () => new Uint8Array(randomBytes(32 * 1024)));
    const total = 256 * 32 * 1024; // 8 MiB against a 256 KiB initial window
    const lazy = await pair(true, total);
    await sendAll(lazy.stream, chunks);
    expect(await answer(lazy.reader)).toEqual({ bytes: total, sha256: digest(chunks) });
    // An update at most every half window: far fewer than the 256 frames received.
    expect(lazy.updates.count).toBeGreaterThan(0);
    expect(lazy.updates.count).toBeLessThan(80);
  });
});
