/**
 * The private network's pre-shared key. Cluster tokens carry 32 random bytes; libp2p's pnet
 * wants them in the "swarm key" text format. A peer without the same key cannot finish the
 * connection handshake, so nothing else of the protocol is reachable to it.
 */
import { InvalidArgumentError } from '../errors.js';

export const PSK_SECRET_BYTES = 32;

export function swarmKeyFromSecret(secret: Uint8Array): Uint8Array {
  if (secret.length !== PSK_SECRET_BYTES) {
    throw new InvalidArgumentError(
      `a network key has ${PSK_SECRET_BYTES} bytes, this one has ${secret.length}`,
    );
  }
  const hex = Buffer.from(secret).toString('hex');
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`);
}
