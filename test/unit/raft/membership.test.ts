import { describe, expect, it } from 'vitest';
import { type ConfChange, ConfChangeRefusedError } from '../../../src/raft/index.js';
import { Cluster } from './harness.js';

function change(c: Cluster, at: string, cc: ConfChange): void {
  c.node(at).proposeConfChange(cc);
  c.stabilize();
}

describe('membership changes', () => {
  it('adds a voter that catches up through a snapshot once the log is compacted', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    for (let i = 0; i < 5; i++) c.propose('a', `v${i}`);
    for (const id of ['a', 'b', 'c']) c.peer(id).compact();

    c.addPeer('d'); // empty storage: it knows nothing, not even the members
    change(c, 'a', { type: 'addVoter', nodeId: 'd' });

    expect(c.countSent((m) => m.type === 'snapshot' && m.to === 'd')).toBe(1);
    expect(c.peer('d').values()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(c.status('d').conf.voters).toEqual(['a', 'b', 'c', 'd']);

    // d now counts: with b and c down, a and d are not a majority of four...
    c.peer('b').crash();
    c.peer('c').crash();
    c.propose('a', 'w');
    expect(c.peer('a').values()).not.toContain('w');
    // ...but with c back, a, c and d are.
    c.peer('c').restart();
    c.tick('a');
    expect(c.peer('d').values()).toContain('w');
  });

  it('removes a follower: the leader stops replicating to it and the quorum shrinks', () => {
    const c = new Cluster(['a', 'b', 'c', 'd']);
    c.campaign('a');
    change(c, 'a', { type: 'removeNode', nodeId: 'c' });
    expect(c.status('a').conf).toEqual({ voters: ['a', 'b', 'd'], learners: [], removed: ['c'] });

    const before = c.sent.length;
    c.isolate('d');
    c.propose('a', 'x'); // a and b are a majority of {a, b, d}
    expect(c.peer('b').values()).toEqual(['x']);
    expect(c.sent.slice(before).filter((m) => m.to === 'c')).toEqual([]);
  });

  it('removes the leader: it steps down once the change commits and hands over at once', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    change(c, 'a', { type: 'removeNode', nodeId: 'a' });

    expect(c.status('a').role).toBe('follower');
    const leader = c.leader();
    expect(['b', 'c']).toContain(leader?.id);
    c.propose(leader!.id, 'after');
    expect(c.peer('b').values()).toEqual(['after']);
    expect(c.peer('c').values()).toEqual(['after']);

    c.tickAll(50); // the removed node never campaigns
    expect(c.status('a').role).toBe('follower');
    expect(c.leaders()).toEqual([leader!.id]);
  });

  it('refuses a second change while one is pending', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.isolate('a'); // the first change cannot commit
    c.node('a').proposeConfChange({ type: 'addLearner', nodeId: 'l1' });
    expect(() => c.node('a').proposeConfChange({ type: 'addLearner', nodeId: 'l2' })).toThrow(
      ConfChangeRefusedError,
    );

    c.heal();
    c.tick('a');
    expect(() => c.node('a').proposeConfChange({ type: 'addLearner', nodeId: 'l2' })).not.toThrow();
  });

  it('never admits a removed id again', () => {
    const c = new Cluster(['a', 'b', 'c', 'd']);
    c.campaign('a');
    change(c, 'a', { type: 'removeNode', nodeId: 'd' });
    for (const type of ['addVoter', 'addLearner'] as const) {
      expect(() => c.node('a').proposeConfChange({ type, nodeId: 'd' })).toThrow(
        expect.objectContaining({
          code: 'ERR_CONF_CHANGE_REFUSED',
          reason: expect.stringMatching(/removed/),
        }),
      );
    }
  });

  it('refuses to remove or demote the last voter', () => {
    const c = new Cluster(['a']);
    c.campaign('a');
    expect(() => c.node('a').proposeConfChange({ type: 'removeNode', nodeId: 'a' })).toThrow(
      /last voter/,
    );
    expect(() => c.node('a').proposeConfChange({ type: 'demoteVoter', nodeId: 'a' })).toThrow(
      /last voter/,
    );
  });

  it('refuses a voter change that would leave fewer reachable voters than a quorum', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.peer('c').crash();
    c.tickAll(10); // c has been silent for an election timeout

    // {a, b, c, d} needs 3 voters; only a and b answer.
    expect(() => c.node('a').proposeConfChange({ type: 'addVoter', nodeId: 'd' })).toThrow(
      /reachable/,
    );
    // A learner does not change the quorum: the safe way to grow is learner first, then promote.
    expect(() => c.node('a').proposeConfChange({ type: 'addLearner', nodeId: 'd' })).not.toThrow();
  });

  it('accepts a change only after the new leader has committed an entry of its term', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.filter = (m) => m.type !== 'append'; // the leader's first entry cannot commit
    c.campaign('a');
    expect(() => c.node('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' })).toThrow(
      /not committed/,
    );
    c.heal();
    c.tick('a');
    expect(() => c.node('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' })).not.toThrow();
  });
});

describe('learners', () => {
  it('receive the log but neither vote nor count towards commit', () => {
    const c = new Cluster(['a', 'b'], { learners: ['l'] });
    c.campaign('a');
    c.propose('a', 'x');
    expect(c.peer('l').values()).toEqual(['x']);

    c.isolate('b');
    c.propose('a', 'y'); // held by a and the learner: not a majority of {a, b}
    expect(c.status('l').lastIndex).toBe(c.status('a').lastIndex);
    expect(c.peer('a').values()).toEqual(['x']);

    c.heal();
    c.peer('a').crash();
    c.campaign('b'); // l grants its vote, but only a could make b's majority
    expect(c.status('b').role).not.toBe('leader');
    c.tick('l', 100); // and the learner never campaigns
    expect(c.status('l').role).toBe('follower');
  });

  it('count once promoted', () => {
    const c = new Cluster(['a', 'b'], { learners: ['l'] });
    c.campaign('a');
    change(c, 'a', { type: 'promoteLearner', nodeId: 'l' });
    expect(c.status('l').conf.voters).toEqual(['a', 'b', 'l']);

    c.peer('b').crash();
    c.propose('a', 'x'); // a and l are a majority of {a, b, l}
    expect(c.peer('l').values()).toEqual(['x']);
  });

  it('a demoted voter keeps the log but stops voting', () => {
    const c = new Cluster(['a', 'b', 'c', 'd']);
    c.campaign('a');
    change(c, 'a', { type: 'demoteVoter', nodeId: 'd' });
    expect(c.status('d').conf).toMatchObject({ voters: ['a', 'b', 'c'], learners: ['d'] });
    c.propose('a', 'x');
    expect(c.peer('d').values()).toEqual(['x']);
  });
});

describe('snapshots', () => {
  it('bring a follower that fell behind the compacted log up to date', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.peer('c').crash();
    for (let i = 0; i < 5; i++) c.propose('a', `v${i}`);
    c.peer('a').compact();

    c.peer('c').restart();
    c.tick('a');
    c.propose('a', 'after');
    expect(c.countSent((m) => m.type === 'snapshot' && m.to === 'c')).toBe(1);
    expect(c.peer('c').values()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'after']);
  });

  it('are sent again after the transport reports a failed send', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.peer('c').crash();
    for (let i = 0; i < 3; i++) c.propose('a', `v${i}`);
    c.peer('a').compact();
    c.peer('c').restart();

    let dropped = 0;
    c.filter = (m) => !(m.type === 'snapshot' && dropped++ === 0); // lose the first one
    c.tick('a');
    c.tick('a');
    expect(c.countSent((m) => m.type === 'snapshot' && m.to === 'c')).toBe(2);
    expect(c.peer('c').values()).toEqual(['v0', 'v1', 'v2']);
  });

  it('survive a restart of the node that installed one', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.peer('c').crash();
    c.propose('a', 'x');
    c.peer('a').compact();
    c.peer('c').restart();
    c.tick('a');
    c.peer('c').crash();
    c.peer('c').restart();
    c.propose('a', 'y');
    expect(c.peer('c').values()).toEqual(['x', 'y']);
  });
});
