import { describe, expect, it } from 'vitest';
import {
  checkPreamble,
  NONCE_BYTES,
  PREAMBLE_BYTES,
  PrivateNetworkError,
  preamble,
  privateNetwork,
  streamKey,
} from '../../../src/p2p/private-network.js';

const key = new Uint8Array(32).fill(3);
const otherKey = new Uint8Array(32).fill(4);
const nonceA = new Uint8Array(NONCE_BYTES).fill(10);
const nonceB = new Uint8Array(NONCE_BYTES).fill(11);

describe('the private network handshake', () => {
  it('accepts a preamble made with the same key and returns the peer nonce', () => {
    const sent = preamble(key, nonceA);
    expect(sent).toHaveLength(PREAMBLE_BYTES);
    expect([...checkPreamble(key, sent, nonceB)]).toEqual([...nonceA]);
  });

  it('refuses a preamble made with another key, naming the cause', () => {
    expect(() => checkPreamble(key, preamble(otherKey, nonceA), nonceB)).toThrow(
      /does not hold this network key/,
    );
  });

  it('refuses a preamble with one bit of its proof changed', () => {
    const sent = preamble(key, nonceA);
    sent[PREAMBLE_BYTES - 1]! ^= 1;
    expect(() => checkPreamble(key, sent, nonceB)).toThrow(PrivateNetworkError);
  });

  it('refuses its own preamble sent back to it', () => {
    expect(() => checkPreamble(key, preamble(key, nonceA), nonceA)).toThrow(/our own nonce/);
  });

  it('refuses a preamble of the wrong length', () => {
    expect(() => checkPreamble(key, preamble(key, nonceA).subarray(1), nonceB)).toThrow(
      /47 bytes, expected 48/,
    );
  });

  it('derives a different stream key for each nonce and each network key', () => {
    const keys = [streamKey(key, nonceA), streamKey(key, nonceB), streamKey(otherKey, nonceA)];
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(3);
    expect(streamKey(key, nonceA).equals(streamKey(key, nonceA))).toBe(true);
  });

  it('refuses a network key that is not 32 bytes', () => {
    expect(() => privateNetwork({ networkKey: new Uint8Array(16) })).toThrow(
      /a network key has 32 bytes, this one has 16/,
    );
  });
});
