/**
 * msgpackr encoding shared by every protocol. Records are off so that any msgpack reader can
 * decode our frames and a frame never depends on structures sent earlier on the stream.
 * Decoding turns any failure into a DecodeError, since the bytes come from another machine.
 *
 * Imported without msgpackr's native string extractor ('msgpackr' wires it in under Node,
 * 'msgpackr/pack' does not). The extractor reads every string of a frame into one and hands
 * out slices of it, so a key-value pair kept in state kept its whole command's text alive
 * (~370 bytes instead of ~220 per 200-byte value), all of it copied by the young-generation
 * GC; on our frames it saved under 0.1 µs a message. Three alternating runs of 64 proposers
 * without it: 10,086, 9,663, 9,355 commits/s against 8,776, 9,517, 8,959, CPU per commit down
 * 5–10 µs on each member.
 */
import { Packr } from 'msgpackr/pack';
import { SwarmtsError } from '../errors.js';

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

/**
 * The one byte msgpack never uses. A record that starts with it is one of our binary layouts
 * (Raft entries' envelopes, KV commands, log segments) and cannot be mistaken for msgpack, so
 * the msgpack forms earlier versions wrote can still be told apart and read.
 */
export const BINARY_MARKER = 0xc1;

/** `bytes` as a Buffer over the same memory (for its integer readers and text decoding). */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class DecodeError extends SwarmtsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_argument', message, options);
  }
}

/**
 * msgpackr packs each value right after the previous one in a shared buffer, and allocates
 * another like it when that one is full; a large value grows it to several times its own size
 * (36 MB for a 3 MB value). Left that big, every later small value went to fresh pages of
 * another such buffer (a page fault per 4 KiB written; a busy leader spent a tenth of its CPU
 * in page faults, about half of them these) and kept all of it alive. So a large value is
 * copied out to a buffer of its own size, and later ones go to a small buffer again.
 */
const LARGE_VALUE_BYTES = 256 * 1024;
const SMALL_BUFFER_BYTES = 64 * 1024;

export function encode(value: unknown, expectedBytes = 0): Uint8Array {
  if (expectedBytes > LARGE_VALUE_BYTES) return encodeLarge(value, expectedBytes);
  const packed = packr.pack(value);
  if (packed.length <= LARGE_VALUE_BYTES) return packed;
  packr.useBuffer(Buffer.allocUnsafeSlow(SMALL_BUFFER_BYTES));
  return new Uint8Array(packed);
}

/**
 * A value whose size the caller can guess (a snapshot) is packed straight into a buffer of
 * about that size, which becomes the result. Packed the usual way, it went through msgpackr's
 * growing buffers and was copied out: every copy lands on fresh pages, and on this VM a first
 * touch costs ~14 µs a page. A 40,000-key (8.5 MB) snapshot took 50–130 ms that way, 32–50 here.
 */
function encodeLarge(value: unknown, expectedBytes: number): Uint8Array {
  const room = Buffer.allocUnsafeSlow(Math.ceil(expectedBytes * 1.125) + SMALL_BUFFER_BYTES);
  packr.useBuffer(room);
  try {
    const packed = packr.pack(value);
    // msgpackr moved to a buffer of its own if the guess was short; a long guess would keep
    // the unused rest of `room` alive with the result.
    const fitted = packed.buffer === room.buffer && packed.length * 2 >= room.length;
    return fitted ? packed : new Uint8Array(packed);
  } finally {
    packr.useBuffer(Buffer.allocUnsafeSlow(SMALL_BUFFER_BYTES));
  }
}

/**
 * Reads through a view of its own: msgpackr leaves a DataView on the object it reads, and a
 * Raft entry's data is read when applied and then kept until compaction. With that view, each
 * entry kept ~120 bytes more (a DataView and a property store) on every member, copied twice
 * by the young-generation GC.
 */
export function decode(bytes: Uint8Array): unknown {
  try {
    const view = Buffer.isBuffer(bytes)
      ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return packr.unpack(view);
  } catch (error) {
    throw new DecodeError(`undecodable msgpack frame (${bytes?.length ?? 0} bytes)`, {
      cause: error,
    });
  }
}
