/**
 * Structured logs (pino). Every component gets a child logger carrying its name; the agent's
 * root logger carries the node id. Components depend on the small Logger interface, so tests
 * can pass a silent or capturing logger.
 */
import { pino } from 'pino';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(
  options: { level?: LogLevel; bindings?: Record<string, unknown>; stderr?: boolean } = {},
): Logger {
  const settings = {
    level: options.level ?? 'info',
    base: { pid: process.pid, ...options.bindings },
  };
  // A daemon logs to stderr, as dockerd does; stdout stays free for what a command prints.
  return options.stderr ? pino(settings, pino.destination(2)) : pino(settings);
}

export const silentLogger: Logger = pino({ level: 'silent' });
