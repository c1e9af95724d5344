import { describe, expect, it } from 'vitest';
import {
  checkNonce,
  checkProof,
  NONCE_BYTES,
  PrivateNetworkError,
  privateNetwork,
  proof,
  streamKey,
} from '../../../src/p2p/private-network.js';

const key = new Uint8Array(32).fill(3);
const otherKey = new Uint8Array(32).fill(4);
const nonceA = new Uint8Array(NONCE_BYTES).fill(10);
const nonceB = new Uint8Array(NONCE_BYTES).fill(11);
const nonceC = new Uint8Array(NONCE_BYTES).fill(12);

describe('the private network handshake', () => {
  it('accepts the proof of an end with the same key, made for this end', () => {
    expect(() => checkProof(key, proof(key, nonceA, nonceB), nonceA, nonceB)).not.toThrow();
  });

  it('refuses a proof made with another key, naming the cause', () => {
    expect(() => checkProof(key, proof(otherKey, nonceA, nonceB), nonceA, nonceB)).toThrow(
      /does not hold this network key/,
    );
  });

  it('refuses a proof made for another end (replayed from another connection)', () => {
    // A proved itself to C; an outsider replays that proof, with A's nonce, to B.
    expect(() => checkProof(key, proof(key, nonceA, nonceC), nonceA, nonceB)).toThrow(
      PrivateNetworkError,
    );
  });

  it("refuses this end's own proof sent back to it", () => {
    const ours = proof(key, nonceA, nonceB);
    expect(() => checkProof(key, ours, nonceB, nonceA)).toThrow(PrivateNetworkError);
  });

  it('refuses a proof with one bit changed, or of the wrong length', () => {
    const changed = Uint8Array.from(proof(key, nonceA, nonceB));
    changed[5]! ^= 1;
    expect(() => checkProof(key, changed, nonceA, nonceB)).toThrow(PrivateNetworkError);
    expect(() => checkProof(key, changed.subarray(1), nonceA, nonceB)).toThrow(PrivateNetworkError);
  });

  it("refuses this end's own nonce sent back to it, and a nonce of the wrong length", () => {
    expect([...checkNonce(nonceB, nonceA)]).toEqual([...nonceB]);
    expect(() => checkNonce(Uint8Array.from(nonceA), nonceA)).toThrow(/our own nonce/);
    expect(() => checkNonce(nonceB.subarray(1), nonceA)).toThrow(/31 bytes, expected 32/);
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
