import { afterEach, describe, expect, it } from 'vitest';
import { checkLinearizable, HistoryRecorder, type KvOperation } from '../../sim/linearizability.js';
import { Rng } from '../../sim/rng.js';
import { KvCluster, type KvNode, waitUntil } from '../../support/kv-cluster.js';

let cluster: KvCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/**
 * A client that writes fresh keys in a loop to any running node (followers forward to the
 * leader), moving to another node when one fails, and records which writes were acknowledged.
 */
function writer(c: KvCluster, name: string) {
  const acked = new Map<string, string>();
  let stopped = false;
  let count = 0;
  const done = (async () => {
    let target = 0;
    while (!stopped) {
      const nodes = c.running();
      const node = nodes[target % nodes.length];
      if (!node) {
        // Nothing runs (the test is tearing down): wait instead of spinning the event loop.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const key = `${name}-${count}`;
      const value = `v${count}`;
      const result = await c.put(node, key, value).catch(() => undefined);
      if (result?.status === 200) {
        acked.set(key, value);
        count++;
      } else {
        target++; // unknown outcome: try the next node; the key is written again, which is fine
      }
    }
  })();
  return {
    acked,
    async stop() {
      stopped = true;
      await done;
    },
    /** Resolves once `n` more writes have been acknowledged. */
    async progress(n: number) {
      const goal = acked.size + n;
      await waitUntil(async () => acked.size >= goal, 30_000);
    },
  };
}

/** As a client may: a change that never entered the log (503, not-applied) is tried again. */
async function changeMembersRetrying(c: KvCluster, type: string, target: KvNode, leader?: KvNode) {
  const notApplied = (r: { status: number; body: unknown }) =>
    r.status === 503 && (r.body as { outcome?: string }).outcome === 'not-applied';
  // The target may not know the leader yet (it is being added): ask the others.
  const leaderOfOthers = () => c.leader(20_000, () => c.running().filter((n) => n !== target));
  let response = await c.changeMembers(leader ?? (await leaderOfOthers()), type, target);
  for (let attempt = 0; attempt < 5 && notApplied(response); attempt++) {
    response = await c.changeMembers(await leaderOfOthers(), type, target);
  }
  return response;
}

async function expectEverywhere(
  c: KvCluster,
  acked: Map<string, string>,
  nodes: KvNode[] = c.running(),
) {
  for (const node of nodes) {
    // A node that just restarted answers 503 until it has heard from the leader.
    let data: Record<string, string> = {};
    await waitUntil(async () => {
      data = await c.dump(node);
      return true;
    }, 20_000);
    for (const [key, value] of acked) expect(data[key], `${key} on ${node.id}`).toBe(value);
  }
}

// Elections and process starts take real time; a slow CI machine needs room.
describe('three Raft KV nodes as separate processes (real libp2p, real LevelDB)', {
  timeout: 120_000,
}, () => {
  it('elects a new leader after kill -9 of the leader and loses no acknowledged write', async () => {
    cluster = await KvCluster.start(3);
    const w = writer(cluster, 'a');
    await w.progress(50);
    const oldLeader = await cluster.leader();
    cluster.kill(oldLeader);
    const next = await cluster.leader();
    expect(next.id).not.toBe(oldLeader.id);
    await w.progress(50);
    await w.stop();

    await cluster.launch(oldLeader);
    await expectEverywhere(cluster, w.acked);
  });

  it('restarts a node killed during a burst of writes with every acknowledged write', async () => {
    cluster = await KvCluster.start(3);
    const writers = [writer(cluster, 'p'), writer(cluster, 'q'), writer(cluster, 'r')];
    await writers[0]!.progress(30);
    const leader = await cluster.leader();
    const victim = cluster.running().find((n) => n !== leader)!;
    cluster.kill(victim);
    await writers[1]!.progress(30);
    await cluster.launch(victim);
    await writers[2]!.progress(30);
    await Promise.all(writers.map((w) => w.stop()));
    for (const w of writers) await expectEverywhere(cluster, w.acked);
  });

  it('adds a member through a snapshot and removes another while writes go on', async () => {
    cluster = await KvCluster.start(3, { snapshotEvery: 100 });
    const w = writer(cluster, 'm');
    await w.progress(250); // enough for the log to be compacted behind a snapshot
    const newcomer = await cluster.prepare();
    await cluster.launch(newcomer);
    const added = await changeMembersRetrying(cluster, 'addVoter', newcomer);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    await waitUntil(async () => (await cluster!.status(newcomer)).voters.length === 4, 20_000);
    await w.progress(50);

    const current = await cluster.leader();
    const leaving = cluster.running().find((n) => n !== current && n !== newcomer)!;
    const removed = await changeMembersRetrying(cluster, 'removeNode', leaving, current);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect((removed.body as { voters: string[] }).voters).not.toContain(leaving.id);
    cluster.kill(leaving);
    await w.progress(50);
    await w.stop();
    await expectEverywhere(cluster, w.acked);
    expect((await cluster.status(newcomer)).voters).toHaveLength(3);
  });

  it('adds a member to a young cluster whose only snapshot is the empty bootstrap one', async () => {
    cluster = await KvCluster.start(3);
    const leader = await cluster.leader();
    for (let i = 0; i < 10; i++)
      expect((await cluster.put(leader, `y${i}`, `${i}`)).status).toBe(200);
    const newcomer = await cluster.prepare();
    await cluster.launch(newcomer);
    const added = await changeMembersRetrying(cluster, 'addLearner', newcomer);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    // The learner starts from the bootstrap snapshot (no data) and replays the log.
    await waitUntil(
      async () =>
        (await cluster!.status(newcomer)).applied >= (await cluster!.status(leader)).commit,
      20_000,
    );
    expect(newcomer.process).toBeDefined();
    expect(await cluster.get(newcomer, 'y9')).toMatchObject({ status: 200, body: { value: '9' } });
  });

  it('recovers a lone survivor with --force-new-cluster, keeping its data', async () => {
    cluster = await KvCluster.start(3);
    const leader = await cluster.leader();
    for (let i = 0; i < 20; i++)
      expect((await cluster.put(leader, `k${i}`, `${i}`)).status).toBe(200);
    const [survivor, ...lost] = cluster.nodes;
    // The survivor must hold the writes: a linearizable read on it proves it applied them.
    await cluster.dump(survivor!);
    for (const node of lost) cluster.kill(node);
    cluster.kill(survivor!);

    await cluster.launch(survivor!, ['--force-new-cluster']);
    const alone = await cluster.leader();
    expect(alone.id).toBe(survivor!.id);
    expect((await cluster.status(survivor!)).voters).toEqual([survivor!.id]);
    expect((await cluster.put(survivor!, 'after', 'yes')).status).toBe(200);
    const data = await cluster.dump(survivor!);
    expect(data.k19).toBe('19');
    expect(data.after).toBe('yes');
  });

  it('keeps client histories linearizable across a leader kill -9', async () => {
    cluster = await KvCluster.start(3);
    const c = cluster;
    const recorder = new HistoryRecorder();
    const rng = new Rng(20261125);
    const keys = ['x', 'y', 'z'];
    let stopped = false;
    const now = () => performance.now();
    // What some client last saw in each key: a plausible `expected` for compare-and-set.
    const lastSeen = new Map<string, string | null>();

    const client = async (name: string) => {
      let n = 0;
      while (!stopped) {
        const nodes = c.running();
        const node = nodes[rng.int(nodes.length)]!;
        const key = keys[rng.int(keys.length)]!;
        const roll = rng.int(10);
        const value = `${name}-${n++}`;
        const op: KvOperation =
          roll < 4
            ? { kind: 'get', key }
            : roll < 8
              ? { kind: 'put', key, value }
              : { kind: 'cas', key, expected: lastSeen.get(key) ?? null, value };
        const id = recorder.invoke(name, op, now());
        try {
          const response =
            op.kind === 'get'
              ? await c.get(node, key)
              : op.kind === 'put'
                ? await c.put(node, key, value)
                : await c.cas(node, key, op.expected ?? null, value);
          const body = response.body as { value?: string | null; ok?: boolean; outcome?: string };
          if (response.status === 200) {
            lastSeen.set(key, body.value ?? null);
            if (op.kind === 'get') recorder.ok(id, { value: body.value ?? null }, now());
            else if (op.kind === 'put') recorder.ok(id, undefined, now());
            else
              recorder.ok(
                id,
                { swapped: body.ok === true, ...(body.ok ? {} : { actual: body.value ?? null }) },
                now(),
              );
          } else if (body.outcome === 'not-applied' || op.kind === 'get') {
            recorder.fail(id, now());
          } else {
            recorder.timeout(id, now());
          }
        } catch {
          recorder.timeout(id, now()); // the node died with the request in flight
        }
      }
    };

    const clients = ['c1', 'c2', 'c3', 'c4'].map(client);
    // Progress counts acknowledged operations: failures come fast while there is no leader.
    const acknowledged = () =>
      recorder.history({ unresolved: 'timeout' }).filter((r) => r.outcome === 'ok').length;
    const progress = async (ops: number) => {
      const goal = acknowledged() + ops;
      await waitUntil(async () => acknowledged() >= goal, 30_000);
    };
    await progress(100);
    const leader = await c.leader();
    c.kill(leader);
    await progress(100);
    await c.launch(leader);
    await progress(100);
    stopped = true;
    await Promise.all(clients);

    const history = recorder.history();
    const result = checkLinearizable(history);
    expect(result, JSON.stringify(result).slice(0, 2000)).toEqual({ ok: true });
  });
});
