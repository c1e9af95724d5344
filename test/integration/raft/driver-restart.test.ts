/**
 * The driver writes a round that only moves the commit index together with the next write
 * (driver.ts, persist). What a user relies on: a clean stop leaves every applied write's
 * commit on disk, and a crash that loses the latest commit index loses no acknowledged write.
 * A one-voter group on real LevelDB files; no timer runs (a lone voter campaigns at start).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { RaftDriver, type Ticker } from '../../../src/raft/driver.js';
import { encodeKvCommand, type KvResult, KvStateMachine } from '../../../src/raft/kv.js';
import { LevelStorage } from '../../../src/raft/level-storage.js';

const ID = 'solo';
const noTicks: Ticker = { every: () => () => {} };

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmts-driver-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(snapshotEveryEntries?: number, opened?: LevelStorage) {
  const storage = opened ?? (await LevelStorage.open(dir, { bootstrap: { voters: [ID] } }));
  const kv = new KvStateMachine();
  const leading = Promise.withResolvers<void>();
  const driver = new RaftDriver({
    id: ID,
    storage,
    stateMachine: kv,
    sender: { send: () => {} },
    logger: silentLogger,
    random: () => 0.5,
    ticker: noTicks,
    ...(snapshotEveryEntries ? { snapshotEveryEntries, catchUpEntries: 2 } : {}),
    onSoftState: (state) => {
      if (state.role === 'leader') leading.resolve();
    },
  });
  driver.start();
  await leading.promise;
  return { storage, kv, driver };
}

async function putAll(driver: RaftDriver, count: number, from = 0): Promise<number> {
  let last = 0;
  for (let i = from; i < from + count; i++) {
    const result = (await driver.propose(
      encodeKvCommand({ op: 'put', key: `k${i}`, value: `v${i}` }),
    )) as KvResult;
    last = result.index;
  }
  return last;
}

describe('RaftDriver across restarts', () => {
  it('leaves the commit index of every applied write on disk when stopped cleanly', async () => {
    const first = await start();
    const lastIndex = await putAll(first.driver, 20);
    await first.driver.stop();
    await first.storage.close();

    const reopened = await LevelStorage.open(dir);
    try {
      expect(reopened.initialState().hardState.commit).toBeGreaterThanOrEqual(lastIndex);
    } finally {
      await reopened.close();
    }
  });

  it('loses no acknowledged write when a crash loses the latest commit index', async () => {
    const first = await start();
    const lastIndex = await putAll(first.driver, 20);
    // A crash: the database goes away without the driver's stop.
    await first.storage.close();

    const second = await start();
    try {
      // The stored commit index is behind what was acknowledged...
      expect(second.storage.initialState().hardState.commit).toBeLessThan(lastIndex);
      // ...and every acknowledged write is there once the node leads again.
      await second.driver.readBarrier();
      expect(second.kv.size).toBe(20);
      expect(second.kv.get('k19')).toBe('v19');
    } finally {
      await second.driver.stop();
      await second.storage.close();
    }
  });

  it('restarts after a crash that follows a snapshot of its last write, with every write', async () => {
    const first = await start(5);
    // Write until a snapshot covers the last write (its commit index is then only in memory).
    let written = 0;
    let lastIndex = 0;
    do {
      lastIndex = await putAll(first.driver, 1, written++);
      await first.driver.readBarrier();
      await first.driver.snapshotsSettled(); // its data is written in the background
    } while (first.storage.snapshot().metadata.index !== lastIndex && written < 50);
    await first.storage.close();

    const second = await start(5);
    try {
      // The snapshot holds the last write; the stored commit index must not be behind it, or
      // the node would restart applied beyond what it knows is committed (and refuse to run).
      expect(second.storage.snapshot().metadata.index).toBe(lastIndex);
      expect(second.storage.initialState().hardState.commit).toBeGreaterThanOrEqual(lastIndex);
      await second.driver.readBarrier();
      expect(second.kv.size).toBe(written);
      expect(second.kv.get(`k${written - 1}`)).toBe(`v${written - 1}`);
    } finally {
      await second.driver.stop();
      await second.storage.close();
    }
  });

  it('keeps committing while a snapshot is being written, then records it', async () => {
    const storage = await LevelStorage.open(dir, { bootstrap: { voters: [ID] } });
    // The snapshot's file write is held until the test lets it go; all else is real.
    const gate = Promise.withResolvers<void>();
    const taken: number[] = [];
    const write = storage.writeSnapshotData.bind(storage);
    storage.writeSnapshotData = async (index, term, data) => {
      taken.push(index);
      await gate.promise;
      return write(index, term, data);
    };
    const node = await start(5, storage);
    try {
      await putAll(node.driver, 6);
      expect(taken).toHaveLength(1);
      // Writes after the snapshot was taken commit while its data is not on disk yet.
      const lastIndex = await putAll(node.driver, 3, 6);
      expect(lastIndex).toBeGreaterThan(taken[0]!);
      expect(storage.snapshot().metadata.index).toBe(1);
      gate.resolve();
      await node.driver.snapshotsSettled();
      expect(storage.snapshot().metadata.index).toBe(taken[0]);
    } finally {
      await node.driver.stop();
      await storage.close();
    }
    const reopened = await start(5);
    try {
      expect(reopened.storage.snapshot().metadata.index).toBe(taken[0]);
      await reopened.driver.readBarrier();
      expect(reopened.kv.size).toBe(9);
    } finally {
      await reopened.driver.stop();
      await reopened.storage.close();
    }
  });

  it('stops with the error when a snapshot cannot be written, and stop() still returns', async () => {
    const storage = await LevelStorage.open(dir, { bootstrap: { voters: [ID] } });
    storage.writeSnapshotData = async () => {
      throw new Error('no space left on device');
    };
    const node = await start(5, storage);
    try {
      // Writes go on until the failed snapshot write stops the node; then every call says why.
      const outcome = await putAll(node.driver, 20).then(
        () => 'all written',
        (error: Error) => error.message,
      );
      expect(outcome).toMatch(/no space left on device/);
      await expect(putAll(node.driver, 1, 20)).rejects.toThrow(/no space left on device/);
    } finally {
      await node.driver.stop();
      await storage.close();
    }
  });

  it('drops a snapshot still being written when stopped; the next start removes its file', async () => {
    const storage = await LevelStorage.open(dir, { bootstrap: { voters: [ID] } });
    const gate = Promise.withResolvers<void>();
    const started = Promise.withResolvers<void>();
    const write = storage.writeSnapshotData.bind(storage);
    storage.writeSnapshotData = async (index, term, data) => {
      started.resolve();
      await gate.promise;
      return write(index, term, data);
    };
    const node = await start(5, storage);
    await putAll(node.driver, 6);
    await started.promise;
    const stopping = node.driver.stop();
    gate.resolve();
    await stopping; // returns only once the file write is over
    await storage.close();
    expect(await readdir(join(dir, 'snapshots'))).toHaveLength(1);

    const reopened = await start();
    try {
      expect(reopened.storage.snapshot().metadata.index).toBe(1);
      expect(await readdir(join(dir, 'snapshots'))).toEqual([]);
      await reopened.driver.readBarrier();
      expect(reopened.kv.size).toBe(6);
    } finally {
      await reopened.driver.stop();
      await reopened.storage.close();
    }
  });
});
