/**
 * Length-prefixed frames over a byte stream: a 4-byte big-endian length, then the payload.
 * The decoder is incremental (chunks may split or join frames) and refuses any frame larger
 * than its limit before buffering it, so a peer cannot make us hold an unbounded message.
 */
import { Uint8ArrayList } from 'uint8arraylist';
import { SwarmtsError } from '../errors.js';

export const FRAME_HEADER_BYTES = 4;

/** A peer sent bytes that are not a frame we accept; the stream should be closed. */
export class FrameError extends SwarmtsError {
  constructor(message: string) {
    super('invalid_argument', message);
  }
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList();

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds bytes; returns every frame now complete. Throws FrameError on an oversized frame. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.buffer.append(chunk);
    const frames: Uint8Array[] = [];
    while (this.buffer.byteLength >= FRAME_HEADER_BYTES) {
      const length = this.buffer.getUint32(0);
      if (length > this.maxFrameBytes) {
        throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffer.byteLength < FRAME_HEADER_BYTES + length) break;
      frames.push(this.buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
      this.buffer.consume(FRAME_HEADER_BYTES + length);
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.buffer.byteLength;
  }
}
