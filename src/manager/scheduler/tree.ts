/**
 * The candidate nodes of one task group, best first.
 *
 * Without placement preferences this is one heap of nodes ordered by (tasks of the service on
 * the node, tasks in total on the node, node ID): the next task goes where the service has the
 * fewest tasks, then to the least busy node. Each spread preference adds a level above it:
 * the nodes are split by the label's value (nodes without the label form their own bucket),
 * and the buckets sit in a heap ordered by the service's tasks in the bucket, so tasks spread
 * evenly over the values first and over the nodes inside a value second. Buckets with as many
 * tasks compare by their best bucket one level down, and so on to their best node: a bucket's
 * key is the tuple along the path best() would take, which keeps the choice deterministic.
 *
 * A node that can no longer take the group's tasks (full, port taken) is only found out when
 * it reaches the top; until then it may make its buckets look better than they are. That never
 * changes the answer: such a key is at most the true one, and the bucket whose path ends on a
 * node that fits has its true key, so it is the true best (the test against a plain reference
 * checks this).
 *
 * Every step touches one root-to-leaf path, O(levels × log n) per placement. Keys only grow
 * during a group (a task lands on the best node, or the best node is dropped because it is
 * full), so only the top of each heap ever moves. Tasks on a dropped node still count for its
 * bucket: spreading is about where the service runs, not where it could run next.
 */
import { MinHeap } from './heap.js';
import type { NodeTable } from './nodes.js';
import { type SpreadKey, spreadValue } from './preferences.js';

interface Bucket {
  /** Tasks of the service on the bucket's nodes. */
  sum: number;
  /** A leaf's nodes (positions in the NodeTable); null above the leaves. */
  readonly nodes: MinHeap<number> | null;
  /** The buckets one level down; null for a leaf. */
  readonly children: MinHeap<Bucket> | null;
}

export class CandidateTree {
  private readonly root: Bucket;
  /** The path best() walked, root first; landed() and dropBest() work along it. */
  private readonly path: Bucket[] = [];
  private readonly nodeLess: (a: number, b: number) => boolean;
  private readonly bucketLess: (a: Bucket, b: Bucket) => boolean;
  private readonly serviceCounts: Int32Array;

  constructor(
    table: NodeTable,
    serviceCounts: Int32Array,
    eligible: number[],
    spread: readonly SpreadKey[],
  ) {
    const { total, idRank } = table;
    this.serviceCounts = serviceCounts;
    this.nodeLess = (a, b) => {
      const sa = serviceCounts[a]!;
      const sb = serviceCounts[b]!;
      if (sa !== sb) return sa < sb;
      const ta = total[a]!;
      const tb = total[b]!;
      if (ta !== tb) return ta < tb;
      return idRank[a]! < idRank[b]!;
    };
    this.bucketLess = (a, b) => {
      if (a.sum !== b.sum) return a.sum < b.sum;
      if (a.nodes !== null && b.nodes !== null)
        return this.nodeLess(a.nodes.peek()!, b.nodes.peek()!);
      return this.bucketLess(a.children!.peek()!, b.children!.peek()!);
    };
    this.root = this.build(table, eligible, spread, 0);
  }

  private build(
    table: NodeTable,
    positions: number[],
    spread: readonly SpreadKey[],
    level: number,
  ): Bucket {
    let sum = 0;
    for (const i of positions) sum += this.serviceCounts[i]!;
    const key = spread[level];
    if (key === undefined) {
      return { sum, nodes: new MinHeap(positions, this.nodeLess), children: null };
    }
    const byValue = new Map<string | undefined, number[]>();
    for (const i of positions) {
      const value = spreadValue(key, table.nodes[i]!);
      const members = byValue.get(value);
      if (members === undefined) byValue.set(value, [i]);
      else members.push(i);
    }
    const children = [...byValue.values()].map((members) =>
      this.build(table, members, spread, level + 1),
    );
    return { sum, nodes: null, children: new MinHeap(children, this.bucketLess) };
  }

  /** The best node's position, or -1 when no candidate is left. */
  best(): number {
    const path = this.path;
    path.length = 0;
    let bucket: Bucket | undefined = this.root;
    while (bucket !== undefined) {
      path.push(bucket);
      if (bucket.nodes !== null) return bucket.nodes.peek() ?? -1;
      bucket = bucket.children!.peek();
    }
    return -1;
  }

  /** A task landed on best() and the table's counts already say so: restore the order. */
  landed(): void {
    const path = this.path;
    path[path.length - 1]!.nodes!.topIncreased();
    for (let level = path.length - 1; level >= 0; level--) {
      path[level]!.sum++;
      if (level > 0) path[level - 1]!.children!.topIncreased();
    }
  }

  /** best() can take no more tasks of this group: remove it, and any bucket left empty. */
  dropBest(): void {
    const path = this.path;
    path[path.length - 1]!.nodes!.pop();
    for (let level = path.length - 1; level > 0; level--) {
      const bucket = path[level]!;
      const parent = path[level - 1]!.children!;
      const left = bucket.nodes !== null ? bucket.nodes.size : bucket.children!.size;
      if (left === 0) parent.pop();
      else parent.topIncreased();
    }
  }
}
