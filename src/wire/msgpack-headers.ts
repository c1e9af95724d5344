/**
 * The few msgpack headers that hot encoders write by hand (Raft's appends), in exactly the
 * forms msgpackr chooses for the same values (with `useRecords: false`), so hand-written bytes
 * and msgpackr's are the same bytes and one reader takes both. Each `*Bytes` says how many bytes
 * its writer will use; each writer returns the offset after what it wrote.
 */

/** An unsigned integer below 2^32: a positive fixint up to 0x7f, then uint 8, 16 or 32. */
export function uintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x100) return 2;
  if (value < 0x10000) return 3;
  return 5;
}

export function writeUint(out: Uint8Array, at: number, value: number): number {
  if (value < 0x80) {
    out[at] = value;
    return at + 1;
  }
  if (value < 0x100) {
    out[at] = 0xcc;
    out[at + 1] = value;
    return at + 2;
  }
  if (value < 0x10000) {
    out[at] = 0xcd;
    out[at + 1] = value >>> 8;
    out[at + 2] = value & 0xff;
    return at + 3;
  }
  out[at] = 0xce;
  writeUint32(out, at + 1, value);
  return at + 5;
}

/** True for the integers `writeUint` writes: 0 ≤ value < 2^32. */
export function isUint32(value: number): boolean {
  return value >>> 0 === value;
}

/** The header of a byte string of `length` bytes: bin 8, 16 or 32. */
export function binHeaderBytes(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

export function writeBinHeader(out: Uint8Array, at: number, length: number): number {
  if (length < 0x100) {
    out[at] = 0xc4;
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    out[at] = 0xc5;
    out[at + 1] = length >>> 8;
    out[at + 2] = length & 0xff;
    return at + 3;
  }
  out[at] = 0xc6;
  writeUint32(out, at + 1, length);
  return at + 5;
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
  if (length < 0x10000) {
    out[at] = 0xdc;
    out[at + 1] = length >>> 8;
    out[at + 2] = length & 0xff;
    return at + 3;
  }
  out[at] = 0xdd;
  writeUint32(out, at + 1, length);
  return at + 5;
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
