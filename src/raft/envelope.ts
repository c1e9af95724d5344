/**
 * The envelope every proposed entry (and conf change context) carries: the request id that
 * lets the proposing node find its waiter when the entry is applied, and the payload.
 *
 * Binary, not msgpack: `0xc1, id length, id (ASCII), payload`. Packing and reading a
 * two-element msgpack array for every entry, on every member, was 5–6 % of a busy leader's
 * time and of each follower's. 0xc1 is the one byte msgpack never uses, so the array form
 * that earlier versions wrote (it starts with 0x92) is still read from existing logs.
 */
import { bufferView, decode, BINARY_MARKER as MARKER } from '../wire/codec.js';

export type Envelope = [requestId: string, payload: Uint8Array];

const MAX_ID_BYTES = 255;

export function encodeEnvelope(requestId: string, payload: Uint8Array): Uint8Array {
  const idBytes = requestId.length;
  if (idBytes > MAX_ID_BYTES) throw new RangeError(`request id over ${MAX_ID_BYTES} characters`);
  // From Node's shared pool: an entry stays in memory until compaction, and an ArrayBuffer
  // of its own for each would cost the GC more. Every byte is written below.
  const out = Buffer.allocUnsafe(2 + idBytes + payload.length);
  out[0] = MARKER;
  out[1] = idBytes;
  for (let i = 0; i < idBytes; i++) {
    const code = requestId.charCodeAt(i);
    if (code > 0x7f) throw new RangeError('request id is not ASCII');
    out[2 + i] = code;
  }
  out.set(payload, 2 + idBytes);
  return out;
}

/** The envelope in `data`, or undefined if `data` is not one (never throws: data from a log). */
export function decodeEnvelope(data: Uint8Array): Envelope | undefined {
  if (data.length === 0) return undefined;
  if (data[0] !== MARKER) return decodeLegacyEnvelope(data);
  if (data.length < 2) return undefined;
  const end = 2 + data[1]!;
  if (end > data.length) return undefined;
  // An id that is not ASCII reads as some other string, which no waiter has.
  return [bufferView(data).toString('latin1', 2, end), data.subarray(end)];
}

function decodeLegacyEnvelope(data: Uint8Array): Envelope | undefined {
  try {
    const value = decode(data);
    if (Array.isArray(value) && typeof value[0] === 'string' && value[1] instanceof Uint8Array) {
      return [value[0], value[1]];
    }
  } catch {
    // not an envelope
  }
  return undefined;
}
