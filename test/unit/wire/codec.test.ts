import { describe, expect, it } from 'vitest';
import { DecodeError, decode, encode } from '../../../src/wire/codec.js';

describe('wire codec', () => {
  it('round-trips values and refuses a truncated frame', () => {
    const decoded = decode(encode({ type: 'append', term: 2, data: new Uint8Array([1, 2, 3]) }));
    expect(decoded).toMatchObject({ type: 'append', term: 2 });
    expect([...(decoded as { data: Uint8Array }).data]).toEqual([1, 2, 3]);
    expect(() => decode(new Uint8Array([0x92, 0x01]))).toThrow(DecodeError);
    for (const notBytes of [undefined, null, {}]) {
      expect(() => decode(notBytes as unknown as Uint8Array)).toThrow(DecodeError);
    }
  });

  it('decodes strings without the native extractor, which keeps a whole frame per string', async () => {
    const unpack = (await import('msgpackr/unpack')) as { isNativeAccelerationEnabled?: boolean };
    expect(decode(encode({ key: 'k', value: 'v'.repeat(200) }))).toEqual({
      key: 'k',
      value: 'v'.repeat(200),
    });
    expect(unpack.isNativeAccelerationEnabled).toBe(false);
  });

  it('leaves the bytes it reads as they were', () => {
    // A Raft entry's data is read when applied and kept long after: nothing may be hung on it.
    for (const bytes of [encode([1, 'two']), new Uint8Array(encode([1, 'two']))]) {
      const before = Object.getOwnPropertyNames(bytes);
      expect(decode(bytes)).toEqual([1, 'two']);
      expect(Object.getOwnPropertyNames(bytes)).toEqual(before);
      expect(decode(bytes)).toEqual([1, 'two']);
    }
  });

  it('gives a large value a buffer of its own size, and small ones after it a small buffer', () => {
    const large = encode('x'.repeat(3_000_000));
    expect(large.buffer.byteLength).toBe(large.length);
    expect(decode(large)).toHaveLength(3_000_000);
    // Without the reset, this sat in the tens of megabytes msgpackr grew for the large value.
    const small = encode({ term: 1 });
    expect(small.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
    expect(decode(small)).toEqual({ term: 1 });
  });

  it('gives the same bytes with a size guess that is right, short or long, keeping no more than twice the value', () => {
    const value = Array.from({ length: 20_000 }, (_, i) => `key-${i}-${'v'.repeat(40)}`);
    const plain = encode(value);
    const fitted = encode(value, plain.length);
    expect(Buffer.from(fitted).equals(Buffer.from(plain))).toBe(true);
    expect(fitted.buffer.byteLength).toBeLessThan(plain.length * 1.2 + 128 * 1024);
    // A guess far too small or far too large still gives the same bytes, and nothing more.
    for (const guess of [300_000, plain.length * 4]) {
      const packed = encode(value, guess);
      expect(Buffer.from(packed).equals(Buffer.from(plain))).toBe(true);
      expect(packed.buffer.byteLength).toBeLessThanOrEqual(plain.length * 2);
    }
    // Later values go to a small buffer of their own, not after the large one.
    const small = encode({ term: 1 });
    expect(small.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
  });
});
