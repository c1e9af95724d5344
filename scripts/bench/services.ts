/**
 * npm run bench:services — services on three test hosts (one manager, two workers), each its
 * own network namespace and dockerd, with a baseline measured in the same run:
 *
 *   N replicas from `service create` to all running, pinned to one node's engine, against the
 *     same N containers created and started straight through that engine's API with the same
 *     parallelism (all at once, as the executor does)
 *   a node cut → its tasks running elsewhere (Docker Swarm here: 15.2 s, docs/benchmarks.md)
 *   placements per second, 1,000 SIMULATED nodes and 100,000 tasks, including the Raft commits
 *     of the assignments (one in-process manager on LevelDB; the nodes exist only in its store)
 *   agent RSS with 100 tasks on a worker
 *
 * Prints a table, then one JSON line (prefixed `BENCH_JSON `).
 */
import '../../src/polyfill.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { agentOnHost, type TestAgent, waitUntil } from '../../cluster/agents.js';
import { createTestHosts, DEFAULT_TEST_IMAGE, type TestHosts } from '../../cluster/test-hosts.js';
import { createLogger } from '../../src/log.js';
import { schedule } from '../../src/manager/scheduler/index.js';
import { RaftDriver } from '../../src/raft/driver.js';
import { LevelStorage } from '../../src/raft/level-storage.js';
import {
  ClusterStore,
  type Command,
  encodeCommand,
  type ServiceSpec,
  type Task,
  type TaskOp,
} from '../../src/state/index.js';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '30' },
    repeats: { type: 'string', default: '3' },
    'rss-tasks': { type: 'string', default: '100' },
  },
});
const REPLICAS = Number(values.replicas);
const REPEATS = Number(values.repeats);
const RSS_TASKS = Number(values['rss-tasks']);
const NAMES = ['m0', 'w1', 'w2'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function sleepSpec(name: string, replicas: number, constraint?: string): ServiceSpec {
  return {
    Name: name,
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: DEFAULT_TEST_IMAGE, Args: ['sleep', '3600'], StopGracePeriod: 1e9 },
      RestartPolicy: { Condition: 'any', Delay: 0 },
      ...(constraint ? { Placement: { Constraints: [constraint] } } : {}),
    },
    Mode: { Replicated: { Replicas: replicas } },
  };
}

async function runningTasks(m: TestAgent, id: string): Promise<Task[]> {
  const tasks = await m.client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ service: [id] }),
  });
  return tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
}

async function removeService(m: TestAgent, hosts: TestHosts, id: string): Promise<void> {
  await m.client.delete(`/services/${id}`);
  await waitUntil(async () => {
    for (const host of hosts.hosts) {
      const list = await host.docker().listContainers({
        all: true,
        filters: { label: [`swarmts.service=${id}`] },
      });
      if (list.length > 0) return false;
    }
    return true;
  }, 120_000);
}

async function rssMb(pid: number | undefined): Promise<number> {
  if (!pid) return NaN;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

async function clusterFigures(hosts: TestHosts) {
  const agents = NAMES.map((name, i) => agentOnHost(hosts.hosts[i]!, name));
  const [m0, w1] = agents as [TestAgent, TestAgent, TestAgent];
  await Promise.all(agents.map((a) => a.start(30_000)));
  try {
    await m0.init(hosts.hosts[0]!.address);
    const tokens = (await m0.swarm()).JoinTokens;
    for (const a of agents.slice(1)) await a.join(tokens.Worker, m0);
    await waitUntil(async () => {
      const nodes = await m0.nodes();
      return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready');
    }, 30_000);
    const engine = hosts.hosts[1]!.docker();

    // 1. create → running, against the engine's own create+start, alternating.
    const ours: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const started = performance.now();
      const { ID } = await m0.client.post<{ ID: string }>(
        '/services/create',
        sleepSpec(`create${i}`, REPLICAS, 'node.hostname==w1'),
      );
      await waitUntil(async () => (await runningTasks(m0, ID)).length === REPLICAS, 300_000);
      ours.push((performance.now() - started) / 1000);
      await removeService(m0, hosts, ID);

      const t0 = performance.now();
      const ids = await Promise.all(
        Array.from({ length: REPLICAS }, async (_, n) => {
          const container = await engine.createContainer({
            Image: DEFAULT_TEST_IMAGE,
            Cmd: ['sleep', '3600'],
            name: `bench-direct-${i}-${n}`,
            Labels: { 'swarmts.bench': 'direct' },
          });
          await container.start();
          return container.id;
        }),
      );
      direct.push((performance.now() - t0) / 1000);
      await Promise.all(ids.map((id) => engine.getContainer(id).remove({ force: true })));
    }

    // 2. node cut → its tasks running elsewhere.
    const cut: number[] = [];
    const { ID: spreadId } = await m0.client.post<{ ID: string }>(
      '/services/create',
      sleepSpec('spread', 6),
    );
    await waitUntil(async () => (await runningTasks(m0, spreadId)).length === 6, 120_000);
    const w2 = (await m0.node('w2')).ID;
    for (let i = 0; i < REPEATS; i++) {
      await waitUntil(
        async () => (await runningTasks(m0, spreadId)).some((t) => t.NodeID === w2),
        60_000,
      );
      const started = performance.now();
      await hosts.hosts[2]!.cut();
      try {
        await waitUntil(async () => {
          const list = await runningTasks(m0, spreadId);
          return list.length === 6 && list.every((t) => t.NodeID !== w2);
        }, 60_000);
        cut.push((performance.now() - started) / 1000);
      } finally {
        await hosts.hosts[2]!.restore();
      }
      await waitUntil(async () => (await m0.node('w2')).Status.State === 'ready', 60_000);
      // Put tasks back on w2 for the next round: force an update (spread picks w2 again).
      const svc = await m0.client.get<{ Spec: ServiceSpec; Version: { Index: number } }>(
        `/services/${spreadId}`,
      );
      const spec = svc.Spec;
      spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
      spec.UpdateConfig = { Parallelism: 0, Monitor: 0 };
      await m0.client.post(`/services/${spreadId}/update`, spec, {
        version: String(svc.Version.Index),
      });
    }
    await removeService(m0, hosts, spreadId);

    // 3. RSS of a worker agent with RSS_TASKS tasks.
    const idleRss = await rssMb(w1.process?.pid);
    const { ID: rssId } = await m0.client.post<{ ID: string }>(
      '/services/create',
      sleepSpec('rss', RSS_TASKS, 'node.hostname==w1'),
    );
    await waitUntil(async () => (await runningTasks(m0, rssId)).length === RSS_TASKS, 600_000);
    const busyRss = await rssMb(w1.process?.pid);
    await removeService(m0, hosts, rssId);
    return { createSeconds: ours, directSeconds: direct, cutSeconds: cut, idleRss, busyRss };
  } finally {
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  }
}

/** Scheduling 100,000 tasks onto 1,000 simulated nodes, committing the assignments in Raft. */
async function schedulerFigure(): Promise<{
  placements: number;
  seconds: number;
  perSecond: number;
  scheduleOnlySeconds: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmts-bench-sched-'));
  const logger = createLogger({ level: 'warn' });
  const storage = await LevelStorage.open(dir, { bootstrap: { voters: ['bench'] } });
  const store = new ClusterStore();
  const driver = new RaftDriver({
    id: 'bench',
    storage,
    stateMachine: store,
    sender: { send: () => {} } as never,
    logger,
    random: Math.random,
    tickMs: 100,
    snapshotEveryEntries: 1_000_000,
  });
  driver.start();
  // Retried when refused before it was sent (a leadership change as the node starts up).
  const propose = async (command: Command): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await driver.propose(encodeCommand(command));
      } catch (error) {
        // Every command here is idempotent (a repeated create is refused or skipped).
        if (attempt > 20 || !(error as { outcome?: string }).outcome) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  try {
    await waitUntil(() => driver.status().role === 'leader', 10_000);
    const at = new Date().toISOString();
    for (let i = 0; i < 1000; i++) {
      await propose({
        type: 'node.create',
        node: {
          ID: `sim-${i}`,
          CreatedAt: at,
          UpdatedAt: at,
          Spec: { Labels: { zone: `z${i % 4}` }, Role: 'worker', Availability: 'active' },
          Description: {
            Hostname: `simulated-${i}`,
            Platform: { Architecture: 'x86_64', OS: 'linux' },
            Resources: { NanoCPUs: 8e9, MemoryBytes: 32 * 2 ** 30 },
            Engine: { EngineVersion: 'simulated' },
          },
          Status: { State: 'ready', Addr: '10.0.0.1' },
          Role: 'worker',
          P2PAddrs: [],
        },
      });
    }
    for (let s = 0; s < 100; s++) {
      const spec = sleepSpec(`sim${s}`, 1000);
      await propose({
        type: 'service.create',
        service: {
          ID: `svc${s}`,
          CreatedAt: at,
          UpdatedAt: at,
          Spec: spec,
          Endpoint: { Spec: {} },
        },
      });
      for (let chunk = 0; chunk < 1000; chunk += 2000) {
        const ops: TaskOp[] = Array.from({ length: 1000 }, (_, r) => ({
          op: 'create',
          task: {
            ID: `t${s}-${r}`,
            CreatedAt: at,
            UpdatedAt: at,
            Labels: {},
            Spec: spec.TaskTemplate,
            SpecVersion: { Index: 1 },
            ServiceID: `svc${s}`,
            ServiceAnnotations: { Name: spec.Name },
            Slot: r + 1,
            NodeID: '',
            Status: { Timestamp: at, State: 'pending', Message: 'pending' },
            DesiredState: 'running',
          },
        }));
        await propose({ type: 'tasks.write', ops, at });
      }
    }
    const started = performance.now();
    const pending = [...store.allTasks()];
    const scheduleStarted = performance.now();
    const result = schedule({ nodes: store.listNodes(), placed: [], pending });
    const scheduleOnlySeconds = (performance.now() - scheduleStarted) / 1000;
    const ops: TaskOp[] = result.assignments.map((a) => ({
      op: 'assign',
      id: a.taskId,
      nodeId: a.nodeId,
    }));
    for (let i = 0; i < ops.length; i += 2000) {
      await propose({ type: 'tasks.write', ops: ops.slice(i, i + 2000), at });
    }
    const seconds = (performance.now() - started) / 1000;
    const placed = [...store.allTasks()].filter((t) => t.NodeID !== '').length;
    return { placements: placed, seconds, perSecond: placed / seconds, scheduleOnlySeconds };
  } finally {
    await driver.stop();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const scheduler = await schedulerFigure();
  const hosts = await createTestHosts({ count: NAMES.length, name: 'bsvc' });
  let cluster: Awaited<ReturnType<typeof clusterFigures>>;
  try {
    cluster = await clusterFigures(hosts);
  } finally {
    await hosts.destroy();
  }
  const createRatio = median(cluster.createSeconds) / median(cluster.directSeconds);
  const rows = [
    [
      `${REPLICAS} replicas create → running (median s)`,
      median(cluster.createSeconds).toFixed(2),
      `${median(cluster.directSeconds).toFixed(2)} (same containers via the engine API)`,
      `${createRatio.toFixed(2)}× (target ≤ 1.1×)`,
    ],
    [
      'node cut → its tasks running elsewhere (median s)',
      median(cluster.cutSeconds).toFixed(2),
      'Docker Swarm here: 15.2',
      'target ≤ 3 s',
    ],
    [
      'placements/s, 1,000 simulated nodes, 100,000 tasks, with Raft commits',
      scheduler.perSecond.toFixed(0),
      'Nomad C1M: 3,750/s',
      `${(scheduler.perSecond / 3750).toFixed(1)}× (target ≥ 10,000/s)`,
    ],
    [
      `worker agent RSS, idle → ${RSS_TASKS} tasks (MB)`,
      `${cluster.idleRss.toFixed(0)} → ${cluster.busyRss.toFixed(0)}`,
      'dockerd with swarm mode: ~123',
      '',
    ],
  ];
  console.log('figure | swarmts | baseline | ratio');
  for (const row of rows) console.log(row.join(' | '));
  console.log(`BENCH_JSON ${JSON.stringify({ ...cluster, scheduler })}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
