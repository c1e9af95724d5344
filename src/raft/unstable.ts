/**
 * The part of the log the driver has not yet persisted: an incoming snapshot and/or the
 * entries after the last stable one. `offset` is the index of `entries[0]`.
 */
import { RaftInvariantError } from './errors.js';
import type { Entry, Snapshot } from './types.js';

export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  firstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  term(index: number): number | undefined {
    if (index < this.offset) {
      const meta = this.snapshot?.metadata;
      return meta !== undefined && meta.index === index ? meta.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** The driver persisted entries up to (index, term); a later truncation makes this a no-op. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.term(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot?.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends, dropping any unstable entries at or after the first new index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]?.index;
    if (after === undefined) return;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...entries);
    } else if (after <= this.offset) {
      // Replaces entries already handed out for persisting: the driver's append overwrites them.
      this.offset = after;
      this.entries = [...entries];
    } else {
      this.entries = [...this.entries.slice(0, after - this.offset), ...entries];
    }
  }

  slice(lo: number, hi: number): Entry[] {
    if (lo < this.offset || hi > this.offset + this.entries.length) {
      throw new RaftInvariantError(`unstable slice [${lo}, ${hi}) out of bounds`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
