import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from '../../../src/raft/index.js';
import { bytes, Cluster, storageWithLog } from './harness.js';

/** Campaigns until `id` wins; a first try may land in a term whose votes are already cast. */
function elect(c: Cluster, id: string): void {
  for (let i = 0; i < 3 && c.status(id).role !== 'leader'; i++) c.campaign(id);
  expect(c.status(id).role).toBe('leader');
}

/** Plain Raft as in the paper: no pre-vote, no check-quorum, so the figures play out as drawn. */
const PAPER = { preVote: false, checkQuorum: false } as const;

describe('log replication', () => {
  it('appends an empty entry of its term as soon as a leader is elected', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    for (const id of ['a', 'b', 'c']) {
      expect(c.peer(id).logTerms()).toEqual([1, 2]);
      expect(c.status(id).commit).toBe(2);
    }
  });

  it('commits an entry only once a majority holds it', () => {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e']);
    c.campaign('a');
    for (const id of ['c', 'd', 'e']) c.isolate(id);

    c.propose('a', 'x'); // held by a and b: 2 of 5
    expect(c.status('a').commit).toBe(c.status('a').lastIndex - 1);
    expect(c.peer('a').values()).toEqual([]);

    c.reconnect('c');
    c.tick('a'); // the heartbeat round shows c is behind; c gets the entry: 3 of 5
    expect(c.status('a').commit).toBe(c.status('a').lastIndex);
    for (const id of ['a', 'b', 'c']) expect(c.peer(id).values()).toEqual(['x']);
  });

  describe('repairs followers with missing, extra or conflicting entries (figure 7)', () => {
    const LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const FOLLOWERS: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };

    for (const [name, terms] of Object.entries(FOLLOWERS)) {
      it(`follower (${name}) ends with the leader's log, after at most one rejection`, () => {
        const voters = ['leader', 'follower', 'other'];
        const c = new Cluster(voters, PAPER, {
          leader: storageWithLog(voters, LEADER, { term: 7 }),
          follower: storageWithLog(voters, terms, { term: 7 }),
          other: storageWithLog(voters, [1], { term: 7 }),
        });
        c.campaign('leader'); // wins term 8, with other's vote if not the follower's
        expect(c.leaders()).toEqual(['leader']);

        const expected = [...LEADER, 8];
        expect(c.peer('follower').logTerms()).toEqual(expected);
        expect(c.peer('other').logTerms()).toEqual(expected);
        expect(c.status('follower').commit).toBe(expected.length);
        // Fast back-off: the rejection's hint skips whole terms in one round trip.
        const rejections = c.countSent(
          (m) => m.type === 'appendResponse' && m.from === 'follower' && m.reject,
        );
        expect(rejections).toBeLessThanOrEqual(1);
      });
    }
  });

  describe('figure 8: a leader commits earlier-term entries only through one of its own', () => {
    const ids = ['s1', 's2', 's3', 's4', 's5'];

    /** Plays figure 8 (a)–(c); returns the cluster with s1 leading term 4. */
    function figure8(): Cluster {
      // One entry per message, so an append can carry old entries without the new one.
      const c = new Cluster(ids, { ...PAPER, maxSizePerMsg: 1 });

      // (a) s1 leads term 2; its first entry reaches s2 only, and "x" stays on s1.
      c.filter = (m) =>
        !(
          m.type === 'append' &&
          m.from === 's1' &&
          (m.to !== 's2' || m.entries.some((e) => e.index >= 3))
        );
      c.campaign('s1');
      c.propose('s1', 'x');
      expect(c.peer('s1').logTerms()).toEqual([1, 2, 2]);
      expect(c.peer('s2').logTerms()).toEqual([1, 2]);

      // (b) s1 crashes; s5 wins term 3 with s3 and s4, appends an entry nobody else gets, crashes.
      c.peer('s1').crash();
      c.filter = (m) => !(m.type === 'append' && m.from === 's5');
      c.campaign('s5');
      expect(c.status('s5')).toMatchObject({ role: 'leader', term: 3 });
      expect(c.peer('s5').logTerms()).toEqual([1, 3]);
      c.peer('s5').crash();

      // (c) s1 restarts and leads term 4; it gets its term-2 entries onto s2 and s3 (with
      // itself, a majority) but its own term-4 entry is lost wherever it would be stored
      // (probes that get rejected pass).
      c.peer('s1').restart();
      const wouldStore = (to: string, prevIndex: number) => c.status(to).lastIndex >= prevIndex;
      c.filter = (m) =>
        !(
          m.type === 'append' &&
          (m.to === 's4' || (m.entries.some((e) => e.term === 4) && wouldStore(m.to, m.prevIndex)))
        );
      elect(c, 's1');
      expect(c.status('s1')).toMatchObject({ role: 'leader', term: 4 });
      for (const id of ['s1', 's2', 's3']) {
        expect(c.peer(id).logTerms().slice(0, 3)).toEqual([1, 2, 2]);
      }
      return c;
    }

    it('does not commit a term-2 entry held by a majority while its term-4 entry is not', () => {
      const c = figure8();
      expect(c.status('s1').commit).toBe(1);
      expect(c.peer('s1').values()).toEqual([]);

      // (d) s1 crashes and s5 (last term 3) is elected by s2, s3, s4, overwriting "x":
      // allowed, because "x" was never committed.
      c.peer('s1').crash();
      c.peer('s5').restart();
      c.heal();
      elect(c, 's5');
      for (const id of ['s2', 's3', 's4', 's5']) {
        expect(c.peer(id).logTerms().slice(0, 2)).toEqual([1, 3]);
        expect(c.peer(id).values()).toEqual([]);
      }
    });

    it('commits it together with a term-4 entry on a majority, after which s5 cannot win', () => {
      const c = figure8();
      c.heal();
      c.peer('s5').crash();
      c.tick('s1'); // heartbeats; the followers fetch the term-4 entry
      expect(c.status('s1').commit).toBe(4);
      for (const id of ['s1', 's2', 's3', 's4']) expect(c.peer(id).values()).toEqual(['x']);

      // (e) s1 crashes; s5's log (last term 3) is behind a majority's, so it cannot lead.
      c.peer('s1').crash();
      c.peer('s5').restart();
      c.campaign('s5');
      c.campaign('s5');
      expect(c.status('s5').role).not.toBe('leader');
    });
  });

  it('batches entries into append messages of at most maxSizePerMsg bytes', () => {
    const c = new Cluster(['a', 'b', 'c'], { maxSizePerMsg: 300 });
    c.campaign('a');
    c.isolate('c');
    for (let i = 0; i < 10; i++) c.propose('a', `${'x'.repeat(100)}${i}`); // ~125 bytes each

    const before = c.sent.length;
    c.reconnect('c');
    c.tick('a');
    const appends = c.sent
      .slice(before)
      .filter((m) => m.type === 'append' && m.to === 'c' && m.entries.length > 0);
    const sizes = appends.map((m) => (m.type === 'append' ? m.entries.length : 0));
    expect(Math.max(...sizes)).toBe(2);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
    expect(c.peer('c').values()).toHaveLength(10);
  });

  it('keeps at most maxInflightMsgs appends in flight to a follower that does not answer', () => {
    const c = new Cluster(['a', 'b', 'c'], { maxInflightMsgs: 2 });
    c.campaign('a');
    c.propose('a', 'warm-up'); // both followers now stream (replicate state)

    c.filter = (m) => !(m.from === 'c' && m.to === 'a'); // c's answers are lost
    const before = c.sent.length;
    for (let i = 0; i < 10; i++) c.propose('a', `v${i}`);
    const appendsTo = (id: string) =>
      c.sent.slice(before).filter((m) => m.type === 'append' && m.to === id && m.entries.length > 0)
        .length;
    expect(appendsTo('b')).toBe(10);
    expect(appendsTo('c')).toBe(2);

    c.heal();
    c.tickAll(3); // heartbeat responses reopen the window
    expect(c.peer('c').values()).toEqual(c.peer('a').values());
    expect(c.peer('c').values()).toHaveLength(11);
  });

  it('forwards proposals from followers to the leader', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.propose('b', 'from-b');
    c.propose('c', 'from-c');
    for (const id of ['a', 'b', 'c']) expect(c.peer(id).values()).toEqual(['from-b', 'from-c']);
  });

  it('drops a proposal when no leader is known, or when forwarding is disabled', () => {
    const c = new Cluster(['a', 'b', 'c'], { disableProposalForwarding: true });
    expect(() => c.node('a').propose(bytes('x'))).toThrow(ProposalDroppedError);

    c.campaign('a');
    expect(() => c.node('b').propose(bytes('x'))).toThrow(
      expect.objectContaining({ code: 'ERR_PROPOSAL_DROPPED' }),
    );
    c.propose('a', 'x');
    expect(c.peer('b').values()).toEqual(['x']);
  });

  it('replays committed entries after a restart from storage alone', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.propose('a', 'x');
    c.propose('a', 'y');
    const before = c.status('b');
    c.peer('b').crash();
    c.peer('b').restart();
    expect(c.status('b')).toMatchObject({ term: before.term, commit: before.commit });
    c.stabilize();
    expect(c.peer('b').values()).toEqual(['x', 'y']);
  });
});
