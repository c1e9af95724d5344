/**
 * The record of a run of test hosts, written to /run/swarmts-test/runs/<id>.json *before* any
 * resource is made and updated as processes start. Teardown works from this record alone, so
 * `destroy()`, `cleanupStaleTestHosts()` after a crash and `cluster/cli.ts down` share one path.
 *
 * A run is live while its owner process (pid + start time, so a reused pid does not count) is
 * alive, or forever when it is persistent (made by the CLI; `down` removes it).
 */
import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, processStartTime } from './processes.js';

/** Sockets, pid files and exec roots (short paths: unix sockets are limited to 108 bytes). */
export const STATE_ROOT = '/run/swarmts-test';
export const RUNS_DIR = join(STATE_ROOT, 'runs');
/** Data roots, data dirs and logs (a disk, not tmpfs: images and containers live here). */
export const DATA_ROOT = '/var/tmp/swarmts-test';

export interface DockerRecord {
  socketPath: string;
  dataRoot: string;
  execRoot: string;
  pidFile: string;
  logFile: string;
  configFile: string;
  /** Containers of this engine live under this cgroup (`--cgroup-parent`). */
  cgroupParent: string;
  /** Set once dockerd is started. */
  pid?: number;
}

export interface HostRecord {
  name: string;
  index: number;
  netns: string;
  address: string;
  /** The bridge-side end of the host's veth pair (the other end is eth0 in the namespace). */
  veth: string;
  /** /run/swarmts-test/<run>/<host>: socket, pid file, exec root. */
  stateDir: string;
  /** /var/tmp/swarmts-test/<run>/<host>: data root, log, the host's data dir. */
  hostDir: string;
  /** A fresh empty directory for whatever runs on the host (e.g. an agent's --data-dir). */
  dataDir: string;
  docker?: DockerRecord;
}

export interface RunRecord {
  version: 1;
  /** `swt` + 4 hex digits; also the bridge's name. */
  id: string;
  name: string;
  createdAt: string;
  /** The process that owns the run; null for a persistent run (made by the CLI). */
  owner: { pid: number; startTime: number } | null;
  bridge: string;
  /** e.g. 10.213.7.0/24 */
  subnet: string;
  bridgeAddress: string;
  prefixLength: number;
  /** Arguments of the FORWARD rules we insert (`iptables -I FORWARD ...args`). */
  forwardRules: string[][];
  /** /run/swarmts-test/<id> */
  stateDir: string;
  /** /var/tmp/swarmts-test/<id> */
  runDir: string;
  hosts: HostRecord[];
}

export function runFile(id: string): string {
  return join(RUNS_DIR, `${id}.json`);
}

/**
 * Creates the record; fails with EEXIST if the id is taken (that is how ids are reserved).
 * Written aside and hard-linked into place, so a reader never sees a half-written record.
 */
export async function reserveRun(record: RunRecord): Promise<void> {
  await mkdir(RUNS_DIR, { recursive: true });
  const temp = `${runFile(record.id)}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
  try {
    await link(temp, runFile(record.id));
  } finally {
    await unlink(temp);
  }
}

export async function saveRun(record: RunRecord): Promise<void> {
  const file = runFile(record.id);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temp, file);
}

export async function removeRunRecord(id: string): Promise<void> {
  await rm(runFile(id), { force: true });
}

export async function loadRun(id: string): Promise<RunRecord | null> {
  try {
    return JSON.parse(await readFile(runFile(id), 'utf8')) as RunRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Every run record; unreadable ones are reported with `record: null`. */
export async function loadRuns(): Promise<{ id: string; record: RunRecord | null }[]> {
  let names: string[];
  try {
    names = await readdir(RUNS_DIR);
  } catch {
    return [];
  }
  const runs: { id: string; record: RunRecord | null }[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const id = name.slice(0, -'.json'.length);
    try {
      runs.push({ id, record: await loadRun(id) });
    } catch {
      runs.push({ id, record: null });
    }
  }
  return runs;
}

export async function ownerIdentity(): Promise<{ pid: number; startTime: number }> {
  return { pid: process.pid, startTime: (await processStartTime(process.pid)) ?? 0 };
}

/** Whether the run may still be in use: persistent, or its owner process is alive. */
export async function isRunLive(record: RunRecord): Promise<boolean> {
  if (record.owner === null) return true;
  const { pid, startTime } = record.owner;
  if (!(await isAlive(pid))) return false;
  return (await processStartTime(pid)) === startTime;
}
