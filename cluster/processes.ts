/**
 * Processes seen through /proc: liveness (a zombie counts as gone), identity across pid reuse
 * (start time), waiting for an exit with a deadline, and finding what still runs inside a test
 * host (by network namespace, by command line, by cgroup).
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';

export type ProcessTarget = ChildProcess | number;

export function pidOf(target: ProcessTarget): number {
  const pid = typeof target === 'number' ? target : target.pid;
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) {
    throw new Error('the process has no pid (it did not start)');
  }
  return pid;
}

/** The process state letter from /proc/PID/stat (R, S, D, T, Z, ...), or null if there is none. */
export async function processState(pid: number): Promise<string | null> {
  const fields = await statFields(pid);
  return fields?.[0] ?? null;
}

/** Start time in clock ticks since boot; with the pid it identifies a process across pid reuse. */
export async function processStartTime(pid: number): Promise<number | null> {
  const fields = await statFields(pid);
  const value = fields?.[19];
  return value === undefined ? null : Number(value);
}

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...]. */
async function statFields(pid: number): Promise<string[] | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    return text
      .slice(text.lastIndexOf(')') + 2)
      .trim()
      .split(' ');
  } catch {
    return null;
  }
}

/** True while the process exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== null && state !== 'Z' && state !== 'X';
}

export async function commandLine(pid: number): Promise<string[]> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part) => part.length > 0);
  } catch {
    return [];
  }
}

/** Polls until `check` is true or the deadline passes; returns whether it became true. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  return pollUntil(async () => !(await isAlive(pid)), timeoutMs);
}

/** Sends a signal; a process that is already gone is not an error. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * SIGTERM (and SIGCONT, so a paused process can act on it), then SIGKILL after `graceMs`.
 * With `group`, the signals go to the process group the process leads. Resolves once it is gone.
 */
export async function terminate(
  pid: number,
  options: { graceMs: number; group?: boolean; killTimeoutMs?: number },
): Promise<void> {
  const target = options.group ? -pid : pid;
  if (!(await isAlive(pid)) && !options.group) return;
  signal(target, 'SIGTERM');
  signal(target, 'SIGCONT');
  if (await waitForExit(pid, options.graceMs)) {
    if (options.group) signal(target, 'SIGKILL'); // stragglers in the group
    return;
  }
  signal(target, 'SIGKILL');
  if (!(await waitForExit(pid, options.killTimeoutMs ?? 5_000))) {
    throw new Error(`process ${pid} is still alive after SIGKILL`);
  }
}

/** SIGKILL to every pid, then wait until all are gone. Returns the pids still alive. */
export async function killAll(pids: Iterable<number>, timeoutMs = 5_000): Promise<number[]> {
  const list = [...new Set(pids)].filter((pid) => pid !== process.pid);
  for (const pid of list) signal(pid, 'SIGKILL');
  const left = new Set(list);
  await pollUntil(async () => {
    for (const pid of left) if (!(await isAlive(pid))) left.delete(pid);
    return left.size === 0;
  }, timeoutMs);
  return [...left];
}

export async function allPids(): Promise<number[]> {
  const entries = await readdir('/proc');
  return entries.filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Pids whose command line has an argument containing `needle` (e.g. a run's state dir). */
export async function pidsWithArgument(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await allPids()) {
    if (pid === process.pid) continue;
    const argv = await commandLine(pid);
    if (argv.some((arg) => arg.includes(needle))) found.push(pid);
  }
  return found;
}

/** Pids whose network namespace is the one bound at `nsPath` (what `ip netns pids` reports). */
export async function pidsInNetns(nsPath: string): Promise<number[]> {
  let target: { dev: number; ino: number };
  try {
    target = await stat(nsPath);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const pid of await allPids()) {
    try {
      const link = await readlink(`/proc/${pid}/ns/net`);
      const match = /^net:\[(\d+)\]$/.exec(link);
      if (match && Number(match[1]) === target.ino) found.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}
