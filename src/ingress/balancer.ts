/**
 * Backend choice for the routing mesh, pure: given a service's pool, how many proxied
 * connections (or UDP sessions) this agent has open per backend, and the backends already
 * tried for this client, pick the next one.
 *
 * Rule: least active connections; on a tie, a backend on this node (no second network hop);
 * then the tied ones in turn, in a stable order (task id, then endpoint) that never depends on
 * the order of the table the control side sent.
 */
import type { MeshBackend } from './types.js';

/** A backend with its endpoint key precomputed once per table, not once per connection. */
export interface PoolEntry extends MeshBackend {
  /** "addr:port" ("[v6]:port"): what active counts and tried sets are keyed by. */
  readonly key: string;
}

export function endpointKey(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function toPool(backends: readonly MeshBackend[]): PoolEntry[] {
  return backends.map((b) => ({
    taskId: b.taskId,
    nodeId: b.nodeId,
    addr: b.addr,
    hostPort: b.hostPort,
    key: endpointKey(b.addr, b.hostPort),
  }));
}

/**
 * The backend a new connection should go to, or undefined when every backend has been tried
 * (or the pool is empty). Backends still tied after the count and the locality rule are taken
 * in turn (`turn`, a counter the caller increments per connection), in their stable order:
 * sequential connections that never overlap would otherwise all go to one backend.
 */
export function chooseBackend<T extends PoolEntry>(
  pool: readonly T[],
  active: ReadonlyMap<string, number>,
  selfNodeId: string,
  tried?: ReadonlySet<string>,
  turn = 0,
): T | undefined {
  let bestCount = Number.POSITIVE_INFINITY;
  let bestLocal = false;
  for (const entry of pool) {
    if (tried?.has(entry.key)) continue;
    const count = active.get(entry.key) ?? 0;
    const local = entry.nodeId === selfNodeId;
    if (count < bestCount || (count === bestCount && local && !bestLocal)) {
      bestCount = count;
      bestLocal = local;
    }
  }
  if (bestCount === Number.POSITIVE_INFINITY) return undefined;
  const tied = pool.filter(
    (entry) =>
      !tried?.has(entry.key) &&
      (active.get(entry.key) ?? 0) === bestCount &&
      (entry.nodeId === selfNodeId) === bestLocal,
  );
  if (tied.length > 1) tied.sort(stableOrder);
  return tied[turn % tied.length];
}

/** Task id, then endpoint: independent of the order the control side sent the table in. */
function stableOrder(a: PoolEntry, b: PoolEntry): number {
  if (a.taskId !== b.taskId) return a.taskId < b.taskId ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
