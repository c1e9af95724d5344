/**
 * The stable storage the core reads through, and an in-memory implementation used by tests
 * and the simulation. The driver writes (append, setHardState, applySnapshot) after each
 * Ready; the core only reads. A durable implementation (LevelDB) implements the same reader.
 */
import { confState, EMPTY_CONF_STATE } from './confchange.js';
import {
  CompactedError,
  RaftInvariantError,
  SnapshotOutOfDateError,
  UnavailableError,
} from './errors.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from './types.js';

export interface InitialState {
  readonly hardState: HardState;
  /**
   * Membership as of the latest snapshot. The core folds the conf-change entries still in
   * the log on top of it, so it must be no newer than `lastIndex()` and no older than
   * `firstIndex() - 1`.
   */
  readonly confState: ConfState;
}

export interface RaftStorageReader {
  initialState(): InitialState;
  /** Entries in [lo, hi), at least one if lo < hi, then as many as fit in maxBytes. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry `index`, for index in [firstIndex() - 1, lastIndex()]. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot; may throw SnapshotTemporarilyUnavailableError. */
  snapshot(): Snapshot;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

/**
 * The snapshot a new cluster starts from: index 1, term 1, the initial members, no data.
 * Starting at index 1 rather than 0 means a node that joins later with an empty log can
 * only catch up through a snapshot, which carries this membership; entry 1 does not exist.
 */
export function bootstrapSnapshot(voters: readonly NodeId[], learners: readonly NodeId[] = []) {
  return {
    metadata: { index: 1, term: 1, confState: confState(voters, learners) },
    data: new Uint8Array(0),
  } satisfies Snapshot;
}

/** Rough in-memory size of an entry, for the byte limits on messages and Ready batches. */
export function entrySize(entry: Entry): number {
  return entry.data.byteLength + 24;
}

/** The longest prefix of `entries` within `maxBytes`, but never fewer than one entry. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    size += entrySize(entries[i]!);
    if (size > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}

/**
 * Storage held in memory. `ents[0]` is a sentinel standing for the last compacted entry
 * (or the snapshot), so `term(firstIndex() - 1)` is always answerable.
 */
export class MemoryStorage implements RaftStorageReader {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = {
    metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
    data: new Uint8Array(0),
  };
  private ents: Entry[] = [sentinel(0, 0)];

  /** A storage for a founding member of a new cluster (see bootstrapSnapshot). */
  static bootstrap(voters: readonly NodeId[], learners: readonly NodeId[] = []): MemoryStorage {
    const storage = new MemoryStorage();
    const snapshot = bootstrapSnapshot(voters, learners);
    storage.applySnapshot(snapshot);
    storage.setHardState({ term: 1, vote: null, commit: 1 });
    return storage;
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset) throw new CompactedError(index);
    const entry = this.ents[index - offset];
    if (entry === undefined) throw new UnavailableError(index);
    return entry.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log by a snapshot received from the leader (or a bootstrap). */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index <= this.snap.metadata.index) {
      throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    }
    this.snap = snapshot;
    this.ents = [sentinel(index, term)];
  }

  /** Records a snapshot of the state machine taken at `index` (≤ the applied index). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    }
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`snapshot index ${index} is beyond the last entry`);
    }
    this.snap = { metadata: { index, term: this.term(index), confState: conf }, data };
    return this.snap;
  }

  /**
   * Discards entries up to and including `index`. Only entries covered by the snapshot may
   * go: a lagging follower then gets the snapshot instead of the missing entries.
   */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) throw new CompactedError(index);
    if (index > this.snap.metadata.index) {
      throw new RaftInvariantError(
        `cannot compact to ${index}: beyond the latest snapshot (${this.snap.metadata.index})`,
      );
    }
    const boundary = this.ents[index - offset]!;
    this.ents = [sentinel(boundary.index, boundary.term), ...this.ents.slice(index - offset + 1)];
  }

  /** Appends entries, first discarding any stored entries at or after `entries[0].index`. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.offset();
    const last = first.index + entries.length - 1;
    if (last <= offset) return; // all already compacted
    const kept = first.index <= offset ? entries.slice(offset + 1 - first.index) : entries;
    const start = kept[0]!.index - offset;
    if (start > this.ents.length) {
      throw new RaftInvariantError(
        `missing log entries: last stored ${this.lastIndex()}, appending ${kept[0]!.index}`,
      );
    }
    if (start < this.ents.length) this.ents = this.ents.slice(0, start);
    this.ents.push(...kept);
  }

  private offset(): number {
    return this.ents[0]!.index;
  }
}

function sentinel(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}
