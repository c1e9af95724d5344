/**
 * The leader's view of one member's log (match/next) and the flow control for sending it
 * entries:
 *   probe     — the match point is unknown: one append at a time, back off on rejection;
 *   replicate — streaming: `next` advances optimistically, bounded by the in-flight window;
 *   snapshot  — a snapshot is on its way; nothing else is sent until it is acknowledged.
 */
import { RaftInvariantError } from './errors.js';
import type { ProgressState, ProgressStatus } from './types.js';

/** Last indexes of the appends sent and not yet acknowledged, oldest first, at most `capacity`. */
export class Inflights {
  private readonly items: number[] = [];

  constructor(readonly capacity: number) {}

  get count(): number {
    return this.items.length;
  }

  full(): boolean {
    return this.items.length >= this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new RaftInvariantError('in-flight window overflow');
    this.items.push(lastIndex);
  }

  /** Acknowledges every append whose last index is ≤ `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.items.length && this.items[n]! <= index) n++;
    if (n > 0) this.items.splice(0, n);
  }

  freeFirstOne(): void {
    this.items.shift();
  }

  reset(): void {
    this.items.length = 0;
  }
}

export class Progress {
  match = 0;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding; wait for its answer or a heartbeat response. */
  probeSent = false;
  /** Index of the snapshot being sent, in snapshot state. */
  pendingSnapshot = 0;
  /** Leader ticks since this member last answered; drives check-quorum. */
  inactiveTicks = 0;
  /** Whether this member answered at all during the current leadership. */
  heard = false;
  readonly inflights: Inflights;

  constructor(
    public next: number,
    maxInflight: number,
    public learner: boolean,
  ) {
    this.inflights = new Inflights(maxInflight);
  }

  markActive(): void {
    this.inactiveTicks = 0;
    this.heard = true;
  }

  becomeProbe(): void {
    // After a snapshot, resume from the snapshot even though the ack may still be on its way.
    const floor = this.state === 'snapshot' ? this.pendingSnapshot : 0;
    this.resetState('probe');
    this.next = Math.max(this.match + 1, floor + 1);
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  /** A successful append response up to `index`; false if it told us nothing new. */
  maybeUpdate(index: number): boolean {
    const updated = index > this.match;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`; `matchHint` is the last index
   * that may match. Returns false for stale rejections (out of order or duplicated).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Book-keeping after sending an append whose last entry is `lastIndex` (`count` entries). */
  sentAppend(lastIndex: number, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    } else {
      throw new RaftInvariantError('sending an append in snapshot state');
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      learner: this.learner,
      paused: this.isPaused(),
    };
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }
}
