/**
 * Merges Compose files in order, by the Compose spec's rules: mappings merge key by key (the
 * later file wins), sequences append (without repeating an identical entry), and the
 * exceptions: `command`, `entrypoint` and `healthcheck.test` are replaced; `ports` drop
 * identical entries; `volumes` (by target), `secrets` and `configs` (by target, else source)
 * replace the entry they collide with; `environment` and `labels`, in list or map form, merge
 * as maps. `!reset` removes a value, `!override` replaces it without merging.
 *
 * The result is a fresh tree (nothing shared with the inputs or between aliases), with every
 * value's position carried over, so later errors still name the file that set it.
 */
import { isPlainObject, type SourceMap, type Tree } from './load.js';

type Rule = 'replace' | 'map' | 'ports' | 'volumes' | 'refs' | 'networks' | 'default';

const SERVICE_RULES: Record<string, Rule> = {
  command: 'replace',
  entrypoint: 'replace',
  environment: 'map',
  labels: 'map',
  annotations: 'map',
  ports: 'ports',
  volumes: 'volumes',
  secrets: 'refs',
  configs: 'refs',
  networks: 'networks',
};

function ruleFor(path: readonly string[]): Rule {
  const [top, , key, sub] = path;
  if (top === 'services') {
    if (path.length === 3) return SERVICE_RULES[key as string] ?? 'default';
    if (path.length === 4 && key === 'healthcheck' && sub === 'test') return 'replace';
    if (path.length === 4 && key === 'deploy' && sub === 'labels') return 'map';
    return 'default';
  }
  // Labels of top-level networks, volumes, secrets and configs.
  if (path.length === 3 && key === 'labels') return 'map';
  return 'default';
}

export function mergeFiles(trees: readonly Tree[], sources: SourceMap): Tree {
  const merger = new Merger(sources);
  let out: Tree = {};
  for (const tree of trees) out = merger.maps(out, tree, []);
  return out;
}

class Merger {
  constructor(private readonly sources: SourceMap) {}

  value(base: unknown, over: unknown, path: readonly string[]): unknown {
    if (base === undefined) return this.clone(over);
    // `key:` with nothing under it in a later file leaves the earlier value alone.
    if (over === null || over === undefined) return base;
    const rule = ruleFor(path);
    if (rule === 'replace') return this.clone(over);
    if (rule === 'map') {
      const left = this.asMap(base, false);
      const right = this.asMap(over, false);
      if (left && right) return this.maps(left, right, path);
    }
    if (rule === 'networks' && !(Array.isArray(base) && Array.isArray(over))) {
      const left = this.asMap(base, true);
      const right = this.asMap(over, true);
      if (left && right) return this.maps(left, right, path);
    }
    if (Array.isArray(base) && Array.isArray(over)) {
      if (rule === 'volumes') return this.unique(base, over, volumeTarget);
      if (rule === 'refs') return this.unique(base, over, refTarget);
      return this.unique(base, over, (item) => JSON.stringify(item), true);
    }
    if (isPlainObject(base) && isPlainObject(over)) return this.maps(base, over, path);
    // `dns: 1.1.1.1` then `dns: [8.8.8.8]`: a single string counts as a one-entry list.
    if (Array.isArray(base) && typeof over === 'string') return this.value(base, [over], path);
    if (typeof base === 'string' && Array.isArray(over)) return this.value([base], over, path);
    return this.clone(over);
  }

  maps(base: Tree, over: Tree, path: readonly string[]): Tree {
    const out: Tree = {};
    for (const key of Object.keys(base)) {
      out[key] = base[key];
      this.sources.copy(base, key, out, key);
    }
    for (const key of Object.keys(over)) {
      const tag = this.sources.tag(over, key);
      if (tag === 'reset') {
        delete out[key];
        continue;
      }
      const before = out[key];
      out[key] =
        tag === 'override' ? this.clone(over[key]) : this.value(before, over[key], [...path, key]);
      if (out[key] !== before || before === undefined) this.sources.copy(over, key, out, key);
    }
    return out;
  }

  /** Base entries, then each later entry: it replaces the entry with the same key, or is added. */
  private unique(
    base: readonly unknown[],
    over: readonly unknown[],
    keyOf: (item: unknown) => string | undefined,
    keepFirst = false,
  ): unknown[] {
    const out: unknown[] = [];
    const push = (from: readonly unknown[], index: number, at = out.length): void => {
      out[at] = this.clone(from[index]);
      this.sources.copy(from, index, out, at);
    };
    for (let index = 0; index < base.length; index++) push(base, index);
    over.forEach((item, index) => {
      const key = keyOf(item);
      const at = key === undefined ? -1 : out.findIndex((other) => keyOf(other) === key);
      if (at < 0) push(over, index);
      else if (!keepFirst) push(over, index, at);
    });
    return out;
  }

  /**
   * A list-or-map (`[A=1, B]` or `{A: 1, B: null}`) as a map; for networks a list of names
   * (`[front]` → `{front: null}`). Undefined when the list holds something else.
   */
  private asMap(value: unknown, names: boolean): Tree | undefined {
    if (isPlainObject(value)) return value;
    if (!Array.isArray(value)) return undefined;
    const out: Tree = {};
    for (let index = 0; index < value.length; index++) {
      const item = value[index];
      if (typeof item !== 'string') return undefined;
      const eq = names ? -1 : item.indexOf('=');
      const key = eq < 0 ? item : item.slice(0, eq);
      out[key] = eq < 0 ? null : item.slice(eq + 1);
      this.sources.copy(value, index, out, key);
    }
    return out;
  }

  /** A deep copy, positions carried along; `!reset` entries are left out. */
  clone(value: unknown): unknown {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      value.forEach((item, index) => {
        out.push(this.clone(item));
        this.sources.copy(value, index, out, index);
      });
      return out;
    }
    if (isPlainObject(value)) {
      const out: Tree = {};
      for (const key of Object.keys(value)) {
        if (this.sources.tag(value, key) === 'reset') continue;
        out[key] = this.clone(value[key]);
        this.sources.copy(value, key, out, key);
      }
      return out;
    }
    return value;
  }
}

/** A volume's mount point: `target:`, or the second field of `source:target[:mode]`. */
function volumeTarget(item: unknown): string | undefined {
  if (isPlainObject(item)) return typeof item.target === 'string' ? item.target : undefined;
  if (typeof item !== 'string') return undefined;
  const parts = item.split(':');
  return parts.length > 1 ? parts[1] : parts[0];
}

/** A secret's or config's file: `target:`, else its source. */
function refTarget(item: unknown): string | undefined {
  if (typeof item === 'string') return item;
  if (!isPlainObject(item)) return undefined;
  const key = item.target ?? item.source;
  return typeof key === 'string' ? key : undefined;
}
