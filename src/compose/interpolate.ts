/**
 * Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`.
 * Defaults and alternatives are themselves interpolated, so `${A:-${B}}` works. Only string
 * values are interpolated, never keys.
 */
import { ComposeError } from './errors.js';
import { isPlainObject, type Path, pathText, type SourceMap, type Tree } from './load.js';

export type Lookup = (name: string) => string | undefined;

/** A template the caller should report at the value's position (see interpolateTree). */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** A `$` not followed by a name, `{` or `$`: Compose's "invalid interpolation format". */
    readonly invalid = false,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Docker's wording for a variable with no value and no default. */
export function unsetWarning(name: string): string {
  return `The "${name}" variable is not set. Defaulting to a blank string.`;
}

/**
 * Interpolates one string. `onUnset` hears of each variable replaced by a blank string.
 * Throws TemplateError for a malformed template or a `?`/`:?` variable without a value.
 */
export function interpolateString(
  text: string,
  lookup: Lookup,
  onUnset: (name: string) => void,
): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const end = closingBrace(text, dollar + 2);
      if (end < 0) throw new TemplateError('unclosed ${', true);
      out += expandBraced(text.slice(dollar + 2, end), lookup, onUnset);
      i = end + 1;
    } else {
      const name = NAME.exec(text.slice(dollar + 1))?.[0];
      if (!name) throw new TemplateError('a $ must start a variable', true);
      out += variable(name, lookup, onUnset);
      i = dollar + 1 + name.length;
    }
  }
  return out;
}

/** The index of the `}` closing a `${` whose body starts at `from`, counting nested `${`. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function variable(name: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const value = lookup(name);
  if (value === undefined) {
    onUnset(name);
    return '';
  }
  return value;
}

/** The body of `${...}`: a name, then optionally an operator and its word. */
function expandBraced(body: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new TemplateError(`"\${${body}}" does not name a variable`, true);
  const rest = body.slice(name.length);
  if (rest === '') return variable(name, lookup, onUnset);
  const colon = rest.startsWith(':');
  const op = rest[colon ? 1 : 0];
  const word = rest.slice(colon ? 2 : 1);
  if (op !== '-' && op !== '?' && op !== '+') {
    throw new TemplateError(`"\${${body}}" has an unknown operator`, true);
  }
  const value = lookup(name);
  // With a colon an empty value counts as missing, as in the POSIX shell.
  const missing = value === undefined || (colon && value === '');
  const expand = (): string => interpolateString(word, lookup, onUnset);
  if (op === '-') return missing ? expand() : (value ?? '');
  if (op === '+') return missing ? '' : expand();
  if (missing) {
    const reason = expand();
    throw new TemplateError(
      `required variable ${name} is missing a value${reason ? `: ${reason}` : ''}`,
    );
  }
  return value ?? '';
}

/**
 * Interpolates every string value of a loaded file in place. Unset variables become blank
 * strings with docker's warning; errors name the value's path and position.
 */
export function interpolateTree(
  tree: Tree,
  lookup: Lookup,
  context: { file: string; sources: SourceMap; warnings: string[] },
): void {
  const unset = (name: string): void => {
    const warning = unsetWarning(name);
    if (!context.warnings.includes(warning)) context.warnings.push(warning);
  };
  // An alias shares its container between places: interpolate it once (`$$` must stay `$`).
  const seen = new Set<object>();
  const visit = (container: object, key: string | number, path: Path) => {
    const slots = container as Record<string | number, unknown>;
    const value = slots[key];
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return;
      seen.add(value);
    }
    if (typeof value === 'string') {
      try {
        slots[key] = interpolateString(value, lookup, unset);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        const where = context.sources.get(container, key) ?? { file: context.file };
        const message = error.invalid
          ? `invalid interpolation format for ${pathText(path)}: "${value}"; you may need to escape any $ with another $`
          : `${pathText(path)}: ${error.message}`;
        throw new ComposeError(message, where);
      }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value, i, [...path, i]);
    } else if (isPlainObject(value)) {
      for (const child of Object.keys(value)) visit(value, child, [...path, child]);
    }
  };
  for (const key of Object.keys(tree)) visit(tree, key, [key]);
}
