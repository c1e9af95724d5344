/**
 * ReadIndex requests waiting for the leader to confirm its leadership with a heartbeat round.
 * Requests are queued in arrival order; a quorum of acks for one confirms it and every
 * request queued before it.
 */
import type { NodeId } from './types.js';

export interface PendingRead {
  /** The leader's commit index when the request arrived. */
  readonly index: number;
  /** Who asked: the leader itself for a local request, else the follower to answer. */
  readonly from: NodeId;
  readonly context: Uint8Array;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  add(index: number, context: Uint8Array, from: NodeId): boolean {
    const key = contextKey(context);
    if (this.pending.has(key)) return false;
    this.pending.set(key, { index, from, context, acks: new Set() });
    this.queue.push(key);
    return true;
  }

  /** Records an ack for `context`; returns who acked so far, or undefined if unknown. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(contextKey(context));
    if (read === undefined) return undefined;
    read.acks.add(id);
    return read.acks;
  }

  /** Removes and returns the request for `context` and all requests queued before it. */
  advance(context: Uint8Array): PendingRead[] {
    const at = this.queue.indexOf(contextKey(context));
    if (at < 0) return [];
    const keys = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const released: PendingRead[] = [];
    for (const key of keys) {
      const read = this.pending.get(key);
      this.pending.delete(key);
      if (read !== undefined) released.push(read);
    }
    return released;
  }

  /** The newest pending context: a heartbeat round for it confirms all older ones too. */
  lastPendingContext(): Uint8Array | null {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? null : (this.pending.get(key)?.context ?? null);
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}

function contextKey(context: Uint8Array): string {
  let key = '';
  for (const byte of context) key += String.fromCharCode(byte);
  return key;
}
