/**
 * Errors across the control API: a SwarmtsError's code becomes an HTTP status on the way out
 * and comes back as the same code in the client, so the CLI handles both ends alike. The body
 * is Docker's `{"message": "..."}`.
 */
import { type ErrorCode, oneLineMessage, SwarmtsError } from '../errors.js';
import { NotLeaderError } from '../raft/driver.js';
import { RaftError } from '../raft/errors.js';
import { DecodeError } from '../wire/codec.js';
import type { ApiResponse } from './types.js';

const STATUS_OF_CODE: Record<ErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  engine_unreachable: 503,
  engine_error: 500,
  internal: 500,
};

export function errorResponse(error: unknown): ApiResponse {
  return { status: statusOf(error), body: { message: oneLineMessage(error) } };
}

export function statusOf(error: unknown): number {
  if (error instanceof NotLeaderError) return 503;
  if (error instanceof DecodeError) return 400;
  if (error instanceof SwarmtsError) return STATUS_OF_CODE[error.code];
  // A refusal of the Raft core (e.g. a change that would lose quorum) is the caller's to fix.
  if (error instanceof RaftError) return 400;
  return 500;
}

/** What a client makes of an error status. */
export class ApiError extends SwarmtsError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(codeOfStatus(status), message);
  }
}

function codeOfStatus(status: number): ErrorCode {
  if (status === 400) return 'invalid_argument';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 503) return 'unavailable';
  return 'internal';
}

/** 503s with Docker's wording, so users meet messages they already know. */
export class NotInSwarmError extends SwarmtsError {
  constructor() {
    super(
      'unavailable',
      'This node is not part of a swarm. Run "swarmts init" or "swarmts join" first.',
    );
  }
}

export class NotManagerError extends SwarmtsError {
  constructor() {
    super(
      'unavailable',
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.",
    );
  }
}

export class NoLeaderError extends SwarmtsError {
  constructor() {
    super(
      'unavailable',
      'The swarm does not have a leader. It may be electing one (retry in a few seconds), or it has lost the quorum of its managers.',
    );
  }
}
