/**
 * Each test host's dockerd puts its containers under its own cgroup parent (`/swt-XXXX-I`), so
 * the container processes of a host can be found and killed even when its dockerd and shims are
 * gone, and the cgroups removed afterwards. Works with cgroup v1 (one tree per controller) and v2.
 */
import { access, readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from './processes.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The hierarchies to look in: the unified root (v2), or each controller's tree (v1). */
export async function cgroupRoots(): Promise<string[]> {
  try {
    await access(join(CGROUP_ROOT, 'cgroup.controllers'));
    return [CGROUP_ROOT];
  } catch {
    // cgroup v1 (or hybrid): a directory per controller
  }
  try {
    const entries = await readdir(CGROUP_ROOT, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => join(CGROUP_ROOT, e.name));
  } catch {
    return [];
  }
}

/** Top-level cgroup names (in any hierarchy) that match `pattern`. */
export async function topLevelCgroups(pattern: RegExp): Promise<string[]> {
  const names = new Set<string>();
  for (const root of await cgroupRoots()) {
    try {
      for (const entry of await readdir(root, { withFileTypes: true })) {
        if (entry.isDirectory() && pattern.test(entry.name)) names.add(entry.name);
      }
    } catch {
      // unreadable hierarchy
    }
  }
  return [...names];
}

/** Every directory of the cgroup `name` and its descendants, deepest first. */
async function cgroupDirs(name: string): Promise<string[]> {
  const dirs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) await walk(join(dir, entry.name));
    dirs.push(dir);
  };
  for (const root of await cgroupRoots()) await walk(join(root, name));
  return dirs;
}

/** Pids in the cgroup `name` or below, in any hierarchy. */
export async function pidsInCgroup(name: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of await cgroupDirs(name)) {
    try {
      const text = await readFile(join(dir, 'cgroup.procs'), 'utf8');
      for (const line of text.split('\n')) if (line) pids.add(Number(line));
    } catch {
      // removed meanwhile
    }
  }
  return [...pids];
}

/**
 * Removes the cgroup `name` and its descendants (they must be empty of processes). A cgroup
 * whose last process just died can refuse removal for a moment: retried until `timeoutMs`.
 * Returns the directories that could not be removed.
 */
export async function removeCgroup(name: string, timeoutMs = 3_000): Promise<string[]> {
  let left: string[] = [];
  await pollUntil(async () => {
    left = [];
    for (const dir of await cgroupDirs(name)) {
      try {
        await rmdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
      }
    }
    return left.length === 0;
  }, timeoutMs);
  return left;
}
