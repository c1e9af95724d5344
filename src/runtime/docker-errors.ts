import {
  ContainerConflictError,
  ContainerNotFoundError,
  EngineError,
  EngineUnreachableError,
  ImageNotFoundError,
} from './errors.js';

/** Socket-level failures: the engine did not answer at all. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EACCES',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The shape of what dockerode rejects with; every field is optional. */
interface DockerodeError {
  statusCode?: number;
  code?: string;
  reason?: string;
  json?: unknown;
  message?: string;
  name?: string;
}

/** What the call was about, so a 404 or 409 can be named precisely. */
export type Subject = { kind: 'image'; ref: string } | { kind: 'container'; id: string };

export function engineMessage(error: unknown): string {
  const e = (error ?? {}) as DockerodeError;
  const json = e.json as { message?: unknown } | string | null | undefined;
  if (json && typeof json === 'object' && typeof json.message === 'string')
    return json.message.trim();
  if (typeof json === 'string' && json.trim()) return json.trim();
  if (typeof e.reason === 'string' && e.reason) return e.reason;
  return (e.message ?? String(error)).trim();
}

export function isUnreachable(error: unknown): boolean {
  const e = (error ?? {}) as DockerodeError;
  return e.statusCode === undefined && typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code);
}

/** Turns a dockerode rejection into one of the runtime's typed errors. */
export function toRuntimeError(error: unknown, endpoint: string, subject?: Subject): Error {
  const e = (error ?? {}) as DockerodeError;
  if (isUnreachable(error)) {
    return new EngineUnreachableError(endpoint, e.code ?? 'no answer', { cause: error });
  }
  const message = engineMessage(error);
  if (e.statusCode === 404 && subject?.kind === 'image')
    return new ImageNotFoundError(subject.ref, message);
  if (e.statusCode === 404 && subject?.kind === 'container') {
    return new ContainerNotFoundError(subject.id, message);
  }
  if (e.statusCode === 409 && subject?.kind === 'container') {
    return new ContainerConflictError(subject.id, message);
  }
  return new EngineError(e.statusCode, message, { cause: error });
}

export function statusCodeOf(error: unknown): number | undefined {
  return ((error ?? {}) as DockerodeError).statusCode;
}
