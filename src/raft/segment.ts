/**
 * A log segment's bytes: the entries one Ready appended, as LevelDB stores them.
 *
 * Format 4 writes them binary: `0xc1, count (u32)`, then for each entry its term (f64), type
 * (u8: 0 normal, 1 confChange), data length (u32) and data, little-endian. Packing the
 * segment as msgpack, `[[term, type, data], ...]` (format 3, still read), was 3 % of a busy
 * leader's CPU and more of each follower's. 0xc1 is the one byte msgpack never uses, so a
 * segment says which form it is in.
 */
import { bufferView, BINARY_MARKER as MARKER } from '../wire/codec.js';
import type { Entry } from './types.js';

const HEADER_BYTES = 5;
const ENTRY_HEADER_BYTES = 13;

export function encodeSegment(entries: readonly Entry[]): Uint8Array {
  let size = HEADER_BYTES;
  for (const entry of entries) size += ENTRY_HEADER_BYTES + entry.data.length;
  // Every byte is written below.
  const out = Buffer.allocUnsafe(size);
  out[0] = MARKER;
  out.writeUInt32LE(entries.length, 1);
  let at = HEADER_BYTES;
  for (const entry of entries) {
    out.writeDoubleLE(entry.term, at);
    out[at + 8] = entry.type === 'normal' ? 0 : 1;
    out.writeUInt32LE(entry.data.length, at + 9);
    out.set(entry.data, at + ENTRY_HEADER_BYTES);
    at += ENTRY_HEADER_BYTES + entry.data.length;
  }
  return out;
}

export function isBinarySegment(bytes: Uint8Array): boolean {
  return bytes[0] === MARKER;
}

/**
 * The entries of a binary segment whose first entry is at `start`; their data are views of
 * `bytes`. Throws a plain Error naming what is wrong (the caller reports the store corrupt).
 */
export function decodeSegment(start: number, bytes: Uint8Array): Entry[] {
  if (bytes.length < HEADER_BYTES || bytes[0] !== MARKER) throw new Error('not a binary segment');
  const view = bufferView(bytes);
  const count = view.readUInt32LE(1);
  if (count === 0) throw new Error('an empty segment');
  const entries: Entry[] = new Array(count);
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ENTRY_HEADER_BYTES > view.length) throw new Error(`entry ${start + i} is cut short`);
    const term = view.readDoubleLE(at);
    const kind = view[at + 8];
    const end = at + ENTRY_HEADER_BYTES + view.readUInt32LE(at + 9);
    if (!Number.isSafeInteger(term) || term < 0) throw new Error(`entry ${start + i} has no term`);
    if (kind !== 0 && kind !== 1) throw new Error(`entry ${start + i} has an unknown type`);
    if (end > view.length) throw new Error(`entry ${start + i} is cut short`);
    entries[i] = {
      index: start + i,
      term,
      type: kind === 0 ? 'normal' : 'confChange',
      data: view.subarray(at + ENTRY_HEADER_BYTES, end),
    };
    at = end;
  }
  if (at !== view.length) throw new Error('bytes after the last entry');
  return entries;
}
