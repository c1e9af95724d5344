/**
 * The agent's side of its session with the leader (/swarmts/dispatcher/1): it tries the
 * leader it last heard of, then every known manager; a manager that is not the leader
 * redirects it. While the session lasts, the leader pushes this node's own Node object and
 * the managers' addresses. When it breaks (leader lost, network cut) the agent tries again
 * after a short pause; everything the node runs keeps running meanwhile.
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { oneLineMessage } from '../errors.js';
import type { MeshTable } from '../ingress/index.js';
import type { Logger } from '../log.js';
import type { StatusReport } from '../manager/status-batcher.js';
import {
  type ManagerAddress,
  type SessionHello,
  type SessionNode,
  sessionMessage,
} from '../manager/wire.js';
import { type Channel, openChannel } from '../p2p/channel.js';
import type { Host } from '../p2p/host.js';
import { DISPATCHER_PROTOCOL } from '../p2p/protocols.js';
import type { Task } from '../state/index.js';

export interface SessionClientOptions {
  host: Host;
  selfId: string;
  hello: () => SessionHello;
  managers: () => readonly ManagerAddress[];
  /** The node's own Node object; a manager-to-be also gets the swarm's secrets key. */
  onNode: (node: SessionNode, secretsKey: Uint8Array | undefined) => void;
  onManagers: (managers: ManagerAddress[]) => void;
  onRemoved: () => void;
  /** The node's tasks, complete, each time they change (only after the first full set). */
  onAssignments?: (tasks: Task[], files: ReadonlyMap<string, Uint8Array>) => void;
  /** The routing mesh's table, whenever the leader sends one. */
  onMesh?: (table: MeshTable) => void;
  /** A session started: a good moment to report every task's status again. */
  onSession?: () => void;
  /** This node leads: it has no one to hold a session with (its store tells it). */
  leadsItself: () => boolean;
  logger: Logger;
  retryMs?: number;
  connectTimeoutMs?: number;
}

export class SessionClient {
  private stopped = false;
  private channel: Channel | undefined;
  private leaderHint: ManagerAddress | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  connectedTo: string | undefined;
  /** The assignments as the leader last said; undefined until a first full set arrives. */
  private assigned: Map<string, Task> | undefined;
  /**
   * Secret and config data of the assigned tasks, by `secret/<id>` or `config/<id>`; it
   * outlives a session (a new leader sends it again anyway) and goes when no task uses it.
   */
  private files = new Map<string, Uint8Array>();

  constructor(private readonly options: SessionClientOptions) {
    this.log = options.logger.child({ component: 'session' });
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.channel?.abort('agent stopping');
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const candidates = this.options.leadsItself() ? [] : this.candidates();
      for (const target of candidates) {
        if (this.stopped) return;
        let ended = await this.attempt(target);
        // Go straight to the leader we were sent to (once; it may be stale too).
        const hint = this.leaderHint;
        if (ended === 'redirected' && hint && hint.id !== this.options.selfId) {
          ended = await this.attempt(hint);
        }
        if (ended === 'removed') return;
        if (ended === 'served') break;
      }
      await this.pause(this.options.retryMs ?? 500);
    }
  }

  /** Sends task status to the leader; false when there is no session (it is resent later). */
  sendStatus(reports: StatusReport[]): boolean {
    const channel = this.channel;
    if (!channel || !this.connectedTo || reports.length === 0) return false;
    channel.send({ t: 'status', reports }).catch((error: unknown) => {
      this.log.debug({ err: oneLineMessage(error) }, 'status not sent');
      channel.abort(oneLineMessage(error));
    });
    return true;
  }

  private onAssignments(message: AssignmentsMessage): void {
    if (message.full) this.assigned = new Map();
    // Changes before the first full set are history the full set supersedes.
    const assigned = this.assigned;
    if (!assigned) return;
    for (const id of message.removed) assigned.delete(id);
    for (const task of message.tasks) assigned.set(task.ID, task);
    const tasks = [...assigned.values()];
    this.files = keepUsedFiles(this.files, tasks);
    this.options.onAssignments?.(tasks, this.files);
  }

  private candidates(): ManagerAddress[] {
    const all = [...(this.leaderHint ? [this.leaderHint] : []), ...this.options.managers()];
    const seen = new Set<string>();
    return all.filter((m) => {
      if (m.id === this.options.selfId || seen.has(m.id)) return false;
      seen.add(m.id);
      return true;
    });
  }

  /** One session attempt; says how it ended. */
  private async attempt(
    target: ManagerAddress,
  ): Promise<'failed' | 'redirected' | 'served' | 'removed'> {
    let peer: PeerId;
    try {
      peer = peerIdFromString(target.id);
      await this.options.host.peerStore.merge(peer, {
        multiaddrs: target.addrs.map((a) => multiaddr(a)),
      });
    } catch {
      return 'failed';
    }
    let channel: Channel;
    try {
      channel = await openChannel(
        this.options.host,
        peer,
        DISPATCHER_PROTOCOL,
        AbortSignal.timeout(this.options.connectTimeoutMs ?? 2000),
      );
    } catch (error) {
      this.log.debug({ peer: target.id, err: oneLineMessage(error) }, 'manager unreachable');
      return 'failed';
    }
    if (this.stopped) {
      // stop() came while we were dialling: it had no channel to abort yet.
      channel.abort('agent stopping');
      return 'failed';
    }
    this.channel = channel;
    // A new session's changes mean nothing until its full set arrives.
    this.assigned = undefined;
    let served = false;
    try {
      await channel.send(this.options.hello());
      for await (const raw of channel.receive()) {
        const parsed = sessionMessage.safeParse(raw);
        if (!parsed.success) throw new Error('bad session message');
        const message = parsed.data;
        switch (message.t) {
          case 'redirect':
            this.leaderHint = message.leader ?? undefined;
            return message.leader ? 'redirected' : 'failed';
          case 'welcome':
            served = true;
            this.connectedTo = target.id;
            this.leaderHint = target;
            this.log.info({ leader: target.id }, 'session with the leader started');
            this.options.onManagers(message.managers);
            this.options.onNode(message.node, message.secretsKey);
            this.options.onSession?.();
            break;
          case 'mesh':
            this.options.onMesh?.(message.table);
            break;
          case 'file':
            // Kept until no assigned task uses it (pruned with every set of assignments).
            this.files.set(message.key, message.data);
            break;
          case 'assignments':
            this.onAssignments(message as AssignmentsMessage);
            break;
          case 'node':
            this.options.onNode(message.node, message.secretsKey);
            break;
          case 'managers':
            this.options.onManagers(message.managers);
            break;
          case 'removed':
            this.log.warn({}, 'this node was removed from the swarm');
            this.options.onRemoved();
            return 'removed';
        }
      }
    } catch (error) {
      if (!this.stopped) {
        this.log.debug({ peer: target.id, err: oneLineMessage(error) }, 'session ended');
      }
    } finally {
      channel.abort('session over');
      this.channel = undefined;
      this.connectedTo = undefined;
    }
    if (served) this.log.info({ leader: target.id }, 'session with the leader ended');
    return served ? 'served' : 'failed';
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

interface AssignmentsMessage {
  full: boolean;
  tasks: Task[];
  removed: string[];
}

/** Data no assigned task refers to any more is forgotten at once. */
function keepUsedFiles(
  files: Map<string, Uint8Array>,
  tasks: readonly Task[],
): Map<string, Uint8Array> {
  const used = new Set<string>();
  for (const task of tasks) {
    const container = task.Spec.ContainerSpec;
    for (const ref of container.Secrets ?? []) used.add(`secret/${ref.SecretID}`);
    for (const ref of container.Configs ?? []) used.add(`config/${ref.ConfigID}`);
  }
  return new Map([...files].filter(([key]) => used.has(key)));
}
