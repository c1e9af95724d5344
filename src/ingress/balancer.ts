/**
 * Backend choice for the routing mesh, pure: given a service's pool, how many proxied
 * connections (or UDP sessions) this agent has open per backend, and the backends already
 * tried for this client, pick the next one.
 *
 * Rule: least active connections; on a tie, a backend on this node (no second network hop);
 * then a stable order (task id, then endpoint) so the choice never depends on the order of
 * the table the control side sent.
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
 * (or the pool is empty). One pass, no allocation: it runs on every accepted connection.
 */
export function chooseBackend<T extends PoolEntry>(
  pool: readonly T[],
  active: ReadonlyMap<string, number>,
  selfNodeId: string,
  tried?: ReadonlySet<string>,
): T | undefined {
  let best: T | undefined;
  let bestCount = 0;
  let bestLocal = false;
  for (const entry of pool) {
    if (tried?.has(entry.key)) continue;
    const count = active.get(entry.key) ?? 0;
    const local = entry.nodeId === selfNodeId;
    if (best === undefined || count < bestCount) {
      best = entry;
      bestCount = count;
      bestLocal = local;
      continue;
    }
    if (count > bestCount) continue;
    if (local !== bestLocal) {
      if (local) {
        best = entry;
        bestLocal = true;
      }
      continue;
    }
    if (entry.taskId < best.taskId || (entry.taskId === best.taskId && entry.key < best.key)) {
      best = entry;
    }
  }
  return best;
}
