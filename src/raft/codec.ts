/**
 * Raft messages on the wire: msgpack, then checked field by field on the way in, since
 * they come from another machine. A frame that is not a well-formed message is refused
 * with a DecodeError naming what is wrong; it never reaches the core.
 *
 * The messages every round carries (append, its response, heartbeat and its response) go as
 * arrays, [kind, from, to, term, ...fields], an append's entries flattened to term, kind, data
 * (each index follows from prevIndex), read and checked by hand. As maps checked by the
 * schema, a 64-entry append took 69 µs to pack and 70 µs to read and check, on the leader
 * once per follower and on each follower once, every round; as arrays, 14–24 and 6–8. The other
 * messages (votes, snapshots, forwarded requests) are rare and stay maps, checked by the schema.
 */
import { z } from 'zod';
import { DecodeError, decode, encode } from '../wire/codec.js';
import {
  arrayHeaderBytes,
  binHeaderBytes,
  isUint32,
  uintBytes,
  writeArrayHeader,
  writeBinHeader,
  writeUint,
} from '../wire/msgpack-headers.js';
import type {
  AppendMessage,
  AppendResponseMessage,
  Entry,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
} from './types.js';

const index = z.number().int().nonnegative();
const id = z.string().min(1).max(256);
const bytes = z.instanceof(Uint8Array);
const envelope = { from: id, to: id, term: index };

const entry = z.object({
  term: index,
  index,
  type: z.enum(['normal', 'confChange']),
  data: bytes,
});

const confState = z.object({
  voters: z.array(id),
  learners: z.array(id),
  removed: z.array(id),
});

const snapshot = z.object({
  metadata: z.object({ index, term: index, confState }),
  data: bytes,
});

const messageSchema = z.discriminatedUnion('type', [
  z.object({
    ...envelope,
    type: z.literal('append'),
    prevIndex: index,
    prevTerm: index,
    entries: z.array(entry),
    commit: index,
  }),
  z.object({
    ...envelope,
    type: z.literal('appendResponse'),
    index,
    reject: z.boolean(),
    hintIndex: index,
    hintTerm: index,
  }),
  z.object({ ...envelope, type: z.literal('heartbeat'), commit: index, context: bytes.nullable() }),
  z.object({ ...envelope, type: z.literal('heartbeatResponse'), context: bytes.nullable() }),
  z.object({
    ...envelope,
    type: z.enum(['vote', 'preVote']),
    lastIndex: index,
    lastTerm: index,
    transfer: z.boolean(),
  }),
  z.object({ ...envelope, type: z.enum(['voteResponse', 'preVoteResponse']), reject: z.boolean() }),
  z.object({ ...envelope, type: z.literal('snapshot'), snapshot }),
  z.object({ ...envelope, type: z.literal('timeoutNow') }),
  z.object({
    ...envelope,
    type: z.literal('propose'),
    entries: z.array(z.object({ type: z.enum(['normal', 'confChange']), data: bytes })),
  }),
  z.object({ ...envelope, type: z.literal('readIndex'), context: bytes }),
  z.object({ ...envelope, type: z.literal('readIndexResponse'), index, context: bytes }),
  z.object({ ...envelope, type: z.literal('transferLeader'), transferee: id }),
]);

// A compile-time check that the schema and the core's Message type describe the same thing.
type Parsed = z.infer<typeof messageSchema>;
const _sameShape: (m: Message) => Parsed = (m) => m as Parsed;
const _sameShapeBack: (p: Parsed) => Message = (p) => p;
void _sameShape;
void _sameShapeBack;

export function encodeMessage(message: Message): Uint8Array {
  switch (message.type) {
    case 'append':
      return encodeAppend(message);
    case 'appendResponse': {
      const { from, to, term, index, reject, hintIndex, hintTerm } = message;
      return encode([APPEND_RESPONSE, from, to, term, index, reject, hintIndex, hintTerm]);
    }
    case 'heartbeat':
      return encode([
        HEARTBEAT,
        message.from,
        message.to,
        message.term,
        message.commit,
        message.context,
      ]);
    case 'heartbeatResponse':
      return encode([HEARTBEAT_RESPONSE, message.from, message.to, message.term, message.context]);
    default:
      return encode(message);
  }
}

export function decodeMessage(bytes: Uint8Array): Message {
  const value = decode(bytes);
  return Array.isArray(value) ? parseCompact(value) : parseMessage(value);
}

export function parseMessage(value: unknown): Message {
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'message';
    throw new DecodeError(`malformed raft message: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const message = parsed.data;
  // The array form implies this; a map spells each index out, and the core trusts it.
  if (message.type === 'append') {
    message.entries.forEach((entry, i) => {
      if (entry.index !== message.prevIndex + 1 + i) {
        throw malformed(`entries.${i}.index`, `expected ${message.prevIndex + 1 + i}`);
      }
    });
  }
  return message;
}

// The first element of a compact message.
const APPEND = 1;
const APPEND_RESPONSE = 2;
const HEARTBEAT = 3;
const HEARTBEAT_RESPONSE = 4;

/**
 * [APPEND, from, to, term, prevIndex, prevTerm, commit, flat entries]. A leader sends the same
 * entries to every follower in a round, so the entries are packed once (packedEntries) and
 * each follower's message is its own head followed by those bytes: the same bytes as packing
 * the whole array, one 17 KB pack a round (64 entries) instead of one per follower.
 */
function encodeAppend(m: AppendMessage): Uint8Array {
  const head = encode([APPEND, m.from, m.to, m.term, m.prevIndex, m.prevTerm, m.commit]);
  const entries = packedEntries(m.entries);
  // A Buffer, as msgpackr's own output is: what reads it back hands out Buffers too.
  const out = Buffer.allocUnsafe(head.length + entries.length);
  out.set(head);
  out[0] = FIXARRAY_OF_8; // the head was packed as an array of 7
  out.set(entries, head.length);
  return out;
}

const FIXARRAY_OF_8 = 0x98;

/** The entries last packed, known by their first and last objects (the log never changes one). */
let lastPacked: { first: Entry; last: Entry; count: number; bytes: Uint8Array } | undefined;

function packedEntries(entries: readonly Entry[]): Uint8Array {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (
    first !== undefined &&
    lastPacked?.first === first &&
    lastPacked.last === last &&
    lastPacked.count === entries.length
  ) {
    return lastPacked.bytes;
  }
  const bytes = packEntries(entries);
  lastPacked =
    first === undefined ? undefined : { first, last: last!, count: entries.length, bytes };
  return bytes;
}

/**
 * The flat list [term, type (0 normal, 1 conf change), data, ...] in msgpack, written by hand:
 * the same bytes msgpackr makes of that list (a test compares them), in a third of its time
 * (msgpackr took ~40 µs for 64 entries, one Raft round's batch, on these machines). A term of
 * 2^32 or more, which no cluster reaches, goes to msgpackr.
 */
export function packEntries(entries: readonly Entry[]): Uint8Array {
  let size = arrayHeaderBytes(entries.length * 3);
  for (const entry of entries) {
    if (!isUint32(entry.term)) return packEntriesWithMsgpackr(entries);
    const length = entry.data.length;
    size += uintBytes(entry.term) + 1 + binHeaderBytes(length) + length;
  }
  // A Buffer, as msgpackr's own output is: what reads it back hands out Buffers too.
  const out = Buffer.allocUnsafe(size);
  let at = writeArrayHeader(out, 0, entries.length * 3);
  for (const entry of entries) {
    at = writeUint(out, at, entry.term);
    out[at++] = entry.type === 'normal' ? 0 : 1;
    at = writeBinHeader(out, at, entry.data.length);
    out.set(entry.data, at);
    at += entry.data.length;
  }
  return out;
}

export function packEntriesWithMsgpackr(entries: readonly Entry[]): Uint8Array {
  const flat: unknown[] = new Array(entries.length * 3);
  let at = 0;
  for (const entry of entries) {
    flat[at++] = entry.term;
    flat[at++] = entry.type === 'normal' ? 0 : 1;
    flat[at++] = entry.data;
  }
  return encode(flat);
}

function parseCompact(value: unknown[]): Message {
  // `type` first, then the envelope: the field order the core builds messages in, so both
  // kinds of message share one shape.
  switch (value[0]) {
    case APPEND: {
      const head = envelopeOf(value, 'append', 8);
      const prevIndex = counter(value[4], 'append.prevIndex');
      const message: AppendMessage = {
        type: 'append',
        ...head,
        prevIndex,
        prevTerm: counter(value[5], 'append.prevTerm'),
        entries: entriesOf(value[7], prevIndex),
        commit: counter(value[6], 'append.commit'),
      };
      return message;
    }
    case APPEND_RESPONSE: {
      const head = envelopeOf(value, 'appendResponse', 8);
      const message: AppendResponseMessage = {
        type: 'appendResponse',
        ...head,
        index: counter(value[4], 'appendResponse.index'),
        reject: flag(value[5], 'appendResponse.reject'),
        hintIndex: counter(value[6], 'appendResponse.hintIndex'),
        hintTerm: counter(value[7], 'appendResponse.hintTerm'),
      };
      return message;
    }
    case HEARTBEAT: {
      const head = envelopeOf(value, 'heartbeat', 6);
      const message: HeartbeatMessage = {
        type: 'heartbeat',
        ...head,
        commit: counter(value[4], 'heartbeat.commit'),
        context: optionalBytes(value[5], 'heartbeat.context'),
      };
      return message;
    }
    case HEARTBEAT_RESPONSE: {
      const head = envelopeOf(value, 'heartbeatResponse', 5);
      const message: HeartbeatResponseMessage = {
        type: 'heartbeatResponse',
        ...head,
        context: optionalBytes(value[4], 'heartbeatResponse.context'),
      };
      return message;
    }
    default:
      // Only a number is named: anything else could be long, or fail to become a string.
      throw malformed(
        'kind',
        `unknown kind of compact message: ${typeof value[0] === 'number' ? value[0] : typeof value[0]}`,
      );
  }
}

/** Checks the field count, then reads the sender, the receiver and the term. */
function envelopeOf(
  value: unknown[],
  type: string,
  length: number,
): { from: string; to: string; term: number } {
  if (value.length !== length) {
    throw malformed(type, `expected ${length} fields, got ${value.length}`);
  }
  return {
    from: nodeId(value[1], `${type}.from`),
    to: nodeId(value[2], `${type}.to`),
    term: counter(value[3], `${type}.term`),
  };
}

function entriesOf(value: unknown, prevIndex: number): Entry[] {
  if (!Array.isArray(value) || value.length % 3 !== 0) {
    throw malformed('append.entries', 'expected a list of term, kind, data triples');
  }
  if (prevIndex + value.length / 3 > Number.MAX_SAFE_INTEGER) {
    throw malformed('append.entries', 'indexes past the largest safe integer');
  }
  const entries: Entry[] = new Array(value.length / 3);
  for (let i = 0, at = 0; at < value.length; i++, at += 3) {
    const kind = value[at + 1];
    const data = value[at + 2];
    if (kind !== 0 && kind !== 1) throw malformed(`append.entries.${i}.type`, 'expected 0 or 1');
    if (!(data instanceof Uint8Array)) {
      throw malformed(`append.entries.${i}.data`, 'expected bytes');
    }
    entries[i] = {
      term: counter(value[at], `append.entries.${i}.term`),
      index: prevIndex + 1 + i,
      type: kind === 0 ? 'normal' : 'confChange',
      data,
    };
  }
  return entries;
}

function counter(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(where, 'expected a non-negative integer');
  }
  return value;
}

function nodeId(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw malformed(where, 'expected a node id');
  }
  return value;
}

function flag(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw malformed(where, 'expected a boolean');
  return value;
}

function optionalBytes(value: unknown, where: string): Uint8Array | null {
  if (value !== null && !(value instanceof Uint8Array)) {
    throw malformed(where, 'expected bytes or nil');
  }
  return value;
}

function malformed(where: string, detail: string): DecodeError {
  return new DecodeError(`malformed raft message: ${where}: ${detail}`);
}
