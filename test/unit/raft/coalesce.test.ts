import { describe, expect, it } from 'vitest';
import { coalesceMessages } from '../../../src/raft/coalesce.js';
import type { AppendMessage, Entry, Message } from '../../../src/raft/types.js';

const entry = (index: number, term = 2): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array([index]),
});

function append(
  to: string,
  prevIndex: number,
  entries: Entry[],
  commit: number,
  term = 2,
): AppendMessage {
  return { type: 'append', from: 'L', to, term, prevIndex, prevTerm: 2, entries, commit };
}

describe('coalesceMessages', () => {
  it('joins appends to one follower where the second continues the first', () => {
    const out = coalesceMessages([
      append('a', 4, [entry(5)], 3),
      append('b', 4, [entry(5)], 3),
      append('a', 5, [entry(6), entry(7)], 4),
    ]);
    expect(out).toEqual([
      append('a', 4, [entry(5), entry(6), entry(7)], 4),
      append('b', 4, [entry(5)], 3),
    ]);
  });

  it('folds a commit-only append into the previous append to the same follower', () => {
    const out = coalesceMessages([append('a', 4, [entry(5)], 3), append('a', 5, [], 5)]);
    expect(out).toEqual([append('a', 4, [entry(5)], 5)]);
  });

  it('never raises the commit beyond what the empty append itself allowed', () => {
    // The receiver would take min(commit, prevIndex) = 4 from the empty append.
    const out = coalesceMessages([append('a', 4, [entry(5), entry(6)], 3), append('a', 4, [], 9)]);
    expect((out[0] as AppendMessage).commit).toBe(4);
  });

  it('keeps appends that do not continue each other, or are of another term', () => {
    const gap = [append('a', 4, [entry(5)], 3), append('a', 7, [entry(8)], 3)];
    expect(coalesceMessages(gap)).toEqual(gap);
    const terms = [append('a', 4, [entry(5)], 3), append('a', 5, [entry(6, 3)], 3, 3)];
    expect(coalesceMessages(terms)).toEqual(terms);
  });

  it('does not move an append across another message to the same peer', () => {
    const timeoutNow: Message = { type: 'timeoutNow', from: 'L', to: 'a', term: 2 };
    const messages = [append('a', 4, [entry(5)], 3), timeoutNow, append('a', 5, [entry(6)], 3)];
    expect(coalesceMessages(messages)).toEqual(messages);
  });

  it('keeps only the highest successful acknowledgement, and every rejection', () => {
    const ack = (index: number, reject = false): Message => ({
      type: 'appendResponse',
      from: 'f',
      to: 'L',
      term: 2,
      index,
      reject,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(coalesceMessages([ack(5), ack(7), ack(6)])).toEqual([ack(7)]);
    expect(coalesceMessages([ack(5), ack(3, true), ack(7)])).toEqual([
      ack(5),
      ack(3, true),
      ack(7),
    ]);
  });
});
