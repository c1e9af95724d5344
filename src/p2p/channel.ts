/**
 * A message channel over one libp2p stream: length-prefixed msgpack frames in both
 * directions. Protocols built on it (join, control forwarding, dispatcher sessions) validate
 * every value they read, since it comes from another machine.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Uint8ArrayList } from 'uint8arraylist';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import type { Logger } from '../log.js';
import { decode, encode } from '../wire/codec.js';
import { encodeFrame, FrameDecoder } from '../wire/frames.js';

const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Enough for any join, session or forwarded API message; a peer cannot make us buffer more. */
export const SMALL_FRAME_BYTES = 2 * 1024 * 1024;
const FIRST_FRAME_TIMEOUT_MS = 10_000;

/**
 * The first value a peer sends on a fresh stream, or an error if it sends nothing in time
 * (a stream opened and left idle must not hold resources forever).
 */
export async function firstValue(
  channel: Channel,
  timeoutMs = FIRST_FRAME_TIMEOUT_MS,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      channel.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no request within the time limit')), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class Channel {
  private readonly decoder: FrameDecoder;

  constructor(
    readonly stream: Stream,
    readonly remotePeer: string,
    maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
  }

  async send(value: unknown): Promise<void> {
    if (!this.stream.send(encodeFrame(encode(value)))) await this.stream.onDrain();
  }

  private values: AsyncGenerator<unknown> | undefined;

  /** Every value the peer sends, in order; ends when the peer closes its side. One reader. */
  receive(): AsyncGenerator<unknown> {
    this.values ??= this.decodeAll();
    return this.values;
  }

  /** The next value, or undefined when the stream ended first. */
  async next(): Promise<unknown> {
    const result = await this.receive().next();
    return result.done ? undefined : result.value;
  }

  private async *decodeAll(): AsyncGenerator<unknown> {
    for await (const data of this.stream as AsyncIterable<Uint8Array | Uint8ArrayList>) {
      for (const frame of this.decoder.push(data)) yield decode(frame);
    }
  }

  async close(): Promise<void> {
    try {
      await this.stream.close();
    } catch {
      this.stream.abort(new Error('close failed'));
    }
  }

  abort(reason: string): void {
    this.stream.abort(new Error(reason));
  }
}

/** The request never left: no stream to the peer could be opened. Safe to retry elsewhere. */
export class PeerUnreachableError extends SwarmtsError {
  constructor(protocol: string, cause: unknown) {
    super('unavailable', `${protocol}: peer unreachable (${oneLineMessage(cause)})`, { cause });
  }
}

/** Opens a channel to a peer (by id) or an address (the peer id is learned in the handshake). */
export async function openChannel(
  host: Libp2p,
  target: PeerId | Multiaddr | Multiaddr[],
  protocol: string,
  signal: AbortSignal,
): Promise<Channel> {
  const connection = await host.dial(target, { signal });
  const stream = await connection.newStream(protocol, { signal });
  return new Channel(stream, connection.remotePeer.toString());
}

/**
 * One request, one response: opens a channel, sends `request`, reads one value, closes.
 * Throws when the peer closes without answering or the signal fires. Opening has its own,
 * shorter deadline: a stream to a peer whose link is cut never opens, and the caller should
 * learn that quickly rather than when the whole request times out.
 */
export async function call(
  host: Libp2p,
  target: PeerId | Multiaddr | Multiaddr[],
  protocol: string,
  request: unknown,
  signal: AbortSignal,
  openTimeoutMs = 1500,
): Promise<{ response: unknown; remotePeer: string }> {
  let channel: Channel;
  try {
    channel = await openChannel(
      host,
      target,
      protocol,
      AbortSignal.any([signal, AbortSignal.timeout(openTimeoutMs)]),
    );
  } catch (error) {
    throw new PeerUnreachableError(protocol, error);
  }
  const onAbort = () => channel.abort('request aborted');
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await channel.send(request);
    const response = await channel.next();
    if (response === undefined) throw new Error(`${protocol}: the peer closed without answering`);
    return { response, remotePeer: channel.remotePeer };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await channel.close();
  }
}

/** Serves request/response calls: `handler` gets the request and the caller's peer id. */
export async function serveCalls(
  host: Libp2p,
  protocol: string,
  handler: (request: unknown, remotePeer: string) => Promise<unknown>,
  logger: Logger,
  limits: { maxFrameBytes?: number; firstFrameTimeoutMs?: number } = {},
): Promise<void> {
  await host.handle(protocol, (stream, connection) => {
    const channel = new Channel(
      stream,
      connection.remotePeer.toString(),
      limits.maxFrameBytes ?? SMALL_FRAME_BYTES,
    );
    void (async () => {
      try {
        const request = await firstValue(channel, limits.firstFrameTimeoutMs);
        if (request === undefined) return;
        await channel.send(await handler(request, channel.remotePeer));
        await channel.close();
      } catch (error) {
        logger.warn(
          { peer: channel.remotePeer, protocol, err: oneLineMessage(error) },
          'closed a call that failed',
        );
        channel.abort(oneLineMessage(error));
      }
    })();
  });
}
