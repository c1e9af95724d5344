/**
 * A manager: the Raft node (LevelDB log, libp2p transport, driver) with the cluster store as
 * its state machine, and the leader's loops — the dispatcher, the failure detector, the role
 * manager — which meet only at the store. This file wires; the parts decide.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { serveCalls } from '../p2p/channel.js';
import type { Host } from '../p2p/host.js';
import { JOIN_PROTOCOL } from '../p2p/protocols.js';
import { formatJoinToken, newRoleSecret } from '../p2p/tokens.js';
import { isMember } from '../raft/confchange.js';
import { RaftDriver } from '../raft/driver.js';
import { LevelStorage } from '../raft/level-storage.js';
import { forceNewCluster } from '../raft/recovery.js';
import { RaftTransport } from '../raft/transport.js';
import type { SoftState } from '../raft/types.js';
import { ClusterStore, type Node, type NodeDescription, type StoreEvent } from '../state/index.js';
import { type Consensus, raftConsensus } from './consensus.js';
import { ControlApi } from './controlapi.js';
import { Dispatcher } from './dispatcher.js';
import { HealthService } from './health/service.js';
import { joinHandler } from './join.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import { RoleManager } from './roles.js';
import { SecretSeal } from './secret-seal.js';
import { newObjectId } from './serviceapi.js';
import { StatusBatcher } from './status-batcher.js';
import type { ManagerAddress } from './wire.js';

export interface ManagerOptions {
  host: Host;
  nodeId: string;
  dataDir: string;
  clusterId: string;
  networkKey: Uint8Array;
  /** The swarm's secrets key (managers only; see secret-seal.ts). */
  secretsKey: Uint8Array;
  /** Founding manager of a new swarm: bootstraps Raft with this node as the only voter. */
  bootstrap: boolean;
  forceNewCluster?: boolean;
  /** Managers known from the join or the last session, to reach before the store says. */
  seedManagers: ManagerAddress[];
  /** What this node says about itself (for its own Node object on bootstrap). */
  self: () => { description: NodeDescription; addr: string; p2pAddrs: string[] };
  logger: Logger;
  tickMs?: number;
  electionTicks?: number;
  heartbeatIntervalMs?: number;
  /** This manager became the leader with a caught-up store (true), or stopped leading. */
  onLeadership?: (leading: boolean) => void;
}

export class Manager {
  readonly store: ClusterStore;
  readonly consensus: Consensus;
  readonly controlApi: ControlApi;
  /** Seals secrets for the store, unseals them for the nodes that run their tasks. */
  readonly seal: SecretSeal;
  private readonly known = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private bootstrapping = false;
  private catchingUp = -1;
  private stopped = false;

  private constructor(
    private readonly options: ManagerOptions,
    private readonly storage: LevelStorage,
    private readonly transport: RaftTransport,
    readonly driver: RaftDriver,
    store: ClusterStore,
    private readonly dispatcher: Dispatcher,
    readonly health: HealthService,
    private readonly roles: RoleManager,
    private readonly log: Logger,
    private readonly leadership: { readyTerm: number },
    readonly statusBatcher: StatusBatcher,
    private readonly orchestrator: Orchestrator,
  ) {
    this.store = store;
    this.consensus = raftConsensus(driver);
    this.seal = dispatcher.seal;
    this.controlApi = new ControlApi({
      store,
      consensus: this.consensus,
      now: () => new Date(),
      randomBytes,
      seal: this.seal,
    });
  }

  static raftDir(dataDir: string): string {
    return join(dataDir, 'raft');
  }

  static async start(options: ManagerOptions): Promise<Manager> {
    const log = options.logger.child({ component: 'manager' });
    const storage = await LevelStorage.open(
      Manager.raftDir(options.dataDir),
      options.bootstrap ? { bootstrap: { voters: [options.nodeId] } } : {},
    );
    const store = new ClusterStore({
      onListenerError: (error) =>
        log.error({ err: oneLineMessage(error) }, 'store listener failed'),
    });
    if (options.forceNewCluster) {
      await forceNewCluster(storage, new ClusterStore(), options.nodeId).catch(
        async (error: unknown) => {
          await storage.close();
          throw error;
        },
      );
      log.warn({}, 'forced a new cluster: this node is now the only manager');
    }
    // Late-bound: the transport and the driver need each other.
    let manager: Manager | undefined;
    const transport = new RaftTransport({
      host: options.host,
      selfId: options.nodeId,
      isPeerAllowed: (id) => manager?.isRaftPeer(id) ?? false,
      deliver: (message) => manager?.driver.step(message),
      reportUnreachable: (id) => manager?.driver.reportUnreachable(id),
      reportSnapshot: (id, ok) => manager?.driver.reportSnapshot(id, ok),
      reportDisconnected: (id) => manager?.driver.reportLeaderLost(id),
      logger: options.logger,
    });
    const driver = new RaftDriver({
      id: options.nodeId,
      storage,
      stateMachine: store,
      sender: transport,
      logger: options.logger,
      random: () => randomInt(2 ** 47) / 2 ** 47,
      tickMs: options.tickMs ?? 100,
      ...(options.electionTicks ? { electionTicks: options.electionTicks } : {}),
      onConfChange: (change, _conf, context) => manager?.onConfChange(change, context),
      onSoftState: (state) => manager?.onSoftState(state),
    });
    // The leader's loops act only once its store has caught up with everything committed
    // before its term (a read barrier after winning): a new leader's applied state can lag.
    const leadership = { readyTerm: -1 };
    const raft = raftConsensus(driver);
    const consensus: Consensus = {
      ...raft,
      isLeader: () => raft.isLeader() && leadership.readyTerm === driver.status().term,
    };
    const now = () => new Date();
    const statusBatcher = new StatusBatcher({ consensus, now, logger: log });
    const seal = new SecretSeal(options.secretsKey, randomBytes);
    const dispatcher = new Dispatcher({
      host: options.host,
      store,
      consensus,
      now,
      seal,
      logger: options.logger,
      onStatus: (nodeId, reports) => statusBatcher.add(nodeId, reports),
    });
    const orchestrator = new Orchestrator({
      store,
      consensus,
      isLeader: () => consensus.isLeader(),
      now: () => Date.now(),
      newId: () => newObjectId(randomBytes),
      logger: options.logger,
    });
    const health = new HealthService({
      store,
      consensus,
      now,
      nowMs: () => performance.now(),
      logger: options.logger,
      monitor: { expectedIntervalMs: options.heartbeatIntervalMs ?? 500 },
    });
    const roles = new RoleManager({ store, consensus, now, logger: options.logger });
    manager = new Manager(
      options,
      storage,
      transport,
      driver,
      store,
      dispatcher,
      health,
      roles,
      log,
      leadership,
      statusBatcher,
      orchestrator,
    );
    try {
      await manager.run();
    } catch (error) {
      // Leave nothing behind (an open, locked LevelDB; protocol handlers) for the next try.
      await manager.stop().catch(() => {});
      throw error;
    }
    return manager;
  }

  private async run(): Promise<void> {
    for (const seed of this.options.seedManagers) await this.learnAddress(seed.id, seed.addrs);
    this.unwatch = this.store.watch((event) => this.onStoreEvent(event));
    await this.transport.start();
    await serveCalls(
      this.options.host,
      JOIN_PROTOCOL,
      joinHandler({
        store: this.store,
        consensus: this.consensus,
        controlApi: this.controlApi,
        secretsKey: this.seal.key,
        now: () => new Date(),
        logger: this.log,
      }),
      this.log,
    );
    await this.dispatcher.start();
    this.orchestrator.start();
    this.driver.start();
    this.health.start();
    this.timer = setInterval(() => this.leaderChores(), 500);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unwatch?.();
    this.health.stop();
    this.orchestrator.stop();
    this.statusBatcher.stop();
    // Each step runs even if one before it fails: the database must close in the end.
    const steps = [
      () => this.dispatcher.stop(),
      () => this.options.host.unhandle(JOIN_PROTOCOL),
      () => this.driver.stop(),
      () => this.transport.stop(),
      () => this.storage.close(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.log.warn({ err: oneLineMessage(error) }, 'manager did not stop cleanly');
      }
    }
  }

  /** Stops and deletes this node's Raft data: it left the Raft group for good. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(Manager.raftDir(this.options.dataDir), { recursive: true, force: true });
  }

  heartbeat(nodeId: string, seq: number): void {
    this.health.heartbeat(nodeId, seq);
  }

  /** Leads with a caught-up store: the leader's loops are running. */
  get leading(): boolean {
    return this.isReadyLeader();
  }

  private isReadyLeader(): boolean {
    return this.consensus.isLeader() && this.leadership.readyTerm === this.driver.status().term;
  }

  /** The Raft group as this manager sees it (voters, learners, removed ids). */
  get membership() {
    return this.driver.membership;
  }

  private isRaftPeer(id: string): boolean {
    const conf = this.driver.membership;
    return !conf.removed.includes(id) && (this.known.has(id) || isMember(conf, id));
  }

  private async learnAddress(id: string, addrs: readonly string[]): Promise<void> {
    if (id === this.options.nodeId || addrs.length === 0) return;
    this.known.add(id);
    try {
      await this.transport.addPeer(id, [...addrs]);
    } catch (error) {
      this.log.warn({ peer: id, err: oneLineMessage(error) }, 'bad manager address');
    }
  }

  private onStoreEvent(event: StoreEvent): void {
    const nodes: readonly Node[] =
      event.kind === 'restore' ? event.nodes : event.kind === 'node' ? [event.object] : [];
    for (const node of nodes) {
      if (node.Spec.Role === 'manager' || node.Role === 'manager') {
        void this.learnAddress(node.ID, node.P2PAddrs);
      }
    }
    this.roles.reconcile();
  }

  private onConfChange(
    change: { type: string; nodeId: string },
    context: Uint8Array | undefined,
  ): void {
    if (change.type === 'removeNode') {
      if (change.nodeId !== this.options.nodeId) this.transport.removePeer(change.nodeId);
      return;
    }
    if (context?.length) void this.learnAddress(change.nodeId, [new TextDecoder().decode(context)]);
  }

  private onSoftState(state: SoftState): void {
    if (state.role === 'leader') {
      this.log.info({ term: this.driver.status().term }, 'this manager is now the leader');
      this.catchUpAsLeader();
    } else {
      const wasReady = this.leadership.readyTerm !== -1;
      this.leadership.readyTerm = -1;
      this.dispatcher.closeAll('no longer the leader');
      this.statusBatcher.stop();
      if (wasReady) this.options.onLeadership?.(false);
    }
  }

  /**
   * A read barrier in the new term: once it passes, this leader's store holds everything
   * committed before it won, and its loops may act. Retried from leaderChores until it
   * passes or leadership is lost (a barrier can expire while a follower catches up).
   */
  private catchUpAsLeader(): void {
    const term = this.driver.status().term;
    if (this.catchingUp === term || this.leadership.readyTerm === term) return;
    this.catchingUp = term;
    this.driver
      .readBarrier()
      .then(() => {
        if (this.driver.status().term !== term || !this.consensus.isLeader()) return;
        this.leadership.readyTerm = term;
        this.orchestrator.onLeadership();
        this.options.onLeadership?.(true);
        this.leaderChores();
      })
      .catch((error: unknown) =>
        this.log.debug({ err: oneLineMessage(error) }, 'leader not caught up yet'),
      )
      .finally(() => {
        if (this.catchingUp === term) this.catchingUp = -1;
      });
  }

  /** The leader's periodic work: finish a bootstrap, move roles along. */
  private leaderChores(): void {
    if (this.stopped || !this.consensus.isLeader()) return;
    if (!this.isReadyLeader()) {
      this.catchUpAsLeader();
      return;
    }
    if (!this.store.getCluster() || !this.store.getNode(this.options.nodeId)) {
      void this.bootstrapObjects();
      return;
    }
    this.roles.reconcile();
  }

  /**
   * A new swarm's first leader creates the Cluster object (tokens) and its own Node. Done
   * here rather than in `init`, so an init interrupted by a crash completes on restart.
   */
  private async bootstrapObjects(): Promise<void> {
    if (this.bootstrapping) return;
    this.bootstrapping = true;
    try {
      const at = new Date().toISOString();
      if (!this.store.getCluster()) {
        const token = () =>
          formatJoinToken({
            networkKey: this.options.networkKey,
            roleSecret: newRoleSecret(randomBytes),
          });
        await this.consensus.propose({
          type: 'cluster.create',
          cluster: {
            ID: this.options.clusterId,
            CreatedAt: at,
            UpdatedAt: at,
            Spec: {
              Name: 'default',
              Labels: {},
              Raft: { SnapshotInterval: 10_000, ElectionTick: 10, HeartbeatTick: 1 },
              Dispatcher: { HeartbeatPeriod: 500_000_000 },
            },
            JoinTokens: { Worker: token(), Manager: token() },
          },
        });
      }
      if (!this.store.getNode(this.options.nodeId)) {
        const self = this.options.self();
        await this.consensus.propose({
          type: 'node.create',
          node: {
            ID: this.options.nodeId,
            CreatedAt: at,
            UpdatedAt: at,
            Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
            Description: self.description,
            Status: { State: 'ready', Addr: self.addr },
            Role: 'manager',
            P2PAddrs: self.p2pAddrs,
          },
        });
      }
    } catch (error) {
      this.log.warn({ err: oneLineMessage(error) }, 'swarm objects not created yet');
    } finally {
      this.bootstrapping = false;
    }
  }
}
