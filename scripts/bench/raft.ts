/**
 * npm run bench:raft — three Raft KV nodes in separate processes on loopback, real libp2p
 * and fsync'd LevelDB. Every figure stands beside a baseline measured in the same run: the
 * storage's own synced batch rate on the same disk.
 *
 * Prints a table, then one JSON line (prefixed `BENCH_JSON `) for tools.
 */
import '../../src/polyfill.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { KvCluster, waitUntil } from '../../test/support/kv-cluster.js';

interface BenchRun {
  commits: number;
  seconds: number;
  commitsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Sequential single-entry synced batches of `valueBytes`: what one fsync'd append costs here. */
async function storageSyncedBatchRate(valueBytes: number, batches: number): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), 'swarmts-bench-level-'));
  const db = new ClassicLevel<string, Uint8Array>(directory, { valueEncoding: 'view' });
  await db.open();
  const value = new Uint8Array(valueBytes);
  const started = performance.now();
  for (let i = 0; i < batches; i++) {
    await db.batch([{ type: 'put', key: `k${i}`, value }], { sync: true } as object);
  }
  const rate = batches / ((performance.now() - started) / 1000);
  await db.close();
  await rm(directory, { recursive: true, force: true });
  return rate;
}

async function run(cluster: KvCluster, proposals: number, concurrency: number): Promise<BenchRun> {
  const leader = await cluster.leader();
  const response = await cluster.call(
    leader,
    'POST',
    '/bench',
    { proposals, concurrency, valueBytes: 200 },
    AbortSignal.timeout(300_000),
  );
  if (response.status !== 200) throw new Error(`bench failed: ${JSON.stringify(response.body)}`);
  return response.body as BenchRun;
}

/** Kill -9 the leader, then write through a survivor until a write commits. */
async function failoverSeconds(cluster: KvCluster): Promise<number> {
  const leader = await cluster.leader();
  const survivor = cluster.running().find((n) => n !== leader)!;
  const killedAt = performance.now();
  cluster.kill(leader);
  let attempt = 0;
  await waitUntil(async () => {
    const result = await cluster.put(survivor, `failover-${attempt++}`, 'x');
    return result.status === 200;
  }, 30_000);
  return (performance.now() - killedAt) / 1000;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const syncedRate = await storageSyncedBatchRate(200, quick ? 200 : 1000);
  const cluster = await KvCluster.start(3, { snapshotEvery: 20_000 });
  try {
    await run(cluster, 500, 8); // warm up connections and the JIT
    const single = await run(cluster, quick ? 500 : 3000, 1);
    const many = await run(cluster, quick ? 5000 : 40_000, 64);
    const failovers: number[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      failovers.push(await failoverSeconds(cluster));
      const dead = cluster.nodes.find((n) => n.process === undefined)!;
      await cluster.launch(dead);
    }
    const failover = failovers.sort((a, b) => a - b)[Math.floor(failovers.length / 2)]!;

    const rows: Array<[string, string, string]> = [
      ['storage: synced 200 B batches/s (baseline)', syncedRate.toFixed(0), '1.00×'],
      [
        'commits/s, 1 proposer',
        single.commitsPerSecond.toFixed(0),
        ratio(single.commitsPerSecond, syncedRate),
      ],
      [
        'commits/s, 64 proposers',
        many.commitsPerSecond.toFixed(0),
        ratio(many.commitsPerSecond, syncedRate),
      ],
      [
        'commit latency p50, 1 proposer (ms)',
        single.p50Ms.toFixed(2),
        ratio(single.p50Ms, 1000 / syncedRate),
      ],
      [
        'commit latency p99, 1 proposer (ms)',
        single.p99Ms.toFixed(2),
        ratio(single.p99Ms, 1000 / syncedRate),
      ],
      [
        'commit latency p50, 64 proposers (ms)',
        many.p50Ms.toFixed(2),
        ratio(many.p50Ms, 1000 / syncedRate),
      ],
      ['leader kill -9 → next commit (s), median', failover.toFixed(2), ''],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    process.stdout.write(`\nRaft: 3 managers, separate processes, loopback, fsync'd LevelDB\n`);
    process.stdout.write(
      `${'figure'.padEnd(width)}   ${'value'.padStart(10)}   vs storage fsync\n`,
    );
    for (const [name, value, vs] of rows) {
      process.stdout.write(`${name.padEnd(width)}   ${value.padStart(10)}   ${vs}\n`);
    }
    const json = { syncedBatchesPerSecond: syncedRate, single, many, failoverSeconds: failovers };
    process.stdout.write(`BENCH_JSON ${JSON.stringify({ raft: json })}\n`);
  } finally {
    await cluster.stop();
  }
}

function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}×`;
}

main().catch((error: unknown) => {
  process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
