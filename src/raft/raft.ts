/**
 * The Raft state machine: pure and synchronous. Inputs are `tick()`, `step(message)` and the
 * local requests (propose, campaign, transferLeader, readIndex); outputs accumulate in `msgs`,
 * `readStates` and the log, and RaftNode (rawnode.ts) hands them to the driver as a Ready.
 *
 * Each role has its own step and tick function, swapped on every transition; an illegal
 * transition throws. Membership follows the log: a node uses the latest configuration in its
 * log, committed or not (Raft thesis §4.1), so that with one change at a time any two
 * configurations in use have overlapping majorities. The driver still calls
 * `applyConfChange` when it applies a change, to learn the ConfState to store with its
 * snapshots.
 */

import { decodeConfChange, isVoter, nextConfState, refuseConfChange } from './confchange.js';
import type { RaftConfig } from './config.js';
import {
  ConfChangeRefusedError,
  LeaderTransferRefusedError,
  ProposalDroppedError,
  RaftInvariantError,
  ReadIndexDroppedError,
  SnapshotTemporarilyUnavailableError,
} from './errors.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { hasQuorum, majorityIndex, quorumSize, voteResult } from './quorum.js';
import { ReadOnly } from './readonly.js';
import type {
  AppendMessage,
  AppendResponseMessage,
  ConfChange,
  ConfState,
  Entry,
  HardState,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
  NodeId,
  ProgressStatus,
  ProposedEntry,
  ReadState,
  Role,
  Snapshot,
  SnapshotMessage,
  SoftState,
  Status,
  VoteMessage,
} from './types.js';

const EMPTY = new Uint8Array(0);

interface ConfEntry {
  readonly index: number;
  readonly change: ConfChange;
}

export class Raft {
  readonly id: NodeId;
  readonly log: RaftLog;
  term: number;
  vote: NodeId | null;
  lead: NodeId | null = null;
  role: Role = 'follower';
  leadTransferee: NodeId | null = null;

  /** Output for the next Ready. */
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];

  /** Membership in force = confBase with the conf-change entries of the log folded in. */
  private conf: ConfState;
  private confBase: ConfState;
  private confEntries: ConfEntry[] = [];
  /** Membership as of the entries the driver has applied (see applyConfChange). */
  private appliedConf: ConfState;

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** A conf change may be proposed once the commit index reaches this. */
  private pendingConfIndex = 0;
  private readonly readOnly = new ReadOnly();
  /** ReadIndex requests received before this leader committed an entry of its term. */
  private pendingReads: { from: NodeId; context: Uint8Array }[] = [];

  private stepRole: (m: Message) => void = (m) => this.stepFollower(m);
  private tickRole: () => void = () => this.tickElection();

  constructor(private readonly cfg: RaftConfig) {
    this.id = cfg.id;
    this.log = new RaftLog(cfg.storage, cfg.maxCommittedSizePerReady);
    const { hardState, confState } = cfg.storage.initialState();

    // The storage's ConfState is as of its snapshot; conf changes after it are still in the
    // log. Replaying ones the snapshot already covers is harmless (nextConfState is idempotent).
    this.confBase = confState;
    const first = this.log.firstIndex();
    const last = this.log.lastIndex();
    const stored =
      last >= first ? (this.log.slice(first, last + 1, Number.MAX_SAFE_INTEGER) ?? []) : [];
    this.confEntries = confEntriesOf(stored);
    this.conf = this.foldConf(Number.POSITIVE_INFINITY);

    if (hardState.commit > last) {
      throw new RaftInvariantError(
        `stored commit ${hardState.commit} is beyond the last index ${last}`,
      );
    }
    this.log.commitTo(hardState.commit);
    this.term = hardState.term;
    this.vote = hardState.vote;
    if (cfg.applied !== undefined && cfg.applied > this.log.applied)
      this.log.appliedTo(cfg.applied);
    this.appliedConf = this.foldConf(this.log.applied);
    this.becomeFollower(this.term, null);
    this.cfg.logger.debug(
      { node: this.id, term: this.term, commit: this.log.committed, first, last },
      'raft started',
    );
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.tickRole();
  }

  step(m: Message): void {
    if (m.to !== this.id) {
      throw new RaftInvariantError(`message for ${m.to} stepped into ${this.id}`);
    }
    if (m.type === 'propose' || m.type === 'readIndex' || m.type === 'transferLeader') {
      this.stepRole(m); // forwarded requests carry no term
      return;
    }
    if (m.term > this.term) {
      if ((m.type === 'vote' || m.type === 'preVote') && !m.transfer && this.inLease()) {
        // Leader lease: we heard from a leader less than an election timeout ago, so this
        // candidate is likely a node that lost touch; do not let it depose a healthy leader.
        this.cfg.logger.debug({ node: this.id, from: m.from, type: m.type }, 'vote ignored: lease');
        return;
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResponse' && !m.reject)) {
        // Pre-votes never change terms: they ask for term+1 without taking it, and a
        // granted answer comes back stamped with that future term.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      this.stepStale(m);
      return;
    }
    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    this.stepRole(m);
  }

  /** Starts an election (with a pre-vote round when enabled). */
  campaign(): void {
    this.hup(false);
  }

  propose(entries: readonly ProposedEntry[]): void {
    switch (this.role) {
      case 'leader':
        this.proposeEntries(entries);
        return;
      case 'follower':
        if (this.lead === null) throw new ProposalDroppedError('no leader');
        if (this.cfg.disableProposalForwarding) {
          throw new ProposalDroppedError('not the leader and forwarding is disabled');
        }
        this.msgs.push({ type: 'propose', from: this.id, to: this.lead, term: 0, entries });
        return;
      default:
        throw new ProposalDroppedError(`no leader (${this.role})`);
    }
  }

  transferLeader(transferee: NodeId): void {
    if (this.role === 'leader') {
      if (!isVoter(this.conf, transferee)) {
        throw new LeaderTransferRefusedError(`${transferee} is not a voter`);
      }
      this.handleTransferLeader(transferee);
      return;
    }
    if (this.lead === null) throw new LeaderTransferRefusedError('no leader');
    this.msgs.push({ type: 'transferLeader', from: this.id, to: this.lead, term: 0, transferee });
  }

  readIndex(context: Uint8Array): void {
    if (this.role === 'leader') {
      this.handleReadIndex(this.id, context);
      return;
    }
    if (this.role !== 'follower' || this.lead === null) {
      throw new ReadIndexDroppedError('no leader');
    }
    this.msgs.push({ type: 'readIndex', from: this.id, to: this.lead, term: 0, context });
  }

  /** The transport could not reach `id`: stop streaming to it and probe instead. */
  reportUnreachable(id: NodeId): void {
    const pr = this.role === 'leader' ? this.progress.get(id) : undefined;
    if (pr?.state === 'replicate') pr.becomeProbe();
  }

  /**
   * The transport lost its connection to `id` (e.g. the process died: its socket was reset).
   * A follower whose leader that was stops honouring the leader's lease and campaigns within
   * a few ticks, instead of waiting out a whole election timeout. Safety does not depend on
   * the lease; a follower that is wrong about the leader only asks for pre-votes, which the
   * others refuse while they still hear from it.
   */
  reportLeaderLost(id: NodeId): void {
    if (this.role !== 'follower' || this.lead !== id) return;
    this.lead = null;
    // Jitter over half an election timeout, so one follower usually wins its pre-vote before
    // another starts (two starting together split the vote).
    const jitter = Math.floor(
      this.cfg.random() * Math.max(1, Math.floor(this.cfg.electionTicks / 2)),
    );
    const soon = this.randomizedElectionTimeout - 1 - jitter;
    this.electionElapsed = Math.max(this.electionElapsed, soon);
  }

  /** The transport finished (ok) or gave up (!ok) sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.role === 'leader' ? this.progress.get(id) : undefined;
    if (pr?.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (or a heartbeat response) before probing again.
    pr.probeSent = true;
  }

  applyConfChange(cc: ConfChange): ConfState {
    this.appliedConf = nextConfState(this.appliedConf, cc);
    return this.appliedConf;
  }

  /** Called when a Ready hands the driver a snapshot to apply. */
  snapshotHandedOut(snapshot: Snapshot): void {
    this.appliedConf = snapshot.metadata.confState;
  }

  // ---------------------------------------------------------------- outputs

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  hasOutput(): boolean {
    return this.msgs.length > 0 || this.readStates.length > 0;
  }

  takeMessages(): Message[] {
    const msgs = this.msgs;
    this.msgs = [];
    return msgs;
  }

  takeReadStates(): ReadState[] {
    const states = this.readStates;
    this.readStates = [];
    return states;
  }

  status(): Status {
    let progress: Record<NodeId, ProgressStatus> | undefined;
    if (this.role === 'leader') {
      progress = {};
      for (const [id, pr] of this.progress) progress[id] = pr.status();
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      leader: this.lead,
      role: this.role,
      leadTransferee: this.leadTransferee,
      conf: this.conf,
      ...(progress === undefined ? {} : { progress }),
    };
  }

  // ---------------------------------------------------------------- role transitions

  private becomeFollower(term: number, lead: NodeId | null): void {
    this.stepRole = (m) => this.stepFollower(m);
    this.tickRole = () => this.tickElection();
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    if (this.role === 'leader') throw new RaftInvariantError('leader cannot become pre-candidate');
    // Term and vote stay: a pre-candidate only asks whether it could win.
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
    this.votes.clear();
    this.lead = null;
    this.role = 'preCandidate';
    this.resetRandomizedElectionTimeout();
  }

  private becomeCandidate(): void {
    if (this.role === 'leader') throw new RaftInvariantError('leader cannot become candidate');
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    if (this.role !== 'candidate') {
      throw new RaftInvariantError(`${this.role} cannot become leader`);
    }
    this.stepRole = (m) => this.stepLeader(m);
    this.tickRole = () => this.tickHeartbeat();
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.syncProgress();
    // An entry of the new term lets the leader commit (and learn the commit index) without
    // waiting for a proposal; until it commits, no conf change and no read is served.
    this.appendEntries([{ type: 'normal', data: EMPTY }]);
    this.pendingConfIndex = this.log.lastIndex();
    this.cfg.logger.info({ node: this.id, term: this.term }, 'became leader');
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.votes.clear();
    this.progress.clear();
    this.readOnly.reset();
    this.pendingReads = [];
    this.pendingConfIndex = 0;
  }

  private resetRandomizedElectionTimeout(): void {
    const n = this.cfg.electionTicks;
    this.randomizedElectionTimeout = n + Math.min(n - 1, Math.floor(this.cfg.random() * n));
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.progress) if (id !== this.id) pr.inactiveTicks++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.cfg.logger.warn({ node: this.id, term: this.term }, 'lost quorum; stepping down');
        this.becomeFollower(this.term, null);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  // ---------------------------------------------------------------- elections

  private promotable(): boolean {
    return isVoter(this.conf, this.id);
  }

  private inLease(): boolean {
    return (
      this.cfg.checkQuorum && this.lead !== null && this.electionElapsed < this.cfg.electionTicks
    );
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) {
      this.cfg.logger.debug({ node: this.id }, 'not a voter; not campaigning');
      return;
    }
    this.runCampaign(this.cfg.preVote && !transfer ? 'preVote' : 'vote', transfer);
  }

  private runCampaign(type: 'vote' | 'preVote', transfer: boolean): void {
    let voteTerm: number;
    if (type === 'preVote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    if (this.poll(this.id, true)) return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const voter of this.conf.voters) {
      if (voter === this.id) continue;
      this.send({ type, from: this.id, to: voter, term: voteTerm, lastIndex, lastTerm, transfer });
    }
  }

  /** Records a vote; returns true when the election is decided (and acted upon). */
  private poll(id: NodeId, granted: boolean): boolean {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    switch (voteResult(this.conf.voters, this.votes)) {
      case 'won':
        if (this.role === 'preCandidate') {
          this.runCampaign('vote', false);
        } else {
          this.becomeLeader();
          this.bcastAppend();
        }
        return true;
      case 'lost':
        this.becomeFollower(this.term, null);
        return true;
      case 'pending':
        return false;
    }
  }

  private handleVoteRequest(m: VoteMessage): void {
    const pre = m.type === 'preVote';
    const type = pre ? 'preVoteResponse' : 'voteResponse';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (pre && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // Answer with the term asked for, so a pre-candidate counts it for term+1.
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  /** A message from an older term. */
  private stepStale(m: Message): void {
    if (
      (m.type === 'append' || m.type === 'heartbeat') &&
      (this.cfg.checkQuorum || this.cfg.preVote)
    ) {
      // A leader of an older term still thinks it leads (we may have advanced our term while
      // cut off). Tell it our term so it steps down; otherwise, as our own campaigns fail
      // pre-vote or the lease of its followers, we could never rejoin.
      this.send({
        type: 'appendResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        index: 0,
        reject: false,
        hintIndex: 0,
        hintTerm: 0,
      });
    } else if (m.type === 'preVote') {
      // Let a pre-candidate of an older term learn ours.
      this.send({
        type: 'preVoteResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        reject: true,
      });
    }
  }

  // ---------------------------------------------------------------- role step functions

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'propose':
        if (this.lead === null || this.cfg.disableProposalForwarding) return;
        this.msgs.push({ ...m, to: this.lead });
        return;
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'transferLeader':
      case 'readIndex':
        if (this.lead !== null) this.msgs.push({ ...m, to: this.lead });
        return;
      case 'timeoutNow':
        this.cfg.logger.info({ node: this.id, from: m.from }, 'leadership transfer: campaigning');
        this.hup(true);
        return;
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return; // answers to a role we no longer hold
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse':
        if ((m.type === 'preVoteResponse') === (this.role === 'preCandidate')) {
          this.poll(m.from, !m.reject);
        }
        return;
      default:
        return; // no leader to forward requests to
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'propose':
        try {
          this.proposeEntries(m.entries);
        } catch (err) {
          if (!(err instanceof ProposalDroppedError || err instanceof ConfChangeRefusedError)) {
            throw err;
          }
          this.cfg.logger.debug({ node: this.id, from: m.from, reason: err.reason }, err.message);
        }
        return;
      case 'readIndex':
        this.handleReadIndex(m.from, m.context);
        return;
      case 'transferLeader':
        if (isVoter(this.conf, m.transferee)) this.handleTransferLeader(m.transferee);
        return;
      case 'appendResponse':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      // Old or duplicated: everything up to our commit index is known to match.
      this.sendAppendResponse(m.from, this.log.committed);
      return;
    }
    const result = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (result !== undefined) {
      this.trackConfEntries(result.appended);
      this.sendAppendResponse(m.from, result.lastIndex);
      return;
    }
    const hint = this.log.findConflictByTerm(
      Math.min(m.prevIndex, this.log.lastIndex()),
      m.prevTerm,
    );
    this.send({
      type: 'appendResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      index: m.prevIndex,
      reject: true,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    this.send({
      type: 'heartbeatResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      context: m.context,
    });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const restored = this.restore(m.snapshot);
    this.sendAppendResponse(m.from, restored ? this.log.lastIndex() : this.log.committed);
  }

  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry, hence (log matching) all before it.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.confBase = confState;
    this.confEntries = [];
    this.rebuildConf();
    this.cfg.logger.info({ node: this.id, index, term }, 'restored snapshot');
    return true;
  }

  private sendAppendResponse(to: NodeId, index: number): void {
    this.send({
      type: 'appendResponse',
      from: this.id,
      to,
      term: this.term,
      index,
      reject: false,
      hintIndex: 0,
      hintTerm: 0,
    });
  }

  // ---------------------------------------------------------------- leader: proposals

  private proposeEntries(entries: readonly ProposedEntry[]): void {
    if (!isVoter(this.conf, this.id)) {
      throw new ProposalDroppedError('this leader is leaving the configuration');
    }
    if (this.leadTransferee !== null) {
      throw new ProposalDroppedError(`leadership transfer to ${this.leadTransferee} in progress`);
    }
    const confChanges = entries.filter((e) => e.type === 'confChange');
    if (confChanges.length > 1) {
      throw new ConfChangeRefusedError('one configuration change at a time');
    }
    const confEntry = confChanges[0];
    if (confEntry !== undefined) {
      const reason = this.refuseConfChange(confEntry.data);
      if (reason !== null) throw new ConfChangeRefusedError(reason);
    }
    const appended = this.appendEntries(entries);
    const conf = appended.find((e) => e.type === 'confChange');
    if (conf !== undefined) this.pendingConfIndex = conf.index;
    if (this.role === 'leader') this.bcastAppend();
  }

  private refuseConfChange(data: Uint8Array): string | null {
    if (this.log.committed < this.pendingConfIndex) {
      return 'the previous configuration change (or this leader’s first entry) is not committed yet';
    }
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch {
      return 'malformed conf change';
    }
    const refused = refuseConfChange(this.conf, cc);
    if (refused !== null || !this.cfg.checkConfChangeQuorum) return refused;
    const next = nextConfState(this.conf, cc);
    const reachable = next.voters.filter((id) => id === this.id || this.recentlyHeard(id));
    const needed = quorumSize(next.voters.length);
    if (reachable.length < needed) {
      return `only ${reachable.length} of the ${next.voters.length} voters it would leave are reachable; a quorum needs ${needed}`;
    }
    return null;
  }

  private recentlyHeard(id: NodeId): boolean {
    const pr = this.progress.get(id);
    return pr?.heard === true && pr.inactiveTicks < this.cfg.electionTicks;
  }

  private appendEntries(proposed: readonly ProposedEntry[]): Entry[] {
    const last = this.log.lastIndex();
    const entries = proposed.map(
      (e, i): Entry => ({ term: this.term, index: last + 1 + i, type: e.type, data: e.data }),
    );
    this.log.append(entries);
    this.trackConfEntries(entries);
    // The leader's own acknowledgement waits until the entries are persisted (see persisted()),
    // so the driver may replicate them while its own write is under way (Raft thesis §10.2.1).
    return entries;
  }

  // ---------------------------------------------------------------- leader: replication

  /** Sends `to` the entries it lacks (or a snapshot); false if nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxSizePerMsg);
    if (prevTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    });
    pr.sentAppend(prevIndex + entries.length, entries.length);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Do not ship a snapshot to a member that looks down; retry once it answers heartbeats.
    if (pr.inactiveTicks >= this.cfg.electionTicks) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) return false;
      throw err;
    }
    if (snapshot.metadata.index === 0)
      throw new RaftInvariantError('need a snapshot but have none');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    this.cfg.logger.debug(
      { node: this.id, to, index: snapshot.metadata.index },
      'sending snapshot',
    );
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context: Uint8Array | null = this.readOnly.lastPendingContext()): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never ahead of what the follower holds: it may lack entries up to our commit.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, context });
    }
  }

  private handleAppendResponse(m: AppendResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.markActive();
    if (m.reject) {
      const hint =
        m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      if (this.role !== 'leader') return;
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    // The window may have opened for several size-limited messages at once.
    while (this.sendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.markActive();
    pr.probeSent = false;
    // Appends may have been lost: free a slot so replication cannot stall on a full window.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);

    if (m.context === null) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined || !hasQuorum(this.conf.voters, acks)) return;
    for (const read of this.readOnly.advance(m.context)) {
      this.answerRead(read.from, read.index, read.context);
    }
  }

  /**
   * The driver has persisted this node's log up to `index` (an entry of `term`). A leader now
   * counts those entries as its own acknowledgement, which may commit them.
   */
  persisted(index: number, term: number): void {
    if (this.role !== 'leader' || this.log.term(index) !== term) return;
    const pr = this.progress.get(this.id);
    if (pr === undefined || !pr.maybeUpdate(index)) return;
    if (this.maybeCommit() && this.role === 'leader') this.bcastAppend();
  }

  /** Commits what a majority of voters holds, if it is from this term (Raft §5.4.2). */
  private maybeCommit(): boolean {
    const index = majorityIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (!this.log.maybeCommit(index, this.term)) return false;
    if (this.pendingReads.length > 0 && this.committedInTerm()) {
      const reads = this.pendingReads;
      this.pendingReads = [];
      for (const read of reads) this.serveRead(read.from, read.context);
    }
    const lastConf = this.confEntries[this.confEntries.length - 1];
    if (
      !isVoter(this.conf, this.id) &&
      lastConf !== undefined &&
      this.log.committed >= lastConf.index
    ) {
      this.stepDownAfterRemoval();
    }
    return true;
  }

  /**
   * The change removing (or demoting) this leader is committed. Tell the followers, ask the
   * most up-to-date voter to campaign at once, and step down.
   */
  private stepDownAfterRemoval(): void {
    this.bcastAppend();
    const last = this.log.lastIndex();
    const successor = this.conf.voters.find((id) => this.progress.get(id)?.match === last);
    if (successor !== undefined) this.sendTimeoutNow(successor);
    this.cfg.logger.info(
      { node: this.id, successor },
      'removed from the configuration; stepping down',
    );
    this.becomeFollower(this.term, null);
  }

  private quorumActive(): boolean {
    const active = new Set<NodeId>();
    for (const id of this.conf.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || (pr !== undefined && pr.inactiveTicks < this.cfg.electionTicks)) {
        active.add(id);
      }
    }
    return hasQuorum(this.conf.voters, active);
  }

  // ---------------------------------------------------------------- leader: transfer, reads

  private handleTransferLeader(transferee: NodeId): void {
    if (this.leadTransferee === transferee || transferee === this.id) return;
    this.leadTransferee = transferee;
    // The transfer must complete within an election timeout, or it is abandoned.
    this.electionElapsed = 0;
    const pr = this.progress.get(transferee);
    if (pr !== undefined && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.sendAppend(transferee);
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private handleReadIndex(from: NodeId, context: Uint8Array): void {
    // Until an entry of this term commits, our commit index may lag the true one.
    if (!this.committedInTerm()) {
      this.pendingReads.push({ from, context });
      return;
    }
    this.serveRead(from, context);
  }

  private serveRead(from: NodeId, context: Uint8Array): void {
    const voters = this.conf.voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.answerRead(from, this.log.committed, context);
      return;
    }
    if (!this.readOnly.add(this.log.committed, context, from)) return;
    if (isVoter(this.conf, this.id)) this.readOnly.recvAck(this.id, context);
    this.bcastHeartbeat(context);
  }

  private answerRead(from: NodeId, index: number, context: Uint8Array): void {
    if (from === this.id) {
      this.readStates.push({ index, context });
      return;
    }
    this.send({
      type: 'readIndexResponse',
      from: this.id,
      to: from,
      term: this.term,
      index,
      context,
    });
  }

  // ---------------------------------------------------------------- membership

  /** Follows conf-change entries written to the log (and the truncation of any). */
  private trackConfEntries(written: readonly Entry[]): void {
    const first = written[0];
    if (first === undefined) return;
    const kept = this.confEntries.filter((c) => c.index < first.index);
    const added = confEntriesOf(written);
    if (kept.length === this.confEntries.length && added.length === 0) return;
    this.confEntries = [...kept, ...added];
    this.rebuildConf();
  }

  private rebuildConf(): void {
    this.conf = this.foldConf(Number.POSITIVE_INFINITY);
    if (this.role !== 'leader') return;
    this.syncProgress();
    if (this.leadTransferee !== null && !isVoter(this.conf, this.leadTransferee)) {
      this.leadTransferee = null;
    }
  }

  private foldConf(upTo: number): ConfState {
    let conf = this.confBase;
    for (const c of this.confEntries) if (c.index <= upTo) conf = nextConfState(conf, c.change);
    return conf;
  }

  /** Leader: one Progress per member of the configuration in force. */
  private syncProgress(): void {
    const { voters, learners } = this.conf;
    for (const id of [...this.progress.keys()]) {
      if (!voters.includes(id) && !learners.includes(id)) this.progress.delete(id);
    }
    for (const id of [...voters, ...learners]) {
      let pr = this.progress.get(id);
      if (pr === undefined) {
        pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, false);
        if (id === this.id) pr.match = this.log.persistedIndex();
        this.progress.set(id, pr);
      }
      pr.learner = learners.includes(id);
    }
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }
}

function confEntriesOf(entries: readonly Entry[]): ConfEntry[] {
  const out: ConfEntry[] = [];
  for (const e of entries) {
    if (e.type === 'confChange') out.push({ index: e.index, change: decodeConfChange(e.data) });
  }
  return out;
}
