/**
 * The cluster operations behind the control API's swarm and node endpoints. Reads come from
 * this manager's applied store; writes run on the leader (the API server forwards them) and
 * are proposed through Raft, where the store checks versions. Rules that need the whole
 * picture — the last manager, quorum, live nodes — are checked here, before proposing.
 */

import { InvalidArgumentError, SwarmtsError } from '../errors.js';
import { hostPortOf } from '../p2p/multiaddrs.js';
import {
  formatJoinToken,
  newRoleSecret,
  parseJoinToken,
  type RandomBytes,
  sameSecret,
} from '../p2p/tokens.js';
import type {
  Cluster,
  ClusterSpec,
  ClusterStore,
  JoinTokens,
  Node,
  NodeRole,
  NodeSpec,
} from '../state/index.js';
import type { Consensus } from './consensus.js';
import { anyValue, labelMatches } from './filters.js';
import { ObjectApi } from './objectapi.js';
import type { SecretSeal } from './secret-seal.js';
import { ServiceApi } from './serviceapi.js';

export interface ControlApiDeps {
  store: ClusterStore;
  consensus: Consensus;
  now: () => Date;
  randomBytes: RandomBytes;
  seal: SecretSeal;
}

export interface NodeFilters {
  id?: string[];
  name?: string[];
  role?: string[];
  /** `key` or `key=value` on Spec.Labels. */
  label?: string[];
  membership?: string[];
}

export class ControlApi {
  private queue: Promise<unknown> = Promise.resolve();
  /** `/services` and `/tasks`. */
  readonly services: ServiceApi;
  /** `/secrets`, `/configs` and `/networks`. */
  readonly objects: ObjectApi;

  constructor(private readonly deps: ControlApiDeps) {
    this.services = new ServiceApi(deps);
    this.objects = new ObjectApi(deps);
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  cluster(): Cluster {
    const cluster = this.deps.store.getCluster();
    if (!cluster) throw new SwarmtsError('unavailable', 'the swarm is still being initialized');
    return cluster;
  }

  listNodes(filters: NodeFilters = {}): Node[] {
    return this.deps.store
      .listNodes()
      .filter((node) => matchesFilters(node, filters))
      .map((node) => this.withManagerStatus(node));
  }

  inspectNode(ref: string): Node {
    return this.withManagerStatus(this.deps.store.findNode(ref));
  }

  /** A user's `node update` (also promote and demote): the whole spec, at a known version. */
  async updateNode(ref: string, version: number, spec: NodeSpec): Promise<void> {
    // One at a time: two demotions checked side by side could each leave the other manager
    // as "the remaining one" and together remove both.
    return this.oneAtATime(() => this.applyNodeUpdate(ref, version, spec));
  }

  private async applyNodeUpdate(ref: string, version: number, spec: NodeSpec): Promise<void> {
    // The rules below read the store: make it current first (a new leader's may lag).
    await this.deps.consensus.readBarrier();
    const node = this.deps.store.findNode(ref);
    if (node.Spec.Role === 'manager' && spec.Role === 'worker') this.checkDemotion(node);
    if (node.Spec.Role === 'worker' && spec.Role === 'manager') this.checkPromotion(node);
    await this.deps.consensus.propose({
      type: 'node.updateSpec',
      id: node.ID,
      version,
      spec,
      at: this.now(),
    });
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    return this.oneAtATime(() => this.applyNodeRemoval(ref, force));
  }

  private async applyNodeRemoval(ref: string, force: boolean): Promise<void> {
    await this.deps.consensus.readBarrier();
    const node = this.deps.store.findNode(ref);
    const conf = this.deps.consensus.status().conf;
    const inRaft = conf.voters.includes(node.ID) || conf.learners.includes(node.ID);
    if (node.Spec.Role === 'manager' || node.Role === 'manager' || inRaft) {
      throw new SwarmtsError(
        'invalid_argument',
        `node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
      );
    }
    if (!force && node.Status.State !== 'down') {
      throw new SwarmtsError(
        'invalid_argument',
        `node ${node.ID} is not down and can't be removed (use --force to remove it anyway)`,
      );
    }
    await this.deps.consensus.propose({ type: 'node.remove', id: node.ID });
  }

  /** `swarm update`: labels and the tunable parts of the spec, and token rotation. */
  async updateCluster(
    version: number,
    spec: ClusterSpec | undefined,
    rotate: { worker: boolean; manager: boolean },
  ): Promise<void> {
    const cluster = this.cluster();
    let joinTokens: JoinTokens | undefined;
    if (rotate.worker || rotate.manager) {
      const { networkKey } = parseJoinToken(cluster.JoinTokens.Worker);
      const fresh = () =>
        formatJoinToken({ networkKey, roleSecret: newRoleSecret(this.deps.randomBytes) });
      joinTokens = {
        Worker: rotate.worker ? fresh() : cluster.JoinTokens.Worker,
        Manager: rotate.manager ? fresh() : cluster.JoinTokens.Manager,
      };
    }
    await this.deps.consensus.propose({
      type: 'cluster.update',
      version,
      ...(spec ? { spec } : {}),
      ...(joinTokens ? { joinTokens } : {}),
      at: this.now(),
    });
  }

  /** The role a join token's secret grants, or undefined when it matches neither. */
  roleForSecret(roleSecret: Uint8Array): NodeRole | undefined {
    const tokens = this.cluster().JoinTokens;
    if (sameSecret(parseJoinToken(tokens.Manager).roleSecret, roleSecret)) return 'manager';
    if (sameSecret(parseJoinToken(tokens.Worker).roleSecret, roleSecret)) return 'worker';
    return undefined;
  }

  /**
   * Refuses a demotion that would leave no manager, or whose removal from the Raft group
   * would leave fewer reachable voters than a quorum of the remaining ones.
   */
  private checkDemotion(node: Node): void {
    const managers = this.deps.store.listNodes().filter((n) => n.Spec.Role === 'manager');
    if (managers.length <= 1) {
      throw new InvalidArgumentError(
        `attempting to demote the last manager of the swarm (${node.Description.Hostname})`,
      );
    }
    const voters = this.deps.consensus.status().conf.voters;
    if (!voters.includes(node.ID)) return;
    const remaining = voters.filter((id) => id !== node.ID);
    const reachable = remaining.filter((id) => this.reachable(id)).length;
    const quorum = Math.floor(remaining.length / 2) + 1;
    if (reachable < quorum) {
      throw new InvalidArgumentError(
        `can't demote ${node.Description.Hostname}: this would result in a loss of quorum (${reachable} of the ${remaining.length} remaining managers are reachable, ${quorum} are needed)`,
      );
    }
  }

  /** Raft ids are never reused: a node once removed from the group cannot re-enter it. */
  private checkPromotion(node: Node): void {
    if (this.deps.consensus.status().conf.removed.includes(node.ID)) {
      throw new InvalidArgumentError(
        `${node.Description.Hostname} was a manager before and left the raft group, which never readmits an id: to make it a manager again, run "swarmts leave" on it, join it again (it gets a new id), then promote it`,
      );
    }
  }

  private reachable(id: string): boolean {
    if (id === this.deps.consensus.id) return true;
    return this.deps.store.getNode(id)?.Status.State === 'ready';
  }

  private withManagerStatus(node: Node): Node {
    const status = this.deps.consensus.status();
    const isMember = status.conf.voters.includes(node.ID);
    if (!isMember && node.Role !== 'manager') return node;
    return {
      ...node,
      ManagerStatus: {
        ...(status.leader === node.ID ? { Leader: true } : {}),
        Reachability: this.reachable(node.ID) ? 'reachable' : 'unreachable',
        Addr: managerAddr(node),
      },
    };
  }

  private now(): string {
    return this.deps.now().toISOString();
  }
}

/** host:port a manager listens on. */
function managerAddr(node: Node): string {
  return hostPortOf(node.P2PAddrs) ?? node.Status.Addr;
}

function matchesFilters(node: Node, filters: NodeFilters): boolean {
  return (
    anyValue(filters.id, (v) => node.ID.startsWith(v)) &&
    anyValue(filters.name, (v) => node.Description.Hostname === v || node.Spec.Name === v) &&
    anyValue(filters.role, (v) => node.Spec.Role === v) &&
    anyValue(filters.membership, (v) => v === 'accepted') &&
    anyValue(filters.label, (v) => labelMatches(node.Spec.Labels, v))
  );
}
