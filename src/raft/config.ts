/**
 * Options of the Raft core: partial options from the caller, defaults and validation in one
 * place, producing the resolved config the core runs with.
 */
import { RaftConfigError } from './errors.js';
import type { RaftStorageReader } from './storage.js';
import type { NodeId } from './types.js';

/** Structured logger; pino's `logger.child({ node })` fits. */
export interface RaftLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RaftOptions {
  id: NodeId;
  storage: RaftStorageReader;
  /** Uniform in [0, 1); seeds the randomized election timeout. Inject a seeded source in tests. */
  random: () => number;
  /** Ticks without hearing from a leader before campaigning; randomized in [n, 2n). Default 10. */
  electionTicks?: number;
  /** Ticks between leader heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** Run a pre-vote round before a real election so a rejoining node cannot bump terms. Default true. */
  preVote?: boolean;
  /** Leader steps down without a quorum for an election timeout; followers honour a leader lease. Default true. */
  checkQuorum?: boolean;
  /** Byte budget of the entries in one append message. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Append messages in flight per follower in replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Byte budget of committedEntries in one Ready. Default 16 MiB. */
  maxCommittedSizePerReady?: number;
  /** Drop proposals on followers instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean;
  /** Refuse a voter change that leaves fewer reachable voters than a quorum. Default true. */
  checkConfChangeQuorum?: boolean;
  /** Last index the state machine has applied (e.g. its snapshot's); default firstIndex - 1. */
  applied?: number;
  logger?: RaftLogger;
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: RaftStorageReader;
  readonly random: () => number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxCommittedSizePerReady: number;
  readonly disableProposalForwarding: boolean;
  readonly checkConfChangeQuorum: boolean;
  readonly applied: number | undefined;
  readonly logger: RaftLogger;
}

const SILENT: RaftLogger = { debug() {}, info() {}, warn() {} };

export function resolveRaftOptions(options: RaftOptions): RaftConfig {
  const config: RaftConfig = {
    id: options.id,
    storage: options.storage,
    random: options.random,
    electionTicks: options.electionTicks ?? 10,
    heartbeatTicks: options.heartbeatTicks ?? 1,
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    maxSizePerMsg: options.maxSizePerMsg ?? 1024 * 1024,
    maxInflightMsgs: options.maxInflightMsgs ?? 256,
    maxCommittedSizePerReady: options.maxCommittedSizePerReady ?? 16 * 1024 * 1024,
    disableProposalForwarding: options.disableProposalForwarding ?? false,
    checkConfChangeQuorum: options.checkConfChangeQuorum ?? true,
    applied: options.applied,
    logger: options.logger ?? SILENT,
  };
  if (config.id.length === 0) throw new RaftConfigError('id must not be empty');
  positiveInteger('heartbeatTicks', config.heartbeatTicks);
  positiveInteger('electionTicks', config.electionTicks);
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new RaftConfigError('electionTicks must be greater than heartbeatTicks');
  }
  positiveInteger('maxSizePerMsg', config.maxSizePerMsg);
  positiveInteger('maxInflightMsgs', config.maxInflightMsgs);
  positiveInteger('maxCommittedSizePerReady', config.maxCommittedSizePerReady);
  if (config.applied !== undefined && !(Number.isInteger(config.applied) && config.applied >= 0)) {
    throw new RaftConfigError('applied must be a non-negative integer');
  }
  return config;
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RaftConfigError(`${name} must be a positive integer, got ${value}`);
  }
}
