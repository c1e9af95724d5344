/**
 * The leader's role manager: makes the Raft group follow the nodes' Spec.Role, one
 * single-server change at a time, and records in Node.Role what each node now is.
 *
 *   wants manager, Role still worker  → Role = manager (before it enters the group)
 *   wants manager, not in the group   → add as learner (it catches up without voting)
 *   learner that has caught up        → promote to voter
 *   wants worker, still in the group  → remove it (the leader hands leadership away first)
 *   out of the group, Role = manager  → Role = worker (its agent then stops its Raft node)
 *
 * So Role = worker means "not in the Raft group, and the removal has committed".
 *
 * The control API refuses demotions that would lose quorum before they reach Spec.Role; the
 * Raft core refuses any change that would anyway.
 */
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { ConfChangeType } from '../raft/types.js';
import type { ClusterStore, Node } from '../state/index.js';
import type { Consensus } from './consensus.js';

/** A learner within this many entries of the leader's last index may vote. */
const CAUGHT_UP_ENTRIES = 64;

export interface RoleManagerDeps {
  store: ClusterStore;
  consensus: Consensus;
  now: () => Date;
  logger: Logger;
}

export type RoleAction =
  | { kind: 'conf'; type: ConfChangeType; node: Node }
  | { kind: 'setRole'; node: Node; role: 'worker' | 'manager' }
  | { kind: 'transfer'; to: string };

/** Pure: the next step towards the wanted roles, or undefined when there is nothing to do. */
export function nextRoleAction(
  nodes: readonly Node[],
  status: ReturnType<Consensus['status']>,
  isReachable: (id: string) => boolean,
): RoleAction | undefined {
  const { voters, learners } = status.conf;
  const last = status.lastIndex;
  for (const node of nodes) {
    const voter = voters.includes(node.ID);
    const learner = learners.includes(node.ID);
    if (node.Spec.Role === 'manager') {
      // Removed ids never come back (force-new-cluster records the lost members so); such a
      // node stays a manager on paper until someone demotes it.
      if (status.conf.removed.includes(node.ID)) continue;
      // Role says manager before the node enters the Raft group, and stays so until it has
      // left it: Role=worker always means "out of the group, and the removal committed" —
      // the only state in which its agent may drop its log.
      if (node.Role !== 'manager') return { kind: 'setRole', node, role: 'manager' };
      if (!voter && !learner) return { kind: 'conf', type: 'addLearner', node };
      const progress = status.progress?.[node.ID];
      const caughtUp =
        progress !== undefined &&
        progress.state === 'replicate' &&
        progress.match > 0 &&
        last - progress.match <= CAUGHT_UP_ENTRIES;
      if (learner && caughtUp) return { kind: 'conf', type: 'promoteLearner', node };
    } else {
      if (voter || learner) {
        if (node.ID === status.id) {
          const to = voters.find((id) => id !== status.id && isReachable(id));
          if (to) return { kind: 'transfer', to };
          continue;
        }
        return { kind: 'conf', type: 'removeNode', node };
      }
      if (node.Role === 'manager') return { kind: 'setRole', node, role: 'worker' };
    }
  }
  return undefined;
}

export class RoleManager {
  private busy = false;
  private readonly log: Logger;

  constructor(private readonly deps: RoleManagerDeps) {
    this.log = deps.logger.child({ component: 'roles' });
  }

  /** One step, if one is due and none is in flight. Called on store changes and on a timer. */
  reconcile(): void {
    if (this.busy || !this.deps.consensus.isLeader()) return;
    const action = nextRoleAction(
      this.deps.store.listNodes(),
      this.deps.consensus.status(),
      (id) => this.deps.store.getNode(id)?.Status.State === 'ready',
    );
    if (!action) return;
    if (action.kind === 'transfer') {
      this.log.info({ to: action.to }, 'handing leadership over before leaving the raft group');
      this.deps.consensus.transferLeadership(action.to);
      return;
    }
    this.busy = true;
    this.run(action)
      .catch((error: unknown) =>
        this.log.warn(
          { err: oneLineMessage(error), action: describe(action) },
          'role change failed',
        ),
      )
      .finally(() => {
        this.busy = false;
      });
  }

  private async run(action: Exclude<RoleAction, { kind: 'transfer' }>): Promise<void> {
    this.log.info({ action: describe(action) }, 'changing roles');
    if (action.kind === 'conf') {
      await this.deps.consensus.changeMembership(
        action.type,
        action.node.ID,
        action.type === 'addLearner' ? action.node.P2PAddrs[0] : undefined,
      );
    } else {
      await this.deps.consensus.propose({
        type: 'node.setRole',
        id: action.node.ID,
        role: action.role,
        at: this.deps.now().toISOString(),
      });
    }
  }
}

function describe(action: RoleAction): string {
  if (action.kind === 'transfer') return `transfer leadership to ${action.to}`;
  if (action.kind === 'conf') return `${action.type} ${action.node.Description.Hostname}`;
  return `${action.node.Description.Hostname} is now a ${action.role}`;
}
