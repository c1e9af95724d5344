/**
 * Noise without an exception per received chunk.
 *
 * @chainsafe/libp2p-noise 17 reads the 2-byte length of each encrypted message with a
 * function that throws a RangeError when fewer than 2 bytes are buffered, and its decoder
 * loop catches that to stop. Every chunk read from a connection ends that way once its
 * messages are consumed, so every Raft message received cost an Error with a captured stack:
 * 6–11 µs each on this VM, 4 % of a busy leader's CPU. Here the decoder of each secured
 * connection reads the length with a function that returns 0 instead; the decoder then sees
 * that a message needs 2 bytes more than it has and stops the same way, without throwing.
 *
 * A connection whose decoder is not of the expected shape is left alone (and counted), so a
 * noise upgrade that changes it costs speed, not correctness; a test checks the shape.
 */
import type { ConnectionEncrypter, SecuredConnection } from '@libp2p/interface';

interface LengthDecoding {
  lengthDecoder: (data: LengthSource) => number;
}

/** A Uint8Array, or a Uint8ArrayList (which has `getUint16`). */
type LengthSource = Uint8Array | { length: number; getUint16(offset: number): number };

/** How many secured connections had their decoder replaced, and how many could not. */
export const framingStats = { quiet: 0, unchanged: 0 };

/** Wraps a noise encrypter factory (`noise()`) so each connection it secures reads quietly. */
export function withQuietFraming<Components>(
  factory: (components: Components) => ConnectionEncrypter,
): (components: Components) => ConnectionEncrypter {
  return (components) => {
    const encrypter = factory(components);
    const secureInbound = encrypter.secureInbound.bind(encrypter);
    const secureOutbound = encrypter.secureOutbound.bind(encrypter);
    encrypter.secureInbound = async (...args) => quiet(await secureInbound(...args));
    encrypter.secureOutbound = async (...args) => quiet(await secureOutbound(...args));
    return encrypter;
  };
}

function quiet<T extends SecuredConnection>(secured: T): T {
  if (quietLengthDecoder(secured.connection)) framingStats.quiet++;
  else framingStats.unchanged++;
  return secured;
}

/** True when `connection`'s length decoder was noise's throwing one and is now replaced. */
export function quietLengthDecoder(connection: unknown): boolean {
  const decoder = (connection as { decoder?: Partial<LengthDecoding> } | null)?.decoder;
  if (typeof decoder?.lengthDecoder !== 'function') return false;
  if (decoder.lengthDecoder.name !== 'uint16BEDecode') return false;
  decoder.lengthDecoder = readLength;
  return true;
}

/** The big-endian 16-bit length at the start of `data`; 0 while fewer than 2 bytes are there. */
export function readLength(data: LengthSource): number {
  if (data.length < 2) return 0;
  if (data instanceof Uint8Array) return (data[0]! << 8) | data[1]!;
  return data.getUint16(0);
}
