/**
 * `.env` and `env_file` files: `KEY=VALUE` lines, `export KEY=VALUE`, `#` comments (also after
 * an unquoted value, following a space), 'single quotes' taken literally, "double quotes" with
 * \n \r \t \\ \" \$ escapes, quoted values over several lines, and `KEY` alone, which takes
 * the variable from the environment (left out when unset). Unquoted and double-quoted values
 * are interpolated, from the environment first and then the file's earlier lines.
 */
import { ComposeError } from './errors.js';
import { interpolateString, type Lookup, TemplateError, unsetWarning } from './interpolate.js';

export interface DotenvOptions {
  /** Named in errors. */
  file: string;
  /** The environment: for `${VAR}` in values and for a bare `KEY` line. */
  lookup?: Lookup;
  warnings?: string[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*/;

export function parseDotenv(text: string, options: DotenvOptions): Record<string, string> {
  const vars: Record<string, string> = {};
  const lookup: Lookup = (name) =>
    options.lookup?.(name) ?? (Object.hasOwn(vars, name) ? vars[name] : undefined);
  const onUnset = (name: string): void => {
    const warning = unsetWarning(name);
    if (options.warnings && !options.warnings.includes(warning)) options.warnings.push(warning);
  };
  const lines = text.split(/\r?\n/);

  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const fail = (message: string, column?: number): never => {
      throw new ComposeError(message, { file: options.file, line: lineNo, column });
    };
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;

    const body = line.replace(/^export\s+/, '');
    const key = KEY.exec(body)?.[0];
    const afterKey = key === undefined ? body : body.slice(key.length).trimStart();
    if (key === undefined || (afterKey !== '' && !afterKey.startsWith('='))) {
      fail(`expected KEY=VALUE, got "${line}"`);
    }
    const name = key as string;
    if (afterKey === '') {
      const value = options.lookup?.(name);
      if (value !== undefined) vars[name] = value;
      continue;
    }

    let raw = afterKey.slice(1).trimStart();
    const quote = raw[0];
    let value: string;
    if (quote === "'" || quote === '"') {
      // A quoted value may run over the following lines until its closing quote.
      let close = findClose(raw, quote);
      while (close < 0 && index + 1 < lines.length) {
        index++;
        raw += `\n${lines[index]}`;
        close = findClose(raw, quote);
      }
      if (close < 0) fail(`${name}: unterminated quoted value`);
      const trailing = raw.slice(close + 1).trim();
      if (trailing !== '' && !trailing.startsWith('#')) {
        fail(`${name}: unexpected characters after the closing quote`);
      }
      const inner = raw.slice(1, close);
      value = quote === "'" ? inner : expand(unescapeDouble(inner), lookup, onUnset, name, fail);
    } else {
      // An inline comment needs a blank before the `#` (`A=b#c` keeps its `#`).
      value = expand(raw.replace(/\s+#.*$/, '').trim(), lookup, onUnset, name, fail);
    }
    vars[name] = value;
  }
  return vars;
}

function findClose(raw: string, quote: string): number {
  for (let i = 1; i < raw.length; i++) {
    if (quote === '"' && raw[i] === '\\') i++;
    else if (raw[i] === quote) return i;
  }
  return -1;
}

/** Double-quote escapes; `\$` becomes `$$` so that interpolation leaves a literal `$`. */
function unescapeDouble(text: string): string {
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };
  return text.replace(/\\(.)/gs, (whole, char: string) =>
    char === '$' ? '$$' : (escapes[char] ?? whole),
  );
}

function expand(
  text: string,
  lookup: Lookup,
  onUnset: (name: string) => void,
  name: string,
  fail: (message: string) => never,
): string {
  try {
    return interpolateString(text, lookup, onUnset);
  } catch (error) {
    if (error instanceof TemplateError) fail(`${name}: ${error.message}`);
    throw error;
  }
}
