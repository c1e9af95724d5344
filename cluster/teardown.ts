/**
 * Taking test hosts apart, from a run record alone: after a clean test, after a failed one, after
 * a crashed process (its record is found by `cleanupStaleTestHosts`). Every step tolerates
 * resources that are already gone, so teardown is idempotent, and one failing step does not stop
 * the others; the failures are reported together at the end.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../src/log.js';
import { pidsInCgroup, removeCgroup, topLevelCgroups } from './cgroups.js';
import { stopDockerd } from './engine.js';
import { mountsUnder, unmountUnder } from './mounts.js';
import {
  deleteForwardRule,
  deleteLink,
  deleteNetns,
  forwardRules,
  linkNames,
  netnsNames,
  netnsPath,
} from './network.js';
import { killAll, pidsInNetns, pidsWithArgument } from './processes.js';
import {
  DATA_ROOT,
  type HostRecord,
  isRunLive,
  loadRun,
  loadRuns,
  type RunRecord,
  removeRunRecord,
  STATE_ROOT,
} from './registry.js';

/** Run ids, bridges and cgroup/netns names follow these shapes (see test-hosts.ts). */
export const RUN_ID = /^swt[0-9a-f]{4}$/;
const LINK_NAME = /^(swt[0-9a-f]{4})(?:h\d+)?$/;
const NETNS_NAME = /^swt-([0-9a-f]{4})-\d+$/;

async function step(errors: Error[], what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    errors.push(new Error(`${what}: ${message}`, { cause: error }));
  }
}

/** Stops the host's engine, kills whatever is left in it, removes its mounts and namespace. */
export async function teardownHost(host: HostRecord): Promise<Error[]> {
  const errors: Error[] = [];
  const docker = host.docker;
  if (docker) await step(errors, `${host.name}: stop dockerd`, () => stopDockerd(docker));
  await step(errors, `${host.name}: kill leftover processes`, async () => {
    const pids = new Set(await pidsInNetns(netnsPath(host.netns)));
    if (docker) {
      // dockerd, its containerd and shims name the exec root or socket; containers the cgroup.
      for (const pid of await pidsWithArgument(docker.execRoot)) pids.add(pid);
      for (const pid of await pidsWithArgument(docker.socketPath)) pids.add(pid);
      for (const pid of await pidsInCgroup(docker.cgroupParent)) pids.add(pid);
    }
    const left = await killAll(pids);
    if (left.length > 0) throw new Error(`still alive after SIGKILL: ${left.join(', ')}`);
  });
  if (docker) {
    await step(errors, `${host.name}: remove cgroup ${docker.cgroupParent}`, async () => {
      const left = await removeCgroup(docker.cgroupParent);
      if (left.length > 0) throw new Error(`busy: ${left.join(', ')}`);
    });
  }
  for (const dir of [host.stateDir, host.hostDir]) {
    await step(errors, `${host.name}: unmount under ${dir}`, async () => {
      const left = await unmountUnder(dir);
      if (left.length > 0) throw new Error(`still mounted: ${left.join(', ')}`);
    });
  }
  // Deleting our end removes the pair at once, even if something still pins the namespace
  // (deleting the namespace alone frees its end later, asynchronously).
  await step(errors, `${host.name}: delete veth ${host.veth}`, () => deleteLink(host.veth));
  await step(errors, `${host.name}: delete netns ${host.netns}`, () => deleteNetns(host.netns));
  return errors;
}

/** Removes a directory tree unless something is still mounted below it. */
async function removeTree(dir: string): Promise<void> {
  const left = await unmountUnder(dir);
  if (left.length > 0) throw new Error(`not removed, still mounted: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}

/**
 * Tears a run down completely and deletes its record. Throws an AggregateError listing every
 * step that failed (the record is then kept, so a later cleanup can retry).
 */
export async function teardownRun(record: RunRecord, logger?: Logger): Promise<void> {
  const started = Date.now();
  const errors = (await Promise.all(record.hosts.map((host) => teardownHost(host)))).flat();
  await step(errors, `delete bridge ${record.bridge}`, () => deleteLink(record.bridge));
  for (const rule of record.forwardRules) {
    await step(errors, `delete iptables rule FORWARD ${rule.join(' ')}`, () =>
      deleteForwardRule(rule),
    );
  }
  for (const dir of [record.stateDir, record.runDir]) {
    await step(errors, `remove ${dir}`, () => removeTree(dir));
  }
  if (errors.length > 0) {
    logger?.warn({ run: record.id, errors: errors.map((e) => e.message) }, 'teardown incomplete');
    throw new AggregateError(
      errors,
      `tearing down test hosts ${record.id} failed: ${errors.map((e) => e.message).join('; ')}`,
    );
  }
  await removeRunRecord(record.id);
  logger?.info({ run: record.id, ms: Date.now() - started }, 'test hosts destroyed');
}

export interface CleanupOptions {
  logger?: Logger;
  /** Also tear down persistent runs (made by `cluster/cli.ts up`). Default false. */
  includePersistent?: boolean;
}

export interface CleanupReport {
  /** Runs whose records were found dead and torn down. */
  runs: string[];
  /** Orphans found without a live record: netns, links, rules, cgroups, processes, dirs. */
  orphans: string[];
  /** What could not be removed. */
  errors: string[];
}

/**
 * Removes what crashed earlier runs left: runs whose owner process is dead (pid + start time),
 * and anything shaped like ours (`swt` + 4 hex) that no live run claims. Never throws for a
 * leftover it cannot remove; that is reported (and logged) instead.
 */
export async function cleanupStaleTestHosts(options: CleanupOptions = {}): Promise<CleanupReport> {
  const { logger } = options;
  const report: CleanupReport = { runs: [], orphans: [], errors: [] };

  for (const { id, record } of await loadRuns()) {
    if (record && (await isRunLive(record)) && !(options.includePersistent && !record.owner)) {
      continue;
    }
    if (!record) {
      report.orphans.push(`unreadable record ${id}`);
      await removeRunRecord(id);
      continue;
    }
    report.runs.push(id);
    try {
      await teardownRun(record, logger);
    } catch (error) {
      report.errors.push(error instanceof Error ? error.message : String(error));
    }
  }

  // Anything of ours that no live run claims. Asked per id at the moment of deletion, so a run
  // being created concurrently (its record is written before its first resource) is left alone.
  const verdicts = new Map<string, boolean>();
  const claimed = async (id: string): Promise<boolean> => {
    const cached = verdicts.get(id);
    if (cached !== undefined) return cached;
    const record = await loadRun(id).catch(() => null);
    const live = record !== null && (await isRunLive(record));
    verdicts.set(id, live);
    return live;
  };
  const errors: Error[] = [];
  const orphan = async (what: string, id: string, action: () => Promise<unknown>) => {
    if (await claimed(id)) return;
    report.orphans.push(what);
    await step(errors, what, action);
  };

  for (const netns of await netnsNames()) {
    const match = NETNS_NAME.exec(netns);
    if (!match) continue;
    await orphan(`netns ${netns}`, `swt${match[1]}`, async () => {
      await killAll(await pidsInNetns(netnsPath(netns)));
      await deleteNetns(netns);
    });
  }
  for (const cgroup of await topLevelCgroups(NETNS_NAME)) {
    const match = NETNS_NAME.exec(cgroup);
    if (!match) continue;
    await orphan(`cgroup /${cgroup}`, `swt${match[1]}`, async () => {
      await killAll(await pidsInCgroup(cgroup));
      const left = await removeCgroup(cgroup);
      if (left.length > 0) throw new Error(`busy: ${left.join(', ')}`);
    });
  }
  for (const root of [STATE_ROOT, DATA_ROOT]) {
    for (const id of await listDir(root)) {
      if (!RUN_ID.test(id)) continue;
      const dir = join(root, id);
      await orphan(`directory ${dir}`, id, async () => {
        await killAll(await pidsWithArgument(`${dir}/`));
        await removeTree(dir);
      });
    }
  }
  for (const name of await linkNames()) {
    const match = LINK_NAME.exec(name);
    if (!match?.[1]) continue;
    await orphan(`link ${name}`, match[1], () => deleteLink(name));
  }
  for (const rule of await forwardRules()) {
    const id = rule.find((arg) => RUN_ID.test(arg));
    if (!id) continue;
    await orphan(`iptables rule FORWARD ${rule.join(' ')}`, id, () => deleteForwardRule(rule));
  }

  report.errors.push(...errors.map((e) => e.message));
  if (report.runs.length + report.orphans.length > 0) {
    logger?.info(report, 'cleaned up stale test hosts');
  }
  if (report.errors.length > 0) logger?.warn({ errors: report.errors }, 'stale leftovers remain');
  return report;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Mount points still present under a run's directories (for tests that check cleanliness). */
export async function runMounts(record: Pick<RunRecord, 'stateDir' | 'runDir'>) {
  return [...(await mountsUnder(record.stateDir)), ...(await mountsUnder(record.runDir))];
}
