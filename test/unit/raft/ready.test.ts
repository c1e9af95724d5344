import { describe, expect, it } from 'vitest';
import {
  MemoryStorage,
  RaftConfigError,
  RaftInvariantError,
  RaftNode,
} from '../../../src/raft/index.js';

function node(storage = MemoryStorage.bootstrap(['a', 'b', 'c'])): RaftNode {
  return new RaftNode({ id: 'a', storage, random: () => 0, electionTicks: 10 });
}

describe('the Ready / advance contract', () => {
  it('hands out a vote to persist, with mustSync, before the vote requests to send', () => {
    const n = node();
    expect(n.hasReady()).toBe(false);
    n.campaign(); // pre-vote first: no term change yet
    const pre = n.ready();
    expect(pre.hardState).toBeUndefined();
    expect(pre.messages.map((m) => m.type)).toEqual(['preVote', 'preVote']);
    n.advance();

    n.step({ type: 'preVoteResponse', from: 'b', to: 'a', term: 2, reject: false });
    const rd = n.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: 'a', commit: 1 });
    expect(rd.mustSync).toBe(true);
    expect(rd.softState).toEqual({ leader: null, role: 'candidate' });
    expect(rd.messages.map((m) => m.type)).toEqual(['vote', 'vote']);
    n.advance();
    expect(n.hasReady()).toBe(false);
  });

  it('hands out the leader’s entry to persist and, once acknowledged, to apply', () => {
    const storage = MemoryStorage.bootstrap(['a', 'b', 'c']);
    const n = node(storage);
    n.campaign();
    n.step({ type: 'preVoteResponse', from: 'b', to: 'a', term: 2, reject: false });
    n.step({ type: 'voteResponse', from: 'b', to: 'a', term: 2, reject: false });
    const rd = n.ready();
    expect(rd.softState).toEqual({ leader: 'a', role: 'leader' });
    expect(rd.entries).toEqual([{ term: 2, index: 2, type: 'normal', data: new Uint8Array() }]);
    expect(rd.committedEntries).toEqual([]);
    storage.append(rd.entries);
    n.advance();

    n.step({
      type: 'appendResponse',
      from: 'b',
      to: 'a',
      term: 2,
      index: 2,
      reject: false,
      hintIndex: 0,
      hintTerm: 0,
    });
    const next = n.ready();
    expect(next.entries).toEqual([]);
    expect(next.hardState?.commit).toBe(2);
    expect(next.mustSync).toBe(false); // a commit index alone need not be fsync'd
    expect(next.committedEntries.map((e) => e.index)).toEqual([2]);
    n.advance();
    expect(n.status().applied).toBe(2);
  });

  it('fails loudly when ready() and advance() are not paired', () => {
    const n = node();
    n.campaign();
    n.ready();
    expect(() => n.ready()).toThrow(RaftInvariantError);
    n.advance();
    expect(() => n.advance()).toThrow(RaftInvariantError);
  });

  it('restarts with the persisted term and vote', () => {
    const storage = MemoryStorage.bootstrap(['a', 'b', 'c']);
    storage.setHardState({ term: 7, vote: 'b', commit: 1 });
    expect(node(storage).status()).toMatchObject({ term: 7, vote: 'b', role: 'follower' });
  });

  it('rejects bad options with a config error', () => {
    const storage = MemoryStorage.bootstrap(['a']);
    expect(
      () =>
        new RaftNode({
          id: 'a',
          storage,
          random: Math.random,
          electionTicks: 1,
          heartbeatTicks: 1,
        }),
    ).toThrow(RaftConfigError);
    expect(() => new RaftNode({ id: '', storage, random: Math.random })).toThrow(RaftConfigError);
  });
});
