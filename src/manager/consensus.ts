/**
 * What the manager's parts need of Raft, as one small interface: propose a store command and
 * get its object back (a refusal becomes a SwarmtsError with the refusal's code), change the
 * membership, and read the group's status. RaftDriver provides it; tests can fake it.
 */
import { SwarmtsError } from '../errors.js';
import type { RaftDriver } from '../raft/driver.js';
import type { ConfChangeType, NodeId, Status } from '../raft/types.js';
import { type Command, type CommandResult, encodeCommand } from '../state/index.js';

export interface Consensus {
  readonly id: NodeId;
  /** Replicates a store command; resolves with the object it wrote. */
  propose<T>(command: Command): Promise<T>;
  changeMembership(type: ConfChangeType, nodeId: NodeId, address?: string): Promise<void>;
  transferLeadership(to: NodeId): void;
  /** Resolves once this manager has applied every write acknowledged before the call. */
  readBarrier(): Promise<void>;
  status(): Status;
  isLeader(): boolean;
}

export function raftConsensus(driver: RaftDriver): Consensus {
  return {
    id: driver.id,
    async propose<T>(command: Command): Promise<T> {
      const result = (await driver.propose(encodeCommand(command))) as CommandResult<T>;
      if (!result.ok) throw new SwarmtsError(result.code, result.message);
      return result.object as T;
    },
    async changeMembership(type, nodeId, address) {
      const context = address === undefined ? undefined : new TextEncoder().encode(address);
      await driver.proposeConfChange({ type, nodeId }, context);
    },
    transferLeadership: (to) => driver.transferLeadership(to),
    readBarrier: () => driver.readBarrier(),
    status: () => driver.status(),
    isLeader: () => driver.status().role === 'leader',
  };
}
