/**
 * Task status from the agents reaches Raft in batches: reports gather for at most `maxDelayMs`
 * (or until `maxOps` are waiting) and go out as one `tasks.write`, never one entry per event.
 * Only the newest report per task is kept; a batch is in flight at a time. Reports that reach
 * a manager that is not (or no longer) the leader are dropped: the agent resends everything to
 * the next leader when its session starts.
 */
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { TaskOp, TaskStatus } from '../state/index.js';
import { taskStateRank } from '../state/index.js';
import type { Consensus } from './consensus.js';

export interface StatusReport {
  taskId: string;
  status: TaskStatus;
}

export interface StatusBatcherOptions {
  consensus: Consensus;
  now: () => Date;
  logger: Logger;
  maxDelayMs?: number;
  maxOps?: number;
}

export class StatusBatcher {
  private pending = new Map<string, { nodeId: string; status: TaskStatus }>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly maxDelayMs: number;
  private readonly maxOps: number;
  /** Batches committed (metrics, tests). */
  batches = 0;

  constructor(private readonly options: StatusBatcherOptions) {
    this.maxDelayMs = options.maxDelayMs ?? 50;
    this.maxOps = options.maxOps ?? 1_000;
  }

  add(nodeId: string, reports: readonly StatusReport[]): void {
    if (!this.options.consensus.isLeader()) return;
    for (const { taskId, status } of reports) {
      const held = this.pending.get(taskId);
      // A report older than one already waiting (same node, lower state) adds nothing.
      if (held && taskStateRank(held.status.State) > taskStateRank(status.State)) continue;
      this.pending.set(taskId, { nodeId, status });
    }
    if (this.pending.size >= this.maxOps) this.flushSoon(0);
    else this.flushSoon(this.maxDelayMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    if (this.inFlight) {
      await this.inFlight;
      if (this.pending.size > 0) this.flushSoon(0);
      return;
    }
    if (this.pending.size === 0) return;
    const ops: TaskOp[] = [];
    for (const [id, { nodeId, status }] of this.pending) {
      ops.push({ op: 'status', id, nodeId, status });
      if (ops.length >= this.maxOps) break;
    }
    for (const op of ops) if (op.op === 'status') this.pending.delete(op.id);
    this.inFlight = this.options.consensus
      .propose({ type: 'tasks.write', ops, at: this.options.now().toISOString() })
      .then(() => {
        this.batches++;
      })
      .catch((error: unknown) => {
        this.options.logger.debug({ err: oneLineMessage(error) }, 'task status not recorded');
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending.size > 0) this.flushSoon(0);
      });
    await this.inFlight;
  }
}
