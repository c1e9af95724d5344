/**
 * The queue behind an async watcher: the store pushes events synchronously as it applies
 * commands, the watcher pulls them at its own pace. The queue is bounded: a watcher that
 * falls more than `limit` events behind is closed with WatcherOverflowError instead of
 * buffering forever (the idea of swarmkit's watch/queue). It must then watch again and
 * resync from a fresh view, so the backlog is dropped at once rather than delivered.
 */
import { SwarmtsError } from '../errors.js';

/** Retryable: the watcher fell behind; take a new view and watch again. */
export class WatcherOverflowError extends SwarmtsError {
  constructor(readonly limit: number) {
    super('unavailable', `watcher fell more than ${limit} events behind and was closed`);
  }
}

interface Waiter<T> {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (error: Error) => void;
}

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

export class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  /** Index of the oldest item in `items`: an O(1) shift for long queues. */
  private head = 0;
  private readonly waiters: Array<Waiter<T>> = [];
  private state: 'open' | 'closed' | 'failed' = 'open';
  /** Handed to the next `next()` after a failure, then the iterator is done. */
  private error: Error | undefined;

  /** `onEnd` runs once, when the queue is closed or fails (e.g. to unsubscribe it). */
  constructor(
    readonly limit: number,
    private readonly onEnd?: () => void,
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`queue limit must be a positive integer, got ${limit}`);
    }
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /** Queues an item; false once the queue is closed, including by this very overflow. */
  push(item: T): boolean {
    if (this.state !== 'open') return false;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ done: false, value: item });
      return true;
    }
    if (this.length >= this.limit) {
      this.fail(new WatcherOverflowError(this.limit));
      return false;
    }
    this.items.push(item);
    return true;
  }

  /** Ends the iteration; items not yet taken are dropped. */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.end();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
  }

  /** Ends the iteration with `error`; items not yet taken are dropped. */
  fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.end();
    const waiters = this.waiters.splice(0);
    if (waiters.length === 0) this.error = error;
    for (const waiter of waiters) waiter.reject(error);
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.length > 0) {
      const value = this.items[this.head] as T;
      this.head += 1;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.error) {
      const error = this.error;
      this.error = undefined;
      return Promise.reject(error);
    }
    if (this.state !== 'open') return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: () => this.next(),
      // Leaving a for-await loop early (break, throw) closes the watcher.
      return: () => {
        this.close();
        return Promise.resolve(DONE);
      },
    };
  }

  private end(): void {
    this.items = [];
    this.head = 0;
    this.onEnd?.();
  }
}
