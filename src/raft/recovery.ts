/**
 * `--force-new-cluster`: turns a lone survivor's Raft data into a one-member cluster, for
 * when a quorum of managers is lost for good. Everything in this node's log is kept, not
 * only what its stored commit index covers: the commit index on disk may lag what this node
 * applied and acknowledged, and entries that never committed are harmless in a cluster of
 * one. Every other member is recorded as removed, so none of them can rejoin with stale state.
 */
import { confState, decodeConfChange, nextConfState } from './confchange.js';
import { commandOf, type StateMachine } from './driver.js';
import type { LevelStorage } from './level-storage.js';
import type { NodeId, Snapshot } from './types.js';

export async function forceNewCluster(
  storage: LevelStorage,
  scratch: StateMachine,
  selfId: NodeId,
): Promise<Snapshot> {
  const snapshot = storage.snapshot();
  const { hardState } = storage.initialState();
  if (snapshot.data.length > 0) scratch.restore(snapshot.data);
  let conf = snapshot.metadata.confState;
  const commit = Math.max(storage.lastIndex(), snapshot.metadata.index);
  if (commit > snapshot.metadata.index) {
    for (const entry of storage.entries(
      snapshot.metadata.index + 1,
      commit + 1,
      Number.MAX_SAFE_INTEGER,
    )) {
      if (entry.type === 'confChange') {
        conf = nextConfState(conf, decodeConfChange(entry.data));
        continue;
      }
      const command = commandOf(entry);
      if (command) {
        try {
          scratch.apply(command, entry);
        } catch {
          // refused commands changed nothing on any member
        }
      }
    }
  }
  const lastTerm = storage.term(storage.lastIndex());
  const term = Math.max(hardState.term, lastTerm) + 1;
  const index = commit + 1;
  const others = [...conf.voters, ...conf.learners].filter((id) => id !== selfId);
  const forced: Snapshot = {
    metadata: { index, term, confState: confState([selfId], [], [...conf.removed, ...others]) },
    data: scratch.snapshot(),
  };
  await storage.persist({
    snapshot: forced,
    entries: [],
    hardState: { term, vote: null, commit: index },
    sync: true,
  });
  return forced;
}
