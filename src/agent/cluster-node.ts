/**
 * A node in a swarm: its libp2p host in the private network, its heartbeats, its session
 * with the leader, and — when it is a manager — its Manager. The node's own Node object, as
 * the leader sends it over the session, decides whether the Manager runs (never the local
 * store: while a manager catches up, its store replays old states of the node):
 * asked to be a manager → start Raft (it is then added as a learner and promoted); demoted
 * and out of the Raft group → stop Raft and delete its data.
 */
import { mkdir, stat } from 'node:fs/promises';
import { freemem, loadavg } from 'node:os';
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { oneLineMessage } from '../errors.js';
import { IngressMesh, type MeshTable } from '../ingress/index.js';
import type { Logger } from '../log.js';
import { meshTable } from '../manager/endpoints.js';
import { managerAddresses } from '../manager/join.js';
import type { Manager } from '../manager/manager.js';
import { filesForTasks } from '../manager/task-files.js';
import type { ManagerAddress, SessionHello, SessionNode } from '../manager/wire.js';
import { HeartbeatPublisher, listenForHeartbeats } from '../p2p/heartbeat.js';
import type { Host } from '../p2p/host.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { NodeDescription } from '../state/types.js';
import { defaultTaskFilesDir, Executor, type TaskStatusReport } from '../worker/index.js';
import { serveTaskLogs } from '../worker/logs.js';
import { SessionClient } from './session.js';
import type { SwarmState } from './swarm-state.js';

export interface ClusterNodeOptions {
  host: Host;
  nodeId: string;
  dataDir: string;
  state: SwarmState;
  description: NodeDescription;
  /** Run a Manager from the start (init, a manager's join or restart). */
  manager: boolean;
  bootstrap?: boolean;
  forceNewCluster?: boolean;
  heartbeatIntervalMs: number;
  tickMs?: number;
  electionTicks?: number;
  /** The managers' list changed: persist it. */
  onManagers: (managers: ManagerAddress[]) => void;
  /** Persist whether this node is in the Raft group (before Raft starts, after it leaves). */
  setRaftMember: (member: boolean) => Promise<void>;
  /** Managers keep the swarm's secrets key in swarm.json; undefined removes it. */
  setSecretsKey: (key: Uint8Array | undefined) => Promise<void>;
  /** The secrets key to start a manager with. */
  secretsKey: () => Uint8Array;
  /** What swarm.json says now about it. */
  isRaftMember: () => boolean;
  /** The swarm removed this node. */
  onRemoved: () => void;
  /** The local engine; without one the node runs no tasks (tests of the control plane). */
  runtime?: ContainerRuntime;
  logger: Logger;
}

export class ClusterNode {
  manager: Manager | undefined;
  private readonly publisher: HeartbeatPublisher;
  private readonly session: SessionClient;
  private stopListening: (() => void) | undefined;
  private keeper: NodeJS.Timeout | undefined;
  private managers: ManagerAddress[];
  private roleChange: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly log: Logger;
  private executor: Executor | undefined;
  /** The routing mesh: every published port of the swarm, on this node's address. */
  readonly mesh: IngressMesh;
  private nextMesh: MeshTable | undefined;
  /** While this node leads, its own assignments come from its store, not a session. */
  private localFeed: { unwatch: () => void; scheduled: boolean } | undefined;

  private constructor(readonly options: ClusterNodeOptions) {
    this.log = options.logger;
    this.managers = options.state.managers;
    this.publisher = new HeartbeatPublisher({
      host: options.host,
      nodeId: options.nodeId,
      intervalMs: options.heartbeatIntervalMs,
      firstSeq: Date.now(),
      describe: () => ({
        resources: {
          nanoCpus: options.description.Resources.NanoCPUs,
          memoryBytes: options.description.Resources.MemoryBytes,
        },
        load: { load1: loadavg()[0] ?? 0, memoryFreeBytes: freemem() },
        tasks: {},
      }),
      onPublish: (heartbeat) => this.manager?.heartbeat(heartbeat.node, heartbeat.seq),
      logger: this.log,
    });
    this.session = new SessionClient({
      host: options.host,
      selfId: options.nodeId,
      hello: () => this.hello(),
      managers: () => this.candidateManagers(),
      onNode: (node, secretsKey) => this.onOwnNode(node, secretsKey),
      onManagers: (managers) => this.setManagers(managers),
      onRemoved: () => setImmediate(() => options.onRemoved()),
      leadsItself: () => this.manager?.consensus.isLeader() ?? false,
      onAssignments: (tasks, files) => {
        if (!this.localFeed) this.executor?.setAssignments(tasks, files);
      },
      onSession: () => this.report(this.executor?.statuses() ?? []),
      onMesh: (table) => {
        if (!this.localFeed) this.applyMesh(table);
      },
      logger: this.log,
    });
    this.mesh = new IngressMesh({
      listenAddress: options.state.advertiseAddr,
      selfNodeId: options.nodeId,
      // Long enough for one SYN retransmit (1 s): a busy backend is slow, not gone; a node
      // that is gone leaves the table once the detector calls it Down.
      connectTimeoutMs: 2500,
      logger: this.log,
    });
    if (options.runtime) {
      this.executor = new Executor({
        runtime: options.runtime,
        nodeId: options.nodeId,
        report: (reports) => this.report(reports),
        now: () => new Date(),
        drainMs: 500,
        // Secrets and configs of the running tasks, bind-mounted read-only into them.
        filesDir: defaultTaskFilesDir(options.nodeId, options.dataDir, this.log),
        logger: this.log,
      });
    }
  }

  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    await node.run();
    return node;
  }

  get host(): Host {
    return this.options.host;
  }

  get knownManagers(): readonly ManagerAddress[] {
    return this.managers;
  }

  private async run(): Promise<void> {
    for (const m of this.managers) await this.remember(m);
    await this.executor?.start();
    if (this.options.runtime) {
      await serveTaskLogs(this.options.host, this.options.runtime, this.log, (peer) =>
        this.candidateManagers().some((m) => m.id === peer),
      );
    }
    if (this.options.manager) {
      await this.startManager(this.options.bootstrap ?? false, this.options.forceNewCluster);
    }
    this.stopListening = listenForHeartbeats(
      this.options.host,
      (heartbeat) => this.manager?.heartbeat(heartbeat.node, heartbeat.seq),
      this.log,
    );
    this.publisher.start();
    this.session.start();
    this.keepConnected();
    this.keeper = setInterval(() => this.keepConnected(), 1000);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.keeper);
    this.publisher.stop();
    this.stopListening?.();
    this.setLocalFeed(false);
    try {
      await this.session.stop();
      await this.roleChange;
      await this.manager?.stop();
      // Containers keep running: a restarted agent adopts them.
      await this.executor?.stop();
      await this.mesh.close();
    } finally {
      await this.options.host.stop();
    }
  }

  private hello(): SessionHello {
    return {
      t: 'hello',
      description: this.options.description,
      addr: this.options.state.advertiseAddr,
      p2pAddrs: p2pAddrs(this.options.host, this.options.state, this.options.nodeId),
    };
  }

  private async startManager(bootstrap: boolean, forceNewCluster = false): Promise<void> {
    const raftDir = join(this.options.dataDir, 'raft');
    const hasLog = await stat(raftDir).then(
      () => true,
      () => false,
    );
    if (!hasLog && this.options.isRaftMember()) {
      this.log.error(
        { raftDir },
        'this node is a manager but its Raft data is gone; it will not rejoin the Raft group with an empty log. Demote it from another manager (swarmts node demote), then make it leave and join again',
      );
      return;
    }
    // The directory first: a crash between the two leaves "member with a (still empty) log",
    // which is true, rather than "member whose log is gone".
    await mkdir(raftDir, { recursive: true });
    await this.options.setRaftMember(true);
    // Loaded on demand: a worker never pays for Raft, LevelDB and the store in memory.
    const { Manager } = await import('../manager/manager.js');
    const manager = await Manager.start({
      host: this.options.host,
      nodeId: this.options.nodeId,
      dataDir: this.options.dataDir,
      clusterId: this.options.state.clusterId,
      networkKey: Buffer.from(this.options.state.networkKey, 'hex'),
      secretsKey: this.options.secretsKey(),
      bootstrap,
      forceNewCluster,
      seedManagers: this.managers,
      self: () => {
        const hello = this.hello();
        return { description: hello.description, addr: hello.addr, p2pAddrs: hello.p2pAddrs };
      },
      logger: this.log,
      ...(this.options.tickMs ? { tickMs: this.options.tickMs } : {}),
      ...(this.options.electionTicks ? { electionTicks: this.options.electionTicks } : {}),
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      onLeadership: (leading) => this.setLocalFeed(leading),
    });
    this.manager = manager;
    // Leadership may have come before `this.manager` was set: onLeadership found no manager.
    if (manager.leading) this.setLocalFeed(true);
    this.log.info({ bootstrap }, 'manager started');
  }

  private onOwnNode(
    node: Pick<SessionNode, 'Role'> & { Spec: Pick<SessionNode['Spec'], 'Role'> },
    secretsKey: Uint8Array | undefined,
  ): void {
    this.roleChange = this.roleChange.then(async () => {
      if (this.stopped) return;
      try {
        if (node.Spec.Role === 'manager' && secretsKey) {
          await this.options.setSecretsKey(secretsKey);
        }
        if (node.Spec.Role === 'manager' && !this.manager) {
          await this.startManager(false);
        } else if (node.Spec.Role === 'worker' && node.Role === 'worker' && this.manager) {
          // Role is what the leader records once the removal from the Raft group has
          // committed; this node may never see that commit itself, so it trusts the record.
          const manager = this.manager;
          this.manager = undefined;
          this.setLocalFeed(false);
          await manager.destroy();
          await this.options.setRaftMember(false);
          // A worker keeps no key to the swarm's secrets.
          await this.options.setSecretsKey(undefined);
          this.log.info({}, 'demoted: this node left the raft group and is a worker now');
        }
      } catch (error) {
        this.log.error({ err: oneLineMessage(error) }, 'role change failed');
      }
    });
  }

  /** Applies a mesh table; the mesh never throws for a port, but an update must not either. */
  private applyMesh(table: MeshTable): void {
    if (this.stopped) return;
    // One update at a time, and only the newest table matters.
    const idle = this.nextMesh === undefined;
    this.nextMesh = table;
    if (!idle) return;
    void (async () => {
      while (this.nextMesh && !this.stopped) {
        const next = this.nextMesh;
        try {
          await this.mesh.update(next);
        } catch (error) {
          this.log.warn({ err: oneLineMessage(error) }, 'mesh update failed');
        }
        if (this.nextMesh === next) this.nextMesh = undefined;
      }
    })();
  }

  /** Task status goes to the leader: straight into its batcher when that is this node. */
  private report(reports: TaskStatusReport[]): void {
    if (reports.length === 0) return;
    if (this.localFeed && this.manager)
      this.manager.statusBatcher.add(this.options.nodeId, reports);
    else this.session.sendStatus(reports);
  }

  /**
   * Leading: this node has no session with itself, so it reads its assignments from its own
   * store (after every change that touches its tasks) and reports into its own batcher.
   */
  private setLocalFeed(leading: boolean): void {
    if (!leading) {
      this.localFeed?.unwatch();
      this.localFeed = undefined;
      return;
    }
    const manager = this.manager;
    if (!manager || this.localFeed || !this.executor) return;
    const self = this.options.nodeId;
    const feed = { unwatch: () => {}, scheduled: false, meshScheduled: false };
    const pushMesh = () => {
      if (feed.meshScheduled) return;
      feed.meshScheduled = true;
      setImmediate(() => {
        feed.meshScheduled = false;
        if (this.localFeed === feed) this.applyMesh(meshTable(manager.store));
      });
    };
    const push = () => {
      if (feed.scheduled) return;
      feed.scheduled = true;
      setImmediate(() => {
        feed.scheduled = false;
        const tasks = manager.store.tasksOfNode(self);
        this.log.debug(
          { tasks: tasks.length, current: this.localFeed === feed },
          'local assignments',
        );
        if (this.localFeed === feed) {
          const files = filesForTasks(tasks, manager.store, manager.seal);
          this.executor?.setAssignments(tasks, new Map(files.map((f) => [f.key, f.data])));
        }
      });
    };
    feed.unwatch = manager.store.watch((event) => {
      if (event.kind !== 'cluster') pushMesh();
      if (event.kind === 'restore') push();
      else if (event.kind === 'task') {
        const previous = event.action === 'update' ? event.previous.NodeID : '';
        if (event.object.NodeID === self || previous === self) push();
      }
    });
    this.localFeed = feed;
    push();
    pushMesh();
    this.report(this.executor.statuses());
  }

  /** Whom to ask for a session: the managers we were told of, and those our store knows. */
  private candidateManagers(): ManagerAddress[] {
    const fromStore = this.manager ? managerAddresses(this.manager.store.listNodes()) : [];
    return [...this.managers, ...fromStore];
  }

  private setManagers(managers: ManagerAddress[]): void {
    if (JSON.stringify(managers) === JSON.stringify(this.managers)) return;
    this.managers = managers;
    for (const m of managers) void this.remember(m);
    this.options.onManagers(managers);
  }

  private async remember(manager: ManagerAddress): Promise<void> {
    if (manager.id === this.options.nodeId) return;
    try {
      await this.options.host.peerStore.merge(peerIdFromString(manager.id), {
        multiaddrs: manager.addrs.map((a) => multiaddr(a)),
      });
    } catch (error) {
      this.log.warn({ peer: manager.id, err: oneLineMessage(error) }, 'bad manager address');
    }
  }

  /**
   * Every agent stays connected to every manager, so its heartbeats reach each manager's
   * failure detector directly: a new leader then already knows who is alive.
   */
  private keepConnected(): void {
    if (this.stopped) return;
    for (const m of this.managers) {
      if (m.id === this.options.nodeId) continue;
      try {
        const peer = peerIdFromString(m.id);
        if (this.options.host.getConnections(peer).length > 0) continue;
        this.options.host
          .dial(peer, { signal: AbortSignal.timeout(2000) })
          .catch((error: unknown) =>
            this.log.debug({ peer: m.id, err: oneLineMessage(error) }, 'manager not reachable'),
          );
      } catch (error) {
        this.log.warn({ peer: m.id, err: oneLineMessage(error) }, 'bad manager id');
      }
    }
  }
}

/** The multiaddrs others should dial: the advertise address on the port we listen on. */
export function p2pAddrs(host: Host, state: SwarmState, nodeId: string): string[] {
  const port = state.listenAddr.split(':').pop();
  return [`/ip4/${state.advertiseAddr}/tcp/${port}/p2p/${nodeId}`].concat(
    host
      .getMultiaddrs()
      .map(String)
      .filter((a) => a.startsWith(`/ip4/${state.advertiseAddr}/`) && !a.includes('/p2p/')),
  );
}
