/**
 * The managers' failure detector over all nodes: a phi-accrual detector per node (phi.ts) fed
 * by the gossiped heartbeats, and the rules that turn phi into Ready/Down verdicts. Pure: the
 * caller passes the time in, feeds heartbeats as they arrive, and calls `evaluate` on its own
 * tick (e.g. every 100 ms) with the node states the store holds; it commits the verdicts that
 * come back (Ready → Down feeds the orchestrators).
 *
 * Rules
 * - phi ≥ threshold(n) → down.
 * - Threshold scaled with cluster size: threshold(n) = baseThreshold + log10(max(1, n)), n =
 *   the number of nodes watched. Each evaluation checks n nodes, and at phi ≥ t a live node
 *   is wrongly declared down with probability ≤ 10^-t, so a round raises a false alarm
 *   somewhere with probability up to n·10^-t. Adding log10(n) keeps that cluster-wide rate
 *   at 10^-baseThreshold whatever the size; it costs a few tens of ms of detection time.
 * - Back to ready: a node that is down (by our verdict or by the store's) is ready again
 *   once it has sent `recoveryHeartbeats` (default 2) fresh heartbeats since it went down and
 *   phi is below the threshold; the verdict comes out of the next `evaluate`. This is the
 *   hysteresis: a node hovering near the threshold must show two heartbeats in a row before
 *   it counts again (one interval, ~500 ms, later than trusting the first), so it cannot
 *   bounce on every late message. The gap that ended in the down verdict is an outage, not
 *   a sample (it would make the detector slow to notice the next failure); the interval
 *   between the two recovery heartbeats is a sample, so a node that really has become slow
 *   teaches the detector its new pace and stops tripping it.
 * - A node that has sent nothing since it was tracked gets no ready verdict (its current
 *   state stays), but its clock runs from `track`: silent for ~1.8 s, it goes down.
 * - Heartbeats carry a per-node sequence number; one not newer than the last seen is dropped
 *   (gossip duplicates and reorders). Agents must keep it increasing across restarts, e.g.
 *   seq = the wall-clock ms at agent start + the number of heartbeats sent since (beating
 *   twice a second never catches up with a clock counting a thousand times a second).
 *
 * Detection time, measured with the defaults (heartbeat every 500 ms with ±100 ms jitter,
 * evaluate every 10 ms, seeded; the test "declares a silent node down 1.5–2.0 s ..." in
 * test/unit/manager/health/monitor.test.ts asserts these figures), from the last heartbeat
 * of a node that then falls silent to its down verdict:
 *
 *   nodes watched (n)          3        5        20
 *   threshold                  8.48     8.70     9.30
 *   steady heartbeats          1.64 s   1.65 s   1.66 s
 *   only one heartbeat ever    1.78 s   1.78 s   1.81 s
 *
 * An `evaluate` tick of 100 ms adds up to 100 ms. Losing one or two heartbeats in a row (a
 * silence of 1.0–1.5 s) stays below the threshold (phi ≤ 4.7 for a steady node).
 *
 * What that costs on a lossy link: with 10% of heartbeats lost independently, three in a row
 * go missing about once per 10 minutes per node, and 2.0 ± 0.2 s of silence is what a cut
 * looks like within the 2 s budget. Measured (n = 3, seeds 1–200, 10 minutes each): 44 runs
 * had a down verdict, every one after more than 1.6 s of silence, and the node was ready
 * again two heartbeats later. So on such a link expect a brief Down roughly every 45 minutes
 * per node; whoever reacts to Down (the orchestrators) decides how much that should cost.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { NodeState } from '../../state/types.js';
import { PhiAccrualDetector, type PhiOptions, phiSettings } from './phi.js';

export interface HealthMonitorOptions extends PhiOptions {
  /** phi at which a node of a one-node cluster is declared down. Default 8. */
  baseThreshold?: number;
  /** Fresh heartbeats a down node must send before it is ready again. Default 2. */
  recoveryHeartbeats?: number;
}

export interface HealthVerdict {
  id: string;
  state: 'ready' | 'down';
  /** phi at the time of the verdict, for logs and the node's status message. */
  phi: number;
}

export const DEFAULT_BASE_THRESHOLD = 8;
export const DEFAULT_RECOVERY_HEARTBEATS = 2;

/** The phi threshold for a cluster of `nodes` nodes (see the file comment for the why). */
export function scaledThreshold(baseThreshold: number, nodes: number): number {
  return baseThreshold + Math.log10(Math.max(1, nodes));
}

interface Watched {
  detector: PhiAccrualDetector;
  lastSeq: number | undefined;
  /** Our own verdict was down and the node has not recovered since. */
  down: boolean;
  /** Fresh heartbeats since the node was tracked or last declared down. */
  beatsSinceDown: number;
}

export class HealthMonitor {
  private readonly phiOptions: PhiOptions;
  private readonly baseThreshold: number;
  private readonly recoveryHeartbeats: number;
  private readonly nodes = new Map<string, Watched>();

  constructor(options: HealthMonitorOptions = {}) {
    const { baseThreshold, recoveryHeartbeats, ...phiOptions } = options;
    this.phiOptions = phiSettings(phiOptions); // a bad option fails here, not at a later track
    this.baseThreshold = baseThreshold ?? DEFAULT_BASE_THRESHOLD;
    this.recoveryHeartbeats = recoveryHeartbeats ?? DEFAULT_RECOVERY_HEARTBEATS;
    if (!(this.baseThreshold > 0)) throw new InvalidArgumentError('baseThreshold must be > 0');
    if (!Number.isInteger(this.recoveryHeartbeats) || this.recoveryHeartbeats < 1) {
      throw new InvalidArgumentError('recoveryHeartbeats must be an integer ≥ 1');
    }
  }

  /**
   * Starts watching a node from `nowMs`, before it has sent anything (it joined, or this
   * manager just became leader). Already watched: nothing changes; to start its clock afresh,
   * untrack it first.
   */
  track(nodeId: string, nowMs: number): void {
    if (this.nodes.has(nodeId)) return;
    const detector = new PhiAccrualDetector(this.phiOptions);
    detector.watchFrom(nowMs);
    this.nodes.set(nodeId, { detector, lastSeq: undefined, down: false, beatsSinceDown: 0 });
  }

  /** Stops watching a node (it left or was removed); its sequence numbers are forgotten. */
  untrack(nodeId: string): void {
    this.nodes.delete(nodeId);
  }

  isTracked(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  /** How many nodes are watched: the n of the threshold. */
  get size(): number {
    return this.nodes.size;
  }

  /**
   * A heartbeat from `nodeId` with sequence number `seq` arrived at `nowMs`. Returns false
   * when it was dropped: the node is not tracked (membership is the caller's business), or
   * `seq` is not newer than the last one seen from it (a duplicate or a reordered message).
   */
  heartbeat(nodeId: string, seq: number, nowMs: number): boolean {
    const node = this.nodes.get(nodeId);
    if (!node) return false;
    if (node.lastSeq !== undefined && !(seq > node.lastSeq)) return false;
    node.lastSeq = seq;
    node.detector.heartbeat(nowMs, { sample: !node.down });
    node.beatsSinceDown = Math.min(node.beatsSinceDown + 1, this.recoveryHeartbeats);
    return true;
  }

  /** The current threshold, scaled with the number of watched nodes. */
  threshold(): number {
    return scaledThreshold(this.baseThreshold, this.nodes.size);
  }

  /** A node's phi at `nowMs`, for metrics and debugging; undefined when not tracked. */
  phi(nodeId: string, nowMs: number): number | undefined {
    return this.nodes.get(nodeId)?.detector.phi(nowMs);
  }

  /**
   * The verdicts at `nowMs` that differ from `currentStates` (the store's view; a node that
   * is missing there counts as unknown). Only tracked nodes get verdicts.
   */
  evaluate(nowMs: number, currentStates: ReadonlyMap<string, NodeState>): HealthVerdict[] {
    const threshold = this.threshold();
    const changes: HealthVerdict[] = [];
    for (const [id, node] of this.nodes) {
      const phi = node.detector.phi(nowMs);
      const current = currentStates.get(id) ?? 'unknown';
      const verdict = this.verdict(node, phi, threshold, current);
      if (verdict !== undefined && verdict !== current) changes.push({ id, state: verdict, phi });
    }
    return changes;
  }

  private verdict(
    node: Watched,
    phi: number,
    threshold: number,
    current: NodeState,
  ): 'ready' | 'down' | undefined {
    if (phi >= threshold) {
      if (!node.down) {
        node.down = true;
        node.beatsSinceDown = 0;
      }
      return 'down';
    }
    const recovered = node.beatsSinceDown >= this.recoveryHeartbeats;
    if (node.down) {
      if (!recovered) return 'down';
      node.down = false;
      return 'ready';
    }
    // Not down by our own verdict: a node the store holds as ready stays so; any other
    // state (down from before this manager led, unknown for a new node) needs the proof.
    if (current === 'ready' || recovered) return 'ready';
    return undefined;
  }
}
