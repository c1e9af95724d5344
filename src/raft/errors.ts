/**
 * Named errors of the Raft module. Match them by class or by `code`, never by message text.
 */

export abstract class RaftError extends Error {
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    // The subclass's own name ("CompactedError"), for logs and stack traces.
    this.name = new.target.name;
  }
}

/** A proposal was not accepted: no known leader, forwarding disabled, transfer in progress... */
export class ProposalDroppedError extends RaftError {
  readonly code = 'ERR_PROPOSAL_DROPPED';
  constructor(readonly reason: string) {
    super(`proposal dropped: ${reason}`);
  }
}

/** A membership change the leader refuses (one already pending, removed id, last voter...). */
export class ConfChangeRefusedError extends RaftError {
  readonly code = 'ERR_CONF_CHANGE_REFUSED';
  constructor(readonly reason: string) {
    super(`configuration change refused: ${reason}`);
  }
}

/** A ReadIndex request could not be started (no known leader). */
export class ReadIndexDroppedError extends RaftError {
  readonly code = 'ERR_READ_INDEX_DROPPED';
  constructor(readonly reason: string) {
    super(`read index dropped: ${reason}`);
  }
}

/** A leadership transfer that cannot be started (unknown target, learner, no leader). */
export class LeaderTransferRefusedError extends RaftError {
  readonly code = 'ERR_LEADER_TRANSFER_REFUSED';
  constructor(readonly reason: string) {
    super(`leadership transfer refused: ${reason}`);
  }
}

/** Storage: the requested index was compacted away. */
export class CompactedError extends RaftError {
  readonly code = 'ERR_COMPACTED';
  constructor(readonly index: number) {
    super(`log index ${index} is compacted`);
  }
}

/** Storage: the requested index is beyond the last entry. */
export class UnavailableError extends RaftError {
  readonly code = 'ERR_UNAVAILABLE';
  constructor(readonly index: number) {
    super(`log index ${index} is unavailable`);
  }
}

/** Storage: a snapshot is being prepared; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  readonly code = 'ERR_SNAPSHOT_TEMPORARILY_UNAVAILABLE';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

/** Storage: a snapshot older than the one already held was offered. */
export class SnapshotOutOfDateError extends RaftError {
  readonly code = 'ERR_SNAPSHOT_OUT_OF_DATE';
  constructor(
    readonly index: number,
    readonly current: number,
  ) {
    super(`snapshot at ${index} is older than the current one at ${current}`);
  }
}

/** Invalid options given to the core. */
export class RaftConfigError extends RaftError {
  readonly code = 'ERR_RAFT_CONFIG';
  constructor(message: string) {
    super(message);
  }
}

/**
 * A broken invariant or an API misuse (ready() twice without advance(), truncating a
 * committed entry, an illegal role transition). Always a bug: fail loudly.
 */
export class RaftInvariantError extends RaftError {
  readonly code = 'ERR_RAFT_INVARIANT';
  constructor(message: string) {
    super(message);
  }
}
