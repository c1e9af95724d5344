import { LengthPrefixedDecoder } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { describe, expect, it } from 'vitest';
import { quietLengthDecoder, readLength } from '../../../src/p2p/noise-framing.js';

/** What the decoder hands a length reader: a Uint8Array or a Uint8ArrayList. */
type Source = Uint8Array | { length: number; getUint16(offset: number): number };

/** noise's own reader of the 2-byte length: throws while fewer than 2 bytes are buffered. */
function uint16BEDecode(data: Source): number {
  if (data.length < 2) throw new RangeError('Could not decode int16BE');
  return data instanceof Uint8Array ? (data[0]! << 8) + data[1]! : data.getUint16(0);
}

function framed(messages: Uint8Array[]): Uint8Array {
  return Buffer.concat(messages.flatMap((m) => [Uint8Array.of(m.length >> 8, m.length & 0xff), m]));
}

/** What a decoder yields when `bytes` arrive cut at `cuts`. */
function decodeInChunks(
  lengthDecoder: (data: Source) => number,
  bytes: Uint8Array,
  cuts: number[],
) {
  const decoder = new LengthPrefixedDecoder({ lengthDecoder, encodingLength: () => 2 });
  const out: number[][] = [];
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    for (const message of decoder.decode(bytes.subarray(from, to)))
      out.push([...message.subarray()]);
    from = to;
  }
  return out;
}

describe('quiet noise framing', () => {
  it('reads a length like noise does, and 0 where noise would throw', () => {
    expect(readLength(Uint8Array.of(0x01, 0x02, 9))).toBe(0x0102);
    expect(readLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xfe)))).toBe(0xfffe);
    expect(readLength(new Uint8Array(0))).toBe(0);
    expect(readLength(new Uint8ArrayList(Uint8Array.of(7)))).toBe(0);
  });

  it('gives the decoder the same messages as the throwing reader, however the bytes are cut', () => {
    const messages = [
      Uint8Array.of(1),
      new Uint8Array(0),
      new Uint8Array(300).fill(2),
      new Uint8Array(65_535).fill(3),
      Uint8Array.of(4, 4),
    ];
    const bytes = framed(messages);
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed;
    };
    for (let trial = 0; trial < 50; trial++) {
      const cuts = [...new Set(Array.from({ length: 6 }, () => next() % bytes.length))].sort(
        (a, b) => a - b,
      );
      const expected = decodeInChunks(uint16BEDecode, bytes, cuts);
      expect(decodeInChunks(readLength, bytes, cuts)).toEqual(expected);
      // Empty messages are skipped by the decoder.
      expect(expected.map((m) => m.length)).toEqual([1, 300, 65_535, 2]);
    }
  });

  it('replaces only a decoder that reads with noise’s function', () => {
    const noiseLike = { decoder: { lengthDecoder: uint16BEDecode } };
    expect(quietLengthDecoder(noiseLike)).toBe(true);
    expect(noiseLike.decoder.lengthDecoder).toBe(readLength);
    const other = { decoder: { lengthDecoder: (data: Uint8Array) => data.length } };
    expect(quietLengthDecoder(other)).toBe(false);
    expect(quietLengthDecoder({})).toBe(false);
    expect(quietLengthDecoder(null)).toBe(false);
  });
});
