/**
 * The private network: the first layer of every connection between agents. Both ends prove
 * they hold the cluster's network key before anything else is exchanged, and everything after
 * (noise, yamux, every protocol) is enciphered with keys derived from it, so a machine without
 * the key learns nothing of the protocol and reaches none of it.
 *
 * Handshake, both ends at once, in two steps: each sends 32 random bytes (its nonce); once it
 * has the other's, it sends a 16-byte proof, HMAC-SHA256(network key, PROOF_LABEL ‖ its nonce ‖
 * the other's nonce) cut to 16 bytes. A proof binds the receiver's fresh nonce, so a proof seen
 * on one connection is worthless on any other, and a member answers an outsider with nothing
 * it could use elsewhere. A proof that does not match ends the connection at once with a clear
 * error (libp2p's pnet never checked the key: it deciphered garbage until something above gave
 * up). Then each direction runs AES-256-CTR from block 0 under HMAC-SHA256(network key,
 * STREAM_LABEL ‖ the sending end's nonce): each end sends under its own fresh nonce, so no two
 * directions of any connections share a key stream.
 *
 * Why not libp2p's pnet (XSalsa20): Node has no native XSalsa20, and the `xsalsa20` package
 * is WebAssembly, 52 µs per 16 KB on these machines against 7.6 µs for OpenSSL's AES-256-CTR
 * (AES-NI). Every Raft append passes the cipher on the leader once per follower and on each
 * follower once more; on a busy leader pnet was 5 % of the main thread. The pure parts
 * (proofs, their check, the stream keys) are exported for tests; the I/O shell is below them.
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
const PROOF_LABEL = 'swarmts private network 1: proof';
const STREAM_LABEL = 'swarmts private network 1: stream';
/** AES-256-CTR starts at block 0 under a key used for this one direction only. */
const ZERO_IV = Buffer.alloc(16);

export class PrivateNetworkError extends Error {
  override name = 'PrivateNetworkError';
}

function keyed(networkKey: Uint8Array, label: string, ...parts: Uint8Array[]): Buffer {
  const hmac = createHmac('sha256', networkKey).update(label);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/** The other end's nonce, unless it is this end's own sent back to it. */
export function checkNonce(received: Uint8Array, localNonce: Uint8Array): Uint8Array {
  if (received.length !== NONCE_BYTES) {
    throw new PrivateNetworkError(
      `private network handshake: a nonce of ${received.length} bytes, expected ${NONCE_BYTES}`,
    );
  }
  if (timingSafeEqual(received, localNonce)) {
    throw new PrivateNetworkError('private network handshake: the peer sent back our own nonce');
  }
  return received;
}

/** The proof the end that chose `senderNonce` sends to the end that chose `receiverNonce`. */
export function proof(
  networkKey: Uint8Array,
  senderNonce: Uint8Array,
  receiverNonce: Uint8Array,
): Uint8Array {
  return keyed(networkKey, PROOF_LABEL, senderNonce, receiverNonce).subarray(0, PROOF_BYTES);
}

/** Throws unless `received` is the proof of the end that chose `remoteNonce`, made for us. */
export function checkProof(
  networkKey: Uint8Array,
  received: Uint8Array,
  remoteNonce: Uint8Array,
  localNonce: Uint8Array,
): void {
  const expected = proof(networkKey, remoteNonce, localNonce);
  if (received.length !== PROOF_BYTES || !timingSafeEqual(expected, received)) {
    throw new PrivateNetworkError(
      'private network handshake: the peer does not hold this network key (another swarm, or a swarmts from before its own private network)',
    );
  }
}

/** The key that enciphers what the end that chose `nonce` sends. */
export function streamKey(networkKey: Uint8Array, nonce: Uint8Array): Buffer {
  return keyed(networkKey, STREAM_LABEL, nonce);
}

export interface PrivateNetworkInit {
  /** The cluster's 32-byte network key. */
  networkKey: Uint8Array;
  /** How long the handshake may take (libp2p's own deadline may end it sooner). */
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
      // libp2p passes a signal of its own (10 s for an inbound upgrade); ours is shorter.
      const ownDeadline = AbortSignal.timeout(timeoutMs);
      const signal = options?.signal ? AbortSignal.any([options.signal, ownDeadline]) : ownDeadline;
      const bytes = byteStream(connection);
      try {
        const [nonce] = await Promise.all([
          bytes.read({ bytes: NONCE_BYTES, signal }),
          bytes.write(localNonce, { signal }),
        ]);
        const remoteNonce = checkNonce(nonce.subarray(), localNonce);
        const [remoteProof] = await Promise.all([
          bytes.read({ bytes: PROOF_BYTES, signal }),
          bytes.write(proof(networkKey, localNonce, remoteNonce), { signal }),
        ]);
        checkProof(networkKey, remoteProof.subarray(), remoteNonce, localNonce);
        const inner = bytes.unwrap();
        if (inner.status !== 'open') {
          throw new PrivateNetworkError('private network handshake: the connection closed');
        }
        return new EncipheredConnection(
          inner,
          streamKey(networkKey, localNonce),
          streamKey(networkKey, remoteNonce),
        );
      } catch (error) {
        connection.abort(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
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
