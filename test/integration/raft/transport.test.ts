import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../../../cluster/agents.js';
import { silentLogger } from '../../../src/log.js';
import type { Host } from '../../../src/p2p/host.js';
import { RAFT_PROTOCOL, RaftTransport } from '../../../src/raft/transport.js';
import type { Message, NodeId } from '../../../src/raft/types.js';
import { encodeFrame } from '../../../src/wire/frames.js';
import { Inbox, loopbackHost, newNetworkSecret } from '../../support/p2p.js';

interface Peer {
  host: Host;
  id: NodeId;
  transport: RaftTransport;
  inbox: Inbox<Message>;
  unreachable: Inbox<NodeId>;
  snapshots: Inbox<[NodeId, boolean]>;
}

const started: Peer[] = [];
const bareHosts: Host[] = [];
afterEach(async () => {
  await Promise.all(
    started.splice(0).map(async (p) => {
      await p.transport.stop().catch(() => {});
      await p.host.stop();
    }),
  );
  await Promise.all(bareHosts.splice(0).map((h) => h.stop()));
});

async function peer(
  secret: Uint8Array,
  options: { allowed?: (id: NodeId) => boolean; maxFrameBytes?: number; chunk?: number } = {},
): Promise<Peer> {
  const host = await loopbackHost(secret);
  const inbox = new Inbox<Message>();
  const unreachable = new Inbox<NodeId>();
  const snapshots = new Inbox<[NodeId, boolean]>();
  const transport = new RaftTransport({
    host,
    selfId: host.peerId.toString(),
    isPeerAllowed: options.allowed ?? (() => true),
    deliver: (m) => inbox.push(m),
    reportUnreachable: (id) => unreachable.push(id),
    reportSnapshot: (id, ok) => snapshots.push([id, ok]),
    logger: silentLogger,
    ...(options.maxFrameBytes ? { maxFrameBytes: options.maxFrameBytes } : {}),
    ...(options.chunk ? { snapshotChunkBytes: options.chunk } : {}),
  });
  await transport.start();
  const p = { host, id: host.peerId.toString(), transport, inbox, unreachable, snapshots };
  started.push(p);
  return p;
}

async function introduce(a: Peer, b: Peer): Promise<void> {
  await a.transport.addPeer(b.id, b.host.getMultiaddrs().map(String));
  await b.transport.addPeer(a.id, a.host.getMultiaddrs().map(String));
}

function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return { type: 'heartbeat', from, to, term: 3, commit, context: null };
}

describe('RaftTransport over real libp2p on loopback', () => {
  it('delivers messages in order, both ways, on long-lived streams', async () => {
    const secret = newNetworkSecret();
    const [a, b] = [await peer(secret), await peer(secret)];
    await introduce(a, b);

    const toB = Array.from({ length: 500 }, (_, i) => heartbeat(a.id, b.id, i));
    a.transport.send(toB);
    b.transport.send([heartbeat(b.id, a.id, 7)]);

    expect((await b.inbox.waitFor(500)).map((m) => (m as { commit: number }).commit)).toEqual(
      toB.map((_, i) => i),
    );
    expect(await a.inbox.waitFor(1)).toEqual([heartbeat(b.id, a.id, 7)]);
    // One connection, one raft stream each way.
    const raftStreams = a.host
      .getConnections(b.host.peerId)
      .flatMap((c) => c.streams)
      .filter((s) => s.protocol === RAFT_PROTOCOL);
    expect(raftStreams).toHaveLength(2);
  });

  it('holds an end-of-turn message for what is sent after it in the turn: one write', async () => {
    const secret = newNetworkSecret();
    const [a, b] = [await peer(secret), await peer(secret)];
    // Count the writes on a's outbound raft stream.
    const writes: number[] = [];
    const dial = a.host.dialProtocol.bind(a.host);
    a.host.dialProtocol = (async (...args: Parameters<typeof dial>) => {
      const stream = await dial(...args);
      const send = stream.send.bind(stream);
      stream.send = (data) => {
        writes.push(data.byteLength);
        return send(data);
      };
      return stream;
    }) as typeof dial;
    await introduce(a, b);
    a.transport.send([heartbeat(a.id, b.id, 1)]);
    await b.inbox.waitFor(1);

    writes.length = 0;
    a.transport.send([heartbeat(a.id, b.id, 2)], 'end-of-turn');
    await Promise.resolve(); // microtasks run: a 'now' send would have been written here
    a.transport.send([heartbeat(a.id, b.id, 3)]);
    const commits = (await b.inbox.waitFor(3)).map((m) => (m as { commit: number }).commit);
    expect(commits).toEqual([1, 2, 3]);
    expect(writes).toHaveLength(1);

    // Alone, it leaves at the end of the turn.
    a.transport.send([heartbeat(a.id, b.id, 4)], 'end-of-turn');
    expect((await b.inbox.waitFor(4))[3]).toEqual(heartbeat(a.id, b.id, 4));
  });

  it('opens the streams to its peers when they are added, before any message', async () => {
    // Followers send each other nothing until the leader dies; the first pre-vote must not
    // wait for a dial (the other survivor would start its own campaign meanwhile).
    const secret = newNetworkSecret();
    const [a, b] = [await peer(secret), await peer(secret)];
    await introduce(a, b);
    const raftStreams = () =>
      a.host
        .getConnections(b.host.peerId)
        .flatMap((c) => c.streams)
        .filter((s) => s.protocol === RAFT_PROTOCOL);
    await waitUntil(() => raftStreams().length === 2, 5000, 'a raft stream each way');
    expect(a.inbox.items).toEqual([]);
    expect(b.inbox.items).toEqual([]);
  });

  it('never opens a stream ahead of need to a node that is not (or no longer) a member', async () => {
    const secret = newNetworkSecret();
    const [b, c] = [await peer(secret), await peer(secret)];
    const a = await peer(secret, { allowed: (id) => id === c.id });
    await a.transport.addPeer(b.id, b.host.getMultiaddrs().map(String));
    await a.transport.addPeer(c.id, c.host.getMultiaddrs().map(String));
    const raftStreamsTo = (other: Peer) =>
      a.host
        .getConnections(other.host.peerId)
        .flatMap((conn) => conn.streams)
        .filter((s) => s.protocol === RAFT_PROTOCOL && s.direction === 'outbound');
    await waitUntil(() => raftStreamsTo(c).length === 1, 5000, 'a stream to the member');
    expect(raftStreamsTo(b)).toEqual([]);
  });

  it('answers a member that opens a stream to it with its own', async () => {
    const secret = newNetworkSecret();
    let bIsMember = false;
    const a = await peer(secret, { allowed: () => bIsMember });
    const b = await peer(secret);
    // a knows b's address, but b is not a member yet: nothing is opened.
    await a.transport.addPeer(b.id, b.host.getMultiaddrs().map(String));
    bIsMember = true;
    // b (say, just restarted) learns of a and opens its stream; a opens one back.
    await b.transport.addPeer(a.id, a.host.getMultiaddrs().map(String));
    const outboundFromA = () =>
      a.host
        .getConnections(b.host.peerId)
        .flatMap((conn) => conn.streams)
        .filter((s) => s.protocol === RAFT_PROTOCOL && s.direction === 'outbound');
    await waitUntil(() => outboundFromA().length === 1, 5000, "a's stream back to b");
  });

  it('sends a snapshot larger than a frame in chunks and reports it sent', async () => {
    const secret = newNetworkSecret();
    const limits = { maxFrameBytes: 256 * 1024, chunk: 64 * 1024 };
    const [a, b] = [await peer(secret, limits), await peer(secret, limits)];
    await introduce(a, b);
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const snapshot: Message = {
      type: 'snapshot',
      from: a.id,
      to: b.id,
      term: 2,
      snapshot: {
        metadata: {
          index: 40,
          term: 2,
          confState: { voters: [a.id, b.id], learners: [], removed: [] },
        },
        data,
      },
    };
    a.transport.send([snapshot, heartbeat(a.id, b.id, 40)]);
    const [received, after] = await b.inbox.waitFor(2);
    expect(received?.type).toBe('snapshot');
    expect(
      Buffer.from((received as typeof snapshot & { type: 'snapshot' }).snapshot.data).equals(
        Buffer.from(data),
      ),
    ).toBe(true);
    expect(after?.type).toBe('heartbeat');
    expect(await a.snapshots.waitFor(1)).toEqual([[b.id, true]]);
  });

  it('refuses streams from nodes that are not members', async () => {
    const secret = newNetworkSecret();
    const member = await peer(secret);
    const stranger = await peer(secret);
    const guarded = await peer(secret, { allowed: (id) => id === member.id });
    await introduce(member, guarded);
    await introduce(stranger, guarded);

    stranger.transport.send([heartbeat(stranger.id, guarded.id, 1)]);
    member.transport.send([heartbeat(member.id, guarded.id, 2)]);
    await guarded.inbox.waitFor(1);
    await stranger.unreachable.waitFor(1);
    expect(guarded.inbox.items.map((m) => m.from)).toEqual([member.id]);
  });

  it('closes a stream that sends garbage, and keeps serving other peers', async () => {
    const secret = newNetworkSecret();
    const [a, b] = [await peer(secret), await peer(secret)];
    await introduce(a, b);
    const rogue = await loopbackHost(secret);
    bareHosts.push(rogue);
    await rogue.peerStore.merge(b.host.peerId, { multiaddrs: b.host.getMultiaddrs() });

    for (const payload of [
      new Uint8Array([0x01, 0xc1, 0xc1]), // not msgpack
      new Uint8Array([0x01, 0x80]), // msgpack, not a message
      new Uint8Array([0x09, 0x00]), // unknown frame kind
    ]) {
      const stream = await rogue.dialProtocol(b.host.peerId, RAFT_PROTOCOL);
      stream.send(encodeFrame(payload));
      await new Promise<void>((resolve) => {
        if (stream.status !== 'open') return resolve();
        stream.addEventListener('close', () => resolve(), { once: true });
      });
    }
    // A frame announcing more than the limit is refused before it is buffered.
    const huge = await rogue.dialProtocol(b.host.peerId, RAFT_PROTOCOL);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 0xffffffff);
    huge.send(header);
    await new Promise<void>((resolve) =>
      huge.addEventListener('close', () => resolve(), { once: true }),
    );

    a.transport.send([heartbeat(a.id, b.id, 9)]);
    expect(await b.inbox.waitFor(1)).toEqual([heartbeat(a.id, b.id, 9)]);
  });

  it('closes a stream whose messages claim another sender', async () => {
    const secret = newNetworkSecret();
    const [a, b, c] = [await peer(secret), await peer(secret), await peer(secret)];
    await introduce(a, b);
    await introduce(c, b);
    a.transport.send([heartbeat(c.id, b.id, 1)]); // a pretends to be c
    c.transport.send([heartbeat(c.id, b.id, 2)]);
    await b.inbox.waitFor(1);
    expect(b.inbox.items).toEqual([heartbeat(c.id, b.id, 2)]);
  });

  it('reports a peer that cannot be reached, and a snapshot that could not be sent', async () => {
    const secret = newNetworkSecret();
    const [a, b] = [await peer(secret), await peer(secret)];
    // b is gone before a learns of it: a's dial (the one it opens ahead of need, or the send's)
    // fails, and what it was asked to send is reported.
    const addresses = b.host.getMultiaddrs().map(String);
    await b.transport.stop();
    await b.host.stop();
    await a.transport.addPeer(b.id, addresses);
    a.transport.send([
      {
        type: 'snapshot',
        from: a.id,
        to: b.id,
        term: 1,
        snapshot: {
          metadata: { index: 5, term: 1, confState: { voters: [], learners: [], removed: [] } },
          data: new Uint8Array(8),
        },
      },
    ]);
    expect(await a.unreachable.waitFor(1)).toContain(b.id);
    expect(await a.snapshots.waitFor(1)).toEqual([[b.id, false]]);
  });
});
