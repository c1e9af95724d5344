/**
 * RaftNode: the front door of the core. Wraps the state machine and packages its output as a
 * Ready, remembering what was handed out so that `advance()` can mark it persisted and applied.
 * The driving loop and the caller's duties are in docs/raft.md.
 */
import { encodeConfChange } from './confchange.js';
import { type RaftOptions, resolveRaftOptions } from './config.js';
import { RaftInvariantError } from './errors.js';
import { Raft } from './raft.js';
import type {
  ConfChange,
  ConfState,
  HardState,
  Message,
  NodeId,
  Ready,
  SoftState,
  Status,
} from './types.js';

export class RaftNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined;

  constructor(options: RaftOptions) {
    const config = resolveRaftOptions(options);
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = config.storage.initialState().hardState;
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advances logical time by one tick (elections, heartbeats, check-quorum, transfer timeout). */
  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message received from a peer. */
  step(message: Message): void {
    this.raft.step(message);
  }

  /** Starts an election now (pre-vote first when enabled). Ignored by leaders and non-voters. */
  campaign(): void {
    this.raft.campaign();
  }

  /**
   * Proposes a command. On a follower it is forwarded to the leader; it may still be lost, so
   * callers watch for it among committed entries. Throws ProposalDroppedError when it cannot
   * even be sent (no leader, forwarding disabled, transfer in progress, leader leaving).
   */
  propose(data: Uint8Array): void {
    this.raft.propose([{ type: 'normal', data }]);
  }

  /**
   * Proposes several commands at once: one append per follower carries them all, where one
   * propose() each would send one each. All are accepted or all dropped.
   */
  proposeBatch(commands: readonly Uint8Array[]): void {
    if (commands.length === 0) return;
    this.raft.propose(commands.map((data) => ({ type: 'normal' as const, data })));
  }

  /**
   * Proposes a membership change. On the leader, throws ConfChangeRefusedError if another change
   * is pending, the id was removed before, it would remove the last voter, or it would leave
   * fewer reachable voters than a quorum. Forwarded requests the leader refuses are dropped.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.propose([{ type: 'confChange', data: encodeConfChange(cc) }]);
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded if this node is a follower). */
  transferLeader(transferee: NodeId): void {
    this.raft.transferLeader(transferee);
  }

  /**
   * Requests a linearizable read point. A ReadState with this context appears in a later Ready;
   * serve the read once the state machine has applied its index. Throws ReadIndexDroppedError
   * without a leader; the request may also be lost silently (retry with a timeout).
   */
  readIndex(context: Uint8Array): void {
    this.raft.readIndex(context);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /** The connection to `id` is gone; if it was our leader, campaign soon (see Raft). */
  reportLeaderLost(id: NodeId): void {
    this.raft.reportLeaderLost(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  /**
   * Call for each committed confChange entry as it is applied, in log order. Returns the
   * membership as of that entry, to store with the state machine's snapshots. (The core already
   * follows the change since the entry was appended; this does not alter who votes.)
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  status(): Status {
    return this.raft.status();
  }

  /** Whether ready() has anything; false while a Ready is handed out and not yet advanced. */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const raft = this.raft;
    const log = raft.log;
    return (
      !sameSoftState(raft.softState(), this.prevSoft) ||
      !sameHardState(raft.hardState(), this.prevHard) ||
      raft.hasOutput() ||
      log.unstable.entries.length > 0 ||
      log.unstable.snapshot !== undefined ||
      log.hasNextCommittedEntries()
    );
  }

  /** What to persist, send and apply now. Call advance() when done, before the next ready(). */
  ready(): Ready {
    if (this.outstanding !== undefined) {
      throw new RaftInvariantError('ready() called again before advance()');
    }
    const raft = this.raft;
    const soft = raft.softState();
    const hard = raft.hardState();
    const entries = raft.log.unstableEntries();
    const snapshot = raft.log.unstable.snapshot;
    const ready: Ready = {
      softState: sameSoftState(soft, this.prevSoft) ? undefined : soft,
      hardState: sameHardState(hard, this.prevHard) ? undefined : hard,
      entries,
      snapshot,
      committedEntries: raft.log.nextCommittedEntries(),
      messages: raft.takeMessages(),
      readStates: raft.takeReadStates(),
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote,
    };
    if (snapshot !== undefined) raft.snapshotHandedOut(snapshot);
    this.outstanding = ready;
    return ready;
  }

  /** The last Ready is persisted, its messages sent and its committed entries applied. */
  advance(): void {
    const ready = this.outstanding;
    if (ready === undefined) throw new RaftInvariantError('advance() without a ready()');
    this.outstanding = undefined;
    const log = this.raft.log;
    if (ready.softState !== undefined) this.prevSoft = ready.softState;
    if (ready.hardState !== undefined) this.prevHard = ready.hardState;
    if (ready.snapshot !== undefined) log.stableSnapTo(ready.snapshot.metadata.index);
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) {
      log.stableTo(lastEntry.index, lastEntry.term);
      this.raft.persisted(lastEntry.index, lastEntry.term);
    }
    const applied =
      ready.committedEntries[ready.committedEntries.length - 1]?.index ??
      ready.snapshot?.metadata.index;
    if (applied !== undefined) log.appliedTo(applied);
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
