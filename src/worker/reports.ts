/**
 * Collects status changes and hands them to the caller once per turn of the event loop, so
 * a task that moves several states in one go costs the session one message, in order.
 */
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { TaskStatusReport } from './types.js';

export class ReportBatcher {
  private pending: TaskStatusReport[] = [];
  private closed = false;

  constructor(
    private readonly send: (reports: TaskStatusReport[]) => void,
    private readonly log: Logger,
  ) {}

  push(report: TaskStatusReport): void {
    if (this.closed) return;
    // setImmediate, not a microtask: steps of several tasks that finish in the same turn
    // (each awaiting the engine in between) go out together.
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(report);
  }

  flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      this.send(batch);
    } catch (error) {
      // The caller's failure to ship a report must not stop the executor.
      this.log.error({ err: oneLineMessage(error) }, 'status report callback threw');
    }
  }

  /** Sends what is pending and drops anything pushed later. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
