import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { confState } from '../../../src/raft/confchange.js';
import {
  LevelStorage,
  StorageCorruptError,
  StorageOpenError,
} from '../../../src/raft/level-storage.js';
import type { Entry } from '../../../src/raft/types.js';
import { decode, encode } from '../../../src/wire/codec.js';

const directories: string[] = [];
const open: LevelStorage[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => {})));
  await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function newDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'swarmts-raft-'));
  directories.push(directory);
  return directory;
}

async function openStore(directory: string, voters?: string[]): Promise<LevelStorage> {
  const storage = await LevelStorage.open(directory, voters ? { bootstrap: { voters } } : {});
  open.push(storage);
  return storage;
}

async function closeStore(storage: LevelStorage): Promise<void> {
  await storage.close();
  open.splice(open.indexOf(storage), 1);
}

async function reopen(storage: LevelStorage): Promise<LevelStorage> {
  await closeStore(storage);
  return openStore(storage.directory);
}

/** A closed store of one voter, 'a', holding entries 2-4 of term 2: what damage is done to. */
async function closedStoreWithEntries2to4(): Promise<string> {
  const directory = await newDirectory();
  const store = await openStore(directory, ['a']);
  await store.persist({ entries: entries(2, 4, 2), sync: true });
  await closeStore(store);
  return directory;
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    out.push({ index, term, type: 'normal', data: new TextEncoder().encode(`v${index}@${term}`) });
  }
  return out;
}

const text = (entry: Entry | undefined) => new TextDecoder().decode(entry?.data);

describe('LevelStorage on real LevelDB files', () => {
  it('starts a new cluster from a bootstrap snapshot, once', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a', 'b', 'c']);
    expect(store.snapshot().metadata).toEqual({
      index: 1,
      term: 1,
      confState: confState(['a', 'b', 'c']),
    });
    expect(store.initialState().hardState).toEqual({ term: 1, vote: null, commit: 1 });
    await store.persist({
      entries: entries(2, 3, 2),
      hardState: { term: 2, vote: 'a', commit: 3 },
      sync: true,
    });

    // A restart with bootstrap options does not re-bootstrap over existing state.
    await closeStore(store);
    const again = await openStore(directory, ['x']);
    expect(again.snapshot().metadata.confState.voters).toEqual(['a', 'b', 'c']);
    expect(again.lastIndex()).toBe(3);
  });

  it('keeps entries and hard state across a restart', async () => {
    const store = await openStore(await newDirectory(), ['a']);
    await store.persist({
      entries: entries(2, 6, 2),
      hardState: { term: 2, vote: 'a', commit: 5 },
      sync: true,
    });
    const reopened = await reopen(store);
    expect(reopened.firstIndex()).toBe(2);
    expect(reopened.lastIndex()).toBe(6);
    expect(reopened.initialState().hardState).toEqual({ term: 2, vote: 'a', commit: 5 });
    expect(reopened.entries(2, 7, Number.MAX_SAFE_INTEGER).map(text)).toEqual([
      'v2@2',
      'v3@2',
      'v4@2',
      'v5@2',
      'v6@2',
    ]);
  });

  it('replaces a conflicting suffix in the same batch as the new entries', async () => {
    const store = await openStore(await newDirectory(), ['a']);
    await store.persist({ entries: entries(2, 6, 2), sync: true });
    // A new leader of term 3 overwrites from index 4 with a shorter log.
    await store.persist({
      entries: entries(4, 4, 3),
      hardState: { term: 3, vote: null, commit: 3 },
      sync: true,
    });
    const reopened = await reopen(store);
    expect(reopened.lastIndex()).toBe(4);
    expect(reopened.term(3)).toBe(2);
    expect(reopened.term(4)).toBe(3);
    expect(text(reopened.entries(4, 5, 1000)[0])).toBe('v4@3');
  });

  it('replaces a conflicting suffix that spans several rounds of writes, and goes on after it', async () => {
    const store = await openStore(await newDirectory(), ['a']);
    for (const [from, to] of [
      [2, 4],
      [5, 7],
      [8, 9],
      [10, 10],
    ] as const) {
      await store.persist({ entries: entries(from, to, 2), sync: true });
    }
    // A new leader of term 3 overwrites from 6, inside the second round's entries.
    await store.persist({ entries: entries(6, 6, 3), sync: true });
    await store.persist({ entries: entries(7, 8, 3), sync: true });
    const reopened = await reopen(store);
    expect(reopened.lastIndex()).toBe(8);
    const terms = [];
    for (let index = 2; index <= 8; index++) terms.push(reopened.term(index));
    expect(terms).toEqual([2, 2, 2, 2, 3, 3, 3]);
    expect(reopened.entries(2, 9, 1e6).map(text)).toEqual([
      'v2@2',
      'v3@2',
      'v4@2',
      'v5@2',
      'v6@3',
      'v7@3',
      'v8@3',
    ]);
  });

  it('takes a snapshot, compacts the log, and restarts from them', async () => {
    const store = await openStore(await newDirectory(), ['a', 'b']);
    await store.persist({
      entries: entries(2, 10, 2),
      hardState: { term: 2, vote: 'a', commit: 10 },
      sync: true,
    });
    const state = new TextEncoder().encode('state at 8');
    await store.snapshotAndCompact(8, confState(['a', 'b']), state, 6);
    const reopened = await reopen(store);
    expect(reopened.snapshot().metadata).toMatchObject({ index: 8, term: 2 });
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe('state at 8');
    expect(reopened.firstIndex()).toBe(7);
    expect(reopened.lastIndex()).toBe(10);
  });

  it('replaces a conflicting suffix inside a segment that straddles the compaction point', async () => {
    const store = await openStore(await newDirectory(), ['a']);
    await store.persist({ entries: entries(2, 10, 2), sync: true }); // one segment, 2-10
    await store.snapshotAndCompact(8, confState(['a']), new Uint8Array([8]), 6);
    await store.persist({ entries: entries(9, 9, 3), sync: true });
    const reopened = await reopen(store);
    expect(reopened.firstIndex()).toBe(7);
    expect(reopened.lastIndex()).toBe(9);
    expect([reopened.term(7), reopened.term(8), reopened.term(9)]).toEqual([2, 2, 3]);
    expect(reopened.snapshot().metadata.index).toBe(8);
  });

  it('installs a snapshot from the leader in place of its whole log', async () => {
    const store = await openStore(await newDirectory(), ['a', 'b']);
    await store.persist({ entries: entries(2, 5, 2), sync: true });
    const snapshot = {
      metadata: { index: 20, term: 4, confState: confState(['a', 'b', 'c']) },
      data: new TextEncoder().encode('leader state'),
    };
    await store.persist({
      snapshot,
      entries: entries(21, 22, 4),
      hardState: { term: 4, vote: null, commit: 20 },
      sync: true,
    });
    const reopened = await reopen(store);
    expect(reopened.firstIndex()).toBe(21);
    expect(reopened.lastIndex()).toBe(22);
    expect(reopened.term(20)).toBe(4);
    expect(reopened.initialState().confState.voters).toEqual(['a', 'b', 'c']);
  });

  it("keeps a snapshot's data in a file of its own and refuses it damaged or missing", async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a']);
    await store.persist({ entries: entries(2, 10, 2), sync: true });
    await store.snapshotAndCompact(8, confState(['a']), new TextEncoder().encode('state at 8'));
    await closeStore(store);
    const files = await readdir(join(directory, 'snapshots'));
    expect(files).toEqual([`${hex16(8)}-${hex16(2)}.snap`]);
    const path = join(directory, 'snapshots', files[0]!);
    const original = await readFile(path);

    const flipped = Buffer.from(original);
    flipped[0]! ^= 1;
    await writeFile(path, flipped);
    const damaged = LevelStorage.open(directory);
    await expect(damaged).rejects.toBeInstanceOf(StorageCorruptError);
    await expect(damaged).rejects.toThrow(/snapshot file .*\.snap is damaged/);
    await expect(LevelStorage.open(directory)).rejects.toThrow(directory);

    await rm(path);
    await expect(LevelStorage.open(directory)).rejects.toThrow(/snapshot file .* cannot be read/);

    await writeFile(path, original);
    const restored = await openStore(directory);
    expect(new TextDecoder().decode(restored.snapshot().data)).toBe('state at 8');
  });

  it('drops a snapshot written but never recorded (a crash in between), keeping the last one', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a']);
    await store.persist({ entries: entries(2, 12, 2), sync: true });
    await store.snapshotAndCompact(6, confState(['a']), new TextEncoder().encode('at 6'));
    await store.writeSnapshotData(10, 2, new TextEncoder().encode('at 10'));
    const reopened = await reopen(store);
    expect(reopened.snapshot().metadata.index).toBe(6);
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe('at 6');
    expect(await readdir(join(directory, 'snapshots'))).toEqual([`${hex16(6)}-${hex16(2)}.snap`]);
  });

  it('records a snapshot written while the log went on, unless the leader sent a newer one', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a', 'b']);
    await store.persist({ entries: entries(2, 8, 2), sync: true });
    const state = new TextEncoder().encode('at 8');
    const writing = store.writeSnapshotData(8, 2, state);
    await store.persist({ entries: entries(9, 12, 2), sync: true });
    const written = await writing;
    await store.recordSnapshot(written, confState(['a', 'b']), state, { compactTo: 8 });
    let reopened = await reopen(store);
    expect(reopened.snapshot().metadata.index).toBe(8);
    expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([9, 12]);

    // One taken at 12 loses to a snapshot at 20 installed from the leader meanwhile.
    const late = await reopened.writeSnapshotData(12, 2, new TextEncoder().encode('at 12'));
    await reopened.persist({
      snapshot: {
        metadata: { index: 20, term: 3, confState: confState(['a', 'b']) },
        data: new TextEncoder().encode('leader at 20'),
      },
      entries: [],
      hardState: { term: 3, vote: null, commit: 20 },
      sync: true,
    });
    expect(await reopened.recordSnapshot(late, confState(['a', 'b']), new Uint8Array([1]))).toBe(
      undefined,
    );
    reopened = await reopen(reopened);
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe('leader at 20');
    expect(await readdir(join(directory, 'snapshots'))).toEqual([`${hex16(20)}-${hex16(3)}.snap`]);
  });

  it('opens a format 2 store, whose snapshot data is inline, and upgrades it', async () => {
    const directory = await closedStoreWithEntries2to4();
    await withRawDb(directory, async (db) => {
      await db.put('meta', encode({ format: 2 }));
      await db.put(
        'snapshot',
        encode({ index: 1, term: 1, confState: confState(['a']), data: new Uint8Array([7]) }),
      );
    });
    const reopened = await openStore(directory);
    expect([...reopened.snapshot().data]).toEqual([7]);
    expect(reopened.lastIndex()).toBe(4);
    await closeStore(reopened);
    await withRawDb(directory, async (db) => {
      expect(decode((await db.get('meta'))!)).toEqual({ format: 4 });
    });
  });

  it('opens a format 3 store, whose segments are msgpack, and goes on writing binary ones', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a']);
    await closeStore(store);
    // What format 3 wrote: two Ready rounds, 2-3 and 4-6.
    await withRawDb(directory, async (db) => {
      await db.put('meta', encode({ format: 3 }));
      for (const segment of [entries(2, 3, 2), entries(4, 6, 2)]) {
        const packed = encode(segment.map((e) => [e.term, 0, e.data]));
        await db.put(segmentKey(segment[0]!.index), packed);
      }
      await db.put('hardstate', encode({ term: 2, vote: 'a', commit: 6 }));
    });
    const upgraded = await openStore(directory);
    expect(upgraded.lastIndex()).toBe(6);
    expect(text(upgraded.entries(4, 5, 1e6)[0])).toBe('v4@2');
    // A conflicting suffix from inside an old segment: its prefix is rewritten, binary.
    await upgraded.persist({ entries: entries(5, 8, 3), sync: true });
    const reopened = await reopen(upgraded);
    expect(reopened.entries(2, 9, 1e6).map(text)).toEqual([
      'v2@2',
      'v3@2',
      'v4@2',
      'v5@3',
      'v6@3',
      'v7@3',
      'v8@3',
    ]);
    await closeStore(reopened);
    await withRawDb(directory, async (db) => {
      expect(decode((await db.get('meta'))!)).toEqual({ format: 4 });
      expect((await db.get(segmentKey(2)))![0]).not.toBe(0xc1); // untouched: still msgpack
      expect((await db.get(segmentKey(4)))![0]).toBe(0xc1);
      expect((await db.get(segmentKey(5)))![0]).toBe(0xc1);
    });
  });

  it('refuses a binary segment cut short, naming the directory and the segment', async () => {
    const directory = await closedStoreWithEntries2to4();
    await withRawDb(directory, async (db) => {
      const whole = (await db.get(segmentKey(2)))!;
      await db.put(segmentKey(2), whole.subarray(0, whole.length - 1));
    });
    const opened = LevelStorage.open(directory);
    await expect(opened).rejects.toBeInstanceOf(StorageCorruptError);
    await expect(opened).rejects.toThrow(directory);
    await expect(opened).rejects.toThrow(/segment s\/0+2 is malformed: entry 4 is cut short/);
  });

  it('refuses a store of a later format by its format, before reading its log', async () => {
    const directory = await closedStoreWithEntries2to4();
    // A later version's log, which this one cannot read: the format must be what it reports.
    await withRawDb(directory, async (db) => {
      await db.put('meta', encode({ format: 5 }));
      await db.put(segmentKey(2), new Uint8Array([0xc7, 0x01]));
    });
    const opened = LevelStorage.open(directory);
    await expect(opened).rejects.toBeInstanceOf(StorageCorruptError);
    await expect(opened).rejects.toThrow(directory);
    await expect(opened).rejects.toThrow(/unknown format 5/);
  });

  it('refuses a log without its format record', async () => {
    const directory = await closedStoreWithEntries2to4();
    await withRawDb(directory, async (db) => {
      await db.del('meta');
      await db.del('hardstate');
      await db.del('snapshot');
      await db.del('offset');
    });
    await expect(LevelStorage.open(directory)).rejects.toThrow(/format record is missing/);
  });

  it('refuses a store with a record that does not decode, naming the directory', async () => {
    const directory = await closedStoreWithEntries2to4();
    await withRawDb(directory, (db) => db.put(segmentKey(2), new Uint8Array([0x92, 0xff])));
    const opened = LevelStorage.open(directory);
    await expect(opened).rejects.toBeInstanceOf(StorageCorruptError);
    await expect(opened).rejects.toThrow(directory);
  });

  it('refuses a log with a hole in it', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a']);
    // Three Ready rounds, three segments: 2-3, 4-5, 6-7.
    await store.persist({ entries: entries(2, 3, 2), sync: true });
    await store.persist({ entries: entries(4, 5, 2), sync: true });
    await store.persist({ entries: entries(6, 7, 2), sync: true });
    await closeStore(store);
    await withRawDb(directory, (db) => db.del(segmentKey(4)));
    await expect(LevelStorage.open(directory)).rejects.toThrow(/log entry 4 is missing/);
  });

  it('refuses a hard state whose commit index is beyond its log', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a']);
    await closeStore(store);
    await withRawDb(directory, (db) =>
      db.put('hardstate', encode({ term: 1, vote: null, commit: 99 })),
    );
    await expect(LevelStorage.open(directory)).rejects.toThrow(
      /commit index 99 is beyond the last entry 1/,
    );
  });

  it('refuses LevelDB files that are damaged on disk', async () => {
    const directory = await newDirectory();
    const store = await openStore(directory, ['a']);
    await store.persist({ entries: entries(2, 50, 2), sync: true });
    await closeStore(store);
    for (const file of await readdir(directory)) {
      if (file.startsWith('MANIFEST-')) await writeFile(join(directory, file), 'garbage');
    }
    const opened = LevelStorage.open(directory);
    await expect(opened).rejects.toBeInstanceOf(StorageOpenError);
    await expect(opened).rejects.toThrow(directory);
  });

  it('refuses a second opener of the same directory', async () => {
    const directory = await newDirectory();
    await openStore(directory, ['a']);
    await expect(LevelStorage.open(directory)).rejects.toThrow(/in use by another process/);
  });
});

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** The record holding the entries one Ready appended, the first at `index`. */
function segmentKey(index: number): string {
  return `s/${hex16(index)}`;
}

async function withRawDb(
  directory: string,
  change: (db: ClassicLevel<string, Uint8Array>) => Promise<void>,
): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(directory, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  });
  await db.open();
  await change(db);
  await db.close();
}
