/**
 * Single-server membership changes: their entry encoding, the pure function that applies
 * one to a ConfState, and the checks the leader makes before proposing one.
 *
 * The core reads conf-change entries itself (membership follows the log, see raft.ts), so
 * their encoding lives here rather than in the wire codecs.
 */
import { RaftInvariantError } from './errors.js';
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.js';

const ENCODING_VERSION = 1;
const TYPE_CODES: readonly ConfChangeType[] = [
  'addVoter',
  'addLearner',
  'promoteLearner',
  'demoteVoter',
  'removeNode',
];

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Layout: version (1 byte), type (1), id length (2, big-endian), id (UTF-8), context (rest). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = utf8Encoder.encode(cc.nodeId);
  const context = cc.context ?? new Uint8Array(0);
  if (id.length > 0xffff) throw new RaftInvariantError('conf change node id is too long');
  const out = new Uint8Array(4 + id.length + context.length);
  out[0] = ENCODING_VERSION;
  out[1] = TYPE_CODES.indexOf(cc.type);
  out[2] = id.length >> 8;
  out[3] = id.length & 0xff;
  out.set(id, 4);
  out.set(context, 4 + id.length);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const version = data[0];
  const type = TYPE_CODES[data[1] ?? -1];
  const idLength = ((data[2] ?? 0) << 8) | (data[3] ?? 0);
  if (version !== ENCODING_VERSION || type === undefined || data.length < 4 + idLength) {
    throw new RaftInvariantError('malformed conf change entry');
  }
  const nodeId = utf8Decoder.decode(data.subarray(4, 4 + idLength));
  const rest = data.subarray(4 + idLength);
  return rest.length > 0 ? { type, nodeId, context: rest.slice() } : { type, nodeId };
}

export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [], removed: [] };

export function confState(
  voters: readonly NodeId[],
  learners: readonly NodeId[] = [],
  removed: readonly NodeId[] = [],
): ConfState {
  return { voters: sorted(voters), learners: sorted(learners), removed: sorted(removed) };
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

export function sameConfState(a: ConfState, b: ConfState): boolean {
  return (
    sameList(a.voters, b.voters) &&
    sameList(a.learners, b.learners) &&
    sameList(a.removed, b.removed)
  );
}

/**
 * Applies one change. Total and idempotent per node: each change sets the node's whole
 * status, so replaying changes already folded into a snapshot's ConfState is harmless.
 */
export function nextConfState(conf: ConfState, cc: ConfChange): ConfState {
  const id = cc.nodeId;
  const voters = conf.voters.filter((v) => v !== id);
  const learners = conf.learners.filter((l) => l !== id);
  const removed = [...conf.removed];
  switch (cc.type) {
    case 'addVoter':
    case 'promoteLearner':
      voters.push(id);
      break;
    case 'addLearner':
    case 'demoteVoter':
      learners.push(id);
      break;
    case 'removeNode':
      if (!removed.includes(id)) removed.push(id);
      break;
  }
  return confState(voters, learners, removed);
}

/** Why `cc` may not follow `conf`, or null if it may. */
export function refuseConfChange(conf: ConfState, cc: ConfChange): string | null {
  const id = cc.nodeId;
  if (id.length === 0) return 'empty node id';
  if (conf.removed.includes(id)) return `${id} was removed from the cluster; ids are never reused`;
  const voter = conf.voters.includes(id);
  const learner = conf.learners.includes(id);
  switch (cc.type) {
    case 'addVoter':
    case 'addLearner':
      if (voter) return `${id} is already a voter`;
      if (learner) return `${id} is already a learner`;
      return null;
    case 'promoteLearner':
      return learner ? null : `${id} is not a learner`;
    case 'demoteVoter':
      if (!voter) return `${id} is not a voter`;
      return conf.voters.length === 1 ? 'cannot demote the last voter' : null;
    case 'removeNode':
      if (!voter && !learner) return `${id} is not a member`;
      return voter && conf.voters.length === 1 ? 'cannot remove the last voter' : null;
  }
}

function sorted(ids: readonly NodeId[]): NodeId[] {
  return [...new Set(ids)].sort();
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
