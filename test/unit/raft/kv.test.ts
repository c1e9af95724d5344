import { describe, expect, it } from 'vitest';
import {
  decodeKvCommand,
  encodeKvCommand,
  type KvCommand,
  KvStateMachine,
} from '../../../src/raft/kv.js';
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

describe('KV commands', () => {
  const commands: KvCommand[] = [
    { op: 'put', key: 'k', value: 'v' },
    { op: 'put', key: 'ключ ✓', value: '' },
    { op: 'delete', key: 'k' },
    { op: 'cas', key: 'k', expected: 'old', value: 'new' },
    { op: 'cas', key: 'k', expected: null, value: 'first' },
  ];

  it('read back what was written, whatever the op and the text', () => {
    for (const command of commands) {
      expect(decodeKvCommand(encodeKvCommand(command))).toEqual(command);
    }
  });

  it('apply the msgpack maps that earlier versions wrote', () => {
    const kv = new KvStateMachine();
    kv.apply(encode({ op: 'put', key: 'a', value: '1' }), { index: 1 });
    expect(
      kv.apply(encode({ op: 'cas', key: 'a', expected: '1', value: '2' }), { index: 2 }),
    ).toEqual({ ok: true, value: '2', index: 2 });
    expect(kv.get('a')).toBe('2');
  });

  it('refuse bytes cut short, with trailing bytes or an unknown op, changing nothing', () => {
    const kv = machineWith([['a', '1']]);
    const put = encodeKvCommand({ op: 'put', key: 'a', value: 'changed' });
    const broken = [
      put.subarray(0, put.length - 1),
      put.subarray(0, 4),
      Uint8Array.of(...put, 0),
      Uint8Array.of(0xc1, 9),
      Uint8Array.of(0xc1, 1, 0xff, 0xff, 0xff, 0xff),
    ];
    for (const bytes of broken) {
      expect(() => kv.apply(bytes, { index: 2 })).toThrow(/kv command/);
    }
    expect(kv.get('a')).toBe('1');
  });
});
