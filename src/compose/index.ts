/**
 * Compose files → a stack plan, without touching the network or Docker: the caller hands in
 * the files' text, the environment and a way to read `.env` and `env_file` files.
 *
 *   loadStack → per file: load (YAML, positions) → interpolate → merge the files in order
 *             → validate and normalise (schema) → read env_file → toStackPlan (convert)
 */
import { join, resolve } from 'node:path';
import { type StackPlan, toStackPlan } from './convert.js';
import { parseDotenv } from './dotenv.js';
import { ComposeError } from './errors.js';
import { interpolateTree, type Lookup } from './interpolate.js';
import { loadFile, SourceMap, type Tree } from './load.js';
import { mergeFiles } from './merge.js';
import { type ComposeProject, validateProject } from './schema.js';

export { type StackPlan, toStackPlan } from './convert.js';
export { parseDotenv } from './dotenv.js';
export { ComposeError } from './errors.js';
export { IMAGE_LABEL, NAMESPACE_LABEL } from './labels.js';

export interface StackFile {
  /** As the user named it; errors quote it. */
  path: string;
  text: string;
}

export interface LoadStackOptions {
  /** The stack's name: services are `<namespace>_<key>`. */
  namespace: string;
  /** The process environment; it wins over `.env`. */
  env: Record<string, string | undefined>;
  /** Reads a file (`.env`, `env_file`); throws an ENOENT error for a missing one. */
  readFile(path: string): string;
  /** The project directory, the first file's directory: `.env` and relative paths live there. */
  workingDir: string;
}

/** Docker's rule for stack names. */
const NAMESPACE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function loadStack(files: readonly StackFile[], options: LoadStackOptions): StackPlan {
  if (!NAMESPACE.test(options.namespace)) {
    throw new ComposeError(
      `invalid stack name "${options.namespace}": use letters, digits, "_", "." and "-", starting with a letter or digit`,
    );
  }
  const [first] = files;
  if (!first) throw new ComposeError('no Compose file given');
  const warnings: string[] = [];

  const processEnv = (name: string): string | undefined => options.env[name];
  const dotenvPath = join(options.workingDir, '.env');
  const dotenvText = readOptional(options.readFile, dotenvPath);
  const dotenv =
    dotenvText === undefined
      ? {}
      : parseDotenv(dotenvText, { file: dotenvPath, lookup: processEnv, warnings });
  const env: Record<string, string | undefined> = { ...dotenv };
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  const lookup: Lookup = (name) => (Object.hasOwn(env, name) ? env[name] : undefined);

  const sources = new SourceMap();
  const trees = files.map((file) => {
    const tree = loadFile(file.path, file.text, sources, warnings);
    interpolateTree(tree, lookup, { file: file.path, sources, warnings });
    return tree;
  });
  const raw: Tree = mergeFiles(trees, sources);
  const project = validateProject(
    raw,
    (path) => sources.locate(raw, path) ?? { file: first.path },
    warnings,
  );
  readEnvFiles(project, options, lookup, warnings);
  return toStackPlan(project, options.namespace, { workingDir: options.workingDir, env, warnings });
}

/**
 * Folds each service's `env_file` entries (in order, later files winning) into its
 * `environment`, which wins over them all. A bare `KEY` in `environment` that the
 * environment does not set keeps the env_file's value.
 */
function readEnvFiles(
  project: ComposeProject,
  options: LoadStackOptions,
  lookup: Lookup,
  warnings: string[],
) {
  for (const [key, svc] of Object.entries(project.model.services ?? {})) {
    if (!svc.env_file) continue;
    const fromFiles: Record<string, string> = {};
    svc.env_file.forEach((entry, index) => {
      const file = resolve(options.workingDir, entry.path);
      const text = readOptional(options.readFile, file, () =>
        project.locate(['services', key, 'env_file', index]),
      );
      if (text === undefined) {
        if (!entry.required) return;
        throw new ComposeError(
          `env file ${file} not found`,
          project.locate(['services', key, 'env_file', index]),
        );
      }
      Object.assign(fromFiles, parseDotenv(text, { file: entry.path, lookup, warnings }));
    });
    const environment = { ...(svc.environment ?? {}) };
    for (const [name, value] of Object.entries(fromFiles)) {
      const own = environment[name];
      if (own === undefined || (own === null && lookup(name) === undefined))
        environment[name] = value;
    }
    svc.environment = environment;
  }
}

/** A file's text, or undefined when it does not exist; other read errors are ComposeErrors. */
function readOptional(
  readFile: (path: string) => string,
  path: string,
  where: () => { file: string; line?: number; column?: number } = () => ({ file: path }),
): string | undefined {
  try {
    return readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    const message = error instanceof Error ? error.message : String(error);
    if (code === undefined && /ENOENT|no such file/i.test(message)) return undefined;
    throw new ComposeError(`cannot read ${path}: ${message}`, where(), { cause: error });
  }
}
