import { describe, expect, it } from 'vitest';
import { ReadIndexDroppedError } from '../../../src/raft/index.js';
import { bytes, Cluster } from './harness.js';

describe('ReadIndex', () => {
  it('answers with the commit index only after a heartbeat round reaches a quorum', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.propose('a', 'x');
    const commit = c.status('a').commit;

    c.isolate('a');
    c.node('a').readIndex(bytes('r1'));
    c.stabilize();
    expect(c.peer('a').readStates).toEqual([]); // a may have been deposed: no answer

    c.heal();
    c.tick('a'); // the next heartbeats carry the request; b and c confirm
    expect(c.peer('a').readStates).toEqual([{ index: commit, context: bytes('r1') }]);
  });

  it('is forwarded by a follower and answered with the leader’s commit index', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.campaign('a');
    c.propose('a', 'x');
    c.node('b').readIndex(bytes('r2'));
    c.stabilize();
    expect(c.peer('b').readStates).toEqual([{ index: c.status('a').commit, context: bytes('r2') }]);
  });

  it('waits until a new leader has committed an entry of its own term', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.filter = (m) => m.type !== 'append'; // a's first entry cannot commit
    c.campaign('a');
    c.node('a').readIndex(bytes('r3'));
    c.tick('a', 3);
    expect(c.peer('a').readStates).toEqual([]);

    c.heal();
    c.tick('a');
    c.tick('a');
    expect(c.peer('a').readStates).toEqual([{ index: 2, context: bytes('r3') }]);
  });

  it('answers a single-node cluster at once', () => {
    const c = new Cluster(['a']);
    c.campaign('a');
    c.node('a').readIndex(bytes('r4'));
    c.stabilize();
    expect(c.peer('a').readStates).toEqual([{ index: 2, context: bytes('r4') }]);
  });

  it('fails fast without a leader', () => {
    const c = new Cluster(['a', 'b', 'c']);
    expect(() => c.node('b').readIndex(bytes('r5'))).toThrow(ReadIndexDroppedError);
  });
});
