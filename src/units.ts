/**
 * Docker's value syntaxes, shared by the CLI's service flags and Compose files, and their
 * display: Go durations ("1m30s", in nanoseconds), memory sizes ("512M", "1g", "512MiB", in
 * bytes, binary units as docker's RAMInBytes), CPUs ("0.5", in NanoCPUs), and shell-style word
 * lists. Parsers throw a plain Error with the reason; the caller names the flag or key.
 */

const NS_PER_UNIT: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration ("300ms", "5s", "1m30s", "1.5h", "0") → nanoseconds. */
export function parseDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration "${text}"`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  while (rest !== '') {
    const number = /^(\d+\.?\d*|\.\d+)/.exec(rest);
    if (!number?.[1]) throw invalid();
    rest = rest.slice(number[1].length);
    const unit = /^[^\d.]+/.exec(rest)?.[0];
    if (unit === undefined) throw new Error(`time: missing unit in duration "${text}"`);
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) throw new Error(`time: unknown unit "${unit}" in duration "${text}"`);
    rest = rest.slice(unit.length);
    total += Number(number[1]) * scale;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) throw invalid();
  return sign * Math.round(total);
}

/** Go's time.Duration.String(): "0s", "300ms", "5s", "1m30s", "2h0m0s", "1.5s". */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ns));
  const decimal = (value: number) => String(Number(value.toFixed(9)));
  if (rest < 1e3) return `${sign}${rest}ns`;
  if (rest < 1e6) return `${sign}${decimal(rest / 1e3)}µs`;
  if (rest < 1e9) return `${sign}${decimal(rest / 1e6)}ms`;
  const hours = Math.floor(rest / 3600e9);
  rest -= hours * 3600e9;
  const minutes = Math.floor(rest / 60e9);
  rest -= minutes * 60e9;
  let out = sign;
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${out}${decimal(rest / 1e9)}s`;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** docker's RAMInBytes: "512" bytes, "512k", "512M", "512MiB", "1g", "1.5GB" (all binary). */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  if (!match?.[1]) throw new Error(`invalid size: '${text}'`);
  const scale = BYTE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Math.floor(Number(match[1]) * scale);
  if (!Number.isSafeInteger(bytes)) throw new Error(`invalid size: '${text}'`);
  return bytes;
}

/** "0.5" → 500000000 NanoCPUs; more than nine decimals is too precise, as docker says. */
export function parseCpus(text: string): number {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!match || !/\d/.test(text)) throw new Error(`failed to parse ${text} as a rational number`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw new Error('value is too precise');
  const nano = Number(match[1] || '0') * 1e9 + Number(fraction.padEnd(9, '0'));
  if (!Number.isSafeInteger(nano)) throw new Error(`value ${text} is too large`);
  return nano;
}

/** NanoCPUs as docker prints them: 500000000 → "0.5". */
export function formatCpus(nanoCpus: number): string {
  return String(Number((nanoCpus / 1e9).toFixed(9)));
}

/**
 * Splits a command line into words as a POSIX shell would, for quotes and backslashes
 * only (no expansion): `sh -c "echo hi"` → ['sh', '-c', 'echo hi'].
 */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text.charAt(i + 1))) {
        word += text.charAt(++i);
      } else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new Error(`trailing backslash in ${text}`);
      word += text.charAt(++i);
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quoted string in ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** docker's units.HumanDuration, lowercased as `service ps` prints it ("5 seconds"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'about a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'about an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
