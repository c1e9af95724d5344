/**
 * Compose file text → a plain JS tree, remembering where each value was written so that
 * later stages (interpolation, merge, schema, conversion) can name `file:line:column`.
 *
 * Positions are kept beside the tree, by container and key (a WeakMap), rather than inside
 * it: the tree stays plain data, and a merge that moves a value to a new container copies
 * its position along with it.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type ScalarTag,
  type Tags,
} from 'yaml';
import { ComposeError, formatPos, type SourcePos } from './errors.js';

export type Path = ReadonlyArray<string | number>;
export type Tree = Record<string, unknown>;

/** The Compose spec's `!reset` and `!override` tags, which steer the merge of several files. */
export type MergeTag = 'reset' | 'override';

interface Entry {
  pos: SourcePos;
  tag?: MergeTag;
}

export class SourceMap {
  private readonly table = new WeakMap<object, Map<string | number, Entry>>();

  set(container: object, key: string | number, pos: SourcePos, tag?: MergeTag): void {
    let entries = this.table.get(container);
    if (!entries) {
      entries = new Map();
      this.table.set(container, entries);
    }
    entries.set(key, tag ? { pos, tag } : { pos });
  }

  get(container: object, key: string | number): SourcePos | undefined {
    return this.table.get(container)?.get(key)?.pos;
  }

  tag(container: object, key: string | number): MergeTag | undefined {
    return this.table.get(container)?.get(key)?.tag;
  }

  /** Carries a value's position (and merge tag) to where a merge or clone put it. */
  copy(from: object, fromKey: string | number, to: object, toKey: string | number): void {
    const entry = this.table.get(from)?.get(fromKey);
    if (entry) this.set(to, toKey, entry.pos, entry.tag);
  }

  /** The position of the deepest value along `path` that has one. */
  locate(root: unknown, path: Path): SourcePos | undefined {
    let node = root;
    let best: SourcePos | undefined;
    for (const key of path) {
      if (typeof node !== 'object' || node === null) break;
      best = this.get(node, key) ?? best;
      node = (node as Record<string | number, unknown>)[key];
    }
    return best;
  }
}

/** Renders a path as users write it: `services.web.ports[0]`. */
export function pathText(path: Path): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text ? `.${key}` : key;
  }
  return text;
}

export function isPlainObject(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A leading-zero integer (`mode: 0440`) is octal, as in the Go YAML library Docker uses;
 * YAML 1.2's core schema alone would read it as decimal 440.
 */
const legacyOctal: ScalarTag = {
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^0[0-7]+$/,
  resolve: (text: string) => Number.parseInt(text, 8),
  identify: (value: unknown) => typeof value === 'number',
};

/** Parses one Compose file. Extension fields (`x-*`) are dropped after anchors are resolved. */
export function loadFile(file: string, text: string, sources: SourceMap, warnings: string[]): Tree {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    merge: true,
    prettyErrors: false,
    customTags: (tags: Tags) => [legacyOctal, ...tags],
  });
  const at = (offset: number | undefined): SourcePos => {
    if (offset === undefined) return { file };
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };

  const [error] = doc.errors;
  if (error) throw new ComposeError(error.message, at(error.pos[0]));
  for (const warning of doc.warnings) {
    // `!reset`/`!override` are Compose's own tags, read below: not worth a warning.
    const tag = text.slice(warning.pos[0], warning.pos[1]);
    if (warning.code === 'TAG_RESOLVE_FAILED' && (tag === '!reset' || tag === '!override')) {
      continue;
    }
    warnings.push(`${formatPos(at(warning.pos[0]))}: ${warning.message}`);
  }

  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 10_000 });
  } catch (cause) {
    // Merge keys over non-maps, alias bombs.
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ComposeError(message, { file }, { cause });
  }
  if (tree === null || tree === undefined) throw new ComposeError('the file is empty', { file });
  if (!isPlainObject(tree)) throw new ComposeError('the top level must be a mapping', at(0));

  const position = (pair: Pair): SourcePos => {
    const value = pair.value;
    // A scalar's own position (the `:?` error points at it); a collection's is its key's.
    if (isScalar(value) && value.value !== null && value.range) return at(value.range[0]);
    return at((pair.key as Node | null)?.range?.[0]);
  };
  const mergeTag = (node: unknown): MergeTag | undefined => {
    const tag = isScalar(node) || isMap(node) || isSeq(node) ? node.tag : undefined;
    return tag === '!reset' ? 'reset' : tag === '!override' ? 'override' : undefined;
  };

  const walk = (node: unknown, value: unknown, stack: Set<unknown>): void => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target && !stack.has(target)) walk(target, value, new Set(stack).add(target));
      return;
    }
    if (isMap(node) && isPlainObject(value)) {
      const merged: unknown[] = [];
      const visit = (pair: Pair, onlyNew: boolean): void => {
        if (!isScalar(pair.key)) return;
        const key = String(pair.key.value);
        if (!Object.hasOwn(value, key)) return;
        if (onlyNew && sources.get(value, key)) return;
        sources.set(value, key, position(pair), mergeTag(pair.value));
        walk(pair.value, value[key], stack);
      };
      for (const pair of node.items) {
        if (isScalar(pair.key) && typeof pair.key.value === 'symbol') merged.push(pair.value);
        else visit(pair, false);
      }
      // `<<` sources fill only keys the map does not set itself; earlier sources win.
      for (const source of merged) {
        const resolved = isAlias(source) ? source.resolve(doc) : source;
        const maps = isSeq(resolved) ? resolved.items : [resolved];
        for (const item of maps) {
          const map = isAlias(item) ? item.resolve(doc) : item;
          if (isMap(map)) for (const pair of map.items) visit(pair, true);
        }
      }
      return;
    }
    if (isSeq(node) && Array.isArray(value)) {
      node.items.forEach((item, index) => {
        const range = (item as Node | null)?.range;
        sources.set(value, index, at(range?.[0]), mergeTag(item));
        walk(item, value[index], stack);
      });
    }
  };
  walk(doc.contents, tree, new Set());
  dropExtensions(tree);
  return tree;
}

/** Maps whose keys are the user's data (variable names, labels), never Compose options. */
const USER_MAPS = new Set([
  'environment',
  'labels',
  'annotations',
  'driver_opts',
  'sysctls',
  'extra_hosts',
  'args',
]);

/** Removes `x-*` keys from every mapping of Compose options (the spec allows them anywhere). */
function dropExtensions(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropExtensions(item);
    return;
  }
  if (!isPlainObject(node)) return;
  for (const key of Object.keys(node)) {
    if (key.startsWith('x-')) delete node[key];
    else if (!USER_MAPS.has(key)) dropExtensions(node[key]);
  }
}
