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

export interface HealthServiceDeps {
  store: ClusterStore;
  consensus: Consensus;
  /** Monotonic milliseconds. */
  nowMs: () => number;
  now: () => Date;
  logger: Logger;
  monitor?: HealthMonitorOptions;
  evaluateEveryMs?: number;
}

export class HealthService {
  private readonly monitor: HealthMonitor;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private inFlight = false;
  private readonly log: Logger;

  constructor(private readonly deps: HealthServiceDeps) {
    this.monitor = new HealthMonitor(deps.monitor);
    this.log = deps.logger.child({ component: 'health' });
  }

  start(): void {
    const now = this.deps.nowMs();
    for (const node of this.deps.store.listNodes()) this.monitor.track(node.ID, now);
    this.unwatch = this.deps.store.watch((event) => this.onStoreEvent(event));
    this.timer = setInterval(() => this.evaluate(), this.deps.evaluateEveryMs ?? 100);
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
      for (const node of event.nodes) this.monitor.track(node.ID, now);
    } else if (event.kind === 'node') {
      if (event.action === 'remove') this.monitor.untrack(event.object.ID);
      else this.monitor.track(event.object.ID, now);
    }
  }

  private evaluate(): void {
    if (this.inFlight || !this.deps.consensus.isLeader()) return;
    const states = new Map<string, NodeState>();
    for (const node of this.deps.store.listNodes()) states.set(node.ID, node.Status.State);
    const verdicts = this.monitor.evaluate(this.deps.nowMs(), states);
    if (verdicts.length === 0) return;
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
