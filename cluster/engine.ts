/**
 * One dockerd per test host, started inside the host's network namespace with
 * `nsenter --net=/var/run/netns/NAME` (not `ip netns exec`, which remounts /sys so that dockerd
 * fails with "Devices cgroup isn't mounted"). Everything it owns is per host: data root, exec
 * root (its own containerd), socket, pid file, config file, cgroup parent, containerd namespace.
 * Inside the namespace it keeps Docker's defaults (docker0 172.17.0.0/16, iptables NAT,
 * userland proxy), which do not meet the root namespace's, so published ports just work.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createReadStream, createWriteStream, openSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import { commandEnv, run, tryRun } from './exec.js';
import { netnsPath } from './network.js';
import { commandLine, isAlive, pollUntil, terminate } from './processes.js';
import type { DockerRecord, HostRecord } from './registry.js';

export const DEFAULT_TEST_IMAGE = process.env.SWARMTS_TEST_IMAGE ?? 'swarmts/busybox:latest';

export function dockerdArgs(docker: DockerRecord, namespace: string, extra: readonly string[]) {
  return [
    `--config-file=${docker.configFile}`, // not /etc/docker/daemon.json
    `--data-root=${docker.dataRoot}`,
    `--exec-root=${docker.execRoot}`,
    `--host=unix://${docker.socketPath}`,
    `--pidfile=${docker.pidFile}`,
    `--cgroup-parent=${docker.cgroupParent}`,
    // Separate namespaces in case dockerd finds and shares a system containerd.
    `--containerd-namespace=${namespace}`,
    `--containerd-plugins-namespace=${namespace}-plugins`,
    // Containers left running at shutdown get this long before SIGKILL (default 15 s).
    '--shutdown-timeout=2',
    ...extra,
  ];
}

/** Spawns the host's dockerd (detached, output to its log file). Does not wait for it. */
export async function startDockerd(
  host: HostRecord,
  extraArgs: readonly string[] = [],
): Promise<ChildProcess> {
  const docker = host.docker;
  if (!docker) throw new Error(`${host.name} has no engine configured`);
  await mkdir(docker.execRoot, { recursive: true });
  await mkdir(docker.dataRoot, { recursive: true });
  await writeFile(docker.configFile, '{}\n');
  const log = openSync(docker.logFile, 'a');
  try {
    const args = dockerdArgs(docker, host.netns, extraArgs);
    const child = spawn('nsenter', [`--net=${netnsPath(host.netns)}`, '--', 'dockerd', ...args], {
      detached: true, // its own process group: a Ctrl-C meant for us does not reach it
      stdio: ['ignore', log, log],
      env: commandEnv(),
    });
    child.on('error', () => {
      // reported by waitForEngine through the exit status
    });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

/** GET /_ping on a unix socket: true when the engine answers OK. */
export function ping(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function logTail(file: string, lines = 25): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls /_ping until it answers; fails early if dockerd exits, with the tail of its log. */
export async function waitForEngine(
  host: HostRecord,
  child: ChildProcess | undefined,
  timeoutMs: number,
): Promise<void> {
  const docker = host.docker;
  if (!docker) return;
  let exited = false;
  const ready = await pollUntil(
    async () => {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        exited = true;
        return true;
      }
      return ping(docker.socketPath, 1_000);
    },
    timeoutMs,
    100,
  );
  if (ready && !exited) return;
  const why = exited
    ? `dockerd exited (${child?.exitCode ?? child?.signalCode})`
    : `dockerd did not answer /_ping within ${timeoutMs} ms`;
  throw new Error(`${host.name}: ${why}; log ${docker.logFile}:\n${await logTail(docker.logFile)}`);
}

/** dockerd's pid from the record or its pid file, only if that process is still this dockerd. */
export async function dockerdPid(docker: DockerRecord): Promise<number | null> {
  const candidates: number[] = [];
  if (docker.pid) candidates.push(docker.pid);
  try {
    const fromFile = Number((await readFile(docker.pidFile, 'utf8')).trim());
    if (Number.isInteger(fromFile) && fromFile > 0) candidates.push(fromFile);
  } catch {
    // no pid file (not started, or removed at a clean exit)
  }
  for (const pid of candidates) {
    if (!(await isAlive(pid))) continue;
    const argv = await commandLine(pid);
    if (argv.some((arg) => arg.includes(docker.socketPath))) return pid;
  }
  return null;
}

export function engineClient(socketPath: string, timeoutMs = 30_000): Docker {
  return new Docker({ socketPath, timeout: timeoutMs });
}

/** Removes every container of the engine (force), so dockerd stops fast and leaves no shims. */
export async function removeAllContainers(socketPath: string): Promise<void> {
  const docker = engineClient(socketPath, 15_000);
  const containers = await docker.listContainers({ all: true });
  await Promise.all(
    containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })),
  );
}

/** Stops dockerd: its containers removed, SIGTERM, and SIGKILL after `graceMs`. */
export async function stopDockerd(docker: DockerRecord, graceMs = 15_000): Promise<void> {
  const pid = await dockerdPid(docker);
  if (pid === null) return;
  if (await ping(docker.socketPath, 1_000)) {
    await removeAllContainers(docker.socketPath).catch(() => {
      // best effort: the cgroup sweep kills what is left
    });
  }
  await terminate(pid, { graceMs });
}

// --- the test image ----------------------------------------------------------------------------

export type ImageSource =
  /** `docker save` from the main engine (DOCKER_HOST or /var/run/docker.sock). */
  | 'save'
  /** A root file system tar made from busybox-static, for `docker import`. */
  | 'rootfs';

export interface ImageTar {
  image: string;
  file: string;
  source: ImageSource;
}

/**
 * Writes the test image to `file` once per run: saved from the main engine when it has it,
 * otherwise made from busybox-static the way scripts/ensure-docker.sh does.
 */
export async function exportImage(image: string, file: string): Promise<ImageTar> {
  const main = new Docker({ timeout: 30_000 });
  let saveError: unknown;
  try {
    await main.getImage(image).inspect();
    const stream = await main.getImage(image).get();
    await pipeline(stream, createWriteStream(file));
    return { image, file, source: 'save' };
  } catch (error) {
    saveError = error;
  }
  try {
    await makeBusyboxRootfs(file);
  } catch (error) {
    throw new Error(
      `cannot provide ${image}: the main engine does not have it (${errorText(saveError)}) ` +
        `and it cannot be made from busybox-static (${errorText(error)})`,
    );
  }
  return { image, file, source: 'rootfs' };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function makeBusyboxRootfs(file: string): Promise<void> {
  const busybox = '/bin/busybox';
  const ldd = await tryRun('ldd', [busybox], { env: { LC_ALL: 'C' } });
  if (!`${ldd.stdout}${ldd.stderr}`.includes('not a dynamic executable')) {
    throw new Error(`${busybox} is missing or not static (Debian: apt-get install busybox-static)`);
  }
  const root = await mkdtemp(join(tmpdir(), 'swarmts-rootfs-'));
  try {
    for (const dir of ['bin', 'etc', 'tmp', 'www', 'run/secrets']) {
      await mkdir(join(root, dir), { recursive: true });
    }
    await copyFile(busybox, join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    const applets = (await run(busybox, ['--list'])).stdout.split('\n').filter(Boolean);
    for (const applet of applets) {
      if (applet !== 'busybox') await symlink('busybox', join(root, 'bin', applet));
    }
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    await writeFile(join(root, 'www/index.html'), 'swarmts test image\n');
    await chmod(join(root, 'tmp'), 0o1777);
    await run('tar', ['-C', root, '-c', '-f', file, '.']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Loads the image tar into a host's engine and checks that the image is there. */
export async function loadImage(socketPath: string, tar: ImageTar): Promise<void> {
  const docker = engineClient(socketPath, 120_000);
  let response: NodeJS.ReadableStream;
  if (tar.source === 'save') {
    response = await docker.loadImage(createReadStream(tar.file), { quiet: true });
  } else {
    const [repo, tag] = splitImageName(tar.image);
    response = await docker.importImage(createReadStream(tar.file), {
      repo,
      tag,
      changes: ['ENV PATH=/bin', 'CMD ["sh"]', 'LABEL swarmts.test-image=busybox'],
    } as unknown as Record<string, unknown>);
  }
  const messages = await readJsonLines(response);
  const failure = messages.find((m) => typeof m.error === 'string');
  if (failure) throw new Error(`loading ${tar.image} failed: ${String(failure.error)}`);
  await docker.getImage(tar.image).inspect();
}

function splitImageName(image: string): [string, string] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
}

async function readJsonLines(stream: NodeJS.ReadableStream): Promise<Record<string, unknown>[]> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  const messages: Record<string, unknown>[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      messages.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      messages.push({ error: line });
    }
  }
  return messages;
}
