/**
 * The state module's front door: the replicated cluster store (a Raft StateMachine), its
 * commands and their codec, the objects it holds, and watching it. See DESIGN.md §4.
 */

export { decodeCommand, encodeCommand } from './codec.js';
export type * from './commands.js';
export { mapReferences, type ReferenceMap } from './service-refs.js';
export {
  type NewService,
  type NewTask,
  SERVICE_NAME,
  type ServiceSpecInput,
  serviceSpec,
  serviceSpecInput,
} from './service-schema.js';
export type * from './service-types.js';
export { clipTaskText, isTerminal, TASK_STATES, taskStateRank } from './service-types.js';
export {
  AmbiguousNodeRefError,
  type AppliedObject,
  ClusterStore,
  type ClusterStoreOptions,
  NodeNotFoundError,
  type StoreEvent,
  type StoreListener,
  type StoreView,
} from './store.js';
export type * from './types.js';
export { WatcherOverflowError } from './watch.js';
