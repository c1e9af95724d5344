/** Majority arithmetic over a set of voters. */
import type { NodeId } from './types.js';

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** The largest index held by a majority of `voters` (0 for an empty configuration). */
export function majorityIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1]!;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Outcome of an election given the answers so far; answers from non-voters do not count. */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = quorumSize(voters.length);
  if (granted >= needed) return 'won';
  if (voters.length - rejected >= needed) return 'pending';
  return 'lost';
}

/** Whether the given acknowledgements include a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], acks: ReadonlySet<NodeId>): boolean {
  let n = 0;
  for (const id of voters) if (acks.has(id)) n++;
  return n >= quorumSize(voters.length);
}
