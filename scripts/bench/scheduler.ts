/**
 * npx tsx scripts/bench/scheduler.ts — the pure scheduler on simulated nodes: 100,000 pending
 * tasks (100 services × 1,000 replicas, some with constraints, spread preferences,
 * reservations, max replicas per node or a host port) onto 1,000 simulated nodes in 4 zones.
 * No cluster, no store: just `schedule()`, timed over a few runs (median).
 *
 * The same-run baseline is the time to iterate over the pending tasks and copy each one
 * (a shallow spread), the least any pass over them costs on this machine; the scheduler's
 * time is also given as a multiple of it.
 *
 * Prints a table, then one JSON line (prefixed `BENCH_JSON `) for tools.
 */
import { schedule } from '../../src/manager/scheduler/index.js';
import type { Task, TaskSpec } from '../../src/state/service-types.js';
import type { Node } from '../../src/state/types.js';
import { median } from './stats.js';

const NODES = 1000;
const SERVICES = 100;
const REPLICAS = 1000;
const RUNS = 7;
const T0 = '2025-01-01T00:00:00.000Z';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function simulatedNodes(): Node[] {
  return Array.from({ length: NODES }, (_, i) => ({
    ID: `node-${String(i).padStart(4, '0')}`,
    Version: { Index: 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      Labels: { zone: `z${i % 4}`, rack: `r${i % 10}` },
      Role: 'worker',
      Availability: 'active',
    },
    Description: {
      Hostname: `sim-${i}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 8e9, MemoryBytes: 32 * GiB },
      Engine: { EngineVersion: '26.1.5' },
    },
    Status: { State: 'ready', Addr: `10.0.${i >> 8}.${i & 255}` },
    Role: 'worker',
    P2PAddrs: [],
  }));
}

function pendingTasks(): Task[] {
  const tasks: Task[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const spec: TaskSpec = { ContainerSpec: { Image: `app${s}:1` } };
    const constraints: string[] = [];
    if (s % 10 === 3) constraints.push(`node.labels.zone==z${s % 4}`);
    if (s % 10 === 6) constraints.push('node.labels.rack!=r0', 'node.role==worker');
    const preferences = s % 7 === 0 ? [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] : [];
    spec.Placement = { Constraints: constraints, Preferences: preferences };
    if (s % 20 === 5) spec.Placement.MaxReplicas = 2;
    if (s % 5 === 1) spec.Resources = { Reservations: { NanoCPUs: 1e8, MemoryBytes: 128 * MiB } };
    const endpoint =
      s === 42
        ? { Ports: [{ TargetPort: 80, PublishedPort: 8042, PublishMode: 'host' as const }] }
        : undefined;
    for (let r = 1; r <= REPLICAS; r++) {
      const task: Task = {
        ID: `task-${s}-${r}`,
        Version: { Index: 1 },
        CreatedAt: T0,
        UpdatedAt: T0,
        Labels: {},
        Spec: spec,
        SpecVersion: { Index: 1 },
        ServiceID: `svc-${s}`,
        ServiceAnnotations: { Name: `app${s}` },
        Slot: r,
        NodeID: '',
        Status: { Timestamp: T0, State: 'pending', Message: 'pending task scheduling' },
        DesiredState: 'running',
      };
      if (endpoint !== undefined) task.Endpoint = endpoint;
      tasks.push(task);
    }
  }
  return tasks;
}

function time(run: () => void): number[] {
  run(); // warm-up: JIT and caches, not counted
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    run();
    runs.push(performance.now() - started);
  }
  return runs;
}

function main(): void {
  const nodes = simulatedNodes();
  const pending = pendingTasks();

  let copies = 0;
  const copyRuns = time(() => {
    const copied: Task[] = [];
    for (const task of pending) copied.push({ ...task });
    copies = copied.length;
  });

  let placed = 0;
  let unplaced = 0;
  const scheduleRuns = time(() => {
    const output = schedule({ nodes, placed: [], pending });
    placed = output.assignments.length;
    unplaced = output.unplaced.length;
  });

  const scheduleMs = median(scheduleRuns);
  const copyMs = median(copyRuns);
  const placementsPerSecond = placed / (scheduleMs / 1000);
  const rows: [string, string][] = [
    ['tasks placed / unplaced', `${placed} / ${unplaced}`],
    ['schedule() time, median (ms)', scheduleMs.toFixed(1)],
    ['placements per second', Math.round(placementsPerSecond).toLocaleString('en-US')],
    ['baseline: iterate + copy pending (ms)', copyMs.toFixed(1)],
    ['schedule() vs baseline', `${(scheduleMs / copyMs).toFixed(1)}×`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(
    `\nScheduler: ${pending.length.toLocaleString('en-US')} pending tasks (${SERVICES} services × ${REPLICAS}) on ${NODES} simulated nodes, median of ${RUNS} runs\n`,
  );
  for (const [name, value] of rows) process.stdout.write(`${name.padEnd(width)}   ${value}\n`);
  const json = {
    simulatedNodes: NODES,
    pendingTasks: pending.length,
    placed,
    unplaced,
    scheduleMsMedian: scheduleMs,
    scheduleMsRuns: scheduleRuns,
    placementsPerSecond,
    baselineCopyMsMedian: copyMs,
    baselineCopies: copies,
    ratioToBaseline: scheduleMs / copyMs,
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ scheduler: json })}\n`);
}

main();
