import { describe, expect, it } from 'vitest';
import { MemoryStorage, RaftNode } from '../../../src/raft/index.js';
import { Rng } from '../../sim/rng.js';
import { Cluster } from './harness.js';

describe('leader election', () => {
  it('elects one leader that every node then follows', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');

    expect(c.leaders()).toEqual(['a']);
    // Bootstrapped clusters start in term 1; the first election makes term 2.
    for (const id of ['b', 'c']) {
      expect(c.status(id)).toMatchObject({ role: 'follower', leader: 'a', term: 2 });
    }
  });

  it('never has two leaders in one term, whatever the partitions and timing', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const ids = ['a', 'b', 'c', 'd', 'e'];
      const c = new Cluster(ids, { seed, preVote: false, checkQuorum: false });
      const rng = new Rng(seed);
      const leaderOfTerm = new Map<number, string>();
      for (let t = 0; t < 300; t++) {
        if (rng.chance(0.05)) c.isolate(rng.pick(ids));
        if (rng.chance(0.05)) c.heal();
        c.tickAll();
        for (const id of c.leaders()) {
          const term = c.status(id).term;
          expect(leaderOfTerm.get(term) ?? id).toBe(id);
          leaderOfTerm.set(term, id);
        }
      }
      expect(leaderOfTerm.size).toBeGreaterThan(1);
    }
  });

  it('does not elect a candidate whose log lacks committed entries (election restriction)', () => {
    const c = new Cluster(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    c.campaign('a');
    c.isolate('c');
    c.propose('a', 'x'); // committed by a and b; c misses it
    c.peer('a').crash();
    c.heal();

    c.campaign('c');
    expect(c.status('c').role).toBe('candidate'); // b refused: its log is more up to date
    expect(c.status('b').vote).toBeNull();

    c.campaign('b');
    expect(c.leaders()).toEqual(['b']);
    expect(c.peer('c').values()).toEqual(['x']);
  });

  it('randomizes the election timeout in [electionTicks, 2 * electionTicks)', () => {
    const ticksToLead = (random: number): number => {
      const node = new RaftNode({
        id: 'a',
        storage: MemoryStorage.bootstrap(['a']),
        random: () => random,
        electionTicks: 10,
      });
      for (let ticks = 1; ticks <= 100; ticks++) {
        node.tick();
        if (node.status().role === 'leader') return ticks;
      }
      throw new Error('never campaigned');
    };
    expect(ticksToLead(0)).toBe(10);
    expect(ticksToLead(0.5)).toBe(15);
    expect(ticksToLead(0.9999)).toBe(19);
  });

  it('elects a leader by itself once the followers stop hearing from one', () => {
    const c = new Cluster(['a', 'b', 'c']);
    const leader = c.waitForLeader();
    expect(c.leaders()).toEqual([leader.id]);
  });
});

describe('pre-vote', () => {
  it('keeps a partitioned node from raising its term, so it rejoins without disruption', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    const term = c.status('a').term;

    c.isolate('c');
    c.tickAll(100); // c's pre-votes reach nobody
    expect(c.status('c').term).toBe(term);

    c.heal();
    c.tickAll(5);
    expect(c.leaders()).toEqual(['a']);
    expect(c.status('a').term).toBe(term);
    expect(c.status('c')).toMatchObject({ role: 'follower', leader: 'a', term });
  });

  it('without it, the same partition forces a needless election on rejoin', () => {
    const c = new Cluster(['a', 'b', 'c'], { preVote: false });
    c.campaign('a');
    const term = c.status('a').term;

    c.isolate('c');
    c.tickAll(100);
    expect(c.status('c').term).toBeGreaterThan(term);

    c.heal();
    c.tickAll(50);
    expect(c.status('a').term).toBeGreaterThan(term);
  });
});

describe('check-quorum and the leader lease', () => {
  it('makes a leader cut off from the majority step down after an election timeout', () => {
    const c = new Cluster(['a', 'b', 'c'], { electionTicks: 10 });
    c.campaign('a');
    c.isolate('a');

    c.tick('a', 9);
    expect(c.status('a').role).toBe('leader');
    c.tick('a', 1);
    expect(c.status('a')).toMatchObject({ role: 'follower', leader: null });
  });

  it('lets a leader that hears from a majority carry on', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.isolate('c');
    c.tickAll(50);
    expect(c.status('a').role).toBe('leader');
  });

  it('has followers that recently heard from the leader ignore vote requests', () => {
    const c = new Cluster(['a', 'b', 'c'], { preVote: false });
    c.campaign('a');
    const term = c.status('a').term;

    // A node that lost touch asks b for its vote in a much later term, with a longer log.
    c.node('b').step({
      type: 'vote',
      from: 'c',
      to: 'b',
      term: term + 5,
      lastIndex: 100,
      lastTerm: term + 4,
      transfer: false,
    });
    c.stabilize();

    expect(c.status('b')).toMatchObject({ term, leader: 'a', vote: 'a' });
    expect(c.countSent((m) => m.type === 'voteResponse' && m.from === 'b' && m.to === 'c')).toBe(0);
  });

  it('but grant them once the leader has been silent for an election timeout', () => {
    const c = new Cluster(['a', 'b', 'c'], { preVote: false, electionTicks: 10 });
    c.campaign('a');
    const term = c.status('a').term;
    c.peer('a').crash();
    c.tick('b', 10); // b may campaign itself meanwhile (in term + 1); it cannot win alone

    c.node('b').step({
      type: 'vote',
      from: 'c',
      to: 'b',
      term: term + 2,
      lastIndex: 100,
      lastTerm: term,
      transfer: false,
    });
    expect(c.status('b')).toMatchObject({ term: term + 2, vote: 'c' });
  });

  it('elects a new leader within half an election timeout when the followers lose their link to it', () => {
    let fast = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(['a', 'b', 'c'], { seed, electionTicks: 10 });
      c.campaign('a');
      const term = c.status('a').term;
      c.peer('a').crash();
      c.node('b').reportLeaderLost('a');
      c.node('c').reportLeaderLost('a');
      c.tickAll(6); // an election timeout is 10 to 19 ticks
      const leaders = c.leaders().filter((id) => id !== 'a');
      expect(leaders.length).toBeLessThanOrEqual(1);
      if (leaders.length === 1 && c.status(leaders[0]!).term === term + 1) fast++;
    }
    // Both followers may start in the same tick and split the vote; usually one is first.
    expect(fast).toBeGreaterThanOrEqual(14);
  });

  it('does not let one follower that lost its link depose a leader the others still hear', () => {
    const c = new Cluster(['a', 'b', 'c'], { electionTicks: 10 });
    c.campaign('a');
    const term = c.status('a').term;
    c.cutLink('a', 'b');
    c.node('b').reportLeaderLost('a');
    c.tickAll(5);

    // b asked for pre-votes; c still hears from a and refuses, so nothing changes.
    expect(c.leaders()).toEqual(['a']);
    expect(c.status('a').term).toBe(term);
    expect(c.status('c')).toMatchObject({ leader: 'a', term });
  });
});
