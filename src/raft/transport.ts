/**
 * Raft messages between managers over libp2p, protocol /swarmts/raft/1.
 *
 * Each node keeps one long-lived outbound stream per peer (opening a stream per message is
 * several times slower) and writes length-prefixed frames to it. A frame's first byte says
 * what it holds:
 *   0x01  one msgpack-encoded Message
 *   0x02  a chunk of a large message (a snapshot), more chunks follow
 *   0x03  the last chunk; the concatenated chunks are one msgpack-encoded Message
 *
 * Sending never blocks the Raft loop: messages go to a bounded queue per peer; when the
 * queue is full (the peer is slow or gone) the message is dropped and the peer reported
 * unreachable, which Raft answers by probing it gently. Inbound frames that do not decode,
 * exceed the size limits, claim another sender, or come from a node that is not a member
 * close that stream and are logged; they never reach the core nor crash the process.
 */
import type { Connection, Libp2p, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Uint8ArrayList } from 'uint8arraylist';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { deferWindowUpdates } from '../p2p/window-updates.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from '../wire/frames.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { Message, NodeId } from './types.js';

export const RAFT_PROTOCOL = '/swarmts/raft/1';

const FRAME_MESSAGE = 0x01;
const FRAME_CHUNK = 0x02;
const FRAME_LAST_CHUNK = 0x03;

export interface RaftTransportOptions {
  host: Libp2p;
  selfId: NodeId;
  /** Whether `id` may talk Raft to us (a member, or a node being added). */
  isPeerAllowed: (id: NodeId) => boolean;
  /** A decoded, checked message for this node. Called synchronously, in arrival order. */
  deliver: (message: Message) => void;
  reportUnreachable: (id: NodeId) => void;
  /** Outcome of sending a snapshot message, for the core's reportSnapshot. */
  reportSnapshot: (id: NodeId, ok: boolean) => void;
  /** The last connection to a peer closed (its process may be gone). */
  reportDisconnected?: (id: NodeId) => void;
  logger: Logger;
  /** Messages waiting per peer before new ones are dropped. */
  maxQueuedMessages?: number;
  /** Largest single frame accepted or sent whole; bigger messages go in chunks. */
  maxFrameBytes?: number;
  snapshotChunkBytes?: number;
  /** Largest chunked message accepted. */
  maxMessageBytes?: number;
  dialTimeoutMs?: number;
  /** After a failed dial, messages to that peer are dropped for this long. */
  redialBackoffMs?: number;
  now?: () => number;
}

interface Outbound {
  id: NodeId;
  queue: Message[];
  stream: Stream | undefined;
  pumping: boolean;
  /** A pump is due at the end of this turn of the event loop. */
  pumpAtTurnEnd: boolean;
  retryAt: number;
}

/** Bytes gathered before one write, so a burst of small messages costs one syscall. */
const WRITE_BATCH_BYTES = 64 * 1024;

export class RaftTransport {
  private readonly outbound = new Map<NodeId, Outbound>();
  private readonly inbound = new Set<Stream>();
  /** Peers added and not removed: whose streams are opened ahead of need. */
  private readonly members = new Set<NodeId>();
  private readonly maxQueued: number;
  private readonly maxFrameBytes: number;
  private readonly chunkBytes: number;
  private readonly maxMessageBytes: number;
  private readonly dialTimeoutMs: number;
  private readonly redialBackoffMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private stopped = false;
  private started = false;

  constructor(private readonly options: RaftTransportOptions) {
    this.maxQueued = options.maxQueuedMessages ?? 4096;
    this.maxFrameBytes = options.maxFrameBytes ?? 4 * 1024 * 1024;
    this.chunkBytes = Math.min(options.snapshotChunkBytes ?? 1024 * 1024, this.maxFrameBytes - 1);
    this.maxMessageBytes = options.maxMessageBytes ?? 256 * 1024 * 1024;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 2000;
    this.redialBackoffMs = options.redialBackoffMs ?? 100;
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'raft-transport' });
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>) => {
    if (!this.stopped) this.options.reportDisconnected?.(event.detail.toString());
  };

  private readonly onConnect = (event: CustomEvent<PeerId>) => {
    const id = event.detail.toString();
    if (this.members.has(id)) this.warm(id);
  };

  async start(): Promise<void> {
    this.options.host.addEventListener('peer:disconnect', this.onDisconnect);
    this.options.host.addEventListener('peer:connect', this.onConnect);
    await this.options.host.handle(
      RAFT_PROTOCOL,
      (stream, connection) => {
        this.receive(stream, connection);
      },
      { maxInboundStreams: 64 },
    );
    // Only now: a peer that sees our connection dials our raft protocol back at once.
    this.started = true;
    for (const id of this.members) this.warm(id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.options.host.removeEventListener('peer:disconnect', this.onDisconnect);
    this.options.host.removeEventListener('peer:connect', this.onConnect);
    await this.options.host.unhandle(RAFT_PROTOCOL);
    for (const peer of this.outbound.values()) {
      peer.queue.length = 0;
      peer.stream?.abort(new Error('transport stopped'));
    }
    for (const stream of this.inbound) stream.abort(new Error('transport stopped'));
    this.outbound.clear();
    this.inbound.clear();
  }

  /** Tells libp2p where a peer listens (multiaddrs without the /p2p suffix or with it). */
  async addPeer(id: NodeId, addresses: string[]): Promise<void> {
    await this.options.host.peerStore.merge(peerIdFromString(id), {
      multiaddrs: addresses.map((a) => multiaddr(a)),
    });
    if (id === this.options.selfId) return;
    this.members.add(id);
    this.warm(id);
  }

  /**
   * Opens the stream to a peer before anything needs it. Followers send each other nothing
   * until the leader dies; then the first pre-vote waited ~100 ms for a dial (more after a
   * restart), long enough for the other survivor to start its own campaign and split the vote.
   */
  private warm(id: NodeId): void {
    // Never a node that was removed (or is not, or no longer, a member).
    if (this.stopped || !this.started || !this.options.isPeerAllowed(id)) return;
    const peer = this.peer(id);
    if (peer.stream || peer.pumping || this.now() < peer.retryAt) return;
    peer.pumping = true;
    void this.pump(peer);
  }

  /** Forgets a removed member: its queue is dropped and its stream closed. */
  removePeer(id: NodeId): void {
    this.members.delete(id);
    const peer = this.outbound.get(id);
    if (!peer) return;
    peer.queue.length = 0;
    peer.stream?.abort(new Error('peer removed'));
    this.outbound.delete(id);
  }

  /**
   * Queues messages for sending; never blocks and never throws. The write starts on a
   * microtask, so every message sent before it runs leaves in one write (one Ready's
   * messages, or the answers to a burst of arrivals); with 'end-of-turn', on setImmediate,
   * taking along whatever is sent to the peer in the rest of this turn of the event loop.
   */
  send(messages: readonly Message[], when: 'now' | 'end-of-turn' = 'now'): void {
    for (const message of messages) {
      if (this.stopped || message.to === this.options.selfId) continue;
      const peer = this.peer(message.to);
      if (peer.queue.length >= this.maxQueued || this.now() < peer.retryAt) {
        this.dropped(message);
        continue;
      }
      peer.queue.push(message);
      if (peer.pumping) continue; // the running pump drains the queue
      if (when === 'now') {
        peer.pumping = true;
        queueMicrotask(() => void this.pump(peer));
      } else if (!peer.pumpAtTurnEnd) {
        peer.pumpAtTurnEnd = true;
        setImmediate(() => {
          peer.pumpAtTurnEnd = false;
          if (peer.pumping || peer.queue.length === 0) return;
          peer.pumping = true;
          void this.pump(peer);
        });
      }
    }
  }

  private peer(id: NodeId): Outbound {
    let peer = this.outbound.get(id);
    if (!peer) {
      peer = { id, queue: [], stream: undefined, pumping: false, pumpAtTurnEnd: false, retryAt: 0 };
      this.outbound.set(id, peer);
    }
    return peer;
  }

  private dropped(message: Message): void {
    this.options.reportUnreachable(message.to);
    if (message.type === 'snapshot') this.options.reportSnapshot(message.to, false);
  }

  /**
   * Opens the peer's stream if it has none, then drains the queue onto it (what was sent while
   * the stream was being opened too); one pump per peer at a time.
   */
  private async pump(peer: Outbound): Promise<void> {
    try {
      if (this.stopped || (!peer.stream && !(await this.dial(peer)))) return;
      while (peer.queue.length > 0 && !this.stopped) {
        const stream = peer.stream ?? (await this.dial(peer));
        if (!stream) return;
        const batch = peer.queue.splice(0, peer.queue.length);
        try {
          await this.write(stream, batch);
        } catch (error) {
          this.log.debug(
            { peer: peer.id, err: oneLineMessage(error) },
            'raft stream to peer failed',
          );
          stream.abort(error instanceof Error ? error : new Error(String(error)));
          if (peer.stream === stream) peer.stream = undefined;
          for (const message of batch) this.dropped(message);
          continue;
        }
        for (const message of batch) {
          if (message.type === 'snapshot') this.options.reportSnapshot(peer.id, true);
        }
      }
    } finally {
      peer.pumping = false;
    }
  }

  private async dial(peer: Outbound): Promise<Stream | undefined> {
    try {
      const stream = await this.options.host.dialProtocol(peerId(peer.id), RAFT_PROTOCOL, {
        signal: AbortSignal.timeout(this.dialTimeoutMs),
      });
      if (this.stopped || this.outbound.get(peer.id) !== peer) {
        // The peer was removed (or we stopped) while dialing.
        stream.abort(new Error('peer removed'));
        return undefined;
      }
      peer.stream = stream;
      stream.addEventListener('close', () => {
        if (peer.stream === stream) peer.stream = undefined;
      });
      // We never expect data back on our outbound stream; reading keeps it flowing.
      void drain(stream);
      return stream;
    } catch (error) {
      this.log.debug({ peer: peer.id, err: oneLineMessage(error) }, 'cannot reach raft peer');
      peer.retryAt = this.now() + this.redialBackoffMs;
      for (const message of peer.queue.splice(0)) this.dropped(message);
      return undefined;
    }
  }

  private async write(stream: Stream, messages: Message[]): Promise<void> {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const bytes = pending.length === 1 ? pending[0]! : concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (!stream.send(bytes)) await stream.onDrain();
    };
    for (const message of messages) {
      for (const frame of this.frames(message)) {
        pending.push(frame);
        pendingBytes += frame.length;
        if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
      }
    }
    await flush();
  }

  private frames(message: Message): Uint8Array[] {
    const body = encodeMessage(message);
    if (body.length + 1 <= this.maxFrameBytes) return [taggedFrame(FRAME_MESSAGE, body)];
    const frames: Uint8Array[] = [];
    for (let offset = 0; offset < body.length; offset += this.chunkBytes) {
      const end = Math.min(offset + this.chunkBytes, body.length);
      const tag = end === body.length ? FRAME_LAST_CHUNK : FRAME_CHUNK;
      frames.push(taggedFrame(tag, body.subarray(offset, end)));
    }
    return frames;
  }

  /**
   * Reads an inbound stream through its 'message' events: an async iterator over it costs a
   * queue and two promise turns per chunk, and every append and acknowledgement is a chunk.
   */
  private receive(stream: Stream, connection: Connection): void {
    const remote = connection.remotePeer.toString();
    if (!this.options.isPeerAllowed(remote)) {
      this.log.warn({ peer: remote }, 'refused raft stream from a node that is not a member');
      stream.abort(new Error('not a member'));
      return;
    }
    this.inbound.add(stream);
    // A member that opens a stream to us (say, just restarted) gets ours back before it is needed.
    if (this.members.has(remote)) this.warm(remote);
    // This side only reads: a window update per append (or per ack) doubles the frames.
    const deferred = deferWindowUpdates(stream);
    if (!deferred)
      this.log.debug({ peer: remote }, 'raft stream is not yamux; window updates as is');
    const read = this.frameReader(remote);
    const onMessage = (event: StreamMessageEvent): void => {
      try {
        read(event.data as Uint8Array | Uint8ArrayList);
      } catch (error) {
        stream.removeEventListener('message', onMessage);
        if (!this.stopped) {
          this.log.warn(
            { peer: remote, err: oneLineMessage(error) },
            'closed a raft stream that sent a bad frame',
          );
        }
        stream.abort(error instanceof Error ? error : new Error(String(error)));
      }
    };
    stream.addEventListener('message', onMessage);
    // 'end': the peer will send nothing more; 'close': the stream is gone (either may be last).
    const finished = (): void => {
      stream.removeEventListener('message', onMessage);
      this.inbound.delete(stream);
    };
    stream.addEventListener('end', finished);
    stream.addEventListener('close', finished);
  }

  /** Turns a stream's chunks into checked messages for the core; throws on a bad frame. */
  private frameReader(remote: NodeId): (data: Uint8Array | Uint8ArrayList) => void {
    const decoder = new FrameDecoder(this.maxFrameBytes);
    let chunks: Uint8Array[] = [];
    let chunkBytes = 0;
    return (data) => {
      for (const frame of decoder.push(data)) {
        const tag = frame[0];
        const body = frame.subarray(1);
        if (tag === FRAME_MESSAGE) {
          this.accept(remote, decodeMessage(body));
        } else if (tag === FRAME_CHUNK || tag === FRAME_LAST_CHUNK) {
          chunkBytes += body.length;
          if (chunkBytes > this.maxMessageBytes) {
            throw new Error(`chunked message exceeds ${this.maxMessageBytes} bytes`);
          }
          chunks.push(body.slice());
          if (tag === FRAME_LAST_CHUNK) {
            const whole = concat(chunks, chunkBytes);
            chunks = [];
            chunkBytes = 0;
            this.accept(remote, decodeMessage(whole));
          }
        } else {
          throw new Error(`unknown frame kind ${tag}`);
        }
      }
    };
  }

  private accept(remote: NodeId, message: Message): void {
    if (message.from !== remote || message.to !== this.options.selfId) {
      throw new Error(
        `message from ${message.from} to ${message.to} arrived on ${remote}'s stream`,
      );
    }
    this.options.deliver(message);
  }
}

function peerId(id: NodeId): PeerId {
  return peerIdFromString(id);
}

/** A length-prefixed frame whose payload is the tag byte then the body, built in one copy. */
function taggedFrame(tag: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + 1 + body.length);
  new DataView(out.buffer).setUint32(0, body.length + 1);
  out[FRAME_HEADER_BYTES] = tag;
  out.set(body, FRAME_HEADER_BYTES + 1);
  return out;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function drain(stream: Stream): Promise<void> {
  try {
    for await (const _ of stream as AsyncIterable<unknown>) {
      // discard
    }
  } catch {
    // the stream's close/abort is handled by its owner
  }
}
