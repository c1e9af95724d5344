/**
 * The base of every error swarmts raises on purpose. Callers match errors by `code` (or by
 * class), never by message text; the API maps codes to HTTP statuses and the CLI prints the
 * message on one line.
 */
export type ErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid_argument'
  | 'unavailable'
  | 'engine_unreachable'
  | 'engine_error'
  | 'internal';

export class SwarmtsError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // The subclass's own name ("EngineUnreachableError"), for logs and for matching by name.
    this.name = new.target.name;
  }
}

/** A user mistake: a bad flag, body or file. The message says what to fix. */
export class InvalidArgumentError extends SwarmtsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_argument', message, options);
  }
}

/** Turns anything thrown into a one-line message fit for a terminal. */
export function oneLineMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
