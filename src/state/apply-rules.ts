/**
 * Small rules every part of the store applies the same way: refusals, the version check of
 * optimistic concurrency, a machine-independent order, and freezing what is handed out.
 */
import type { CommandRefusal } from './commands.js';

export function refuse(code: CommandRefusal['code'], message: string): CommandRefusal {
  return { ok: false, code, message };
}

/** A refusal when `current` has moved past the version the command was decided on. */
export function checkVersion(
  what: string,
  current: { Version: { Index: number } },
  expected: number,
): CommandRefusal | undefined {
  if (current.Version.Index === expected) return undefined;
  return refuse(
    'conflict',
    `update out of sequence: ${what} is at version ${current.Version.Index}, the update names ${expected}`,
  );
}

/** Code-unit order, the same on every machine (localeCompare is not). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Freezes `value` and everything under it; parts already frozen were frozen deeply. */
export function deepFreeze<T>(value: T): T {
  // Byte arrays (secret and config data) cannot be frozen; nothing writes to them.
  if (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !Object.isFrozen(value)
  ) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
