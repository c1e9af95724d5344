/**
 * The private network: the first layer of every connection between agents. Both ends prove
 * they hold the cluster's network key before anything else is exchanged, and everything after
 * (noise, yamux, every protocol) is enciphered with keys derived from it, so a machine without
 * the key learns nothing of the protocol and reaches none of it.
 *
 * Handshake, both ends at once: 32 random bytes (this end's nonce), then a 16-byte proof,
 * HMAC-SHA256(network key, PROOF_LABEL ‖ nonce) cut to 16 bytes. A proof that does not match
 * ends the connection at once with a clear error (libp2p's pnet only ever saw garbage and
 * waited for its timeout). Then each direction runs AES-256-CTR from block 0 under
 * HMAC-SHA256(network key, STREAM_LABEL ‖ the sending end's nonce): each end sends under its
 * own fresh nonce, so no two directions of any connections share a key stream.
 *
 * Why not libp2p's pnet (XSalsa20): Node has no native XSalsa20, and the `xsalsa20` package
 * is WebAssembly, 52 µs per 16 KB on these machines against 7.6 µs for OpenSSL's AES-256-CTR
 * (AES-NI). Every Raft append passes the cipher on the leader once per follower and on each
 * follower once more; on a busy leader pnet was 5 % of the main thread. The pure parts
 * (preamble, its check, the stream keys) are exported for tests; the I/O shell is below them.
 */
import { createCipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type {
  AbortOptions,
  ConnectionProtector,
  MessageStreamEvents,
  MultiaddrConnection,
} from '@libp2p/interface';
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils';

export const NETWORK_KEY_BYTES = 32;
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 16;
export const PREAMBLE_BYTES = NONCE_BYTES + PROOF_BYTES;
const PROOF_LABEL = 'swarmts private network 1: proof';
const STREAM_LABEL = 'swarmts private network 1: stream';
/** AES-256-CTR starts at block 0 under a key used for this one direction only. */
const ZERO_IV = Buffer.alloc(16);

export class PrivateNetworkError extends Error {
  override name = 'PrivateNetworkError';
}

function keyed(networkKey: Uint8Array, label: string, nonce: Uint8Array): Buffer {
  return createHmac('sha256', networkKey).update(label).update(nonce).digest();
}

/** What this end sends first: its nonce and the proof that it holds `networkKey`. */
export function preamble(networkKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREAMBLE_BYTES);
  out.set(nonce, 0);
  out.set(keyed(networkKey, PROOF_LABEL, nonce).subarray(0, PROOF_BYTES), NONCE_BYTES);
  return out;
}

/**
 * The remote end's nonce, once its preamble proves it holds `networkKey`. A preamble that
 * repeats this end's own nonce is refused: it is this end's preamble sent back to it.
 */
export function checkPreamble(
  networkKey: Uint8Array,
  received: Uint8Array,
  localNonce: Uint8Array,
): Uint8Array {
  if (received.length !== PREAMBLE_BYTES) {
    throw new PrivateNetworkError(
      `private network handshake: ${received.length} bytes, expected ${PREAMBLE_BYTES}`,
    );
  }
  const nonce = received.subarray(0, NONCE_BYTES);
  const expected = keyed(networkKey, PROOF_LABEL, nonce).subarray(0, PROOF_BYTES);
  if (!timingSafeEqual(expected, received.subarray(NONCE_BYTES))) {
    throw new PrivateNetworkError(
      'private network handshake: the peer does not hold this network key (another swarm, or a swarmts from before the AES private network)',
    );
  }
  if (timingSafeEqual(nonce, localNonce)) {
    throw new PrivateNetworkError('private network handshake: the peer sent back our own nonce');
  }
  return nonce;
}

/** The key that enciphers what the end that chose `nonce` sends. */
export function streamKey(networkKey: Uint8Array, nonce: Uint8Array): Buffer {
  return keyed(networkKey, STREAM_LABEL, nonce);
}

export interface PrivateNetworkInit {
  /** The cluster's 32-byte network key. */
  networkKey: Uint8Array;
  /** How long the handshake may take when libp2p gives no signal of its own. */
  timeoutMs?: number;
}

/** libp2p's `connectionProtector` for a swarm's private network. */
export function privateNetwork(init: PrivateNetworkInit): () => ConnectionProtector {
  if (init.networkKey.length !== NETWORK_KEY_BYTES) {
    throw new PrivateNetworkError(
      `a network key has ${NETWORK_KEY_BYTES} bytes, this one has ${init.networkKey.length}`,
    );
  }
  const networkKey = Uint8Array.from(init.networkKey);
  const timeoutMs = init.timeoutMs ?? 2000;
  return () => ({
    [Symbol.toStringTag]: 'swarmts/private-network',
    async protect(connection: MultiaddrConnection, options?: AbortOptions) {
      const localNonce = new Uint8Array(randomBytes(NONCE_BYTES));
      const signal = options?.signal ?? AbortSignal.timeout(timeoutMs);
      const bytes = byteStream(connection);
      let remoteNonce: Uint8Array;
      try {
        const [received] = await Promise.all([
          bytes.read({ bytes: PREAMBLE_BYTES, signal }),
          bytes.write(preamble(networkKey, localNonce), { signal }),
        ]);
        remoteNonce = checkPreamble(networkKey, received.subarray(), localNonce);
      } catch (error) {
        connection.abort(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      return new EncipheredConnection(
        bytes.unwrap(),
        streamKey(networkKey, localNonce),
        streamKey(networkKey, remoteNonce),
      );
    },
  });
}

/** The connection above the handshake: what it sends is enciphered, what it reads deciphered. */
class EncipheredConnection extends AbstractMultiaddrConnection {
  private readonly outbound;
  private readonly inbound;

  constructor(
    private readonly inner: MultiaddrConnection,
    sendKey: Buffer,
    receiveKey: Buffer,
  ) {
    super({
      remoteAddr: inner.remoteAddr,
      direction: inner.direction,
      log: inner.log.newScope('private-network'),
    });
    this.outbound = createCipheriv('aes-256-ctr', sendKey, ZERO_IV);
    this.inbound = createCipheriv('aes-256-ctr', receiveKey, ZERO_IV);
    // Listeners go on before this turn ends: unwrap() hands over unread bytes in a microtask.
    inner.addEventListener('message', (event) => {
      const data = event.data;
      if (data instanceof Uint8Array) {
        this.onData(this.inbound.update(data));
      } else {
        for (const chunk of data) this.onData(this.inbound.update(chunk));
      }
    });
    inner.addEventListener('drain', () => this.onMuxerDrain());
    inner.addEventListener('close', (event: MessageStreamEvents['close']) => {
      if (event.error == null) this.onTransportClosed();
      else if (event.local) this.abort(event.error);
      else this.onRemoteReset();
    });
  }

  sendData(data: Parameters<AbstractMultiaddrConnection['sendData']>[0]) {
    return {
      sentBytes: data.byteLength,
      canSendMore: this.inner.send(this.outbound.update(data.subarray())),
    };
  }

  sendReset(error: Error): void {
    this.inner.abort(error);
  }

  sendPause(): void {
    this.inner.pause();
  }

  sendResume(): void {
    this.inner.resume();
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.inner.close(options);
  }
}
