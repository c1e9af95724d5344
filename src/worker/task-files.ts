/**
 * Where a task's secrets and configs go, as Docker Swarm places them: each one a read-only
 * file bind-mounted into the container, secrets at /run/secrets/<name> (or an absolute
 * name), configs at their absolute name. Pure: paths, mounts and the reason a task cannot
 * have its files are decided here; task-files-store.ts does the writing.
 *
 * Nothing here sees the data itself except `problemWith`, which only checks it is there:
 * messages name a secret or config and its id, never what it holds.
 */
import { posix } from 'node:path';
import { SwarmtsError } from '../errors.js';
import type { ContainerSpec, Mount } from '../runtime/types.js';
import type { Task } from '../state/service-types.js';
import type { TaskFiles } from './types.js';

/** Docker's default permission bits for a secret or config file. */
export const DEFAULT_FILE_MODE = 0o444;
export const SECRETS_MOUNT_DIR = '/run/secrets';

/** A task cannot have its secrets or configs here; the message names them, never their data. */
export class TaskFilesError extends SwarmtsError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** One secret or config reference of a task, resolved to host and container paths. */
export interface TaskFile {
  kind: 'secret' | 'config';
  /** The secret's or config's id. */
  id: string;
  /** Its name, for messages. */
  name: string;
  /** The key of its data in TaskFiles: `secret/<id>` or `config/<id>`. */
  key: string;
  /** The file on this host, under the task's own directory. */
  hostPath: string;
  /** Where the container sees it. */
  target: string;
  mode: number;
  /** Owner to set when the agent runs as root; absent when UID/GID are not numbers. */
  uid?: number;
  gid?: number;
}

/** Ids become file names: nothing that could leave the directory ('..', '/') or hide in it. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function dataKey(kind: TaskFile['kind'], id: string): string {
  return `${kind}/${id}`;
}

/** A task's own directory under the executor's filesDir. */
export function taskFilesDir(filesDir: string, taskId: string): string {
  return posix.join(filesDir, taskId);
}

/** True when `name` may be used as a directory or file name under filesDir. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name);
}

/** True when the task refers to any secret or config. */
export function usesFiles(task: Task): boolean {
  const spec = task.Spec.ContainerSpec;
  return Boolean(spec.Secrets?.length || spec.Configs?.length);
}

/** The files of `task`, in the order of its references (secrets first). */
export function taskFilesFor(task: Task, filesDir: string): TaskFile[] {
  const spec = task.Spec.ContainerSpec;
  const dir = taskFilesDir(filesDir, task.ID);
  const out: TaskFile[] = [];
  // Two references to one secret (two targets, maybe two modes) get a file each.
  const seen = new Map<string, number>();
  const add = (kind: TaskFile['kind'], id: string, name: string, file: FileRef): void => {
    const key = dataKey(kind, id);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const fileName = n === 0 ? id : `${id}.${n}`;
    const entry: TaskFile = {
      kind,
      id,
      name,
      key,
      hostPath: posix.join(dir, `${kind}s`, fileName),
      target: kind === 'secret' ? secretTarget(file.Name) : configTarget(file.Name),
      mode: typeof file.Mode === 'number' ? file.Mode : DEFAULT_FILE_MODE,
    };
    const uid = numericId(file.UID);
    const gid = numericId(file.GID);
    if (uid !== undefined) entry.uid = uid;
    if (gid !== undefined) entry.gid = gid;
    out.push(entry);
  };
  for (const ref of spec.Secrets ?? []) add('secret', ref.SecretID, ref.SecretName, ref.File);
  for (const ref of spec.Configs ?? []) add('config', ref.ConfigID, ref.ConfigName, ref.File);
  return out;
}

interface FileRef {
  Name: string;
  UID?: string;
  GID?: string;
  Mode?: number;
}

/** /run/secrets/<name>, or the name itself when it is an absolute path. */
export function secretTarget(name: string): string {
  return posix.isAbsolute(name) ? posix.normalize(name) : posix.join(SECRETS_MOUNT_DIR, name);
}

/** The name itself when absolute, else the same name under the container's root. */
export function configTarget(name: string): string {
  return posix.isAbsolute(name) ? posix.normalize(name) : posix.join('/', name);
}

function numericId(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= 0xffffffff ? n : undefined;
}

/** Read-only bind mounts of the files, in order. */
export function fileMounts(files: readonly TaskFile[]): Mount[] {
  return files.map((file) => ({
    type: 'bind',
    source: file.hostPath,
    target: file.target,
    readOnly: true,
  }));
}

/** The container spec with the files' mounts after the task's own mounts. */
export function withFileMounts(spec: ContainerSpec, files: readonly TaskFile[]): ContainerSpec {
  if (files.length === 0) return spec;
  return { ...spec, mounts: [...(spec.mounts ?? []), ...fileMounts(files)] };
}

/**
 * Why the task cannot have its files on this node, or undefined when it can. `filesDir`
 * undefined means the executor was given no directory for them.
 */
export function problemWith(
  task: Task,
  filesDir: string | undefined,
  data: TaskFiles,
): string | undefined {
  if (!usesFiles(task)) return undefined;
  if (filesDir === undefined) {
    return 'secrets and configs are not supported on this node (no directory for task files)';
  }
  if (!isSafeName(task.ID)) return `task id ${JSON.stringify(task.ID)} is not a usable file name`;
  const targets = new Map<string, TaskFile>();
  for (const file of taskFilesFor(task, filesDir)) {
    if (!isSafeName(file.id)) {
      return `${file.kind} ${file.name} has an id that is not a usable file name`;
    }
    if (!data.has(file.key)) {
      return `${file.kind} ${file.name} (id ${file.id}) is not available on this node`;
    }
    const other = targets.get(file.target);
    if (other) {
      return `${other.kind} ${other.name} and ${file.kind} ${file.name} both target ${file.target}`;
    }
    targets.set(file.target, file);
  }
  return undefined;
}
