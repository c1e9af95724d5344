/**
 * The leader's side of agent sessions, protocol /swarmts/dispatcher/1. Every agent (managers
 * too) holds one session with the leader: it says who it is and where it listens; the leader
 * streams back its own Node object whenever it changes (role, availability, removal) and the
 * list of managers to dial. A manager that is not the leader redirects the agent. Losing
 * leadership closes every session, and the agents find the new leader.
 */
import type { Libp2p } from '@libp2p/interface';
import { oneLineMessage } from '../errors.js';
import type { MeshTable } from '../ingress/index.js';
import type { Logger } from '../log.js';
import { Channel, firstValue, SMALL_FRAME_BYTES } from '../p2p/channel.js';
import { DISPATCHER_PROTOCOL } from '../p2p/protocols.js';
import type { ClusterStore, Node, StoreEvent, Task } from '../state/index.js';
import type { Consensus } from './consensus.js';
import { meshTable } from './endpoints.js';
import { checkAddresses, managerAddresses } from './join.js';
import type { SecretSeal } from './secret-seal.js';
import type { StatusReport } from './status-batcher.js';
import { filesForTasks } from './task-files.js';
import {
  type ManagerAddress,
  type SessionHello,
  type SessionMessage,
  sessionHello,
  taskStatusReport,
  taskStatusReports,
} from './wire.js';

/** What the leader sends: SessionMessage, with the store's own object types. */
type Outbound =
  | Exclude<SessionMessage, { t: 'welcome' } | { t: 'node' } | { t: 'assignments' }>
  | { t: 'welcome'; managers: ManagerAddress[]; node: Node; secretsKey?: Uint8Array }
  | { t: 'node'; node: Node; secretsKey?: Uint8Array }
  | { t: 'assignments'; full: boolean; tasks: Task[]; removed: string[] }
  | { t: 'file'; key: string; data: Uint8Array }
  | { t: 'mesh'; table: MeshTable };

export interface DispatcherDeps {
  host: Libp2p;
  store: ClusterStore;
  consensus: Consensus;
  now: () => Date;
  logger: Logger;
  /** Unseals the secrets a node's tasks use. */
  seal: SecretSeal;
  /** Task status an agent reported (the leader batches it into Raft). */
  onStatus?: (nodeId: string, reports: StatusReport[]) => void;
}

/** Task changes for one node, gathered within a turn of the event loop. */
interface PendingChanges {
  tasks: Map<string, Task>;
  removed: Set<string>;
}

export class Dispatcher {
  private readonly sessions = new Map<string, Channel>();
  private readonly changes = new Map<string, PendingChanges>();
  private flushScheduled = false;
  /** The mesh table as last sent (JSON), and whether a recompute is queued. */
  private lastMesh = '';
  private meshScheduled = false;
  private unwatch: (() => void) | undefined;
  private lastManagers = '';
  /** Per session: the secrets and configs it has carried (by `secret/<id>`, `config/<id>`). */
  private readonly sentFiles = new Map<string, Set<string>>();

  get seal(): SecretSeal {
    return this.deps.seal;
  }
  private readonly log: Logger;

  constructor(private readonly deps: DispatcherDeps) {
    this.log = deps.logger.child({ component: 'dispatcher' });
  }

  async start(): Promise<void> {
    this.unwatch = this.deps.store.watch((event) => this.onStoreEvent(event));
    await this.deps.host.handle(
      DISPATCHER_PROTOCOL,
      (stream, connection) => {
        void this.serve(new Channel(stream, connection.remotePeer.toString(), SMALL_FRAME_BYTES));
      },
      { maxInboundStreams: 4 },
    );
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    await this.deps.host.unhandle(DISPATCHER_PROTOCOL);
    this.closeAll('manager stopping');
  }

  /** Called when this manager stops being the leader: agents must go to the new one. */
  closeAll(reason: string): void {
    for (const channel of this.sessions.values()) channel.abort(reason);
    this.sessions.clear();
  }

  private async serve(channel: Channel): Promise<void> {
    const id = channel.remotePeer;
    try {
      const hello = sessionHello.safeParse(await firstValue(channel));
      if (!hello.success) throw new Error('the session did not start with a valid hello');
      const addressError = checkAddresses(hello.data.p2pAddrs, id);
      if (addressError) throw new Error(addressError);
      if (!this.deps.consensus.isLeader()) {
        await this.send(channel, { t: 'redirect', leader: this.leaderAddress() });
        await channel.close();
        return;
      }
      const node = this.deps.store.getNode(id);
      if (!node) {
        if (this.deps.store.isRemoved(id)) await this.send(channel, { t: 'removed' });
        await channel.close();
        return;
      }
      this.sessions.get(id)?.abort('replaced by a new session');
      this.sessions.set(id, channel);
      this.refreshDescription(node, hello.data);
      // The welcome and the full set are written in this same turn, before any change
      // gathered for this node can be flushed (that happens on a later turn).
      this.changes.delete(id);
      const welcome = this.send(channel, {
        t: 'welcome',
        managers: managerAddresses(this.deps.store.listNodes()),
        node,
        ...this.keyFor(node),
      });
      this.sentFiles.set(id, new Set());
      const full = this.sendAssignments(id, channel, true, this.deps.store.tasksOfNode(id), []);
      const mesh = this.send(channel, { t: 'mesh', table: meshTable(this.deps.store) });
      await Promise.all([welcome, full, mesh]);
      for await (const raw of channel.receive()) {
        const parsed = taskStatusReports.safeParse(raw);
        if (!parsed.success) throw new Error('bad status report');
        const reports: StatusReport[] = [];
        for (const report of parsed.data.reports) {
          const checked = taskStatusReport.safeParse(report);
          if (checked.success) reports.push(checked.data);
          else this.log.debug({ peer: id }, 'dropped an invalid task status report');
        }
        this.deps.onStatus?.(id, reports);
      }
    } catch (error) {
      this.log.debug({ peer: id, err: oneLineMessage(error) }, 'session ended');
      channel.abort(oneLineMessage(error));
    } finally {
      if (this.sessions.get(id) === channel) {
        this.sessions.delete(id);
        this.sentFiles.delete(id);
      }
    }
  }

  /** The agent restarted with a new address or engine: record what it says now. */
  private refreshDescription(node: Node, hello: SessionHello): void {
    const same =
      JSON.stringify(node.Description) === JSON.stringify(hello.description) &&
      node.Status.Addr === hello.addr &&
      JSON.stringify(node.P2PAddrs) === JSON.stringify(hello.p2pAddrs);
    if (same) return;
    this.deps.consensus
      .propose({
        type: 'node.describe',
        id: node.ID,
        description: hello.description,
        addr: hello.addr,
        p2pAddrs: hello.p2pAddrs,
        at: this.deps.now().toISOString(),
      })
      .catch((error: unknown) =>
        this.log.debug({ peer: node.ID, err: oneLineMessage(error) }, 'describe not recorded'),
      );
  }

  private onStoreEvent(event: StoreEvent): void {
    if (event.kind !== 'cluster') this.meshSoon();
    if (event.kind === 'task') {
      this.noteTask(event.object, event.action === 'remove');
      if (event.action === 'update' && event.previous.NodeID !== event.object.NodeID) {
        this.noteTask(event.previous, true);
      }
      return;
    }
    if (event.kind === 'restore') {
      // Everything may have changed: every session gets its full set again.
      for (const [id, channel] of this.sessions) {
        this.changes.delete(id);
        void this.sendAssignments(id, channel, true, this.deps.store.tasksOfNode(id), []);
      }
    }
    if (event.kind === 'node') {
      const channel = this.sessions.get(event.object.ID);
      if (channel) {
        if (event.action === 'remove') {
          void this.send(channel, { t: 'removed' }).finally(() => channel.close());
          this.sessions.delete(event.object.ID);
          this.sentFiles.delete(event.object.ID);
        } else {
          void this.send(channel, { t: 'node', node: event.object, ...this.keyFor(event.object) });
        }
      }
    }
    if (event.kind === 'node' || event.kind === 'restore') {
      const managers = managerAddresses(this.deps.store.listNodes());
      const key = JSON.stringify(managers);
      if (key !== this.lastManagers) {
        this.lastManagers = key;
        for (const channel of this.sessions.values())
          void this.send(channel, { t: 'managers', managers });
      }
    }
  }

  /** Recomputes the mesh table once per turn; every session gets it when it changed. */
  private meshSoon(): void {
    if (this.meshScheduled || this.sessions.size === 0) return;
    this.meshScheduled = true;
    setImmediate(() => {
      this.meshScheduled = false;
      const table = meshTable(this.deps.store);
      const json = JSON.stringify(table);
      if (json === this.lastMesh) return;
      this.lastMesh = json;
      for (const channel of this.sessions.values()) void this.send(channel, { t: 'mesh', table });
    });
  }

  /** Queues a task change for its node's session (if it has one); sent once per turn. */
  private noteTask(task: Task, removed: boolean): void {
    if (task.NodeID === '' || !this.sessions.has(task.NodeID)) return;
    let pending = this.changes.get(task.NodeID);
    if (!pending) {
      pending = { tasks: new Map(), removed: new Set() };
      this.changes.set(task.NodeID, pending);
    }
    if (removed) {
      pending.tasks.delete(task.ID);
      pending.removed.add(task.ID);
    } else {
      pending.removed.delete(task.ID);
      pending.tasks.set(task.ID, task);
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const [nodeId, { tasks, removed: gone }] of this.changes) {
        const channel = this.sessions.get(nodeId);
        if (!channel) continue;
        void this.sendAssignments(nodeId, channel, false, [...tasks.values()], [...gone]);
      }
      this.changes.clear();
    });
  }

  /** The secrets key, for a node that is to be a manager (it will seal and unseal too). */
  private keyFor(node: Node): { secretsKey?: Uint8Array } {
    return node.Spec.Role === 'manager' ? { secretsKey: this.deps.seal.key } : {};
  }

  /**
   * Assignments, each preceded by the data of the secrets and configs they use that this
   * session has not carried yet, one file per message (a full set of many large configs in
   * one frame could exceed what the agent accepts). The stream keeps their order.
   */
  private sendAssignments(
    nodeId: string,
    channel: Channel,
    full: boolean,
    tasks: Task[],
    removed: string[],
  ): Promise<void> {
    const sent = this.sentFiles.get(nodeId) ?? new Set<string>();
    this.sentFiles.set(nodeId, sent);
    const files = filesForTasks(tasks, this.deps.store, this.deps.seal, sent);
    for (const file of files) {
      sent.add(file.key);
      void this.send(channel, { t: 'file', key: file.key, data: file.data });
    }
    return this.send(channel, { t: 'assignments', full, tasks, removed });
  }

  private leaderAddress(): { id: string; addrs: string[] } | null {
    const leader = this.deps.consensus.status().leader;
    const node = leader ? this.deps.store.getNode(leader) : undefined;
    return node ? { id: node.ID, addrs: node.P2PAddrs } : null;
  }

  private async send(channel: Channel, message: Outbound): Promise<void> {
    try {
      await channel.send(message);
    } catch (error) {
      channel.abort(oneLineMessage(error));
    }
  }
}
