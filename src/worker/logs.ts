/**
 * Task logs from this node's engine: the lines of the containers of the asked-for tasks,
 * merged as they come. Serves `/swarmts/logs/1` for managers fanning out `service logs`;
 * the same function answers for the node's own tasks without a stream.
 */
import type { Libp2p } from '@libp2p/interface';
import { z } from 'zod';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { Channel, firstValue, SMALL_FRAME_BYTES } from '../p2p/channel.js';
import { LOGS_PROTOCOL } from '../p2p/protocols.js';
import type { ContainerRuntime } from '../runtime/types.js';
import { TASK_LABEL } from './labels.js';

export const logsRequest = z.object({
  taskIds: z.array(z.string().min(1).max(128)).max(10_000),
  follow: z.boolean(),
  tail: z.union([z.number().int().nonnegative(), z.literal('all')]),
  timestamps: z.boolean(),
});
export type LogsRequest = z.infer<typeof logsRequest>;

export const logLine = z.object({
  task: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
  timestamp: z.string().optional(),
});
export type TaskLogLine = z.infer<typeof logLine>;

/** The log lines of the tasks' containers on this engine, interleaved as they arrive. */
export async function* taskLogs(
  runtime: ContainerRuntime,
  request: LogsRequest,
  signal: AbortSignal,
): AsyncGenerator<TaskLogLine> {
  const sources: AsyncIterable<TaskLogLine>[] = [];
  for (const taskId of request.taskIds) {
    // Stopped containers too: the logs of a task that failed are what one looks for.
    const found = await runtime.listContainers({
      labels: { [TASK_LABEL]: taskId },
      all: true,
      signal,
    });
    for (const container of found) {
      sources.push(
        (async function* () {
          for await (const line of runtime.logs(container.id, {
            follow: request.follow,
            tail: request.tail,
            timestamps: request.timestamps,
            signal,
          })) {
            yield { task: taskId, stream: line.stream, text: line.text, timestamp: line.timestamp };
          }
        })(),
      );
    }
  }
  yield* merge(sources, signal);
}

/** Serves log requests from managers on the node's libp2p host. */
export async function serveTaskLogs(
  host: Libp2p,
  runtime: ContainerRuntime,
  logger: Logger,
  /** Only managers ask for logs (for the API); other nodes of the swarm may not read them. */
  isAllowed: (peer: string) => boolean,
): Promise<void> {
  await host.handle(
    LOGS_PROTOCOL,
    (stream, connection) => {
      const channel = new Channel(stream, connection.remotePeer.toString(), SMALL_FRAME_BYTES);
      if (!isAllowed(channel.remotePeer)) {
        logger.warn({ peer: channel.remotePeer }, 'refused a logs request from a non-manager');
        channel.abort('not a manager');
        return;
      }
      const controller = new AbortController();
      void (async () => {
        try {
          const parsed = logsRequest.safeParse(await firstValue(channel));
          if (!parsed.success) throw new Error('bad logs request');
          // The manager closing its side (the user stopped following) ends the work.
          void (async () => {
            try {
              for await (const _ of channel.receive()) {
                // nothing more is expected
              }
            } catch {
              // closed or aborted
            }
            controller.abort();
          })();
          for await (const line of taskLogs(runtime, parsed.data, controller.signal)) {
            await channel.send(line);
          }
          await channel.close();
        } catch (error) {
          controller.abort();
          if (!controller.signal.aborted)
            logger.debug({ err: oneLineMessage(error) }, 'logs stream ended');
          channel.abort(oneLineMessage(error));
        }
      })();
    },
    { maxInboundStreams: 64 },
  );
}

/** Interleaves several async iterables; ends when all have ended or the signal fires. */
export async function* merge<T>(
  sources: AsyncIterable<T>[],
  signal: AbortSignal,
): AsyncGenerator<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  type Step = { i: number; result: IteratorResult<T> } | { i: number; failed: true };
  const pending = new Map<number, Promise<Step>>();
  const pull = (i: number) => {
    const it = iterators[i];
    // A source that fails ends on its own; the others go on (and no rejection is left over).
    if (it) {
      pending.set(
        i,
        it.next().then(
          (result) => ({ i, result }),
          () => ({ i, failed: true as const }),
        ),
      );
    }
  };
  for (let i = 0; i < iterators.length; i++) pull(i);
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    while (pending.size > 0) {
      const next = await Promise.race([...pending.values(), aborted]);
      if (next === 'aborted') return;
      if ('failed' in next || next.result.done) {
        pending.delete(next.i);
        continue;
      }
      yield next.result.value;
      pull(next.i);
    }
  } finally {
    for (const it of iterators) it.return?.()?.catch(() => {});
  }
}
