/**
 * The leader's side of agent sessions, protocol /swarmts/dispatcher/1. Every agent (managers
 * too) holds one session with the leader: it says who it is and where it listens; the leader
 * streams back its own Node object whenever it changes (role, availability, removal) and the
 * list of managers to dial. A manager that is not the leader redirects the agent. Losing
 * leadership closes every session, and the agents find the new leader.
 */
import type { Libp2p } from '@libp2p/interface';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { Channel, firstValue, SMALL_FRAME_BYTES } from '../p2p/channel.js';
import { DISPATCHER_PROTOCOL } from '../p2p/protocols.js';
import type { ClusterStore, Node, StoreEvent } from '../state/index.js';
import type { Consensus } from './consensus.js';
import { checkAddresses, managerAddresses } from './join.js';
import {
  type ManagerAddress,
  type SessionHello,
  type SessionMessage,
  sessionHello,
} from './wire.js';

/** What the leader sends: SessionMessage, with the store's own Node type. */
type Outbound =
  | Exclude<SessionMessage, { t: 'welcome' } | { t: 'node' }>
  | { t: 'welcome'; managers: ManagerAddress[]; node: Node }
  | { t: 'node'; node: Node };

export interface DispatcherDeps {
  host: Libp2p;
  store: ClusterStore;
  consensus: Consensus;
  now: () => Date;
  logger: Logger;
}

export class Dispatcher {
  private readonly sessions = new Map<string, Channel>();
  private unwatch: (() => void) | undefined;
  private lastManagers = '';
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
      await this.send(channel, {
        t: 'welcome',
        managers: managerAddresses(this.deps.store.listNodes()),
        node,
      });
      // Nothing is expected from the agent yet; reading tells us when it goes away.
      for await (const _ of channel.receive()) {
        // later protocol versions: task status reports
      }
    } catch (error) {
      this.log.debug({ peer: id, err: oneLineMessage(error) }, 'session ended');
      channel.abort(oneLineMessage(error));
    } finally {
      if (this.sessions.get(id) === channel) this.sessions.delete(id);
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
    if (event.kind === 'node') {
      const channel = this.sessions.get(event.object.ID);
      if (channel) {
        if (event.action === 'remove') {
          void this.send(channel, { t: 'removed' }).finally(() => channel.close());
          this.sessions.delete(event.object.ID);
        } else {
          void this.send(channel, { t: 'node', node: event.object });
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
