/**
 * The value formats of Compose files, in Docker's units: durations as Go writes them
 * (`1m30s`) → integer nanoseconds, sizes (`512M`) → bytes, CPUs (`0.5`) → NanoCPUs, and
 * commands given as one string → words, split as a POSIX shell would (no expansion).
 * Each returns undefined (or throws, for words) on malformed input; callers name the key.
 */

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** `1m30s`, `10s`, `500ms`, `2h`, `1.5s`, `0` → nanoseconds. A bare number other than 0 is refused. */
export function parseDuration(value: string | number): number | undefined {
  if (value === 0 || value === '0') return 0;
  if (typeof value !== 'string' || !DURATION.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) {
    total += Number(amount) * (DURATION_UNITS[unit as string] ?? 0);
  }
  return Number.isSafeInteger(Math.round(total)) ? Math.round(total) : undefined;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

/** `512M`, `1g`, `1.5GB`, `100k`, `2048` or a number → bytes (binary multiples, as Docker). */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  const match = SIZE.exec(value.trim());
  if (!match) return undefined;
  const bytes = Math.trunc(Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `0.5`, `"2"` → NanoCPUs (1e9 per CPU); at most nine decimals, as Docker. */
export function parseCpus(value: string | number): number | undefined {
  const text = String(value).trim();
  if (!/^(?:\d+(?:\.\d{0,9})?|\.\d{1,9})$/.test(text)) return undefined;
  const nano = Math.round(Number(text) * 1e9);
  return Number.isSafeInteger(nano) ? nano : undefined;
}

/**
 * Splits a command line into words: blanks separate words, 'single quotes' keep everything,
 * "double quotes" allow \" \\ \$ \` escapes, and a backslash outside quotes escapes the next
 * character. Throws on an unterminated quote or a trailing backslash.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word += line.slice(i + 1, end);
      i = end;
    } else if (char === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const next = line[j + 1];
        if (line[j] === '\\' && next !== undefined && '"\\$`\n'.includes(next)) {
          if (next !== '\n') word += next;
          j++;
        } else {
          word += line[j];
        }
      }
      if (j >= line.length) throw new Error('unterminated double quote');
      i = j;
    } else if (char === '\\') {
      if (i + 1 >= line.length) throw new Error('trailing backslash');
      word += line[++i];
    } else {
      word += char;
    }
  }
  if (inWord) words.push(word);
  return words;
}
