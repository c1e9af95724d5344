/**
 * Runs the failure detector on a manager: every manager feeds it the heartbeats it hears
 * (so a new leader starts with history, not a blank slate), and the leader turns its
 * verdicts into `node.setStatus` commands, one batch in flight at a time.
 */
import { oneLineMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ClusterStore, NodeState, StoreEvent } from '../../state/index.js';
import type { Consensus } from '../consensus.js';
import { HealthMonitor, type HealthMonitorOptions } from './monitor.js';

/** How long after this manager starts before silence counts against a node. */
const STARTUP_GRACE_MS = 3000;
/** A gap this long between two evaluations means this process, not the nodes, stalled. */
const PAUSE_MS = 1000;

export interface HealthServiceDeps {
  store: ClusterStore;
  consensus: Consensus;
  /** Monotonic milliseconds. */
  nowMs: () => number;
  now: () => Date;
  logger: Logger;
  monitor?: HealthMonitorOptions;
  /** Default 50 (a verdict is at most this late); 0 leaves ticking to the caller. */
  evaluateEveryMs?: number;
}

export class HealthService {
  private readonly monitor: HealthMonitor;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private inFlight = false;
  private tracked = new Set<string>();
  private lastEvaluation = Number.POSITIVE_INFINITY;
  private quietUntil = 0;
  private readonly log: Logger;

  constructor(private readonly deps: HealthServiceDeps) {
    this.monitor = new HealthMonitor(deps.monitor);
    this.log = deps.logger.child({ component: 'health' });
  }

  start(): void {
    const now = this.deps.nowMs();
    this.quietUntil = now + STARTUP_GRACE_MS;
    for (const node of this.deps.store.listNodes()) {
      this.monitor.track(node.ID, now);
      this.tracked.add(node.ID);
    }
    this.lastEvaluation = this.deps.nowMs();
    this.unwatch = this.deps.store.watch((event) => this.onStoreEvent(event));
    const every = this.deps.evaluateEveryMs ?? 50;
    // 0: the caller ticks (tests, with their own clock).
    if (every > 0) this.timer = setInterval(() => this.tick(), every);
  }

  stop(): void {
    clearInterval(this.timer);
    this.unwatch?.();
  }

  heartbeat(nodeId: string, seq: number): void {
    this.monitor.heartbeat(nodeId, seq, this.deps.nowMs());
  }

  private onStoreEvent(event: StoreEvent): void {
    const now = this.deps.nowMs();
    if (event.kind === 'restore') {
      const ids = new Set(event.nodes.map((n) => n.ID));
      for (const id of this.tracked) if (!ids.has(id)) this.monitor.untrack(id);
      this.tracked = ids;
      for (const node of event.nodes) this.monitor.track(node.ID, now);
    } else if (event.kind === 'node') {
      if (event.action === 'remove') {
        this.monitor.untrack(event.object.ID);
        this.tracked.delete(event.object.ID);
      } else {
        this.monitor.track(event.object.ID, now);
        this.tracked.add(event.object.ID);
      }
    }
  }

  /**
   * Every manager evaluates (so its detector knows an outage for what it is, and a new leader
   * does not mistake the last outage for a normal interval); only the leader commits.
   */
  tick(): void {
    const now = this.deps.nowMs();
    const sinceLast = now - this.lastEvaluation;
    this.lastEvaluation = now;
    // This process was paused (GC, CPU starvation, SIGSTOP): heartbeats queued meanwhile are
    // not read yet, so silence now says nothing about the nodes. Look again next round.
    if (sinceLast > PAUSE_MS) {
      // Give the heartbeats queued meanwhile time to be read before judging anyone.
      this.quietUntil = Math.max(this.quietUntil, now + PAUSE_MS);
      return;
    }
    // Agents need a moment to (re)connect to a manager that just started.
    if (now < this.quietUntil || this.inFlight) return;
    const states = new Map<string, NodeState>();
    for (const node of this.deps.store.listNodes()) states.set(node.ID, node.Status.State);
    const verdicts = this.monitor.evaluate(now, states);
    if (verdicts.length === 0 || !this.deps.consensus.isLeader()) return;
    for (const verdict of verdicts) {
      this.log.info(
        { peer: verdict.id, state: verdict.state, phi: Number(verdict.phi.toFixed(2)) },
        verdict.state === 'down' ? 'node is down' : 'node is ready',
      );
    }
    this.inFlight = true;
    this.deps.consensus
      .propose({
        type: 'node.setStatus',
        updates: verdicts.map((v) => ({
          id: v.id,
          state: v.state,
          ...(v.state === 'down' ? { message: 'heartbeat failure' } : {}),
        })),
        at: this.deps.now().toISOString(),
      })
      .catch((error: unknown) =>
        this.log.warn({ err: oneLineMessage(error) }, 'node states not recorded'),
      )
      .finally(() => {
        this.inFlight = false;
      });
  }
}
