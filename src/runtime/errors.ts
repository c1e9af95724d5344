import { SwarmtsError } from '../errors.js';

/** The image is not on the engine and no registry could serve it. */
export class ImageNotFoundError extends SwarmtsError {
  constructor(
    readonly image: string,
    engineMessage: string,
  ) {
    super('not_found', `image ${image} not found: ${engineMessage}`);
  }
}

export class ContainerNotFoundError extends SwarmtsError {
  constructor(
    readonly container: string,
    engineMessage: string,
  ) {
    super('not_found', `container ${container} not found: ${engineMessage}`);
  }
}

/** The engine refused because of the container's state or a name in use. */
export class ContainerConflictError extends SwarmtsError {
  constructor(
    readonly container: string,
    engineMessage: string,
  ) {
    super('conflict', `container ${container}: ${engineMessage}`);
  }
}

/** Nothing answered at the engine's address (socket missing, refused, reset, timed out). */
export class EngineUnreachableError extends SwarmtsError {
  constructor(
    readonly endpoint: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('engine_unreachable', `Docker engine at ${endpoint} is unreachable: ${reason}`, options);
  }
}

/** The engine answered with an error that has no more specific class. */
export class EngineError extends SwarmtsError {
  constructor(
    readonly statusCode: number | undefined,
    engineMessage: string,
    options?: { cause?: unknown },
  ) {
    super('engine_error', `Docker engine error: ${engineMessage}`, options);
  }
}
