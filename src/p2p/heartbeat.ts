/**
 * Heartbeats on the gossip topic /swarmts/heartbeat/1: every agent publishes one at least
 * every 500 ms; managers feed them to their failure detector. Gossipsub signs each message
 * with the publisher's key (strict signing), so the sender is the message's authenticated
 * `from`; a body that does not decode or claims another node is dropped.
 */
import type { Message } from '@libp2p/gossipsub';
import { z } from 'zod';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { decode, encode } from '../wire/codec.js';
import type { Host } from './host.js';
import { HEARTBEAT_TOPIC } from './protocols.js';

const heartbeatSchema = z.object({
  node: z.string(),
  /** Increasing for the node, across restarts (see HealthMonitor). */
  seq: z.number().int().nonnegative(),
  resources: z.object({
    nanoCpus: z.number().nonnegative(),
    memoryBytes: z.number().nonnegative(),
  }),
  /** 1-minute load average and free memory, for operators and (later) placement. */
  load: z.object({ load1: z.number(), memoryFreeBytes: z.number().nonnegative() }),
  /** Tasks this node runs, by state. */
  tasks: z.record(z.string(), z.number().int().nonnegative()),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export function encodeHeartbeat(heartbeat: Heartbeat): Uint8Array {
  return encode(heartbeat);
}

export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  return heartbeatSchema.parse(decode(bytes));
}

export interface HeartbeatPublisherOptions {
  host: Host;
  nodeId: string;
  intervalMs: number;
  /** Fills in what changes between heartbeats. */
  describe: () => Omit<Heartbeat, 'node' | 'seq'>;
  /** The first sequence number, e.g. the wall clock at start, so restarts keep increasing. */
  firstSeq: number;
  /** Also told of each heartbeat: a manager's detector hears its own node this way. */
  onPublish?: (heartbeat: Heartbeat) => void;
  logger: Logger;
}

export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | undefined;
  private seq: number;

  constructor(private readonly options: HeartbeatPublisherOptions) {
    this.seq = options.firstSeq;
  }

  start(): void {
    this.options.host.services.pubsub.subscribe(HEARTBEAT_TOPIC);
    this.beat();
    this.timer = setInterval(() => this.beat(), this.options.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const heartbeat: Heartbeat = {
      node: this.options.nodeId,
      seq: this.seq++,
      ...this.options.describe(),
    };
    this.options.onPublish?.(heartbeat);
    this.options.host.services.pubsub
      .publish(HEARTBEAT_TOPIC, encodeHeartbeat(heartbeat))
      .catch((error: unknown) =>
        this.options.logger.debug({ err: oneLineMessage(error) }, 'heartbeat not published'),
      );
  }
}

/** Calls `handler` for every valid heartbeat heard; returns a function that stops listening. */
export function listenForHeartbeats(
  host: Host,
  handler: (heartbeat: Heartbeat) => void,
  logger: Logger,
): () => void {
  const pubsub = host.services.pubsub;
  const onMessage = (event: CustomEvent<Message>) => {
    const message = event.detail;
    if (message.topic !== HEARTBEAT_TOPIC || message.type !== 'signed') return;
    try {
      const heartbeat = decodeHeartbeat(message.data);
      if (heartbeat.node !== message.from.toString()) throw new Error('sender mismatch');
      handler(heartbeat);
    } catch (error) {
      logger.debug(
        { peer: message.from.toString(), err: oneLineMessage(error) },
        'dropped a bad heartbeat',
      );
    }
  };
  pubsub.subscribe(HEARTBEAT_TOPIC);
  pubsub.addEventListener('message', onMessage);
  return () => pubsub.removeEventListener('message', onMessage);
}
