/**
 * msgpackr encoding shared by every protocol. Records are off so that any msgpack reader can
 * decode our frames and a frame never depends on structures sent earlier on the stream.
 * Decoding turns any failure into a DecodeError, since the bytes come from another machine.
 */
import { Packr } from 'msgpackr';
import { SwarmtsError } from '../errors.js';

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export class DecodeError extends SwarmtsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_argument', message, options);
  }
}

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new DecodeError(`undecodable msgpack frame (${bytes.length} bytes)`, { cause: error });
  }
}
