/**
 * Follows the engine's container events for this node's containers. Exits and health come
 * from here, not from polling. When the stream is cut (engine restarted or unreachable) it
 * reopens after a growing pause, replays from the last event seen, and asks the runners to
 * re-read their containers, since the engine may have lost the events of the gap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { ContainerRuntime, RuntimeEvent } from '../runtime/types.js';
import { NODE_LABEL } from './labels.js';

export interface EventWatchOptions {
  runtime: ContainerRuntime;
  nodeId: string;
  /** Replay from here on the first open (events that came before the stream was open). */
  since: Date;
  signal: AbortSignal;
  log: Logger;
  retryMinMs: number;
  retryMaxMs: number;
  onEvent: (event: RuntimeEvent) => void;
  /** The stream was cut and the engine answers again. */
  onResume: () => void;
}

/** Runs until the signal aborts; never rejects. */
export async function watchEvents(options: EventWatchOptions): Promise<void> {
  const { runtime, signal, log } = options;
  let since = options.since;
  let pause = options.retryMinMs;
  let cut = false;
  while (!signal.aborted) {
    try {
      if (cut) {
        await runtime.ping(signal);
        options.onResume();
      }
      const labels = { [NODE_LABEL]: options.nodeId };
      for await (const event of runtime.events({ labels, since, signal })) {
        since = event.time;
        pause = options.retryMinMs;
        options.onEvent(event);
      }
    } catch (error) {
      if (signal.aborted) return;
      log.warn({ err: oneLineMessage(error) }, 'Docker event stream cut; reopening');
    }
    if (signal.aborted) return;
    cut = true;
    await sleep(pause, undefined, { signal }).catch(() => undefined);
    pause = Math.min(options.retryMaxMs, pause * 2);
  }
}
