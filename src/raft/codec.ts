/**
 * Raft messages on the wire: msgpack, then checked field by field on the way in, since
 * they come from another machine. A frame that is not a well-formed message is refused
 * with a DecodeError naming what is wrong; it never reaches the core.
 */
import { z } from 'zod';
import { DecodeError, decode, encode } from '../wire/codec.js';
import type { Message } from './types.js';

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
  return encode(message);
}

export function decodeMessage(bytes: Uint8Array): Message {
  return parseMessage(decode(bytes));
}

export function parseMessage(value: unknown): Message {
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'message';
    throw new DecodeError(`malformed raft message: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
