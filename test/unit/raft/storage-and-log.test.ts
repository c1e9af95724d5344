import { describe, expect, it } from 'vitest';
import {
  CompactedError,
  confState,
  decodeConfChange,
  type Entry,
  encodeConfChange,
  MemoryStorage,
  nextConfState,
  RaftInvariantError,
  refuseConfChange,
  SnapshotOutOfDateError,
  UnavailableError,
} from '../../../src/raft/index.js';
import { RaftLog } from '../../../src/raft/log.js';

const entry = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(data),
});

/** Bootstrap (index 1, term 1) followed by entries of the given terms from index 2. */
function storage(terms: number[]): MemoryStorage {
  const s = MemoryStorage.bootstrap(['a']);
  s.append(terms.map((t, i) => entry(i + 2, t)));
  return s;
}

describe('MemoryStorage', () => {
  it('replaces a conflicting suffix on append', () => {
    const s = storage([1, 2, 2]);
    s.append([entry(3, 3), entry(4, 3)]);
    expect([2, 3, 4].map((i) => s.term(i))).toEqual([1, 3, 3]);
    expect(s.lastIndex()).toBe(4);
  });

  it('keeps the term of the last compacted entry and refuses reads below it', () => {
    const s = storage([1, 2, 2, 3]);
    s.createSnapshot(4, confState(['a']), new Uint8Array());
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5, 100)).toThrow(CompactedError);
    expect(() => s.term(6)).toThrow(UnavailableError);
  });

  it('only compacts what a snapshot covers, and refuses older snapshots', () => {
    const s = storage([1, 2, 2]);
    s.createSnapshot(3, confState(['a']), new Uint8Array());
    expect(() => s.compact(4)).toThrow(RaftInvariantError);
    expect(() => s.createSnapshot(2, confState(['a']), new Uint8Array())).toThrow(
      SnapshotOutOfDateError,
    );
  });

  it('returns at least one entry, then as many as fit in maxBytes', () => {
    const s = storage([1, 1, 1]);
    expect(s.entries(2, 5, 1)).toHaveLength(1);
    expect(s.entries(2, 5, 50)).toHaveLength(2); // 24 bytes each without data
    expect(s.entries(2, 5, 1000)).toHaveLength(3);
  });
});

describe('RaftLog', () => {
  it('finds the last entry that can match for fast back-off', () => {
    const log = new RaftLog(storage([1, 1, 4, 4, 5, 5, 6, 6, 6]), 1 << 20); // index 1..10
    expect(log.findConflictByTerm(10, 6)).toEqual({ index: 10, term: 6 });
    expect(log.findConflictByTerm(10, 5)).toEqual({ index: 7, term: 5 });
    expect(log.findConflictByTerm(10, 3)).toEqual({ index: 3, term: 1 });
    expect(log.findConflictByTerm(10, 0)).toEqual({ index: 0, term: 0 }); // below the snapshot
  });

  it('appends after a matching entry and refuses to rewrite a committed one', () => {
    const log = new RaftLog(storage([2, 2]), 1 << 20); // terms 1, 2, 2
    expect(log.maybeAppend(3, 3, 3, [entry(4, 3)])).toBeUndefined(); // term mismatch at 3
    const result = log.maybeAppend(2, 2, 3, [entry(3, 3), entry(4, 3)]);
    expect(result?.lastIndex).toBe(4);
    expect(result?.appended.map((e) => e.index)).toEqual([3, 4]);
    expect(log.committed).toBe(3);
    expect(() => log.maybeAppend(2, 2, 3, [entry(3, 4)])).toThrow(RaftInvariantError);
  });

  it('never commits beyond what the append proved to match', () => {
    const log = new RaftLog(storage([1, 1, 1, 1]), 1 << 20);
    log.maybeAppend(2, 1, 100, []);
    expect(log.committed).toBe(2);
  });

  it('reads across stable and unstable entries', () => {
    const log = new RaftLog(storage([1, 1]), 1 << 20);
    log.append([entry(4, 2), entry(5, 2)]);
    expect(log.slice(2, 6, 1 << 20)?.map((e) => e.term)).toEqual([1, 1, 2, 2]);
    expect(log.unstableEntries().map((e) => e.index)).toEqual([4, 5]);
    log.stableTo(5, 2);
    expect(log.unstableEntries()).toEqual([]);
  });
});

describe('conf changes', () => {
  it('round-trips through their entry encoding', () => {
    const cc = {
      type: 'addLearner',
      nodeId: '12D3KooWé',
      context: new Uint8Array([1, 2, 3]),
    } as const;
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    expect(decodeConfChange(encodeConfChange({ type: 'removeNode', nodeId: 'n1' }))).toEqual({
      type: 'removeNode',
      nodeId: 'n1',
    });
    expect(() => decodeConfChange(new Uint8Array([9, 9]))).toThrow(RaftInvariantError);
  });

  it('apply idempotently, each setting the node’s whole status', () => {
    let conf = confState(['a', 'b']);
    conf = nextConfState(conf, { type: 'addLearner', nodeId: 'c' });
    conf = nextConfState(conf, { type: 'promoteLearner', nodeId: 'c' });
    expect(conf).toEqual({ voters: ['a', 'b', 'c'], learners: [], removed: [] });
    expect(nextConfState(conf, { type: 'promoteLearner', nodeId: 'c' })).toEqual(conf);
    conf = nextConfState(conf, { type: 'removeNode', nodeId: 'a' });
    expect(conf).toEqual({ voters: ['b', 'c'], learners: [], removed: ['a'] });
  });

  it('are refused when they make no sense for the configuration', () => {
    const conf = confState(['a', 'b'], ['l'], ['gone']);
    expect(refuseConfChange(conf, { type: 'addVoter', nodeId: 'a' })).toMatch(/already a voter/);
    expect(refuseConfChange(conf, { type: 'addVoter', nodeId: 'l' })).toMatch(/learner/);
    expect(refuseConfChange(conf, { type: 'addVoter', nodeId: 'gone' })).toMatch(/removed/);
    expect(refuseConfChange(conf, { type: 'promoteLearner', nodeId: 'a' })).toMatch(
      /not a learner/,
    );
    expect(refuseConfChange(conf, { type: 'removeNode', nodeId: 'x' })).toMatch(/not a member/);
    expect(refuseConfChange(conf, { type: 'addVoter', nodeId: 'new' })).toBeNull();
  });
});
