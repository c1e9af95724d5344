import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  packEntries,
  packEntriesWithMsgpackr,
  parseMessage,
} from '../../../src/raft/codec.js';
import type { AppendMessage, Entry, Message } from '../../../src/raft/types.js';
import { DecodeError, decode, encode } from '../../../src/wire/codec.js';
import { Rng } from '../../sim/rng.js';

const A = '12D3KooWA';
const B = '12D3KooWB';
// msgpack bytes come back as Buffers (Uint8Arrays); built the same way, they compare equal.
const bytes = (...values: number[]) => Buffer.from(values);

const entries: Entry[] = [
  { term: 4, index: 11, type: 'normal', data: bytes(1, 2, 3) },
  { term: 5, index: 12, type: 'confChange', data: bytes(9) },
  { term: 5, index: 13, type: 'normal', data: bytes() },
];

const everyKind: Message[] = [
  { type: 'append', from: A, to: B, term: 5, prevIndex: 10, prevTerm: 4, entries, commit: 9 },
  { type: 'append', from: A, to: B, term: 5, prevIndex: 13, prevTerm: 5, entries: [], commit: 13 },
  {
    type: 'appendResponse',
    from: B,
    to: A,
    term: 5,
    index: 13,
    reject: true,
    hintIndex: 7,
    hintTerm: 3,
  },
  { type: 'heartbeat', from: A, to: B, term: 5, commit: 13, context: bytes(7) },
  { type: 'heartbeat', from: A, to: B, term: 5, commit: 13, context: null },
  { type: 'heartbeatResponse', from: B, to: A, term: 5, context: null },
  { type: 'preVote', from: A, to: B, term: 6, lastIndex: 13, lastTerm: 5, transfer: false },
  { type: 'voteResponse', from: B, to: A, term: 6, reject: false },
  {
    type: 'snapshot',
    from: A,
    to: B,
    term: 5,
    snapshot: {
      metadata: { index: 13, term: 5, confState: { voters: [A, B], learners: [], removed: [] } },
      data: bytes(4, 2),
    },
  },
  { type: 'timeoutNow', from: A, to: B, term: 5 },
  { type: 'propose', from: B, to: A, term: 0, entries: [{ type: 'normal', data: bytes(1) }] },
  { type: 'readIndexResponse', from: A, to: B, term: 5, index: 13, context: bytes(8) },
  { type: 'transferLeader', from: B, to: A, term: 0, transferee: B },
];

/** A compact append as a peer could send it, with one field replaced. */
function appendFrame(at: number, value: unknown): Uint8Array {
  const frame: unknown[] = [1, A, B, 5, 10, 4, 9, [4, 0, bytes(1)]];
  frame[at] = value;
  return encode(frame);
}

function refusal(frame: Uint8Array): string {
  try {
    decodeMessage(frame);
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as Error).message;
  }
  throw new Error('the frame was accepted');
}

function flat(list: readonly Entry[]): unknown[] {
  return list.flatMap((e) => [e.term, e.type === 'normal' ? 0 : 1, e.data]);
}

describe('raft wire codec', () => {
  it('reads back every kind of message as it was sent', () => {
    for (const message of everyKind) expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });

  it("sends a round's messages as arrays, an append's entry indexes implied by prevIndex", () => {
    const append = everyKind[0]!;
    const frame = encodeMessage(append);
    expect(decode(frame)).toEqual([
      1,
      A,
      B,
      5,
      10,
      4,
      9,
      [4, 0, bytes(1, 2, 3), 5, 1, bytes(9), 5, 0, bytes()],
    ]);
    expect(frame.length).toBeLessThan(encode(append).length);
    for (const message of everyKind.slice(2, 6)) {
      expect(Array.isArray(decode(encodeMessage(message)))).toBe(true);
    }
    // The rare kinds stay self-describing maps.
    expect(Array.isArray(decode(encodeMessage(everyKind[6]!)))).toBe(false);
  });

  it("sends one round's entries to each follower, packed the same as the whole message", () => {
    const C = '12D3KooWC';
    const toB = everyKind[0] as AppendMessage;
    const toC: AppendMessage = { ...toB, to: C, commit: 11 };
    const asWhole = (m: AppendMessage) =>
      encode([1, m.from, m.to, m.term, m.prevIndex, m.prevTerm, m.commit, flat(m.entries)]);
    expect(Buffer.from(encodeMessage(toB))).toEqual(Buffer.from(asWhole(toB)));
    expect(Buffer.from(encodeMessage(toC))).toEqual(Buffer.from(asWhole(toC)));
    expect(decodeMessage(encodeMessage(toC))).toEqual(toC);
    // Other entries at the same indexes (after a new leader truncated the log) are packed anew.
    const replaced = entries.map((e) => ({ ...e, term: 6, data: bytes(8) }));
    const after: AppendMessage = { ...toC, entries: replaced };
    expect(decodeMessage(encodeMessage(after))).toEqual(after);
    // A part of the same entries is packed anew too.
    const tail: AppendMessage = { ...toB, prevIndex: 11, prevTerm: 6, entries: replaced.slice(1) };
    expect(decodeMessage(encodeMessage(tail))).toEqual(tail);
  });

  it('still reads those messages as maps', () => {
    for (const message of everyKind.slice(0, 6)) {
      expect(decodeMessage(encode(message))).toEqual(message);
    }
  });

  it('refuses a malformed array message, naming the field', () => {
    expect(refusal(appendFrame(3, -1))).toMatch(/append\.term/);
    expect(refusal(appendFrame(4, 1.5))).toMatch(/append\.prevIndex/);
    expect(refusal(appendFrame(1, ''))).toMatch(/append\.from/);
    expect(refusal(appendFrame(2, 42))).toMatch(/append\.to/);
    expect(refusal(appendFrame(7, [4, 0]))).toMatch(/append\.entries: expected a list/);
    expect(refusal(appendFrame(7, [4, 2, bytes()]))).toMatch(/append\.entries\.0\.type/);
    expect(refusal(appendFrame(7, [4, '0', bytes()]))).toMatch(/append\.entries\.0\.type/);
    expect(refusal(appendFrame(7, [4, 0, 'text']))).toMatch(/append\.entries\.0\.data/);
    expect(refusal(appendFrame(7, [4, 0, bytes(), -4, 0, bytes()]))).toMatch(
      /append\.entries\.1\.term/,
    );
    expect(refusal(appendFrame(4, Number.MAX_SAFE_INTEGER))).toMatch(
      /append\.entries: indexes past/,
    );
    expect(refusal(encode([1, A, B, 5, 10, 4, 9]))).toMatch(/append: expected 8 fields, got 7/);
    expect(refusal(encode([2, B, A, 5, 13, 'no', 0, 0]))).toMatch(/appendResponse\.reject/);
    expect(refusal(encode([3, A, B, 5, 13, 'ctx']))).toMatch(/heartbeat\.context/);
    expect(refusal(encode([4, B, A, 5]))).toMatch(/heartbeatResponse: expected 5 fields/);
    expect(refusal(encode([1, A, B, 5, 10, 4, 9, [], 'extra']))).toMatch(
      /expected 8 fields, got 9/,
    );
    expect(refusal(appendFrame(3, Number.NaN))).toMatch(/append\.term/);
    expect(refusal(appendFrame(6, 2 ** 53))).toMatch(/append\.commit/);
    expect(refusal(appendFrame(5, '4'))).toMatch(/append\.prevTerm/);
    expect(refusal(encode([99, A, B, 5]))).toMatch(/unknown kind of compact message: 99/);
    expect(refusal(encode([{ toString: 1 }, A, B, 5]))).toMatch(
      /unknown kind of compact message: object/,
    );
    expect(refusal(encode([]))).toMatch(/unknown kind/);
    // The largest index that is still safe is fine.
    const last = decodeMessage(appendFrame(4, Number.MAX_SAFE_INTEGER - 1)) as AppendMessage;
    expect(last.entries[0]?.index).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses an append as a map whose entry indexes do not follow prevIndex', () => {
    const gap = { ...everyKind[0]!, entries: [entries[0]!, { ...entries[1]!, index: 13 }] };
    expect(refusal(encode(gap))).toMatch(/entries\.1\.index: expected 12/);
  });

  it('reads a damaged frame as a message or refuses it with a DecodeError, nothing else', () => {
    const rng = new Rng(7);
    const frames = everyKind.slice(0, 6).map((m) => encodeMessage(m));
    for (let i = 0; i < 3000; i++) {
      const frame = Uint8Array.from(frames[rng.int(frames.length)]!);
      for (let flips = 1 + rng.int(3); flips > 0; flips--)
        frame[rng.int(frame.length)] = rng.int(256);
      const damaged = frame.subarray(0, frame.length - rng.int(3));
      let message: Message;
      try {
        message = decodeMessage(damaged);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
        continue;
      }
      // What the array form lets through, the schema for maps lets through too.
      expect(parseMessage(message)).toEqual(message);
    }
  });

  it('packs entries by hand into the very bytes msgpackr makes of them', () => {
    const rng = new Rng(11);
    // Each side of every header's size boundary.
    const terms = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, 2 ** 40];
    const sizes = [0, 1, 0xff, 0x100, 0xffff, 0x10000, 70_000];
    // Buffers, as the log holds, and now and then a plain Uint8Array inside a larger buffer.
    const data = (size: number) => {
      const bytes = Buffer.alloc(size, rng.int(256));
      if (!rng.chance(0.3)) return bytes;
      const larger = new Uint8Array(size + 8);
      larger.set(bytes, 4);
      return larger.subarray(4, 4 + size);
    };
    const entry = (index: number, size: number): Entry => ({
      term: terms[rng.int(terms.length)]!,
      index,
      type: rng.chance(0.1) ? 'confChange' : 'normal',
      data: data(size),
    });
    const same = (list: Entry[]) =>
      Buffer.from(packEntries(list)).equals(Buffer.from(packEntriesWithMsgpackr(list)));
    const lists = [
      [],
      [entry(1, 3)],
      sizes.map((size, i) => entry(i + 1, size)),
      // 15 and 18 list items: either side of msgpack's fixarray.
      Array.from({ length: 5 }, (_, i) => entry(i + 1, rng.int(300))),
      Array.from({ length: 6 }, (_, i) => entry(i + 1, rng.int(300))),
      // 65,535 and 65,538 list items: either side of array 16.
      Array.from({ length: 21_845 }, (_, i) => entry(i + 1, 1)),
      Array.from({ length: 21_846 }, (_, i) => entry(i + 1, 1)),
    ];
    for (const list of lists) {
      expect(same(list)).toBe(true);
      // Every term below 2^32, so that the hand-written path is taken all through.
      const small = list.map((e) => ({ ...e, term: e.term % 2 ** 32 }));
      expect(same(small)).toBe(true);
    }
    const append: AppendMessage = {
      type: 'append',
      from: A,
      to: B,
      term: 9,
      prevIndex: 0,
      prevTerm: 0,
      // Buffers, as the decoder hands out, so that the round trip compares equal.
      entries: lists[2]!.map((e) => ({ ...e, term: e.term % 2 ** 32, data: Buffer.from(e.data) })),
      commit: 0,
    };
    expect(decodeMessage(encodeMessage(append))).toEqual(append);
  });
});
