/**
 * The test-host harness for real: network namespaces on a bridge, one dockerd each, link cuts,
 * process faults, a published port across hosts, and a teardown that leaves nothing behind —
 * also when the process that made the hosts was killed.
 */
import { spawn } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidsInCgroup, topLevelCgroups } from '../../../cluster/cgroups.js';
import { mountsUnder } from '../../../cluster/mounts.js';
import { forwardRules, linkNames, netnsNames } from '../../../cluster/network.js';
import { isAlive, pidsWithArgument, pollUntil, processState } from '../../../cluster/processes.js';
import { RUNS_DIR, runFile } from '../../../cluster/registry.js';
import {
  cleanupStaleTestHosts,
  createTestHosts,
  DEFAULT_TEST_IMAGE,
  type RunRecord,
  type TestHost,
  type TestHosts,
} from '../../../cluster/test-hosts.js';

const PORT = 4380;
const TIMEOUT_MS = 120_000;
const SLOW = { timeout: TIMEOUT_MS };

let cluster: TestHosts | undefined;

function hosts(): [TestHost, TestHost] {
  const [host0, host1] = cluster?.hosts ?? [];
  if (!host0 || !host1) throw new Error('test hosts were not created');
  return [host0, host1];
}

beforeAll(async () => {
  cluster = await createTestHosts({ count: 2 });
}, TIMEOUT_MS);

afterAll(async () => {
  await cluster?.destroy();
}, TIMEOUT_MS);

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Everything a run may leave behind, as readable strings; empty when clean. */
async function leftovers(record: RunRecord, dockerdPids: number[]): Promise<string[]> {
  const found: string[] = [];
  const netns = new Set(await netnsNames());
  const links = new Set(await linkNames());
  for (const host of record.hosts) {
    if (netns.has(host.netns)) found.push(`netns ${host.netns}`);
    if (links.has(host.veth)) found.push(`veth ${host.veth}`);
    if (host.docker && (await pidsInCgroup(host.docker.cgroupParent)).length > 0) {
      found.push(`processes in cgroup ${host.docker.cgroupParent}`);
    }
  }
  if (links.has(record.bridge)) found.push(`bridge ${record.bridge}`);
  for (const rule of await forwardRules()) {
    if (rule.includes(record.bridge)) found.push(`iptables FORWARD ${rule.join(' ')}`);
  }
  for (const cgroup of await topLevelCgroups(new RegExp(`^swt-${record.id.slice(3)}-`))) {
    found.push(`cgroup /${cgroup}`);
  }
  for (const pid of dockerdPids) if (await isAlive(pid)) found.push(`dockerd ${pid}`);
  for (const pid of await pidsWithArgument(`${record.stateDir}/`)) found.push(`process ${pid}`);
  for (const pid of await pidsWithArgument(`${record.runDir}/`)) found.push(`process ${pid}`);
  for (const dir of [record.stateDir, record.runDir]) {
    for (const mount of await mountsUnder(dir)) found.push(`mount ${mount}`);
    if (await exists(dir)) found.push(`directory ${dir}`);
  }
  if (await exists(runFile(record.id))) found.push(`record ${runFile(record.id)}`);
  return found;
}

async function dockerdPidsOf(record: RunRecord): Promise<number[]> {
  const pids: number[] = [];
  for (const host of record.hosts) {
    if (!host.docker) continue;
    pids.push(Number((await readFile(host.docker.pidFile, 'utf8')).trim()));
  }
  return pids;
}

describe('test hosts', () => {
  it('gives each host its own address, namespace, data dir and engine with the test image', async () => {
    const [host0, host1] = hosts();
    expect(host0.address).not.toBe(host1.address);
    expect(host0.netns).not.toBe(host1.netns);
    expect(host0.dataDir).not.toBe(host1.dataDir);
    expect(await exists(host0.dataDir)).toBe(true);
    for (const host of [host0, host1]) {
      expect(host.dockerHost).toBe(`unix://${host.socketPath}`);
      const docker = host.docker();
      expect((await docker.ping()).toString()).toBe('OK');
      const images = await docker.listImages();
      expect(images.flatMap((image) => image.RepoTags ?? [])).toContain(DEFAULT_TEST_IMAGE);
      // The engine really lives in the namespace: its docker0 is there, not in ours.
      const links = await host.exec('ip', ['-br', 'addr', 'show', 'dev', 'eth0']);
      expect(links.stdout).toContain(host.address);
    }
  });

  it('lets host0 reach host1, not while host1 is cut, and again once restored', async () => {
    const [host0, host1] = hosts();
    const server = host1.spawn(process.execPath, [
      '-e',
      // Probes hang up at once: a reset must not crash the server.
      `require('node:net').createServer((s) => s.on('error', () => {}).end('hi'))
        .listen(${PORT}, '${host1.address}', () => console.log('listening'));`,
    ]);
    const listening = new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('listening')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    await listening;

    expect(await host0.canConnect(host1.address, PORT)).toBe(true);
    const ping = await host0.exec('busybox', ['ping', '-c', '1', '-W', '1', host1.address]);
    expect(ping.code, ping.stderr).toBe(0);

    await host1.cut();
    expect(host1.isCut).toBe(true);
    expect(await host0.canConnect(host1.address, PORT, { timeoutMs: 1_000 })).toBe(false);

    await host1.restore();
    const back = await pollUntil(() => host0.canConnect(host1.address, PORT), 15_000, 200);
    expect(back).toBe(true);

    await host1.kill9(server);
    expect(await host0.canConnect(host1.address, PORT)).toBe(false);
  });

  it('serves a published port of a container on host1 to host0', async () => {
    const [host0, host1] = hosts();
    const docker = host1.docker();
    const container = await docker.createContainer({
      Image: DEFAULT_TEST_IMAGE,
      Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } },
    });
    await container.start();
    let last: unknown;
    const answered = await pollUntil(
      async () => {
        last = await host0.httpGet(`http://${host1.address}:8080/`);
        return (last as { status: number | null }).status === 200;
      },
      15_000,
      200,
    );
    expect(answered, JSON.stringify(last)).toBe(true);
    expect(last).toMatchObject({ status: 200, body: 'swarmts test image\n' });
    // host0's own engine publishes nothing there.
    expect(await host0.canConnect(host0.address, 8080)).toBe(false);
  });

  it('pauses, resumes and kills a process', async () => {
    const [host0] = hosts();
    const sleeper = host0.spawn('sleep', ['1000']);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      sleeper.once('exit', (_code, sig) => resolve(sig)),
    );
    expect(await pollUntil(async () => (await processState(sleeper.pid ?? 0)) === 'S', 5_000)).toBe(
      true,
    );
    expect(host0.processes()).toContain(sleeper);
    await host0.pause(sleeper);
    expect(await processState(sleeper.pid ?? 0)).toBe('T');
    await host0.resume(sleeper);
    expect(await processState(sleeper.pid ?? 0)).not.toBe('T');
    await host0.kill9(sleeper);
    expect(await exited).toBe('SIGKILL');
  });

  it('destroys everything, twice without complaint', SLOW, async () => {
    const current = cluster;
    if (!current) throw new Error('test hosts were not created');
    const record = current.record;
    const dockerds = await dockerdPidsOf(record);
    const [host0] = hosts();
    host0.spawn('sleep', ['1000']); // left running on purpose
    expect(await leftovers(record, dockerds)).not.toEqual([]);

    await current.destroy();
    await current.destroy();
    expect(await leftovers(record, dockerds)).toEqual([]);
  });
});

describe('a failed create', () => {
  it('reports the dockerd log and leaves nothing behind', SLOW, async () => {
    const before = new Set((await netnsNames()).filter((ns) => ns.startsWith('swt-')));
    const error = await createTestHosts({
      count: 2,
      dockerArgs: ['--no-such-flag'],
      cleanupStale: false,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/host\d: dockerd exited .*no-such-flag/s);
    const after = (await netnsNames()).filter((ns) => ns.startsWith('swt-') && !before.has(ns));
    expect(after).toEqual([]);
    const runs = await readdir(RUNS_DIR).catch(() => []);
    for (const file of runs) {
      const record = JSON.parse(await readFile(`${RUNS_DIR}/${file}`, 'utf8')) as RunRecord;
      expect(record.owner?.pid, `record ${file} of this process left behind`).not.toBe(process.pid);
    }
  });
});

describe('cleanupStaleTestHosts', () => {
  it(
    'removes the hosts of a process that was killed before it could destroy them',
    SLOW,
    async () => {
      // A separate process makes one host with an engine and a running container, then dies.
      const testHostsModule = fileURLToPath(
        new URL('../../../cluster/test-hosts.ts', import.meta.url),
      );
      const script = `
      import { createTestHosts, DEFAULT_TEST_IMAGE } from ${JSON.stringify(testHostsModule)};
      const cluster = await createTestHosts({ count: 1, cleanupStale: false });
      const docker = cluster.hosts[0].docker();
      const c = await docker.createContainer({ Image: DEFAULT_TEST_IMAGE, Cmd: ['sleep', '1000'] });
      await c.start();
      console.log(JSON.stringify(cluster.record));
      setInterval(() => {}, 1000);
    `;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const record = await new Promise<RunRecord>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line && out.includes('\n')) resolve(JSON.parse(line) as RunRecord);
        });
        child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${stderr}`)));
      });
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;

      const dockerds = await dockerdPidsOf(record);
      expect(await leftovers(record, dockerds)).not.toEqual([]);
      const report = await cleanupStaleTestHosts();
      expect(report.runs).toContain(record.id);
      expect(report.errors).toEqual([]);
      expect(await leftovers(record, dockerds)).toEqual([]);
    },
  );
});
