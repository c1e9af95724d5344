import { describe, expect, it } from 'vitest';
import { DecodeError, decode, encode } from '../../../src/wire/codec.js';

describe('wire codec', () => {
  it('round-trips values and refuses a truncated frame', () => {
    const decoded = decode(encode({ type: 'append', term: 2, data: new Uint8Array([1, 2, 3]) }));
    expect(decoded).toMatchObject({ type: 'append', term: 2 });
    expect([...(decoded as { data: Uint8Array }).data]).toEqual([1, 2, 3]);
    expect(() => decode(new Uint8Array([0x92, 0x01]))).toThrow(DecodeError);
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
});
