/**
 * Data types of the Raft core: log entries, persistent state, snapshots, membership,
 * messages and what a Ready hands to the driver. Plain data only, so that the wire codec
 * and the storage can encode them without knowing the core.
 */

/** Raft node ids are strings: libp2p peer ids in production, short names in tests. */
export type NodeId = string;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque command for `normal`; an encoded ConfChange (see confchange.ts) for `confChange`. */
  readonly data: Uint8Array;
}

/** An entry as proposed, before the leader assigns its term and index. */
export interface ProposedEntry {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be on stable storage before a vote or an append is acknowledged. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  readonly commit: number;
}

/**
 * Cluster membership. Sorted arrays so that two equal configurations compare equal.
 * `removed` only grows: a removed id is never admitted again.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly removed: readonly NodeId[];
}

export type ConfChangeType =
  | 'addVoter'
  | 'addLearner'
  | 'promoteLearner'
  | 'demoteVoter'
  | 'removeNode';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to the core (e.g. the new member's address), carried to the driver. */
  readonly context?: Uint8Array;
}

export interface SnapshotMetadata {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state worth telling the driver about; not persisted. */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

/**
 * The answer to a `readIndex(context)`: once the local state machine has applied `index`,
 * a read issued before the request is linearizable.
 */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** Sender's term; 0 on requests forwarded to the leader, which are not term-checked. */
  readonly term: number;
}

/** Leader → follower: entries after (prevIndex, prevTerm); empty to carry the commit index. */
export interface AppendMessage extends Envelope {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Follower → leader. Success: `index` is the last index known to match. Reject: `index` is
 * the rejected prevIndex and (hintIndex, hintTerm) is the follower's last entry that might
 * match (its largest index ≤ prevIndex whose term is ≤ prevTerm), for fast back-off.
 */
export interface AppendResponseMessage extends Envelope {
  readonly type: 'appendResponse';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat';
  /** min(follower's match, leader's commit): never beyond what the follower is known to hold. */
  readonly commit: number;
  /** ReadIndex context being confirmed by this round, if any. */
  readonly context: Uint8Array | null;
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: 'heartbeatResponse';
  readonly context: Uint8Array | null;
}

export interface VoteMessage extends Envelope {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership transfer: the receiver ignores its leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends Envelope {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly reject: boolean;
}

export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Leader → transferee: campaign now, skipping pre-vote and the leader lease. */
export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeoutNow';
}

/** A proposal forwarded by a follower to the leader (term 0). */
export interface ProposeMessage extends Envelope {
  readonly type: 'propose';
  readonly entries: readonly ProposedEntry[];
}

/** A ReadIndex request forwarded to the leader (term 0); answered to `from`. */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex';
  readonly context: Uint8Array;
}

export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'readIndexResponse';
  readonly index: number;
  readonly context: Uint8Array;
}

/** A leadership transfer request forwarded to the leader (term 0). */
export interface TransferLeaderMessage extends Envelope {
  readonly type: 'transferLeader';
  readonly transferee: NodeId;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ProposeMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | TransferLeaderMessage;

export type MessageType = Message['type'];

/**
 * Everything the driver must do after some input, in this order (see docs/raft.md):
 * persist `snapshot`, `entries` and `hardState`; send `messages`; apply `snapshot` then
 * `committedEntries`; hand out `readStates`; then call `advance()`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when the writes must be fsync'd before sending (new entries, term, vote or snapshot). */
  readonly mustSync: boolean;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly learner: boolean;
  readonly paused: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly leader: NodeId | null;
  readonly role: Role;
  readonly leadTransferee: NodeId | null;
  /** Membership in force: the latest configuration in the log, committed or not. */
  readonly conf: ConfState;
  /** Replication state per member; only on the leader. */
  readonly progress?: Readonly<Record<NodeId, ProgressStatus>>;
}
