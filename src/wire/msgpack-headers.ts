/**
 * The few msgpack headers that hot encoders write by hand (Raft's appends), in exactly the
 * forms msgpackr chooses for the same values (with `useRecords: false`), so hand-written bytes
 * and msgpackr's are the same bytes and one reader takes both. Each `*Bytes` says how many bytes
 * its writer will use; each writer returns the offset after what it wrote.
 */

/** How wide the big-endian number after a tag byte is, for `value`: 1, 2 or 4 bytes. */
function width(value: number): 1 | 2 | 4 {
  return value < 0x100 ? 1 : value < 0x10000 ? 2 : 4;
}

/** A tag byte, then `value` big-endian in `bytes` bytes. */
function writeTagged(out: Uint8Array, at: number, tag: number, value: number, bytes: number) {
  out[at] = tag;
  for (let i = bytes; i > 0; i--) {
    out[at + i] = value & 0xff;
    value >>>= 8;
  }
  return at + 1 + bytes;
}

/** Tags for 1-, 2- and 4-byte numbers, by width. */
const UINT_TAGS = { 1: 0xcc, 2: 0xcd, 4: 0xce } as const;
const BIN_TAGS = { 1: 0xc4, 2: 0xc5, 4: 0xc6 } as const;
const ARRAY_TAGS = { 2: 0xdc, 4: 0xdd } as const;

/** True for the integers `writeUint` writes: 0 ≤ value < 2^32. */
export function isUint32(value: number): boolean {
  return value >>> 0 === value;
}

/** An unsigned integer below 2^32: a positive fixint up to 0x7f, then uint 8, 16 or 32. */
export function uintBytes(value: number): number {
  return value < 0x80 ? 1 : 1 + width(value);
}

export function writeUint(out: Uint8Array, at: number, value: number): number {
  if (value < 0x80) {
    out[at] = value;
    return at + 1;
  }
  const bytes = width(value);
  return writeTagged(out, at, UINT_TAGS[bytes], value, bytes);
}

/** The header of a byte string of `length` bytes: bin 8, 16 or 32. */
export function binHeaderBytes(length: number): number {
  return 1 + width(length);
}

export function writeBinHeader(out: Uint8Array, at: number, length: number): number {
  const bytes = width(length);
  return writeTagged(out, at, BIN_TAGS[bytes], length, bytes);
}

/** The header of an array of `length` items: fixarray, array 16 or array 32. */
export function arrayHeaderBytes(length: number): number {
  return length < 0x10 ? 1 : length < 0x10000 ? 3 : 5;
}

export function writeArrayHeader(out: Uint8Array, at: number, length: number): number {
  if (length < 0x10) {
    out[at] = 0x90 | length;
    return at + 1;
  }
  const bytes = length < 0x10000 ? 2 : 4;
  return writeTagged(out, at, ARRAY_TAGS[bytes], length, bytes);
}
