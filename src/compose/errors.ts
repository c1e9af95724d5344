/**
 * The one error the Compose loader raises: a user mistake in a Compose file, a .env file or
 * the stack's options. It is an InvalidArgumentError, so the API answers 400 and the CLI
 * prints the message on one line; the message leads with `file:line:column:` when known.
 */
import { InvalidArgumentError } from '../errors.js';

/** Where a value was written: 1-based line and column. */
export interface SourcePos {
  file: string;
  line?: number;
  column?: number;
}

export class ComposeError extends InvalidArgumentError {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** The message without its `file:line:column:` prefix. */
  readonly detail: string;

  constructor(detail: string, where?: SourcePos, options?: { cause?: unknown }) {
    super(where ? `${formatPos(where)}: ${detail}` : detail, options);
    this.detail = detail;
    if (where) {
      this.file = where.file;
      this.line = where.line;
      this.column = where.column;
    }
  }
}

/** `file`, `file:line` or `file:line:column`, as compilers print them. */
export function formatPos(pos: SourcePos): string {
  if (pos.line === undefined) return pos.file;
  return pos.column === undefined
    ? `${pos.file}:${pos.line}`
    : `${pos.file}:${pos.line}:${pos.column}`;
}
