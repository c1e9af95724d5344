/**
 * RaftDriver: runs a RaftNode for real. It ticks the core from a timer, and runs the Ready
 * loop one round at a time: persist (one LevelDB batch, fsync'd when the round needs it) →
 * send → apply → advance (a leader sends new entries before its own write, and a round with
 * nothing to write after applying; see round()). Proposals get a promise that settles with
 * the state machine's result once their entry is applied here, or fails with a retryable
 * error when this node loses track of them (no leader, leadership changed).
 *
 * Entries carry an envelope (envelope.ts) of request id and payload: the request id lets the
 * node that proposed an entry find its waiter when the entry is applied (on a follower too,
 * since followers forward proposals to the leader). Conf changes carry it in their context.
 */
import { randomBytes } from 'node:crypto';
import { SwarmtsError } from '../errors.js';
import type { Logger } from '../log.js';
import { coalesceMessages } from './coalesce.js';
import { decodeConfChange } from './confchange.js';
import type { RaftOptions } from './config.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { ProposalDroppedError, ReadIndexDroppedError } from './errors.js';
import type { LevelStorage, WrittenSnapshot } from './level-storage.js';
import { RaftNode } from './rawnode.js';
import { snapshotDue, snapshotPhase } from './snapshot-schedule.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  SoftState,
  Status,
} from './types.js';

/** What Raft replicates: deterministic, and the same on every member. */
export interface StateMachine {
  /** Applies a committed command; the result goes to the proposer's promise. */
  apply(command: Uint8Array, entry: { index: number; term: number }): unknown;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

export interface MessageSender {
  /**
   * Sends without blocking. 'now' (the default) writes once the current microtasks have run;
   * 'end-of-turn' may wait for the event loop's turn to end, and takes along whatever is sent
   * to the same peer until then, in the same write.
   */
  send(messages: readonly Message[], when?: 'now' | 'end-of-turn'): void;
}

/**
 * Retryable (503). `outcome` tells a client whether a retry could apply the command twice:
 * 'not-applied' when it never entered the log, 'unknown' when it may still commit.
 */
export class NotLeaderError extends SwarmtsError {
  constructor(
    message: string,
    readonly outcome: 'not-applied' | 'unknown',
  ) {
    super('unavailable', message);
  }
}

export class DriverStoppedError extends SwarmtsError {
  constructor() {
    super('unavailable', 'the raft node is stopping');
  }
}

export interface Ticker {
  /** Calls `tick` every `intervalMs` until the returned function is called. */
  every(intervalMs: number, tick: () => void): () => void;
}

export const realTicker: Ticker = {
  every(intervalMs, tick) {
    const handle = setInterval(tick, intervalMs);
    return () => clearInterval(handle);
  },
};

export interface RaftDriverOptions {
  id: NodeId;
  storage: LevelStorage;
  stateMachine: StateMachine;
  sender: MessageSender;
  logger: Logger;
  random: () => number;
  ticker?: Ticker;
  /** Default 100 ms (a LAN). */
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Take a snapshot once every this many applied entries (see snapshot-schedule.ts). Default 10,000. */
  snapshotEveryEntries?: number;
  /** Entries kept behind a snapshot so slow followers catch up from the log. Default 5,000. */
  catchUpEntries?: number;
  /**
   * Called after a conf change is applied, e.g. to tell the transport about a member;
   * `context` is what the proposer passed to proposeConfChange (such as an address).
   */
  onConfChange?: (change: ConfChange, conf: ConfState, context: Uint8Array | undefined) => void;
  onSoftState?: (state: SoftState) => void;
  core?: Partial<Omit<RaftOptions, 'id' | 'storage' | 'random' | 'applied' | 'logger'>>;
}

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The tick after which nobody is going to answer: the request was lost on the way. */
  expiresAtTick: number;
}

interface ReadWaiter extends Waiter {
  index?: number;
}

export class RaftDriver {
  readonly id: NodeId;
  private readonly node: RaftNode;
  private readonly storage: LevelStorage;
  private readonly stateMachine: StateMachine;
  private readonly log: Logger;
  private readonly proposals = new Map<string, Waiter>();
  private readonly reads = new Map<string, ReadWaiter>();
  private readonly requestPrefix: string;
  private requestCounter = 0;
  private applied: number;
  private snapshotIndex: number;
  private conf: ConfState;
  private leader: NodeId | null = null;
  private role: SoftState['role'] = 'follower';
  private running: Promise<void> | undefined;
  private again = false;
  private stopTicker: (() => void) | undefined;
  private stopped = false;
  private failure: Error | undefined;
  /** A commit-only round's hard state, not written yet: it goes with the next write. */
  private unwrittenHardState: HardState | undefined;
  private queued: Array<{ requestId: string; data: Uint8Array }> = [];
  /** The snapshot being written (at most one); settles once recorded or given up. */
  private snapshotting: Promise<void> | undefined;
  /** A snapshot whose data is on disk, to be recorded by the loop between rounds. */
  private writtenSnapshot:
    | { written: WrittenSnapshot; conf: ConfState; data: Uint8Array; compactTo: number }
    | undefined;
  private snapshotSettled: (() => void) | undefined;
  private ticks = 0;
  private readonly waitTicks: number;
  private term = 0;

  constructor(private readonly options: RaftDriverOptions) {
    this.id = options.id;
    this.storage = options.storage;
    this.stateMachine = options.stateMachine;
    this.log = options.logger.child({ component: 'raft' });
    const snapshot = this.storage.snapshot();
    // The state machine starts from the snapshot; entries after it are re-applied as they
    // come out of the core as committed.
    if (snapshot.data.length > 0) this.stateMachine.restore(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.snapshotIndex = snapshot.metadata.index;
    this.conf = snapshot.metadata.confState;
    // Unique across restarts whatever random source is injected: entries of an earlier run
    // replayed from the log must never settle this run's requests. 96 random bits in 16
    // characters: every entry carries its request id to every member and into every log, and
    // a UUID's 36 were a tenth of a 200-byte command's entry.
    this.requestPrefix = randomBytes(12).toString('base64url');
    this.waitTicks = 3 * (options.electionTicks ?? 10);
    this.term = this.storage.initialState().hardState.term;
    this.node = new RaftNode({
      ...options.core,
      id: options.id,
      storage: this.storage,
      random: options.random,
      applied: this.applied,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      logger: {
        debug: (fields, message) => this.log.debug(fields, message),
        info: (fields, message) => this.log.info(fields, message),
        warn: (fields, message) => this.log.warn(fields, message),
      },
    });
  }

  start(): void {
    const ticker = this.options.ticker ?? realTicker;
    this.stopTicker = ticker.every(this.options.tickMs ?? 100, () => {
      this.ticks++;
      this.node.tick();
      this.expireWaiters();
      this.kick();
    });
    // A lone voter need not wait an election timeout to lead.
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) this.node.campaign();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTicker?.();
    await this.running;
    this.dropWrittenSnapshot();
    await this.snapshotting;
    // A clean stop leaves the latest commit index on disk, so a restart applies all it knew.
    if (!this.failure) {
      await this.writeHardState().catch((error: unknown) =>
        this.log.warn({ err: String(error) }, 'commit index not saved'),
      );
    }
    this.failAll(new DriverStoppedError());
  }

  /** Feeds a message from the transport. */
  step(message: Message): void {
    if (this.stopped) return;
    this.node.step(message);
    this.kick();
  }

  reportUnreachable(id: NodeId): void {
    this.node.reportUnreachable(id);
  }

  /** The transport lost every connection to `id`; if it led us, an election starts soon. */
  reportLeaderLost(id: NodeId): void {
    if (this.stopped) return;
    this.node.reportLeaderLost(id);
    this.kick();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.node.reportSnapshot(id, ok);
    this.kick();
  }

  status(): Status {
    return this.node.status();
  }

  get leaderId(): NodeId | null {
    return this.leader;
  }

  get membership(): ConfState {
    return this.conf;
  }

  /** Replicates `command`; resolves with the state machine's result once applied here. */
  propose(command: Uint8Array): Promise<unknown> {
    return this.withWaiter(this.proposals, (requestId) => {
      // Queued, and handed to the core together with every other proposal of this turn.
      this.queued.push({ requestId, data: encodeEnvelope(requestId, command) });
    });
  }

  /** Proposes a membership change; resolves once it is applied here. */
  proposeConfChange(change: Omit<ConfChange, 'context'>, context?: Uint8Array): Promise<unknown> {
    return this.withWaiter(this.proposals, (requestId) => {
      const envelope = encodeEnvelope(requestId, context ?? new Uint8Array(0));
      this.node.proposeConfChange({ ...change, context: envelope });
    });
  }

  /**
   * Resolves when this node's state machine reflects every write acknowledged before the call
   * (ReadIndex): a read done after it is linearizable.
   */
  readBarrier(): Promise<void> {
    return this.withWaiter(this.reads, (requestId) => {
      this.node.readIndex(new TextEncoder().encode(requestId));
    }) as Promise<void>;
  }

  /** Resolves once no snapshot is being written or waiting to be recorded. */
  async snapshotsSettled(): Promise<void> {
    await this.snapshotting;
  }

  transferLeadership(to: NodeId): void {
    this.node.transferLeader(to);
    this.kick();
  }

  private withWaiter(
    waiters: Map<string, Waiter>,
    submit: (requestId: string) => void,
  ): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new DriverStoppedError());
    const requestId = `${this.requestPrefix}.${(++this.requestCounter).toString(36)}`;
    return new Promise((resolve, reject) => {
      waiters.set(requestId, { resolve, reject, expiresAtTick: this.ticks + this.waitTicks });
      try {
        submit(requestId);
      } catch (error) {
        waiters.delete(requestId);
        reject(refusal(error));
        return;
      }
      this.kick();
    });
  }

  /** Runs the Ready loop soon; rounds never overlap. */
  private kick(): void {
    if (this.stopped && !this.running) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      // A kick between the loop's last check and this callback found it still running and
      // only set `again`: run for it now, or it would wait for the next tick.
      if (this.again && !this.failure) this.kick();
    });
  }

  /** Hands the queued proposals to the core as one batch. */
  private flushProposals(): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    try {
      this.node.proposeBatch(batch.map((p) => p.data));
    } catch (error) {
      const refused = refusal(error);
      for (const { requestId } of batch) {
        this.proposals.get(requestId)?.reject(refused);
        this.proposals.delete(requestId);
      }
    }
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.recordWrittenSnapshot();
        this.flushProposals();
        while (!this.failure && this.node.hasReady()) await this.round(this.node.ready());
      } while (this.again && !this.failure);
    } catch (error) {
      this.fail(error);
    }
  }

  /** A failed write leaves memory and disk out of step: stop rather than guess. */
  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.log.error({ err: this.failure.message }, 'raft node failed; stopping');
    this.stopped = true;
    this.stopTicker?.();
    this.failAll(this.failure);
    this.dropWrittenSnapshot();
  }

  private async round(ready: Ready): Promise<void> {
    // A leader replicates while its own write is under way: the core counts the leader's
    // acknowledgement only after advance(). Anyone else must not send before persisting (votes
    // and acks promise durable state).
    const leading = (ready.softState?.role ?? this.role) === 'leader';
    const messages = coalesceMessages(ready.messages);
    // A round that writes new entries sends first: the followers write them while we do.
    // A leader's round that only commits sends last: writing the commit broadcast to every
    // follower's socket takes longer than applying, and the proposer is waiting on the apply.
    const sendsFirst = leading && (ready.entries.length > 0 || ready.snapshot !== undefined);
    if (sendsFirst) {
      this.options.sender.send(messages);
      // The transport writes on a microtask: let it run before LevelDB's batch call, which
      // holds the main thread for 0.1–0.2 ms; the appends reach the wire that much sooner.
      await Promise.resolve();
    }
    const written = this.persist(ready);
    // What is committed is on a majority's disks already (the core counts no write that is not
    // done): apply it while this node's own write is under way, not after. A follower that
    // applied after sending its acknowledgement took a core just when the leader needed one to
    // take that acknowledgement, commit and answer its proposers: on two cores the leader's
    // main thread waited for a CPU there. A snapshot is restored once written, and what is
    // committed after it with it.
    const applyingEarly = !ready.snapshot;
    try {
      if (applyingEarly) this.applyCommitted(ready.committedEntries);
    } finally {
      await written;
    }
    if (!leading) this.options.sender.send(messages);
    if (ready.snapshot) {
      // A snapshot without data is a new cluster's bootstrap: the initial, empty state.
      if (ready.snapshot.data.length > 0) this.stateMachine.restore(ready.snapshot.data);
      this.applied = ready.snapshot.metadata.index;
      this.snapshotIndex = ready.snapshot.metadata.index;
      this.conf = ready.snapshot.metadata.confState;
    }
    if (!applyingEarly) this.applyCommitted(ready.committedEntries);
    // The proposer this round answers usually proposes again at once: the commit broadcast
    // waits to leave with that append, in one write. A follower then gets the new entries and
    // the commit in one Ready, and applies while it writes, instead of in two rounds; in the same
    // turn, the proposal no longer waits for the broadcast's socket writes (0.29 ms p50).
    if (leading && !sendsFirst) this.options.sender.send(messages, 'end-of-turn');
    if (ready.hardState && ready.hardState.term !== this.term) {
      // A new term: what the old one had not committed may be truncated, even if the same
      // node leads again.
      this.term = ready.hardState.term;
      this.failUnsettled();
    }
    for (const state of ready.readStates) {
      const requestId = new TextDecoder().decode(state.context);
      const waiter = this.reads.get(requestId);
      if (waiter) waiter.index = state.index;
    }
    this.settleReads();
    if (ready.softState) this.onSoftState(ready.softState);
    this.node.advance();
    await this.recordWrittenSnapshot();
    this.maybeSnapshot();
  }

  /**
   * Writes a Ready. A round that only moves the commit index promises nothing durable: Raft's
   * commit index is volatile state (a restarted node learns it again from the leader, and
   * --force-new-cluster keeps the whole log, not only what the stored index covers). Such a
   * round writes nothing; its hard state goes to disk with the next write, which must be
   * synced anyway. This spares every member a LevelDB write per commit, and the next round's
   * synced write no longer waits for it (a proposal's path goes through two such rounds).
   */
  private async persist(ready: Ready): Promise<void> {
    if (!ready.mustSync && ready.entries.length === 0 && !ready.snapshot) {
      if (ready.hardState) this.unwrittenHardState = ready.hardState;
      return;
    }
    const hardState = ready.hardState ?? this.unwrittenHardState;
    this.unwrittenHardState = undefined;
    await this.storage.persist({
      hardState,
      entries: ready.entries,
      snapshot: ready.snapshot,
      sync: ready.mustSync,
    });
  }

  /** Writes the hard state a commit-only round left unwritten, if any. */
  private async writeHardState(): Promise<void> {
    const hardState = this.unwrittenHardState;
    if (!hardState) return;
    this.unwrittenHardState = undefined;
    await this.storage.persist({ hardState, entries: [], sync: true });
  }

  private applyCommitted(entries: readonly Entry[]): void {
    for (const entry of entries) this.applyEntry(entry);
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.applied) return;
    this.applied = entry.index;
    if (entry.type === 'confChange') {
      const change = decodeConfChange(entry.data);
      this.conf = this.node.applyConfChange(change);
      const envelope = change.context ? decodeEnvelope(change.context) : undefined;
      const requestId = envelope?.[0];
      this.callback(() => this.options.onConfChange?.(change, this.conf, envelope?.[1]));
      if (requestId) this.settle(requestId, this.conf);
      return;
    }
    // Empty entries are the ones a new leader appends; they carry no command.
    if (entry.data.length === 0) return;
    const envelope = decodeEnvelope(entry.data);
    if (!envelope) {
      this.log.error({ index: entry.index }, 'committed entry without an envelope; skipped');
      return;
    }
    let result: unknown;
    let error: Error | undefined;
    try {
      result = this.stateMachine.apply(envelope[1], { index: entry.index, term: entry.term });
    } catch (e) {
      // A command the state machine refuses is refused on every member alike.
      error = e instanceof Error ? e : new Error(String(e));
    }
    const waiter = this.proposals.get(envelope[0]);
    if (!waiter) return;
    this.proposals.delete(envelope[0]);
    if (error) waiter.reject(error);
    else waiter.resolve(result);
  }

  private settle(requestId: string, value: unknown): void {
    const waiter = this.proposals.get(requestId);
    if (!waiter) return;
    this.proposals.delete(requestId);
    waiter.resolve(value);
  }

  private settleReads(): void {
    for (const [requestId, waiter] of this.reads) {
      if (waiter.index !== undefined && waiter.index <= this.applied) {
        this.reads.delete(requestId);
        waiter.resolve(undefined);
      }
    }
  }

  /**
   * A forwarded request the leader refused or the transport dropped is never answered; nor is
   * one whose entry a snapshot covered. After a few election timeouts, say so.
   */
  private expireWaiters(): void {
    const error = new NotLeaderError('no answer from the leader in time; retry', 'unknown');
    for (const waiters of [this.proposals, this.reads] as Map<string, Waiter>[]) {
      for (const [requestId, waiter] of waiters) {
        if (waiter.expiresAtTick > this.ticks) continue;
        waiters.delete(requestId);
        waiter.reject(error);
      }
    }
  }

  private onSoftState(state: SoftState): void {
    const lostLeader = this.leader !== null && state.leader !== this.leader;
    this.leader = state.leader;
    this.role = state.role;
    // Forwarded proposals and read requests may have died with the old leader's term.
    if (lostLeader) this.failUnsettled();
    this.callback(() => this.options.onSoftState?.(state));
  }

  private failUnsettled(): void {
    // Proposals still queued here never reached the core: nothing of them can commit.
    const notSent = new NotLeaderError(
      'leadership changed before the request was sent',
      'not-applied',
    );
    for (const { requestId } of this.queued) {
      this.proposals.get(requestId)?.reject(notSent);
      this.proposals.delete(requestId);
    }
    this.queued = [];
    const error = new NotLeaderError(
      'leadership changed before the request was applied; retry',
      'unknown',
    );
    this.failWaiters(this.proposals, error);
    this.failWaiters(this.reads, error);
  }

  /** A callback of the embedding code must not stop the node (it would again on restart). */
  private callback(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.log.error(
        { err: error instanceof Error ? error.message : String(error) },
        'callback failed',
      );
    }
  }

  /**
   * Once every N applied entries, at this member's own point of the interval (see
   * snapshot-schedule.ts), snapshots the state machine (here, synchronously: it must be the
   * state at `applied`) and writes the data to disk in the background; the loop records it
   * once written (recordWrittenSnapshot). Writing megabytes in the loop held up every
   * proposal behind it for hundreds of milliseconds.
   */
  private maybeSnapshot(): void {
    const every = this.options.snapshotEveryEntries ?? 10_000;
    if (this.stopped || this.snapshotting || this.applied <= this.snapshotIndex) return;
    const phase = snapshotPhase(this.id, this.conf, every);
    if (!snapshotDue(this.applied, this.snapshotIndex, every, phase)) return;
    const keep = this.options.catchUpEntries ?? 5_000;
    const index = this.applied;
    const conf = this.conf;
    const data = this.stateMachine.snapshot();
    this.snapshotting = new Promise((settle) => {
      this.snapshotSettled = settle;
    });
    // Settles only once the file write is over (the agent may remove raft/ right after).
    this.storage.writeSnapshotData(index, this.storage.term(index), data).then(
      (written) => {
        if (this.stopped) return this.endSnapshot();
        this.writtenSnapshot = { written, conf, data, compactTo: index - keep };
        this.kick();
      },
      (error: unknown) => {
        this.fail(error);
        this.endSnapshot();
      },
    );
  }

  private async recordWrittenSnapshot(): Promise<void> {
    const snapshot = this.writtenSnapshot;
    if (!snapshot || this.failure) return;
    this.writtenSnapshot = undefined;
    // The stored commit index must not be behind the snapshot: a restart applies from the
    // snapshot, and the core refuses an applied index beyond what it knows is committed.
    const hardState = this.unwrittenHardState;
    this.unwrittenHardState = undefined;
    try {
      const recorded = await this.storage.recordSnapshot(
        snapshot.written,
        snapshot.conf,
        snapshot.data,
        { compactTo: snapshot.compactTo, hardState },
      );
      if (recorded) this.snapshotIndex = recorded.metadata.index;
      // Not recorded (a newer snapshot from the leader was installed meanwhile): the hard
      // state goes with the next write, as it would have.
      else if (hardState) this.unwrittenHardState ??= hardState;
      this.log.debug({ index: snapshot.written.index, recorded: !!recorded }, 'raft snapshot');
    } finally {
      this.endSnapshot();
    }
  }

  /** A snapshot on disk but not recorded is left out: its file goes at the next start. */
  private dropWrittenSnapshot(): void {
    if (this.writtenSnapshot) this.endSnapshot();
  }

  private endSnapshot(): void {
    this.writtenSnapshot = undefined;
    this.snapshotting = undefined;
    this.snapshotSettled?.();
    this.snapshotSettled = undefined;
  }

  private failAll(error: Error): void {
    this.failWaiters(this.proposals, error);
    this.failWaiters(this.reads, error);
  }

  private failWaiters(waiters: Map<string, Waiter>, error: Error): void {
    for (const waiter of waiters.values()) waiter.reject(error);
    waiters.clear();
  }
}

/** What a caller hears when the core would not take its request: retryable if no leader. */
function refusal(error: unknown): Error {
  if (error instanceof ProposalDroppedError || error instanceof ReadIndexDroppedError) {
    return new NotLeaderError(`no leader to take the request (${error.message})`, 'not-applied');
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** The state machine command inside a committed normal entry, if it carries one. */
export function commandOf(entry: Entry): Uint8Array | undefined {
  if (entry.type !== 'normal' || entry.data.length === 0) return undefined;
  return decodeEnvelope(entry.data)?.[1];
}
