/**
 * Test hosts on one machine: each its own network namespace with its own address on a shared
 * bridge and (by default) its own dockerd, plus fault injection (cut a link, kill -9, pause).
 * For e2e tests and the demo; see docs/test-hosts.md.
 *
 *   const cluster = await createTestHosts({ count: 3 });
 *   const agent = cluster.hosts[0].spawn('node', ['dist/bundle/swarmts.js', 'agent', ...]);
 *   await cluster.hosts[1].cut();
 *   await cluster.destroy();
 *
 * Needs root. Names of one run share a prefix `swt` + 4 hex digits (the run id): bridge
 * `swtXXXX`, veths `swtXXXXh<i>`, namespaces and cgroups `swt-XXXX-<i>` (interface names are
 * limited to 15 characters).
 */
import { type ChildProcess, type SpawnOptions, type StdioOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from '../src/log.js';
import {
  DEFAULT_TEST_IMAGE,
  engineClient,
  exportImage,
  loadImage,
  startDockerd,
  waitForEngine,
} from './engine.js';
import { type CommandResult, commandEnv, type RunOptions, tryRun } from './exec.js';
import {
  addressAt,
  type Cidr,
  createBridge,
  createHostNetwork,
  ensureIpForward,
  formatCidr,
  insertForwardRule,
  linkNames,
  netnsNames,
  netnsPath,
  overlaps,
  parseCidr,
  pickSubnet,
  setLink,
  usedPrefixes,
} from './network.js';
import {
  type ProcessTarget,
  pidOf,
  pollUntil,
  processState,
  signal,
  terminate,
} from './processes.js';
import {
  DATA_ROOT,
  type HostRecord,
  loadRun,
  loadRuns,
  ownerIdentity,
  type RunRecord,
  reserveRun,
  STATE_ROOT,
  saveRun,
} from './registry.js';
import { cleanupStaleTestHosts, teardownRun } from './teardown.js';

export { DEFAULT_TEST_IMAGE } from './engine.js';
export { CommandError, type CommandResult } from './exec.js';
export type { HostRecord, RunRecord } from './registry.js';
export { type CleanupReport, cleanupStaleTestHosts } from './teardown.js';

export interface TestHostsOptions {
  /** How many hosts (1..200). */
  count: number;
  /** Host names are `${name}${index}`: host0, host1, ... Default 'host'. */
  name?: string;
  /** An IPv4 subnet for the bridge (.1) and the hosts (.10, .11, ...). Default: a free 10.x.y.0/24. */
  subnet?: string;
  /** Start a dockerd per host. Default true. */
  docker?: boolean;
  /** Extra dockerd flags for every host, e.g. ['--log-level=debug']. */
  dockerArgs?: string[];
  /** Image loaded into every host's engine; false for none. Default swarmts/busybox:latest. */
  image?: string | false;
  /** How long each dockerd may take to answer /_ping. Default 60 s. */
  readyTimeoutMs?: number;
  /** Remove leftovers of crashed earlier runs first. Default true. */
  cleanupStale?: boolean;
  /**
   * Keep the run after this process exits (the CLI's `up`); otherwise a later run's stale
   * cleanup removes it once this process is gone. Default false.
   */
  persistent?: boolean;
  logger?: Logger;
}

export interface SpawnInHostOptions extends Omit<SpawnOptions, 'detached' | 'env' | 'stdio'> {
  /**
   * Added to this process's environment, over DOCKER_HOST=<the host's engine> (PATH also gets
   * the sbin directories).
   */
  env?: Record<string, string | undefined>;
  /** Default 'pipe' (then read stdout/stderr, or a chatty child blocks on a full pipe). */
  stdio?: StdioOptions;
}

export interface TestHost {
  readonly name: string;
  readonly index: number;
  /** The host's IPv4 address on the test bridge. */
  readonly address: string;
  /** Network namespace name (`swt-XXXX-<i>`), bound at /var/run/netns/<netns>. */
  readonly netns: string;
  readonly netnsPath: string;
  /** `unix:///run/swarmts-test/<run>/<host>/docker.sock`, for DOCKER_HOST or `docker -H`. */
  readonly dockerHost: string;
  readonly socketPath: string;
  /** A fresh empty directory for this host's own files (e.g. an agent's data dir). */
  readonly dataDir: string;
  /** The bridge-side veth; `cut()` sets it down. */
  readonly veth: string;
  /** dockerd's log file, if the host has an engine. */
  readonly dockerLog: string | undefined;
  /** Whether `cut()` was called without a `restore()` since. */
  readonly isCut: boolean;
  /** A Docker API client for this host's engine (throws when started with docker: false). */
  docker(): Docker;
  /**
   * Starts a process inside the namespace (`nsenter --net=...`, which execs: the child's pid is
   * the command's), in its own process group, DOCKER_HOST set to this host's engine. destroy()
   * kills it (SIGTERM to the group, SIGKILL after 2 s).
   */
  spawn(command: string, args?: readonly string[], options?: SpawnInHostOptions): ChildProcess;
  /**
   * Runs a command inside the namespace to completion (DOCKER_HOST set to this host's engine);
   * a non-zero exit is not an error, a command that cannot start is.
   */
  exec(command: string, args?: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Whether a TCP connection from inside this host to address:port opens within the timeout. */
  canConnect(address: string, port: number, options?: { timeoutMs?: number }): Promise<boolean>;
  /** An HTTP GET from inside this host; never throws for network errors (see `error`). */
  httpGet(url: string, options?: { timeoutMs?: number }): Promise<HttpResult>;
  /** Takes the host's link down: it reaches nothing and nothing reaches it. */
  cut(): Promise<void>;
  /** Brings the link back up. */
  restore(): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill9(target: ProcessTarget): Promise<void>;
  /** SIGSTOP; resolves once the process is stopped. */
  pause(target: ProcessTarget): Promise<void>;
  /** SIGCONT; resolves once the process runs again. */
  resume(target: ProcessTarget): Promise<void>;
  /** Processes started with spawn() that are still running. */
  processes(): ChildProcess[];
}

export interface HttpResult {
  /** The response status, or null when there was no response. */
  status: number | null;
  body: string;
  /** Why there was no response (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ...). */
  error?: string;
}

export interface TestHosts {
  /** The run id, `swt` + 4 hex digits; also the bridge's name. */
  readonly id: string;
  readonly hosts: TestHost[];
  readonly subnet: string;
  readonly bridge: string;
  /** The bridge's address: the hosts' default gateway; reachable from the root namespace. */
  readonly bridgeAddress: string;
  readonly record: RunRecord;
  /** A host by name or index; throws if there is none. */
  host(nameOrIndex: string | number): TestHost;
  /**
   * Kills spawned processes, stops the engines, unmounts, deletes namespaces, veths, bridge,
   * iptables rules and directories. Idempotent; safe after a failed test or a failed create.
   */
  destroy(): Promise<void>;
}

const HOST_NAME = /^[a-z][a-z0-9-]{0,15}$/;
const SPAWN_GRACE_MS = 2_000;

/** Creates `count` test hosts. Needs root. On failure, whatever was made is torn down. */
export async function createTestHosts(options: TestHostsOptions): Promise<TestHosts> {
  const { count, logger } = options;
  const name = options.name ?? 'host';
  if (!Number.isInteger(count) || count < 1 || count > 200) {
    throw new Error(`count must be an integer from 1 to 200, not ${count}`);
  }
  if (!HOST_NAME.test(name)) {
    throw new Error(`name must match ${HOST_NAME} (it becomes part of paths), not "${name}"`);
  }
  if (process.getuid?.() !== 0) throw new Error('test hosts need root (namespaces, iptables)');
  const withDocker = options.docker ?? true;
  const started = Date.now();

  if (options.cleanupStale ?? true) await cleanupStaleTestHosts(logger ? { logger } : {});

  const record = await reserve(options, name, withDocker);
  const log = logger?.child({ run: record.id });
  try {
    await ensureIpForward().then((changed) => {
      if (changed) log?.info({}, 'enabled net.ipv4.ip_forward');
    });
    await createBridge(record.bridge, record.bridgeAddress, record.prefixLength);
    for (const rule of record.forwardRules) await insertForwardRule(rule);
    await allOrFirstError(
      record.hosts.map(async (host) => {
        await mkdir(host.stateDir, { recursive: true });
        await mkdir(host.dataDir, { recursive: true });
        await createHostNetwork({
          netns: host.netns,
          veth: host.veth,
          bridge: record.bridge,
          address: host.address,
          prefixLength: record.prefixLength,
          gateway: record.bridgeAddress,
        });
      }),
    );
    log?.info({ ms: Date.now() - started, subnet: record.subnet }, 'test network ready');
    if (withDocker) await startEngines(record, options, log);
    log?.info({ ms: Date.now() - started, hosts: count }, 'test hosts ready');
  } catch (error) {
    try {
      await teardownRun(record, logger);
    } catch (teardownError) {
      log?.error({ err: teardownError }, 'cleanup after a failed create was incomplete');
    }
    throw error;
  }
  return attach(record, logger);
}

/** Picks an unused id and subnet and writes the run record before any resource exists. */
async function reserve(
  options: TestHostsOptions,
  name: string,
  withDocker: boolean,
): Promise<RunRecord> {
  const used = await usedPrefixes();
  for (const { record } of await loadRuns()) if (record) used.push(parseCidr(record.subnet));
  let subnet: Cidr;
  if (options.subnet) {
    subnet = parseCidr(options.subnet);
    const clash = used.find((prefix) => overlaps(prefix, subnet));
    if (clash) {
      throw new Error(`subnet ${options.subnet} overlaps ${formatCidr(clash)}, which is in use`);
    }
  } else {
    subnet = pickSubnet(used);
  }
  // Check the addresses fit before making anything.
  addressAt(subnet, 10 + options.count - 1);

  const owner = options.persistent ? null : await ownerIdentity();
  for (let attempt = 0; attempt < 20; attempt++) {
    const hex = randomBytes(2).toString('hex');
    const id = `swt${hex}`;
    const taken =
      (await linkNames()).some((link) => link.startsWith(id)) ||
      (await netnsNames()).some((ns) => ns.startsWith(`swt-${hex}-`));
    if (taken) continue;
    const stateDir = join(STATE_ROOT, id);
    const runDir = join(DATA_ROOT, id);
    const hosts: HostRecord[] = [];
    for (let index = 0; index < options.count; index++) {
      const hostName = `${name}${index}`;
      const netns = `swt-${hex}-${index}`;
      const hostStateDir = join(stateDir, hostName);
      const hostDir = join(runDir, hostName);
      const host: HostRecord = {
        name: hostName,
        index,
        netns,
        address: addressAt(subnet, 10 + index),
        veth: `${id}h${index}`,
        stateDir: hostStateDir,
        hostDir,
        dataDir: join(hostDir, 'data'),
      };
      if (withDocker) {
        host.docker = {
          socketPath: join(hostStateDir, 'docker.sock'),
          execRoot: join(hostStateDir, 'exec'),
          pidFile: join(hostStateDir, 'docker.pid'),
          configFile: join(hostStateDir, 'daemon.json'),
          dataRoot: join(hostDir, 'docker'),
          logFile: join(hostDir, 'dockerd.log'),
          cgroupParent: `/${netns}`, // absolute: under the root of every hierarchy
        };
      }
      hosts.push(host);
    }
    const record: RunRecord = {
      version: 1,
      id,
      name,
      createdAt: new Date().toISOString(),
      owner,
      bridge: id,
      subnet: formatCidr(subnet),
      bridgeAddress: addressAt(subnet, 1),
      prefixLength: subnet.prefixLength,
      forwardRules: [['-i', id, '-o', id, '-j', 'ACCEPT']],
      stateDir,
      runDir,
      hosts,
    };
    try {
      await reserveRun(record);
      return record;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
  }
  throw new Error('could not find an unused run id for test hosts');
}

/** Starts every dockerd in parallel, exports the image meanwhile, then loads it everywhere. */
async function startEngines(record: RunRecord, options: TestHostsOptions, log?: Logger) {
  const t0 = Date.now();
  const image = options.image === undefined ? DEFAULT_TEST_IMAGE : options.image;
  const tar = image ? exportImage(image, join(record.runDir, 'image.tar')) : null;
  tar?.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
  try {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const children = await Promise.all(
      record.hosts.map(async (host) => {
        const child = await startDockerd(host, options.dockerArgs ?? []);
        if (host.docker && child.pid) host.docker.pid = child.pid;
        return child;
      }),
    );
    await saveRun(record);
    await allOrFirstError(
      record.hosts.map((host, i) => waitForEngine(host, children[i], timeoutMs)),
    );
    log?.info({ ms: Date.now() - t0 }, 'engines answer');
    if (!tar) return;
    const t1 = Date.now();
    const imageTar = await tar;
    await allOrFirstError(
      record.hosts.map(async (host) => {
        if (!host.docker) return;
        try {
          await loadImage(host.docker.socketPath, imageTar);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`${host.name}: ${message}`, { cause: error });
        }
      }),
    );
    log?.info(
      { ms: Date.now() - t1, image: imageTar.image, from: imageTar.source },
      'image loaded',
    );
  } catch (error) {
    await tar?.catch(() => {}); // not writing into the run dir while it is removed
    throw error;
  }
}

/** Waits for every promise (nothing keeps running behind our back), then throws the first error. */
async function allOrFirstError(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Test hosts of an existing run (by id; without one, the only run, else the newest), e.g. one
 * made by `cluster/cli.ts up`. Its destroy() tears that run down.
 */
export async function openTestHosts(id?: string, logger?: Logger): Promise<TestHosts> {
  if (id) {
    const record = await loadRun(id);
    if (!record) throw new Error(`no test-host run ${id}`);
    return attach(record, logger);
  }
  const records = (await loadRuns()).flatMap(({ record }) => (record ? [record] : []));
  records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const newest = records[0];
  if (!newest) throw new Error('no test-host runs (start some with `cluster/cli.ts up`)');
  return attach(newest, logger);
}

function attach(record: RunRecord, logger?: Logger): TestHosts {
  const hosts = record.hosts.map((host) => new Host(host));
  let destroying: Promise<void> | null = null;
  const destroy = async (): Promise<void> => {
    const errors: Error[] = [];
    await Promise.all(
      hosts.map((host) =>
        host.killSpawned().catch((error: unknown) => {
          errors.push(error instanceof Error ? error : new Error(String(error)));
        }),
      ),
    );
    await teardownRun(record, logger);
    if (errors.length > 0) throw new AggregateError(errors, 'some spawned processes survived');
  };
  return {
    id: record.id,
    hosts,
    subnet: record.subnet,
    bridge: record.bridge,
    bridgeAddress: record.bridgeAddress,
    record,
    host(nameOrIndex) {
      const found = hosts.find((h) =>
        typeof nameOrIndex === 'number' ? h.index === nameOrIndex : h.name === nameOrIndex,
      );
      if (!found) throw new Error(`no test host ${nameOrIndex} in run ${record.id}`);
      return found;
    },
    destroy() {
      // One teardown at a time; a failed one may be retried, a finished one is not repeated.
      destroying ??= destroy().catch((error: unknown) => {
        destroying = null;
        throw error;
      });
      return destroying;
    },
  };
}

// Probes run as `node -e SCRIPT ARGS...` inside the namespace (CommonJS; argv[1...] are ARGS).
const CONNECT_SCRIPT = `
const [host, port, ms] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port) });
socket.setTimeout(Number(ms), () => process.exit(2));
socket.on('connect', () => process.exit(0));
socket.on('error', () => process.exit(1));
`;

const HTTP_GET_SCRIPT = `
const [url, ms] = process.argv.slice(1);
let printed = false;
const print = (result) => {
  if (!printed) process.stdout.write(JSON.stringify(result));
  printed = true;
};
const req = require('node:http').get(url, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => { body += chunk; });
  res.on('end', () => print({ status: res.statusCode, body }));
  res.on('error', (e) => print({ status: null, body, error: e.code || e.message }));
});
req.setTimeout(Number(ms), () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
req.on('error', (e) => print({ status: null, body: '', error: e.code || e.message }));
`;

class Host implements TestHost {
  readonly name: string;
  readonly index: number;
  readonly address: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly dockerHost: string;
  readonly socketPath: string;
  readonly dataDir: string;
  readonly veth: string;
  readonly dockerLog: string | undefined;
  #isCut = false;
  #client: Docker | undefined;
  readonly #spawned = new Set<ChildProcess>();
  readonly #record: HostRecord;

  constructor(record: HostRecord) {
    this.#record = record;
    this.name = record.name;
    this.index = record.index;
    this.address = record.address;
    this.netns = record.netns;
    this.netnsPath = netnsPath(record.netns);
    this.socketPath = record.docker?.socketPath ?? join(record.stateDir, 'docker.sock');
    this.dockerHost = `unix://${this.socketPath}`;
    this.dataDir = record.dataDir;
    this.veth = record.veth;
    this.dockerLog = record.docker?.logFile;
  }

  get isCut(): boolean {
    return this.#isCut;
  }

  docker(): Docker {
    if (!this.#record.docker) throw new Error(`${this.name} was created without a docker engine`);
    this.#client ??= engineClient(this.socketPath);
    return this.#client;
  }

  spawn(command: string, args: readonly string[] = [], options: SpawnInHostOptions = {}) {
    const { env, stdio, ...rest } = options;
    const child = spawn('nsenter', [`--net=${this.netnsPath}`, '--', command, ...args], {
      ...rest,
      env: commandEnv({ ...this.#hostEnv(), ...env }),
      stdio: stdio ?? 'pipe',
      // Its own process group, so destroy() also reaches what it starts.
      detached: true,
    });
    this.#spawned.add(child);
    child.once('exit', () => this.#spawned.delete(child));
    child.once('error', () => this.#spawned.delete(child));
    return child;
  }

  exec(command: string, args: readonly string[] = [], options: RunOptions = {}) {
    return tryRun('nsenter', [`--net=${this.netnsPath}`, '--', command, ...args], {
      ...options,
      env: { ...this.#hostEnv(), ...options.env },
    });
  }

  /** What a process on this host sees by default: its own engine as DOCKER_HOST. */
  #hostEnv(): Record<string, string> {
    return this.#record.docker ? { DOCKER_HOST: this.dockerHost } : {};
  }

  async canConnect(address: string, port: number, options: { timeoutMs?: number } = {}) {
    const timeoutMs = options.timeoutMs ?? 1_000;
    const result = await this.exec(
      process.execPath,
      ['-e', CONNECT_SCRIPT, address, String(port), String(timeoutMs)],
      { timeoutMs: timeoutMs + 10_000 },
    );
    return result.code === 0;
  }

  async httpGet(url: string, options: { timeoutMs?: number } = {}): Promise<HttpResult> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    const result = await this.exec(
      process.execPath,
      ['-e', HTTP_GET_SCRIPT, url, String(timeoutMs)],
      {
        timeoutMs: timeoutMs + 10_000,
      },
    );
    try {
      return JSON.parse(result.stdout) as HttpResult;
    } catch {
      return { status: null, body: '', error: `probe failed: ${result.stderr.trim()}` };
    }
  }

  async cut(): Promise<void> {
    await setLink(this.veth, 'down');
    this.#isCut = true;
  }

  async restore(): Promise<void> {
    await setLink(this.veth, 'up');
    this.#isCut = false;
  }

  kill9(target: ProcessTarget): Promise<void> {
    return kill9(target);
  }

  pause(target: ProcessTarget): Promise<void> {
    return pause(target);
  }

  resume(target: ProcessTarget): Promise<void> {
    return resume(target);
  }

  processes(): ChildProcess[] {
    return [...this.#spawned];
  }

  /** SIGTERM (+SIGCONT) to each spawned process group, SIGKILL after a short grace. */
  async killSpawned(): Promise<void> {
    await Promise.all(
      [...this.#spawned].map(async (child) => {
        if (child.pid === undefined) return;
        await terminate(child.pid, { graceMs: SPAWN_GRACE_MS, group: true });
        this.#spawned.delete(child);
      }),
    );
  }
}

const SIGNAL_WAIT_MS = 5_000;

/** SIGKILL; resolves once the process is gone (or a zombie waiting for its parent). */
export async function kill9(target: ProcessTarget): Promise<void> {
  const pid = pidOf(target);
  signal(pid, 'SIGKILL');
  const gone = await pollUntil(async () => {
    const state = await processState(pid);
    return state === null || state === 'Z' || state === 'X';
  }, SIGNAL_WAIT_MS);
  if (!gone) throw new Error(`process ${pid} survived SIGKILL for ${SIGNAL_WAIT_MS} ms`);
}

/** SIGSTOP; resolves once the process is stopped. */
export async function pause(target: ProcessTarget): Promise<void> {
  const pid = pidOf(target);
  if (!signal(pid, 'SIGSTOP')) throw new Error(`process ${pid} is not running`);
  const stopped = await pollUntil(async () => (await processState(pid)) === 'T', SIGNAL_WAIT_MS);
  if (!stopped) throw new Error(`process ${pid} did not stop within ${SIGNAL_WAIT_MS} ms`);
}

/** SIGCONT; resolves once the process is no longer stopped. */
export async function resume(target: ProcessTarget): Promise<void> {
  const pid = pidOf(target);
  if (!signal(pid, 'SIGCONT')) throw new Error(`process ${pid} is not running`);
  const running = await pollUntil(async () => (await processState(pid)) !== 'T', SIGNAL_WAIT_MS);
  if (!running) throw new Error(`process ${pid} is still stopped after ${SIGNAL_WAIT_MS} ms`);
}
