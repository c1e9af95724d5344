/**
 * A stand-in for Raft in unit tests of the manager's rules: each proposal is applied to a real
 * store at the next index, a turn of the event loop later (named so: it is not consensus, it
 * only orders commands).
 */
import type { Consensus } from '../../src/manager/consensus.js';
import type { Status } from '../../src/raft/types.js';
import { type ClusterStore, type Command, encodeCommand } from '../../src/state/index.js';

export function orderedConsensus(
  store: ClusterStore,
  options: { id?: string; status?: () => Status } = {},
): Consensus {
  let index = 0;
  return {
    id: options.id ?? 'm1',
    async propose<T>(command: Command): Promise<T> {
      // Like Raft, the command applies later than it is proposed.
      await new Promise((resolve) => setImmediate(resolve));
      const result = store.apply(encodeCommand(command), { index: ++index, term: 1 });
      if (!result.ok) throw Object.assign(new Error(result.message), { code: result.code });
      return result.object as T;
    },
    async changeMembership() {},
    transferLeadership() {},
    async readBarrier() {},
    isLeader: () => true,
    status: options.status ?? (() => ({}) as Status),
  };
}
