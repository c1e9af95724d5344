/**
 * When a member snapshots its state machine. Each member takes one snapshot every `every`
 * applied entries, at its own phase of the log: its place among the members spreads the
 * members' snapshots evenly over the interval. Taken at the same index, as they were, the
 * snapshots of a group's followers held up both at once (tens of milliseconds each with 40,000
 * keys), and the leader could commit nothing until one was done; one at a time, the other
 * follower makes the quorum. Pure.
 */
import type { ConfState, NodeId } from './types.js';

/** Where in each interval of `every` entries `id` snapshots: 0 ≤ phase < every. */
export function snapshotPhase(id: NodeId, conf: ConfState, every: number): number {
  const members = [...conf.voters, ...conf.learners].sort();
  const place = members.indexOf(id);
  return place < 0 ? 0 : Math.floor((place * every) / members.length);
}

/**
 * True when the member should snapshot: the log has reached one of its phase points, at least
 * half an interval after the last snapshot (a snapshot installed from the leader lands
 * anywhere; the next one may then come up to one and a half intervals later).
 */
export function snapshotDue(
  applied: number,
  lastSnapshot: number,
  every: number,
  phase: number,
): boolean {
  const lastPhasePoint = applied - mod(applied - phase, every);
  return lastPhasePoint - lastSnapshot >= Math.max(1, Math.ceil(every / 2));
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
