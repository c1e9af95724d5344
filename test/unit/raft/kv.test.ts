import { describe, expect, it } from 'vitest';
import { encodeKvCommand, KvStateMachine } from '../../../src/raft/kv.js';
import { encode } from '../../../src/wire/codec.js';

function machineWith(pairs: Array<[string, string]>): KvStateMachine {
  const kv = new KvStateMachine();
  pairs.forEach(([key, value], i) => {
    kv.apply(encodeKvCommand({ op: 'put', key, value }), { index: i + 1 });
  });
  return kv;
}

const PAIRS: Array<[string, string]> = [
  ['a', '1'],
  ['b', '2'],
];

describe('KvStateMachine snapshots', () => {
  it('restores what it snapshotted', () => {
    const restored = new KvStateMachine();
    restored.restore(machineWith(PAIRS).snapshot());
    expect(restored.entries()).toEqual(PAIRS);
  });

  it('reads the list of pairs that earlier versions wrote', () => {
    const restored = new KvStateMachine();
    restored.restore(encode(PAIRS));
    expect(restored.get('b')).toBe('2');
    expect(restored.size).toBe(2);
  });

  it('refuses a snapshot that is not keys and values, keeping its contents', () => {
    const kv = machineWith([['a', '1']]);
    expect(() => kv.restore(encode(['a', '1', 'b']))).toThrow(/keys and values/);
    expect(() => kv.restore(encode([['a', 1]]))).toThrow(/keys and values/);
    expect(() => kv.restore(encode({ a: '1' }))).toThrow(/not a list/);
    expect(kv.get('a')).toBe('1');
  });
});
