/**
 * npm run bench:cluster — failure detection and failover on five test hosts (three managers,
 * two workers), each its own network namespace and dockerd. Baseline in the same run: Docker
 * Swarm on the same hosts and engines, measured the same way.
 *
 *   time from cutting a worker's link to the node shown Down (polled every 20 ms)
 *   time from cutting the leader's link to the next write accepted by another manager
 *   false Down reports during an idle period (--idle-minutes, default 1; the target run is 10)
 *   agent RSS, idle (a worker and a manager)
 *
 * Prints a table, then one JSON line (prefixed `BENCH_JSON `).
 */
import '../../src/polyfill.js';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import { TestAgent, waitUntil } from '../../cluster/agents.js';
import { createTestHosts, type TestHost, type TestHosts } from '../../cluster/test-hosts.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    'idle-minutes': { type: 'string', default: '1' },
    repeats: { type: 'string', default: '3' },
    'skip-swarm': { type: 'boolean', default: false },
  },
});
const IDLE_MS = Number(values['idle-minutes']) * 60_000;
const REPEATS = Number(values.repeats);
const NAMES = ['m0', 'm1', 'm2', 'w3', 'w4'];
const MANAGERS = ['m0', 'm1', 'm2'];

interface Figures {
  downSeconds: number[];
  writeAfterLeaderCutSeconds: number[];
  falseDowns?: number;
  idleMinutes?: number;
  workerRssMb?: number;
  managerRssMb?: number;
}

/** The operations a measurement needs, for swarmts and for Docker Swarm alike. */
interface Orchestrator {
  nodeState(via: string, name: string): Promise<string>;
  leader(via: string): Promise<string | undefined>;
  write(via: string, attempt: number): Promise<void>;
}

async function timeUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await waitUntil(condition, timeoutMs);
  return (performance.now() - started) / 1000;
}

async function measureDown(o: Orchestrator, host: (n: string) => TestHost): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    await host('w4').cut();
    if (process.env.SWARMTS_KEEP_LOGS) console.error(`cut w4 at ${new Date().toISOString()}`);
    result.push(await timeUntil(async () => (await o.nodeState('m0', 'w4')) === 'down', 120_000));
    await host('w4').restore();
    await waitUntil(async () => (await o.nodeState('m0', 'w4')) === 'ready', 120_000);
  }
  return result;
}

async function measureLeaderCut(o: Orchestrator, host: (n: string) => TestHost): Promise<number[]> {
  const result: number[] = [];
  let attempt = 0;
  for (let i = 0; i < REPEATS; i++) {
    let leader: string | undefined;
    await waitUntil(async () => {
      leader = await o.leader('m0');
      return leader !== undefined;
    }, 30_000);
    if (!leader) throw new Error('no leader');
    const other = MANAGERS.find((m) => m !== leader)!;
    await host(leader).cut();
    result.push(await timeUntil(() => o.write(other, ++attempt).then(() => true), 120_000));
    await host(leader).restore();
    await settle(o, other);
  }
  return result;
}

/**
 * Waits until every node has been Ready for 3 s in a row as the leader sees it. A cut leader's
 * Down is recorded by its successor only after it wins and catches up, possibly after the link
 * is back: without this, that real Down would land in the idle period and count as false.
 */
async function settle(o: Orchestrator, via: string): Promise<void> {
  let readySince: number | undefined;
  await waitUntil(async () => {
    const leader = (await o.leader(via)) ?? via;
    let allReady = true;
    for (const n of NAMES) if ((await o.nodeState(leader, n)) !== 'ready') allReady = false;
    if (!allReady) readySince = undefined;
    else readySince ??= Date.now();
    return readySince !== undefined && Date.now() - readySince >= 3000;
  }, 120_000);
}

async function rssMb(pid: number | undefined): Promise<number> {
  if (!pid) return NaN;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

async function swarmts(hosts: TestHosts): Promise<Figures> {
  const agents = new Map<string, TestAgent>();
  NAMES.forEach((name, i) => {
    const host = hosts.hosts[i]!;
    agents.set(
      name,
      new TestAgent({
        name,
        dir: `${host.dataDir}/swarmts`,
        listen: `${host.address}:4377`,
        dockerHost: host.dockerHost,
        launcher: (command, args) =>
          host.spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] }),
      }),
    );
  });
  const a = (n: string) => agents.get(n)!;
  try {
    await Promise.all([...agents.values()].map((x) => x.start(30_000)));
    await a('m0').init(hosts.hosts[0]!.address);
    const tokens = (await a('m0').swarm()).JoinTokens;
    for (const m of ['m1', 'm2']) await a(m).join(tokens.Manager, a('m0'));
    for (const w of ['w3', 'w4']) await a(w).join(tokens.Worker, a('m0'));
    const o: Orchestrator = {
      nodeState: async (via, name) => (await a(via).node(name)).Status.State,
      leader: async (via) =>
        (await a(via).nodes()).find((n) => n.ManagerStatus?.Leader)?.Description.Hostname,
      write: (via, attempt) =>
        a(via).updateNode('w3', (spec) => ({ ...spec, Labels: { attempt: String(attempt) } })),
    };
    await waitUntil(async () => {
      for (const n of NAMES) if ((await o.nodeState('m0', n)) !== 'ready') return false;
      return true;
    }, 30_000);
    const host = (n: string) => hosts.hosts[NAMES.indexOf(n)]!;
    const downSeconds = await measureDown(o, host);
    const writeAfterLeaderCutSeconds = await measureLeaderCut(o, host);

    // Idle: count every transition to down seen by polling the leader's view.
    let falseDowns = 0;
    const last = new Map<string, string>();
    const idleEnd = Date.now() + IDLE_MS;
    console.error(`idle from ${new Date().toISOString()}`);
    while (Date.now() < idleEnd) {
      const leader = (await o.leader('m0')) ?? 'm0';
      for (const n of await a(leader).nodes()) {
        const name = n.Description.Hostname;
        if (n.Status.State === 'down' && last.get(name) !== 'down') {
          falseDowns++;
          console.error(
            `false Down: ${name} at ${new Date().toISOString()} (${n.Status.Message ?? ''})`,
          );
        }
        last.set(name, n.Status.State);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      downSeconds,
      writeAfterLeaderCutSeconds,
      falseDowns,
      idleMinutes: IDLE_MS / 60_000,
      workerRssMb: await rssMb(a('w3').process?.pid),
      managerRssMb: await rssMb(a('m1').process?.pid),
    };
  } finally {
    await Promise.all([...agents.values()].map((x) => x.stop().catch(() => {})));
    const keep = process.env.SWARMTS_KEEP_LOGS;
    if (keep) {
      await mkdir(keep, { recursive: true });
      for (const x of agents.values()) await copyFile(x.logFile, `${keep}/${x.name}.log`);
    }
  }
}

async function dockerSwarm(hosts: TestHosts): Promise<Figures> {
  const engines = new Map<string, Docker>(NAMES.map((n, i) => [n, hosts.hosts[i]!.docker()]));
  const e = (n: string) => engines.get(n)!;
  const addr = (n: string) => hosts.hosts[NAMES.indexOf(n)]!.address;
  await e('m0').swarmInit({ ListenAddr: `${addr('m0')}:2377`, AdvertiseAddr: addr('m0') });
  const tokens = (
    (await e('m0').swarmInspect()) as { JoinTokens: { Worker: string; Manager: string } }
  ).JoinTokens;
  for (const n of NAMES.slice(1)) {
    await e(n).swarmJoin({
      ListenAddr: `${addr(n)}:2377`,
      AdvertiseAddr: addr(n),
      RemoteAddrs: [`${addr('m0')}:2377`],
      JoinToken: MANAGERS.includes(n) ? tokens.Manager : tokens.Worker,
    });
  }
  type SwarmNode = {
    ID: string;
    Version: { Index: number };
    Spec: Record<string, unknown>;
    Description: { Hostname: string };
    Status: { State: string };
    ManagerStatus?: { Leader?: boolean };
  };
  const nodes = async (via: string) =>
    (await e(via).listNodes({ abortSignal: AbortSignal.timeout(2000) } as object)) as SwarmNode[];
  // Docker hostnames are the machine's; map test-host names through the advertised address.
  const byAddr = async (via: string, name: string) => {
    const all = await nodes(via);
    const infos = await Promise.all(
      all.map(async (n) => ({
        n,
        addr: (n as unknown as { Status: { Addr: string } }).Status.Addr,
      })),
    );
    return infos.find((x) => x.addr === addr(name))?.n;
  };
  const o: Orchestrator = {
    nodeState: async (via, name) => (await byAddr(via, name))?.Status.State ?? 'unknown',
    leader: async (via) => {
      const leader = (await nodes(via)).find((n) => n.ManagerStatus?.Leader) as
        | { Status: { Addr: string } }
        | undefined;
      return NAMES.find((n) => addr(n) === leader?.Status.Addr);
    },
    write: async (via, attempt) => {
      const node = (await byAddr(via, 'w3'))!;
      await e(via)
        .getNode(node.ID)
        .update({
          version: node.Version.Index,
          ...node.Spec,
          Labels: { attempt: String(attempt) },
          abortSignal: AbortSignal.timeout(2000),
        } as object);
    },
  };
  try {
    await waitUntil(async () => {
      for (const n of NAMES) if ((await o.nodeState('m0', n)) !== 'ready') return false;
      return true;
    }, 60_000);
    const host = (n: string) => hosts.hosts[NAMES.indexOf(n)]!;
    return {
      downSeconds: await measureDown(o, host),
      writeAfterLeaderCutSeconds: await measureLeaderCut(o, host),
    };
  } finally {
    await Promise.all(
      NAMES.map((n) =>
        e(n)
          .swarmLeave({ force: true })
          .catch(() => {}),
      ),
    );
  }
}

async function main(): Promise<void> {
  const hosts = await createTestHosts({ count: NAMES.length, name: 'bench' });
  try {
    const ours = await swarmts(hosts);
    const swarm = values['skip-swarm'] ? undefined : await dockerSwarm(hosts);
    const rows: Array<[string, string, string, string]> = [
      [
        'cut worker → shown Down (median s)',
        median(ours.downSeconds).toFixed(2),
        swarm ? median(swarm.downSeconds).toFixed(2) : '-',
        swarm ? `${(median(swarm.downSeconds) / median(ours.downSeconds)).toFixed(1)}× faster` : '',
      ],
      [
        'cut leader → write accepted (median s)',
        median(ours.writeAfterLeaderCutSeconds).toFixed(2),
        swarm ? median(swarm.writeAfterLeaderCutSeconds).toFixed(2) : '-',
        swarm
          ? `${(median(swarm.writeAfterLeaderCutSeconds) / median(ours.writeAfterLeaderCutSeconds)).toFixed(1)}× faster`
          : '',
      ],
      [`false Down in ${ours.idleMinutes} min idle`, String(ours.falseDowns), '-', 'target 0'],
      ['idle worker agent RSS (MB)', ours.workerRssMb?.toFixed(0) ?? '-', '-', 'target ≤ 90'],
      ['idle manager agent RSS (MB)', ours.managerRssMb?.toFixed(0) ?? '-', '-', ''],
    ];
    console.log('figure | swarmts | Docker Swarm | ratio');
    for (const row of rows) console.log(row.join(' | '));
    console.log(`BENCH_JSON ${JSON.stringify({ swarmts: ours, dockerSwarm: swarm })}`);
  } finally {
    await hosts.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
