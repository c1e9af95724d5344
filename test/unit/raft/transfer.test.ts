import { describe, expect, it } from 'vitest';
import { LeaderTransferRefusedError, ProposalDroppedError } from '../../../src/raft/index.js';
import { bytes, Cluster } from './harness.js';

describe('leadership transfer', () => {
  it('hands leadership to an up-to-date follower at once', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.propose('a', 'x');
    const term = c.status('a').term;

    c.node('a').transferLeader('b');
    c.stabilize();
    expect(c.leaders()).toEqual(['b']);
    expect(c.status('b').term).toBe(term + 1);
    expect(c.countSent((m) => m.type === 'timeoutNow' && m.to === 'b')).toBe(1);
    c.propose('b', 'y');
    expect(c.peer('a').values()).toEqual(['x', 'y']);
  });

  it('first brings a lagging transferee up to date', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.isolate('c');
    for (let i = 0; i < 3; i++) c.propose('a', `v${i}`);
    c.heal();

    c.node('a').transferLeader('c'); // c lacks three entries
    c.stabilize();
    expect(c.leaders()).toEqual(['c']);
    expect(c.peer('c').values()).toEqual(['v0', 'v1', 'v2']);
  });

  it('drops proposals meanwhile, and gives up after an election timeout', () => {
    const c = new Cluster(['a', 'b', 'c'], { electionTicks: 10 });
    c.campaign('a');
    c.peer('b').crash();

    c.node('a').transferLeader('b');
    c.stabilize();
    expect(c.status('a').leadTransferee).toBe('b');
    expect(() => c.node('a').propose(bytes('x'))).toThrow(ProposalDroppedError);

    c.tick('a', 10);
    expect(c.status('a')).toMatchObject({ role: 'leader', leadTransferee: null });
    c.propose('a', 'x');
    expect(c.peer('c').values()).toEqual(['x']);
  });

  it('is forwarded to the leader when asked of a follower', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.node('c').transferLeader('c');
    c.stabilize();
    expect(c.leaders()).toEqual(['c']);
  });

  it('overrides the leader lease and skips pre-vote', () => {
    const c = new Cluster(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
    c.campaign('a');
    c.node('a').transferLeader('b');
    c.stabilize();
    expect(c.leaders()).toEqual(['b']);
    expect(c.countSent((m) => m.type === 'preVote' && m.from === 'b')).toBe(0);
  });

  it('refuses a learner, an unknown node, or a request without a leader', () => {
    const c = new Cluster(['a', 'b'], { learners: ['l'] });
    expect(() => c.node('b').transferLeader('a')).toThrow(LeaderTransferRefusedError);
    c.campaign('a');
    expect(() => c.node('a').transferLeader('l')).toThrow(/not a voter/);
    expect(() => c.node('a').transferLeader('zz')).toThrow(/not a voter/);
  });
});
