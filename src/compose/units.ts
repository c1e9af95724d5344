/**
 * The value formats of Compose files, in Docker's units (src/units.ts parses them, as for the
 * CLI's flags): YAML may give a number where the CLI gets text, and a value that does not
 * parse is undefined here so the schema can name the key and its line.
 */
import {
  parseBytes as bytesOf,
  parseCpus as cpusOf,
  parseDuration as nsOf,
  shellWords,
} from '../units.js';

function orUndefined<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

/** `1m30s`, `10s`, `500ms`, `2h`, `1.5s`, `0` → nanoseconds. A bare number other than 0 is refused. */
export function parseDuration(value: string | number): number | undefined {
  const ns = orUndefined(() => nsOf(String(value)));
  return ns !== undefined && ns >= 0 ? ns : undefined;
}

/** `512M`, `1g`, `1.5GB`, `100k`, `2048` or a number → bytes (binary multiples, as Docker). */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  return orUndefined(() => bytesOf(value));
}

/** `0.5`, `"2"` → NanoCPUs (1e9 per CPU); at most nine decimals, as Docker. */
export function parseCpus(value: string | number): number | undefined {
  return orUndefined(() => cpusOf(String(value)));
}

/** A command given as one string → words, split as a POSIX shell would (no expansion). */
export function splitWords(line: string): string[] {
  return shellWords(line);
}
