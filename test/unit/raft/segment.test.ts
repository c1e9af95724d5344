import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, isBinarySegment } from '../../../src/raft/segment.js';
import type { Entry } from '../../../src/raft/types.js';
import { encode } from '../../../src/wire/codec.js';

const entries: Entry[] = [
  { index: 7, term: 3, type: 'normal', data: Uint8Array.of(1, 2, 3) },
  { index: 8, term: 2 ** 40, type: 'confChange', data: Uint8Array.of(9) },
  { index: 9, term: 2 ** 40, type: 'normal', data: new Uint8Array(0) },
];

const plain = (list: Entry[]) => list.map((e) => ({ ...e, data: [...e.data] }));

describe('log segments', () => {
  it('read back the entries written, at the indexes that follow the first', () => {
    const bytes = encodeSegment(entries);
    expect(isBinarySegment(bytes)).toBe(true);
    expect(plain(decodeSegment(7, bytes))).toEqual(plain(entries));
  });

  it('are told apart from the msgpack segments of format 3', () => {
    expect(isBinarySegment(encode(entries.map((e) => [e.term, 0, e.data])))).toBe(false);
  });

  it('refuse damaged bytes, naming the entry', () => {
    const bytes = Buffer.from(encodeSegment(entries));
    const withType = Buffer.from(bytes);
    withType[5 + 8] = 2;
    expect(() => decodeSegment(7, withType)).toThrow('entry 7 has an unknown type');
    const withTerm = Buffer.from(bytes);
    withTerm.writeDoubleLE(Number.NaN, 5);
    expect(() => decodeSegment(7, withTerm)).toThrow('entry 7 has no term');
    expect(() => decodeSegment(7, bytes.subarray(0, bytes.length - 1))).toThrow(
      'entry 9 is cut short',
    );
    expect(() => decodeSegment(7, Buffer.concat([bytes, Uint8Array.of(0)]))).toThrow(
      'bytes after the last entry',
    );
    expect(() => decodeSegment(7, encodeSegment([]))).toThrow('an empty segment');
  });
});
