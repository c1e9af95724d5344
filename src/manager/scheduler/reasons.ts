/**
 * Why a task stays pending, in the sentence users read in `service ps`:
 * "no suitable node (2 nodes drained, 1 node lacks 512MiB memory)".
 *
 * Each filter that turns a node away is a Rejection; a Tally counts nodes per rejection, each
 * node once, under the first filter that refused it. The parts come out in filter order (the
 * rank), so the sentence for the same cluster always reads the same.
 */
import type { Constraint } from './constraints.js';
import { formatBytes, formatCpus } from './resources.js';

export interface Rejection {
  /** Filter order; also the identity of the rejection within one task group. */
  readonly rank: number;
  readonly phrase: (count: number) => string;
}

function nodes(count: number): string {
  return count === 1 ? '1 node' : `${count} nodes`;
}

function verb(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}

export const NOT_READY: Rejection = { rank: 0, phrase: (n) => `${nodes(n)} not ready` };
export const DRAINED: Rejection = { rank: 1, phrase: (n) => `${nodes(n)} drained` };
export const PAUSED: Rejection = { rank: 2, phrase: (n) => `${nodes(n)} paused` };

/** The task's index-th constraint, quoted as written. */
export function failsConstraint(index: number, constraint: Constraint): Rejection {
  return {
    rank: 100 + index,
    phrase: (n) => `${nodes(n)} ${verb(n, 'fails', 'fail')} constraint ${constraint.text}`,
  };
}

export function lacksCpu(nanoCPUs: number): Rejection {
  return {
    rank: 100_000,
    phrase: (n) => `${nodes(n)} ${verb(n, 'lacks', 'lack')} ${formatCpus(nanoCPUs)}`,
  };
}

export function lacksMemory(bytes: number): Rejection {
  return {
    rank: 100_001,
    phrase: (n) => `${nodes(n)} ${verb(n, 'lacks', 'lack')} ${formatBytes(bytes)} memory`,
  };
}

/** The task's index-th host port ("80/tcp") is taken on the node. */
export function hostPortInUse(index: number, key: string): Rejection {
  return {
    rank: 200_000 + index,
    phrase: (n) => `${nodes(n)} ${verb(n, 'has', 'have')} host port ${key} in use`,
  };
}

export function maxReplicasReached(max: number): Rejection {
  return { rank: 300_000, phrase: (n) => `${nodes(n)} reached max replicas per node (${max})` };
}

/** Counts of nodes per rejection for one task group. */
export class Tally {
  private readonly counts = new Map<number, { rejection: Rejection; count: number }>();

  add(rejection: Rejection, count = 1): void {
    const entry = this.counts.get(rejection.rank);
    if (entry === undefined) this.counts.set(rejection.rank, { rejection, count });
    else entry.count += count;
  }

  /** "2 nodes drained, 1 node lacks 512MiB memory": nonzero counts in filter order. */
  describe(): string {
    return [...this.counts.values()]
      .filter((entry) => entry.count > 0)
      .sort((a, b) => a.rejection.rank - b.rejection.rank)
      .map((entry) => entry.rejection.phrase(entry.count))
      .join(', ');
  }
}

/** The reason for a task no node can take. */
export function noSuitableNode(tally: Tally, clusterSize: number): string {
  if (clusterSize === 0) return 'no suitable node (no nodes in the cluster)';
  return `no suitable node (${tally.describe()})`;
}
