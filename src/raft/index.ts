/**
 * The Raft module's front door: a pure consensus core (RaftNode), the storage interface it
 * reads through, an in-memory storage, and the data types. See docs/raft.md.
 */
export * from './confchange.js';
export type { RaftLogger, RaftOptions } from './config.js';
export * from './errors.js';
export { RaftNode } from './rawnode.js';
export {
  bootstrapSnapshot,
  EMPTY_HARD_STATE,
  type InitialState,
  MemoryStorage,
  type RaftStorageReader,
} from './storage.js';
export type * from './types.js';
