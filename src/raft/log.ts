/**
 * The Raft log as the core sees it: stable storage followed by unstable (not yet persisted)
 * entries, plus the commit and applied indexes.
 *
 *   [compacted] firstIndex ... stable ... unstable.offset ... lastIndex
 *                 applied ≤ committed ≤ lastIndex
 */
import { CompactedError, RaftInvariantError, UnavailableError } from './errors.js';
import { limitSize, type RaftStorageReader } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

export interface AppendResult {
  /** Last index known to match the leader: prevIndex + number of entries sent. */
  readonly lastIndex: number;
  /** Entries actually written (a suffix of the sent ones), empty if all were present. */
  readonly appended: readonly Entry[];
}

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(
    readonly storage: RaftStorageReader,
    private readonly maxApplyBytes: number,
  ) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = storage.firstIndex() - 1;
    this.applied = this.committed;
  }

  firstIndex(): number {
    return this.unstable.firstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    if (term === undefined) throw new RaftInvariantError('term of the last entry is unknown');
    return term;
  }

  /** Term of entry `index`, or undefined if compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const unstable = this.unstable.term(index);
    if (unstable !== undefined) return unstable;
    try {
      return this.storage.term(index);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The election restriction: is a log ending at (lastIndex, lastTerm) at least as new as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry that is missing or has another term here; 0 if none. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with that term. Every entry after it
   * is known not to match a log whose entry `index` has `term`, so both sides can skip a whole
   * term per round trip. Stops with term 0 where the term is unknown (compacted).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  /**
   * The follower side of AppendEntries: if our entry at prevIndex has prevTerm, writes
   * `entries` (dropping a conflicting suffix) and advances the commit index, but never
   * beyond what this message proved to match. Undefined if the consistency check fails.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    commit: number,
    entries: readonly Entry[],
  ): AppendResult | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastIndex = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    let appended: readonly Entry[] = [];
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftInvariantError(
          `entry ${conflict} conflicts with committed entry (committed ${this.committed})`,
        );
      }
      appended = entries.slice(conflict - prevIndex - 1);
      this.append(appended);
    }
    this.commitTo(Math.min(commit, lastIndex));
    return { lastIndex, appended };
  }

  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new RaftInvariantError(
        `appending at ${first.index} would overwrite committed entries (committed ${this.committed})`,
      );
    }
    if (first.index > this.lastIndex() + 1) {
      throw new RaftInvariantError(
        `appending at ${first.index} leaves a gap after ${this.lastIndex()}`,
      );
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Commits up to `index` if that entry is from `term`: leaders only count current-term entries. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index < this.applied || index > this.committed) {
      throw new RaftInvariantError(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /**
   * The last index known to be on stable storage: what this node may count as its own
   * acknowledgement. Entries from the unstable offset on, or anything behind an unstable
   * snapshot, are not yet written.
   */
  persistedIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
  }

  unstableEntries(): Entry[] {
    return [...this.unstable.entries];
  }

  hasNextCommittedEntries(): boolean {
    return this.committed >= Math.max(this.applied + 1, this.firstIndex());
  }

  /** Committed entries not yet handed out for applying, within the per-Ready byte budget. */
  nextCommittedEntries(): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.slice(lo, this.committed + 1, this.maxApplyBytes) ?? [];
  }

  /** Entries in [lo, hi) within maxBytes (at least one), or undefined if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    if (hi > this.lastIndex() + 1) {
      throw new RaftInvariantError(
        `slice [${lo}, ${hi}) beyond the last index ${this.lastIndex()}`,
      );
    }
    if (lo >= hi) return [];
    const offset = this.unstable.offset;
    let entries: Entry[] = [];
    if (lo < offset) {
      const stableHi = Math.min(hi, offset);
      try {
        entries = this.storage.entries(lo, stableHi, maxBytes);
      } catch (err) {
        if (err instanceof CompactedError) return undefined;
        throw err;
      }
      if (entries.length < stableHi - lo) return entries; // cut by the byte limit
    }
    if (hi > offset) {
      entries = [...entries, ...this.unstable.slice(Math.max(lo, offset), hi)];
    }
    return limitSize(entries, maxBytes);
  }

  /** The snapshot to send a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log by a snapshot; the driver persists and applies it from the next Ready. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
