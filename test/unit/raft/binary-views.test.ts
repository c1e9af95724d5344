/**
 * The binary layouts (entry envelope, KV command, log segment) are read through a Buffer view
 * of the bytes. What reaches them is not always a Buffer, nor at offset 0 of its memory: a
 * message decoder may hand out a plain Uint8Array into a larger received chunk. Each reader
 * must see the same bytes then as when given a Buffer of its own.
 */
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../../src/raft/envelope.js';
import { decodeKvCommand, encodeKvCommand } from '../../../src/raft/kv.js';
import { decodeSegment, encodeSegment } from '../../../src/raft/segment.js';
import type { Entry } from '../../../src/raft/types.js';

/** `bytes` copied into the middle of a larger plain ArrayBuffer, with noise on both sides. */
function embedded(bytes: Uint8Array): Uint8Array {
  const memory = new Uint8Array(bytes.length + 23).fill(0xee);
  memory.set(bytes, 11);
  const view = new Uint8Array(memory.buffer, 11, bytes.length);
  expect(Buffer.isBuffer(view)).toBe(false);
  return view;
}

describe('binary layouts read from a plain Uint8Array inside a larger buffer', () => {
  it('an entry envelope gives the same request id and payload', () => {
    const [id, payload] = decodeEnvelope(embedded(encodeEnvelope('run.z1', Uint8Array.of(4, 5))))!;
    expect(id).toBe('run.z1');
    expect([...payload]).toEqual([4, 5]);
  });

  it('a KV command gives the same strings, UTF-8 included', () => {
    const command = { op: 'cas', key: 'clé', expected: 'vieux', value: 'neuf ✓' } as const;
    expect(decodeKvCommand(embedded(encodeKvCommand(command)))).toEqual(command);
  });

  it('a log segment gives the same entries', () => {
    const entries: Entry[] = [
      { index: 4, term: 2, type: 'normal', data: Uint8Array.of(1, 2) },
      { index: 5, term: 3, type: 'confChange', data: Uint8Array.of(9) },
    ];
    const read = decodeSegment(4, embedded(encodeSegment(entries)));
    expect(read.map((e) => ({ ...e, data: [...e.data] }))).toEqual(
      entries.map((e) => ({ ...e, data: [...e.data] })),
    );
  });
});
