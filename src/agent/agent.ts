/**
 * The agent: one per machine. It keeps the node's identity, serves the control API on its
 * unix socket, and — once the node is in a swarm (init or join) — runs a ClusterNode. Init,
 * join and leave are serialized: one membership change of this node at a time.
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { rm, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { API_VERSION, dockerCluster, MIN_API_VERSION } from '../api/docker-compat.js';
import { NotInSwarmError, NotManagerError } from '../api/errors.js';
import { Router } from '../api/router.js';
import { type AgentControl, controlRoutes } from '../api/routes.js';
import type { SwarmInitBody, SwarmJoinBody } from '../api/schemas.js';
import { ApiServer } from '../api/server.js';
import type { ApiRequest, ApiResponse } from '../api/types.js';
import { InvalidArgumentError, oneLineMessage, SwarmtsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ControlApi } from '../manager/controlapi.js';
import type { Manager } from '../manager/manager.js';
import { SECRETS_KEY_BYTES } from '../manager/secret-seal.js';
import { joinResponse } from '../manager/wire.js';
import { firstValue, openChannel } from '../p2p/channel.js';
import { createHost, type Host } from '../p2p/host.js';
import { IDENTITY_FILE, type Identity, loadOrCreateIdentity } from '../p2p/identity.js';
import { hostPortOf } from '../p2p/multiaddrs.js';
import { JOIN_PROTOCOL } from '../p2p/protocols.js';
import { newNetworkKey, parseJoinToken } from '../p2p/tokens.js';
import { DockerRuntime } from '../runtime/index.js';
import type { ClusterStore } from '../state/index.js';
import type { NodeDescription } from '../state/types.js';
import { SWARMTS_VERSION } from '../version.js';
import { memoryNodeDir } from '../worker/task-files-dir.js';
import {
  DEFAULT_PORT,
  defaultAdvertiseIp,
  type HostPort,
  parseHostPort,
  tcpMultiaddr,
} from './addresses.js';
import { ClusterNode, p2pAddrs } from './cluster-node.js';
import { describeNode } from './description.js';
import { runOnLeader, serveForwardedRequests } from './forwarding.js';
import { renderMetrics } from './metrics.js';
import { type LogOptions, type ServiceLogEntry, serviceLogs } from './service-logs.js';
import {
  LEAVING_FILE,
  readSwarmState,
  removeSwarmState,
  type SwarmState,
  secretsKeyOf,
  writeSwarmState,
} from './swarm-state.js';

export interface AgentOptions {
  dataDir: string;
  /** host:port to listen on for other nodes. Default 0.0.0.0:4377. */
  listenAddr: string;
  advertiseAddr?: string;
  socketPath: string;
  dockerHost?: string;
  hostname?: string;
  logger: Logger;
  heartbeatIntervalMs?: number;
  tickMs?: number;
  /** How long `join` waits for the private-network handshake and the managers' answer. */
  joinTimeoutMs?: number;
}

const ALREADY_IN_SWARM =
  'This node is already part of a swarm. Use "swarmts leave" to leave this swarm and join another one.';

export class Agent implements AgentControl {
  private node: ClusterNode | undefined;
  private state: SwarmState | undefined;
  private description: NodeDescription | undefined;
  private readonly api: ApiServer;
  private readonly runtime: DockerRuntime;
  private serial: Promise<unknown> = Promise.resolve();
  private stateWrites: Promise<void> = Promise.resolve();
  private stateGeneration = 0;
  private log: Logger;

  private constructor(
    private readonly options: AgentOptions,
    private identity: Identity,
  ) {
    this.log = options.logger.child({ node: identity.nodeId });
    this.runtime = new DockerRuntime(options.dockerHost ? { dockerHost: options.dockerHost } : {});
    this.api = new ApiServer({
      socketPath: options.socketPath,
      router: new Router(controlRoutes(this)),
      forwardWrite: () => this.forwardWrite(),
      // Not bound to the node id: `leave` gives the node a new one.
      logger: options.logger.child({ component: 'api' }),
    });
  }

  static async start(options: AgentOptions): Promise<Agent> {
    const identity = await loadOrCreateIdentity(options.dataDir);
    const agent = new Agent(options, identity);
    await agent.boot();
    return agent;
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  private async boot(): Promise<void> {
    if (await exists(join(this.options.dataDir, LEAVING_FILE))) {
      await this.wipe('finishing a leave that was interrupted');
    }
    const state = await readSwarmState(this.options.dataDir);
    this.description = await describeNode(this.runtime, this.options.hostname, this.log);
    if (state) {
      const host = await this.createHost(state);
      const manager = await hasRaftData(this.options.dataDir);
      this.state = state;
      this.node = await this.startNode(host, state, { manager });
      this.log.info({ manager }, 'rejoined the swarm');
    } else {
      await this.clearLeftoverRaft();
    }
    await this.api.start();
    this.log.info({ socket: this.options.socketPath }, 'agent ready');
  }

  async stop(): Promise<void> {
    await this.api.stop();
    await this.node?.stop();
    this.node = undefined;
  }

  // ---- AgentControl ------------------------------------------------------------------

  version() {
    const os = platform();
    const machine = arch() === 'x64' ? 'amd64' : arch();
    const details = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      Os: os,
      Arch: machine,
      KernelVersion: release(),
      Experimental: 'false',
      BuildTime: '',
    };
    return {
      Platform: { Name: `swarmts ${SWARMTS_VERSION}` },
      Components: [{ Name: 'Engine', Version: SWARMTS_VERSION, Details: details }],
      Version: SWARMTS_VERSION,
      ...details,
      Experimental: false,
    };
  }

  swarmStatus(): string {
    if (!this.state) return 'inactive';
    return this.node?.manager ? 'active/manager' : 'active/worker';
  }

  async info() {
    const manager = this.node?.manager;
    const store = manager?.store;
    const nodes = store?.listNodes() ?? [];
    const cluster = store?.getCluster();
    const services = store?.listServices() ?? [];
    return {
      ID: this.identity.nodeId,
      Name: this.description?.Hostname,
      ServerVersion: SWARMTS_VERSION,
      OperatingSystem: `swarmts ${SWARMTS_VERSION} on ${platform()}`,
      OSType: 'linux',
      OSVersion: '',
      KernelVersion: release(),
      Architecture: this.description?.Platform.Architecture ?? arch(),
      NCPU: cpus().length,
      MemTotal: totalmem(),
      Containers: 0,
      Images: 0,
      Driver: '',
      LoggingDriver: '',
      CgroupDriver: '',
      DockerRootDir: this.options.dataDir,
      Plugins: { Volume: [], Network: ['overlay'], Authorization: null, Log: [] },
      Labels: [],
      ExperimentalBuild: false,
      Runtimes: {},
      SecurityOptions: [],
      Warnings: [],
      Swarm: {
        NodeID: this.state ? this.identity.nodeId : '',
        NodeAddr: this.state?.advertiseAddr ?? '',
        LocalNodeState: this.state ? 'active' : 'inactive',
        ControlAvailable: manager !== undefined,
        Error: '',
        RemoteManagers: (this.node?.knownManagers ?? []).map((m) => ({
          NodeID: m.id,
          Addr: hostPortOf(m.addrs) ?? '',
        })),
        ...(manager
          ? {
              Nodes: nodes.length,
              Managers: nodes.filter((n) => n.Role === 'manager').length,
              ...(cluster ? { Cluster: dockerCluster(cluster) } : {}),
              RaftLeader: manager.consensus.status().leader,
              Services: services.length,
            }
          : {}),
      },
    };
  }

  init(request: SwarmInitBody): Promise<string> {
    return this.serialize(async () => {
      if (this.state) {
        if (!request.ForceNewCluster) throw new SwarmtsError('unavailable', ALREADY_IN_SWARM);
        return this.forceNewCluster();
      }
      const listen = parseHostPort(
        request.ListenAddr ?? this.options.listenAddr,
        DEFAULT_PORT,
        'listen address',
      );
      const state: SwarmState = {
        version: 1,
        clusterId: randomId(),
        networkKey: Buffer.from(newNetworkKey(randomBytes)).toString('hex'),
        listenAddr: `${listen.host}:${listen.port}`,
        advertiseAddr: this.advertiseIp(request.AdvertiseAddr, listen),
        managers: [],
        raftMember: false,
        secretsKey: Buffer.from(randomBytes(SECRETS_KEY_BYTES)).toString('hex'),
      };
      await this.clearLeftoverRaft();
      const host = await this.createHost(state);
      state.managers = [{ id: this.identity.nodeId, addrs: p2pAddrs(host, state, this.nodeId) }];
      const node = await this.enterSwarm(host, state, { manager: true, bootstrap: true });
      const manager = node.manager;
      if (!manager) throw new SwarmtsError('internal', 'the manager did not start');
      await waitForStore(
        manager.store,
        (s) => s.getCluster() !== undefined && s.getNode(this.nodeId) !== undefined,
        15_000,
      );
      this.log.info({ clusterId: state.clusterId }, 'initialized a new swarm');
      return this.identity.nodeId;
    });
  }

  join(request: SwarmJoinBody): Promise<void> {
    return this.serialize(async () => {
      if (this.state) throw new SwarmtsError('unavailable', ALREADY_IN_SWARM);
      const token = parseJoinToken(request.JoinToken);
      const listen = parseHostPort(
        request.ListenAddr ?? this.options.listenAddr,
        DEFAULT_PORT,
        'listen address',
      );
      const remotes = await Promise.all(
        request.RemoteAddrs.map((r) => resolveHost(parseHostPort(r, DEFAULT_PORT, 'manager'))),
      );
      const state: SwarmState = {
        version: 1,
        clusterId: '',
        networkKey: Buffer.from(token.networkKey).toString('hex'),
        listenAddr: `${listen.host}:${listen.port}`,
        advertiseAddr: this.advertiseIp(request.AdvertiseAddr, listen),
        managers: [],
        raftMember: false,
      };
      const host = await this.createHost(state);
      try {
        const answer = await this.askToJoin(host, state, remotes, token.roleSecret);
        state.clusterId = answer.clusterId;
        state.managers = answer.managers;
        if (answer.secretsKey) state.secretsKey = Buffer.from(answer.secretsKey).toString('hex');
        await this.clearLeftoverRaft();
        const node = await this.enterSwarm(host, state, { manager: answer.role === 'manager' });
        this.log.info({ role: answer.role, clusterId: state.clusterId }, 'joined the swarm');
        if (answer.role === 'manager' && node.manager) {
          // Return once this manager has the swarm's state, so the next command works here.
          await waitForStore(node.manager.store, (s) => s.getCluster() !== undefined, 20_000);
        }
      } catch (error) {
        // enterSwarm cleans up after itself; before it, only the host exists.
        if (!this.node) await stopQuietly(host);
        throw error;
      }
    });
  }

  leave(force: boolean): Promise<void> {
    return this.serialize(async () => {
      const node = this.node;
      if (!node || !this.state) throw new NotInSwarmError();
      if (node.manager && !force) {
        const voters = node.manager.consensus.status().conf.voters;
        throw new SwarmtsError(
          'unavailable',
          voters.length <= 1
            ? 'You are attempting to leave the swarm on a node that is its last manager: the swarm and all its state would be lost. Use --force to do it anyway.'
            : `You are attempting to leave the swarm on a node that is participating as a manager (${voters.length} managers). Demote it first (swarmts node demote), or use --force to leave anyway: the swarm then counts it as an unreachable manager.`,
        );
      }
      await this.wipe('left the swarm');
    });
  }

  metrics(): string {
    return renderMetrics(this.node?.mesh.counters() ?? {});
  }

  serviceLogs(
    ref: string,
    options: LogOptions,
  ): (signal: AbortSignal) => AsyncIterable<ServiceLogEntry> {
    const services = this.controlApi().services;
    const node = this.node;
    const manager = node?.manager;
    if (!node || !manager) throw new NotManagerError();
    const service = services.find(ref);
    const tasks = manager.store.tasksOfService(service.ID);
    const deps = {
      host: node.host,
      store: manager.store,
      selfId: this.identity.nodeId,
      runtime: this.runtime,
    };
    return (signal) => serviceLogs(deps, tasks, options, signal);
  }

  controlApi(): ControlApi {
    if (!this.node) throw new NotInSwarmError();
    const manager = this.node.manager;
    if (!manager) throw new NotManagerError();
    return manager.controlApi;
  }

  // ---- internals ---------------------------------------------------------------------

  private forwardWrite(): ((request: ApiRequest) => Promise<ApiResponse>) | undefined {
    const node = this.node;
    if (!node) throw new NotInSwarmError();
    const manager = node.manager;
    if (!manager) throw new NotManagerError();
    if (manager.consensus.isLeader()) return undefined;
    const view = {
      isLeader: () => manager.consensus.isLeader(),
      leaderId: () => manager.consensus.status().leader,
      catchUp: () => manager.consensus.readBarrier(),
    };
    return (request) =>
      runOnLeader(node.host, view, request, (r) => this.api.handle(r, { forwarded: true }));
  }

  private async startNode(
    host: Host,
    state: SwarmState,
    role: { manager: boolean; bootstrap?: boolean; forceNewCluster?: boolean },
  ): Promise<ClusterNode> {
    const node = await ClusterNode.start({
      host,
      nodeId: this.identity.nodeId,
      dataDir: this.options.dataDir,
      state,
      description:
        this.description ?? (await describeNode(undefined, this.options.hostname, this.log)),
      manager: role.manager,
      bootstrap: role.bootstrap ?? false,
      forceNewCluster: role.forceNewCluster ?? false,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 500,
      ...(this.options.tickMs ? { tickMs: this.options.tickMs } : {}),
      onManagers: (managers) => {
        void this.updateState((current) => ({ ...current, managers })).catch((error: unknown) =>
          this.log.warn({ err: oneLineMessage(error) }, 'cannot save the managers list'),
        );
      },
      setRaftMember: (raftMember) => this.updateState((current) => ({ ...current, raftMember })),
      isRaftMember: () => this.state?.raftMember ?? state.raftMember,
      setSecretsKey: (key) =>
        this.updateState((current) => {
          const { secretsKey: _old, ...rest } = current;
          return key ? { ...rest, secretsKey: Buffer.from(key).toString('hex') } : rest;
        }),
      secretsKey: () => secretsKeyOf(this.state ?? state),
      onRemoved: () => {
        void this.serialize(() => this.wipe('removed from the swarm')).catch((error: unknown) =>
          this.log.error({ err: oneLineMessage(error) }, 'could not leave the swarm cleanly'),
        );
      },
      runtime: this.runtime,
      logger: this.log,
    });
    try {
      await serveForwardedRequests(
        host,
        (peer) => isRaftMember(node.manager, peer),
        (request) => this.api.handle(request, { forwarded: true }),
        this.log,
      );
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  private async forceNewCluster(): Promise<string> {
    const state = this.state;
    if (!state || !(await hasRaftData(this.options.dataDir))) {
      throw new InvalidArgumentError('--force-new-cluster needs a manager node of a swarm');
    }
    await this.node?.stop();
    const host = await this.createHost(state);
    this.node = await this.startNode(host, state, { manager: true, forceNewCluster: true });
    this.log.warn({}, 'forced a new cluster from this manager');
    return this.identity.nodeId;
  }

  /**
   * Leaves for good: stops, then forgets the swarm and this identity (a rejoin is new). A
   * marker file makes it atomic across a crash: a boot that finds it finishes the job.
   */
  private async wipe(reason: string): Promise<void> {
    const dataDir = this.options.dataDir;
    await writeFile(join(dataDir, LEAVING_FILE), `${reason}\n`);
    await this.node?.stop();
    this.node = undefined;
    this.state = undefined;
    this.stateGeneration++;
    await this.stateWrites;
    await removeSwarmState(dataDir);
    await rm(join(dataDir, 'raft'), { recursive: true, force: true });
    // Secrets and configs of this node's tasks (keyed by the identity about to go).
    await rm(memoryNodeDir(this.identity.nodeId), { recursive: true, force: true });
    await rm(join(dataDir, 'task-files'), { recursive: true, force: true });
    await rm(join(dataDir, IDENTITY_FILE), { force: true });
    this.identity = await loadOrCreateIdentity(dataDir);
    await rm(join(dataDir, LEAVING_FILE), { force: true });
    this.log = this.options.logger.child({ node: this.identity.nodeId });
    this.log.info({ reason }, 'this node is no longer in a swarm');
  }

  /**
   * Records the swarm and starts the node; if the node cannot start, the agent is left out
   * of the swarm as before (no half-joined state).
   */
  private async enterSwarm(
    host: Host,
    state: SwarmState,
    role: { manager: boolean; bootstrap?: boolean },
  ): Promise<ClusterNode> {
    await writeSwarmState(this.options.dataDir, state);
    this.state = state;
    try {
      this.node = await this.startNode(host, state, role);
      return this.node;
    } catch (error) {
      this.state = undefined;
      this.stateGeneration++;
      await this.stateWrites;
      await removeSwarmState(this.options.dataDir);
      await rm(join(this.options.dataDir, 'raft'), { recursive: true, force: true });
      await stopQuietly(host);
      throw error;
    }
  }

  /** Raft data without a swarm is what a crashed leave leaves: never reuse it. */
  private async clearLeftoverRaft(): Promise<void> {
    if (!(await hasRaftData(this.options.dataDir))) return;
    this.log.warn({}, 'removing Raft data left from an earlier swarm');
    await rm(join(this.options.dataDir, 'raft'), { recursive: true, force: true });
  }

  /** Every swarm.json change goes through here, one at a time; a leave voids those pending. */
  private updateState(change: (current: SwarmState) => SwarmState): Promise<void> {
    const generation = this.stateGeneration;
    const write = this.stateWrites.then(async () => {
      if (!this.state || generation !== this.stateGeneration) return;
      const next = change(this.state);
      await writeSwarmState(this.options.dataDir, next);
      this.state = next;
    });
    this.stateWrites = write.catch(() => {});
    return write;
  }

  private async askToJoin(
    host: Host,
    state: SwarmState,
    remotes: HostPort[],
    roleSecret: Uint8Array,
  ) {
    // Under 3 s in all: a wrong network key fails at the handshake's proof, at once; a
    // manager that does not answer is given up after this.
    const timeoutMs = this.options.joinTimeoutMs ?? 2500;
    const failures: string[] = [];
    const transient: string[] = [];
    for (const remote of remotes) {
      let channel: Awaited<ReturnType<typeof openChannel>>;
      try {
        channel = await openChannel(
          host,
          multiaddr(tcpMultiaddr(remote)),
          JOIN_PROTOCOL,
          AbortSignal.timeout(timeoutMs),
        );
      } catch (error) {
        failures.push(`${remote.host}:${remote.port}: ${oneLineMessage(error)}`);
        continue;
      }
      try {
        await channel.send({
          roleSecret,
          description: this.description,
          addr: state.advertiseAddr,
          p2pAddrs: p2pAddrs(host, state, this.nodeId),
        });
        const reply = joinResponse.safeParse(await firstValue(channel, 30_000));
        if (!reply.success) {
          transient.push('a manager sent an answer that is not a join answer');
        } else if (reply.data.ok) {
          return reply.data;
        } else if (!reply.data.retry) {
          throw new InvalidArgumentError(reply.data.message);
        } else {
          transient.push(reply.data.message);
        }
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw error;
        // This manager failed us mid-way; the next one may not.
        transient.push(oneLineMessage(error));
      } finally {
        await channel.close();
      }
    }
    this.log.warn({ failures, transient }, 'join failed');
    if (transient.length > 0) {
      throw new SwarmtsError(
        'unavailable',
        `the swarm cannot admit this node right now (${transient[0]}); try again in a few seconds`,
      );
    }
    throw new SwarmtsError('unavailable', 'invalid join token or unreachable manager');
  }

  private async createHost(state: SwarmState): Promise<Host> {
    const listen = parseHostPort(state.listenAddr, DEFAULT_PORT, 'listen address');
    try {
      return await createHost({
        privateKey: this.identity.privateKey,
        networkSecret: Buffer.from(state.networkKey, 'hex'),
        listen: [tcpMultiaddr(listen)],
        announce: [tcpMultiaddr({ host: state.advertiseAddr, port: listen.port })],
      });
    } catch (error) {
      throw new SwarmtsError(
        'unavailable',
        `cannot listen on ${state.listenAddr}: ${oneLineMessage(error)}`,
        { cause: error },
      );
    }
  }

  /** An IPv4 address: it goes into every node's multiaddrs as /ip4/... */
  private advertiseIp(requested: string | undefined, listen: HostPort): string {
    const text = requested ?? this.options.advertiseAddr;
    let ip: string;
    if (text) ip = parseHostPort(text, listen.port, 'advertise address').host;
    else if (listen.host !== '0.0.0.0' && listen.host !== '::') ip = listen.host;
    else ip = defaultAdvertiseIp();
    if (isIP(ip) !== 4) {
      throw new InvalidArgumentError(
        `advertise address ${text ?? ip}: use an IPv4 address or a network interface that has one`,
      );
    }
    return ip;
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => {});
    return run;
  }
}

/** Voters and learners (a manager that just joined) may forward writes to the leader. */
function isRaftMember(manager: Manager | undefined, peer: string): boolean {
  const conf = manager?.membership;
  return conf !== undefined && (conf.voters.includes(peer) || conf.learners.includes(peer));
}

async function hasRaftData(dataDir: string): Promise<boolean> {
  return exists(join(dataDir, 'raft'));
}

async function stopQuietly(host: Host): Promise<void> {
  try {
    await host.stop();
  } catch {
    // already failing; a host that does not stop cleanly changes nothing
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A manager named by hostname (e.g. a Compose service) is dialled at its address. */
async function resolveHost(target: HostPort): Promise<HostPort> {
  if (isIP(target.host)) return target;
  try {
    return { ...target, host: (await lookup(target.host, { family: 4 })).address };
  } catch (error) {
    throw new InvalidArgumentError(`cannot resolve ${target.host}: ${oneLineMessage(error)}`);
  }
}

/** A Docker-like 25-character lowercase id. */
function randomId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(25)].map((b) => alphabet[b % 36]).join('');
}

function waitForStore(
  store: ClusterStore,
  ready: (store: ClusterStore) => boolean,
  timeoutMs: number,
): Promise<void> {
  if (ready(store)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unwatch();
      reject(new SwarmtsError('unavailable', 'timed out waiting for the swarm state'));
    }, timeoutMs);
    const unwatch = store.watch(() => {
      if (!ready(store)) return;
      clearTimeout(timer);
      unwatch();
      resolve();
    });
  });
}
