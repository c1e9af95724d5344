/**
 * Where this node keeps its tasks' secret and config files. As Docker does, on a memory file
 * system: /dev/shm/swarmts/<node>/task-files when /dev/shm is a tmpfs, so the files never
 * reach a disk and are gone after a reboot. Without one they go to <data-dir>/task-files and
 * the agent says once that secrets are on disk.
 *
 * `chooseTaskFilesDir` is the rule (pure); `defaultTaskFilesDir` looks at the host, makes the
 * private directories under /dev/shm (world-writable, so each one is checked to be ours) and
 * applies the rule.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';

/** statfs(2) f_type of a tmpfs. */
export const TMPFS_MAGIC = 0x01021994;
export const SHM_DIR = '/dev/shm';
const NODE_NAME_LENGTH = 16;
const DIR_MODE = 0o700;

/** What the host has at /dev/shm. */
export interface MemoryFs {
  exists: boolean;
  isTmpfs: boolean;
}

export interface TaskFilesDirChoice {
  dir: string;
  /** True when `dir` is on the memory file system. */
  inMemory: boolean;
}

/**
 * A short name for the node's directory that stays the same across restarts: the last 16
 * characters of its id (letters, digits, '_', '.', '-' only, starting with a letter or digit).
 */
export function nodeDirName(nodeId: string): string {
  const tail = nodeId.replace(/[^A-Za-z0-9_.-]/g, '').slice(-NODE_NAME_LENGTH);
  return tail.replace(/^[^A-Za-z0-9]+/, '') || 'node';
}

/** The node's own directory under /dev/shm, parent of its task-files directory. */
export function memoryNodeDir(nodeId: string): string {
  return posix.join(SHM_DIR, 'swarmts', nodeDirName(nodeId));
}

/** The rule: on /dev/shm when it exists and is a tmpfs, else under the data directory. */
export function chooseTaskFilesDir(input: {
  nodeId: string;
  dataDir: string;
  shm: MemoryFs;
}): TaskFilesDirChoice {
  if (input.shm.exists && input.shm.isTmpfs) {
    return { dir: posix.join(memoryNodeDir(input.nodeId), 'task-files'), inMemory: true };
  }
  return { dir: join(input.dataDir, 'task-files'), inMemory: false };
}

/** Whether `path` exists and is a tmpfs (statfs, else /proc/mounts). */
export function probeMemoryFs(path = SHM_DIR): MemoryFs {
  try {
    if (!statSync(path).isDirectory()) return { exists: false, isTmpfs: false };
  } catch {
    return { exists: false, isTmpfs: false };
  }
  try {
    return { exists: true, isTmpfs: statfsSync(path).type === TMPFS_MAGIC };
  } catch {
    // statfs refused (a seccomp filter, say): the mount table says the same.
  }
  try {
    const type = mountType(readFileSync('/proc/mounts', 'utf8'), path);
    return { exists: true, isTmpfs: type === 'tmpfs' };
  } catch {
    return { exists: true, isTmpfs: false };
  }
}

/** The file system type of the mount at `path` in /proc/mounts text (the last one wins). */
export function mountType(procMounts: string, path: string): string | undefined {
  let type: string | undefined;
  for (const line of procMounts.split('\n')) {
    const fields = line.split(' ');
    if (fields[1]?.replace(/\\040/g, ' ') === path) type = fields[2];
  }
  return type;
}

/**
 * The directory the agent gives the executor: chosen by the rule, with the private
 * directories on /dev/shm made (0700, owned by this process, no symlinks). When that fails,
 * or there is no memory file system, <data-dir>/task-files, with one warning.
 */
export function defaultTaskFilesDir(
  nodeId: string,
  dataDir: string,
  logger: Logger,
  probe: () => MemoryFs = probeMemoryFs,
): string {
  const choice = chooseTaskFilesDir({ nodeId, dataDir, shm: probe() });
  if (choice.inMemory) {
    try {
      makeOwnPrivateDir(posix.join(SHM_DIR, 'swarmts'));
      makeOwnPrivateDir(memoryNodeDir(nodeId));
      return choice.dir;
    } catch (error) {
      const disk = chooseTaskFilesDir({ nodeId, dataDir, shm: { exists: false, isTmpfs: false } });
      logger.warn(
        { dir: disk.dir, err: oneLineMessage(error) },
        `cannot use ${SHM_DIR}: task secrets and configs are written to disk`,
      );
      return disk.dir;
    }
  }
  logger.warn(
    { dir: choice.dir },
    `${SHM_DIR} is not a tmpfs: task secrets and configs are written to disk`,
  );
  return choice.dir;
}

/**
 * A directory only this process's user can enter. Under a world-writable directory another
 * user could have made it first (or a symlink in its place): then it is refused.
 */
function makeOwnPrivateDir(path: string): void {
  try {
    mkdirSync(path, { mode: DIR_MODE });
  } catch (error) {
    if (!(error && typeof error === 'object' && 'code' in error && error.code === 'EEXIST')) {
      throw error;
    }
  }
  const stats = lstatSync(path);
  if (!stats.isDirectory()) throw new Error(`${path} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new Error(`${path} belongs to uid ${stats.uid}, not ${uid}`);
  }
  chmodSync(path, DIR_MODE);
}
