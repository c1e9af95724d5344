import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { type Command, decodeCommand, encodeCommand } from '../../../src/state/index.js';
import { encode } from '../../../src/wire/codec.js';
import { newCluster, newNode, T1 } from './fixtures.js';

const every: Command[] = [
  { type: 'cluster.create', cluster: newCluster() },
  { type: 'cluster.update', version: 3, spec: newCluster().Spec, at: T1 },
  { type: 'cluster.update', version: 3, joinTokens: { Worker: 'w', Manager: 'm' }, at: T1 },
  { type: 'node.create', node: newNode('n1') },
  {
    type: 'node.updateSpec',
    id: 'n1',
    version: 2,
    spec: { Name: 'edge', Labels: { zone: 'a' }, Role: 'manager', Availability: 'drain' },
    at: T1,
  },
  {
    type: 'node.setStatus',
    updates: [
      { id: 'n1', state: 'down', message: 'heartbeat failure' },
      { id: 'n2', state: 'ready' },
    ],
    at: T1,
  },
  { type: 'node.setRole', id: 'n1', role: 'manager', at: T1 },
  {
    type: 'node.describe',
    id: 'n1',
    description: newNode('n1').Description,
    addr: '10.0.0.9',
    p2pAddrs: ['/ip4/10.0.0.9/tcp/4377/p2p/n1'],
    at: T1,
  },
  { type: 'node.remove', id: 'n1' },
];

/** mulberry32: a seeded source, so the "random" garbage is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function invalid(bytes: Uint8Array): InvalidArgumentError {
  try {
    decodeCommand(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('decoded garbage without complaint');
}

describe('command codec', () => {
  it.each(every.map((c) => [c.type, c] as const))('round-trips %s', (_type, command) => {
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  it('drops fields it does not know', () => {
    const bytes = encode({ type: 'node.remove', id: 'n1', extra: { nested: true } });
    expect(decodeCommand(bytes)).toEqual({ type: 'node.remove', id: 'n1' });
  });

  it('refuses bytes that are not msgpack', () => {
    // A truncated map, trailing bytes, nothing at all.
    expect(invalid(new Uint8Array([0x81])).message).toMatch(/command is not valid msgpack/);
    expect(invalid(new Uint8Array([0x01, 0x02])).message).toMatch(/not valid msgpack/);
    expect(invalid(new Uint8Array()).message).toMatch(/not valid msgpack/);
  });

  it('refuses random bytes with InvalidArgumentError, never another error', () => {
    const random = seeded(42);
    for (let i = 0; i < 500; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () =>
        Math.floor(random() * 256),
      );
      invalid(bytes);
    }
  });

  it.each([
    ['a number', 42, /expected object/],
    ['null', null, /expected object/],
    ['an unknown type', { type: 'node.explode', id: 'n1' }, /^invalid command: type: /],
    ['a missing field', { type: 'node.remove' }, /id: /],
    ['an empty id', { type: 'node.remove', id: '' }, /id: /],
    ['a bad role', { type: 'node.setRole', id: 'n', role: 'boss', at: T1 }, /role: /],
    ['a bad timestamp', { type: 'node.setRole', id: 'n', role: 'worker', at: 'now' }, /at: /],
    ['a negative version', { type: 'cluster.update', version: -1, at: T1 }, /version: /],
    [
      'a nested problem',
      { type: 'node.create', node: { ...newNode('n1'), Status: { State: 'on', Addr: '' } } },
      /node\.Status\.State: /,
    ],
  ])('refuses %s and names the problem', (_what, value, message) => {
    expect(invalid(encode(value)).message).toMatch(message);
  });

  it('lists at most three issues on one line', () => {
    const error = invalid(encode({ type: 'node.create', node: {} }));
    expect(error.message).toMatch(/\(and \d+ more\)$/);
    expect(error.message).not.toContain('\n');
  });

  it('checks commands on encode too', () => {
    const bad = { type: 'node.remove', id: '' } as Command;
    expect(() => encodeCommand(bad)).toThrow(InvalidArgumentError);
  });
});
