import { describe, expect, it } from 'vitest';
import { snapshotDue, snapshotPhase } from '../../../src/raft/snapshot-schedule.js';
import type { ConfState } from '../../../src/raft/types.js';

/** The indexes at which a member applying entries one by one from `from` takes snapshots. */
function snapshotsTaken(from: number, to: number, every: number, phase: number): number[] {
  const taken: number[] = [];
  let last = from;
  for (let applied = from + 1; applied <= to; applied++) {
    if (snapshotDue(applied, last, every, phase)) {
      taken.push(applied);
      last = applied;
    }
  }
  return taken;
}

const conf = (voters: string[], learners: string[] = []): ConfState => ({
  voters,
  learners,
  removed: [],
});

describe('snapshot schedule', () => {
  it("spreads a group's snapshots over the interval instead of taking them together", () => {
    const members = conf(['c', 'a', 'b']);
    const taken = ['a', 'b', 'c'].map((id) =>
      snapshotsTaken(1, 70_000, 20_000, snapshotPhase(id, members, 20_000)),
    );
    expect(taken).toEqual([
      [20_000, 40_000, 60_000],
      [26_666, 46_666, 66_666],
      [13_333, 33_333, 53_333],
    ]);
  });

  it('takes one snapshot per interval, at the same point of the log whatever came before', () => {
    // A snapshot installed from the leader lands anywhere; the member's own then go back to its point.
    expect(snapshotsTaken(12_345, 60_000, 10_000, 2_500)).toEqual([22_500, 32_500, 42_500, 52_500]);
    // ...but never less than half an interval after the last one.
    expect(snapshotsTaken(21_000, 40_000, 10_000, 2_500)).toEqual([32_500]);
  });

  it('gives a lone member, or one not in the configuration, the start of the interval', () => {
    expect(snapshotPhase('a', conf(['a']), 10_000)).toBe(0);
    expect(snapshotPhase('z', conf(['a', 'b']), 10_000)).toBe(0);
    expect(snapshotPhase('l', conf(['a', 'b'], ['l']), 9_000)).toBe(6_000);
    expect(snapshotsTaken(1, 25_000, 10_000, 0)).toEqual([10_000, 20_000]);
    expect(snapshotsTaken(0, 5, 1, 0)).toEqual([1, 2, 3, 4, 5]);
  });
});
