/**
 * The files of tasks' secrets and configs on this host (paths from task-files.ts, the
 * directory from task-files-dir.ts, a memory file system where there is one): written
 * atomically with their own mode and owner, one directory per task, removed once the task
 * has ended. Errors carry paths and ids only, never the data.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isSafeName, type TaskFile, taskFilesDir } from './task-files.js';
import type { TaskFiles } from './types.js';

const DIR_MODE = 0o700;

export interface WriteOptions {
  /** Set each file's owner to its UID/GID (only root may). */
  chown: boolean;
  /** Leave files that exist alone (an adopted container already has them mounted). */
  onlyMissing?: boolean;
}

/** True when this process may give files away (chown). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Writes `files` of a task from `data`; returns how many were written. The caller checked
 * that the data of every file is there (task-files.ts problemWith); a file without data is
 * an error here.
 */
export async function writeTaskFiles(
  filesDir: string,
  taskId: string,
  files: readonly TaskFile[],
  data: TaskFiles,
  options: WriteOptions,
): Promise<number> {
  if (files.length === 0) return 0;
  await makePrivateDir(filesDir);
  await makePrivateDir(taskFilesDir(filesDir, taskId));
  let written = 0;
  for (const file of files) {
    if (options.onlyMissing && (await exists(file.hostPath))) continue;
    const bytes = data.get(file.key);
    if (!bytes) throw new Error(`${file.kind} ${file.name} (id ${file.id}) has no data`);
    await makePrivateDir(dirname(file.hostPath));
    await writeAtomically(file, bytes, options.chown);
    written += 1;
  }
  return written;
}

/** Removes a task's directory and everything in it; an absent one is not an error. */
export async function removeTaskFiles(filesDir: string, taskId: string): Promise<void> {
  if (!isSafeName(taskId)) return; // never made: its name would leave the directory
  await rm(taskFilesDir(filesDir, taskId), { recursive: true, force: true });
}

/** The task ids that have a directory under filesDir (none when filesDir is absent). */
export async function listTaskFileDirs(filesDir: string): Promise<string[]> {
  try {
    const entries = await readdir(filesDir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && isSafeName(e.name)).map((e) => e.name);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}

async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
  // mkdir's mode passes through the umask and leaves an existing directory as it was.
  await chmod(path, DIR_MODE);
}

/**
 * A temporary file beside the target, renamed over it: the target is either the old file or
 * the whole new one. A container that has the old file mounted keeps seeing the old one.
 * No fsync: the files belong in memory (tmpfs); on a disk, what a crash may leave is written
 * again before a container not yet started is started (task-runner.ts restoreFiles).
 */
async function writeAtomically(file: TaskFile, bytes: Uint8Array, chown: boolean): Promise<void> {
  const tmp = `${file.hostPath}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      // Owner first: chown clears set-id bits the mode may ask for.
      if (chown && (file.uid !== undefined || file.gid !== undefined)) {
        await handle.chown(file.uid ?? -1, file.gid ?? -1);
      }
      await handle.chmod(file.mode);
    } finally {
      await handle.close();
    }
    await rename(tmp, file.hostPath);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {});
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return error && typeof error === 'object' && 'code' in error ? String(error.code) : undefined;
}
