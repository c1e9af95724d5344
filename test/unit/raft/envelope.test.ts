import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../../src/raft/envelope.js';
import { encode } from '../../../src/wire/codec.js';

describe('entry envelopes', () => {
  it('carry the request id and the payload, an empty payload too', () => {
    const payload = Uint8Array.of(1, 2, 3);
    const [id, read] = decodeEnvelope(encodeEnvelope('AbC-_9.z1', payload))!;
    expect(id).toBe('AbC-_9.z1');
    expect([...read]).toEqual([1, 2, 3]);
    const [emptyId, empty] = decodeEnvelope(encodeEnvelope('x', new Uint8Array(0)))!;
    expect([emptyId, empty.length]).toEqual(['x', 0]);
  });

  it('read the msgpack arrays that earlier versions wrote to the log', () => {
    const [id, payload] = decodeEnvelope(encode(['req.1', Uint8Array.of(7)]))!;
    expect(id).toBe('req.1');
    expect([...payload]).toEqual([7]);
  });

  it('are not found in data that is no envelope (from a log: never a throw)', () => {
    const good = encodeEnvelope('req.1', Uint8Array.of(7));
    for (const data of [
      new Uint8Array(0),
      Uint8Array.of(0xc1),
      good.subarray(0, 4),
      encode({ requestId: 'req.1' }),
      encode(['req.1', 'not bytes']),
      Uint8Array.of(0x92, 0xff),
    ]) {
      expect(decodeEnvelope(data)).toBeUndefined();
    }
  });

  it('refuse a request id that is not short ASCII text', () => {
    expect(() => encodeEnvelope('é', new Uint8Array(0))).toThrow(/ASCII/);
    expect(() => encodeEnvelope('x'.repeat(256), new Uint8Array(0))).toThrow(/255/);
  });
});
