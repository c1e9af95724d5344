/**
 * Durable Raft storage on LevelDB (classic-level). The core reads synchronously, so the
 * whole retained log is mirrored in a MemoryStorage (the log is bounded by compaction);
 * every write goes to LevelDB first, as one batch, fsync'd when the Ready asks for it, and
 * reaches the mirror only once the batch is on disk.
 *
 * Layout (keys are strings, values msgpack):
 *   meta        { format: 1 }
 *   hardstate   { term, vote, commit }
 *   snapshot    { index, term, confState, data }
 *   offset      { index, term }   the last entry dropped from the log (compaction point);
 *                                 may be below the snapshot when recent entries are kept
 *   s/<index>   [[term, type, data], ...]  a segment: the entries one Ready appended, the first
 *               at <index> (16 hex digits, so keys sort by index). One record per Ready
 *               rather than per entry keeps a busy leader's batches small.
 *
 * Opening checks what it reads (every value decodes, the log is contiguous and starts right
 * after the snapshot, the commit index is inside it) and refuses a store that fails, naming
 * the directory: the agent must never run on silently lost or mangled Raft state.
 */
import { ClassicLevel } from 'classic-level';
import { SwarmtsError } from '../errors.js';
import { DecodeError, decode, encode } from '../wire/codec.js';
import { confState as makeConfState } from './confchange.js';
import { type InitialState, MemoryStorage, type RaftStorageReader } from './storage.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from './types.js';

const FORMAT = 2;
const META_KEY = 'meta';
const HARD_STATE_KEY = 'hardstate';
const SNAPSHOT_KEY = 'snapshot';
const OFFSET_KEY = 'offset';
const SEGMENT_PREFIX = 's/';

export class StorageCorruptError extends SwarmtsError {
  constructor(
    readonly directory: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'internal',
      `the Raft store in ${directory} is unreadable: ${detail}; restore the data directory from a backup, or recover the cluster from another manager`,
      options,
    );
  }
}

export class StorageOpenError extends SwarmtsError {
  constructor(
    readonly directory: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('unavailable', `cannot open the Raft store in ${directory}: ${detail}`, options);
  }
}

/** What one Ready round asks to persist. */
export interface PersistBatch {
  hardState?: HardState | undefined;
  entries: readonly Entry[];
  snapshot?: Snapshot | undefined;
  /** fsync before resolving (Ready.mustSync). */
  sync: boolean;
}

type Operation = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** A stored segment: entries start..end, in one record. */
interface Segment {
  start: number;
  end: number;
}

export class LevelStorage implements RaftStorageReader {
  private constructor(
    readonly directory: string,
    private readonly db: ClassicLevel<string, Uint8Array>,
    private readonly memory: MemoryStorage,
    private segments: Segment[],
  ) {}

  /**
   * Opens (creating if needed) the store in `directory`. With `bootstrap`, an empty store is
   * initialised as a founding member of a new cluster with those voters; a non-empty store
   * ignores it, so a restart never re-bootstraps.
   */
  static async open(
    directory: string,
    options: { bootstrap?: { voters: readonly NodeId[] } } = {},
  ): Promise<LevelStorage> {
    const db = new ClassicLevel<string, Uint8Array>(directory, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    try {
      await db.open();
    } catch (error) {
      throw new StorageOpenError(directory, openFailure(error), { cause: error });
    }
    try {
      const loaded = await load(directory, db);
      const storage = new LevelStorage(
        directory,
        db,
        loaded?.memory ?? new MemoryStorage(),
        loaded?.segments ?? [],
      );
      if (!loaded) await storage.initialise(options.bootstrap?.voters);
      return storage;
    } catch (error) {
      await db.close().catch(() => {});
      throw error;
    }
  }

  private async initialise(voters: readonly NodeId[] | undefined): Promise<void> {
    const operations: Operation[] = [
      { type: 'put', key: META_KEY, value: encode({ format: FORMAT }) },
    ];
    if (voters) {
      const bootstrap = MemoryStorage.bootstrap(voters);
      operations.push(snapshotPut(bootstrap.snapshot()));
      operations.push(offsetPut(1, 1));
      operations.push(hardStatePut(bootstrap.initialState().hardState));
      await this.write(operations, true);
      this.memory.applySnapshot(bootstrap.snapshot());
      this.memory.setHardState(bootstrap.initialState().hardState);
      return;
    }
    await this.write(operations, true);
  }

  /** True when the store holds no Raft state at all (never bootstrapped, never joined). */
  isEmpty(): boolean {
    return this.memory.lastIndex() === 0 && this.memory.initialState().hardState.term === 0;
  }

  initialState(): InitialState {
    return this.memory.initialState();
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.memory.term(index);
  }

  firstIndex(): number {
    return this.memory.firstIndex();
  }

  lastIndex(): number {
    return this.memory.lastIndex();
  }

  snapshot(): Snapshot {
    return this.memory.snapshot();
  }

  /**
   * Persists one Ready's snapshot, entries and hard state in a single batch: a snapshot
   * replaces the log it covers; appended entries replace any conflicting suffix.
   */
  async persist(batch: PersistBatch): Promise<void> {
    const operations: Operation[] = [];
    let segments = this.segments;
    let firstAllowed = this.memory.firstIndex();
    if (batch.snapshot) {
      operations.push(snapshotPut(batch.snapshot));
      operations.push(offsetPut(batch.snapshot.metadata.index, batch.snapshot.metadata.term));
      for (const segment of segments) operations.push(segmentDel(segment.start));
      segments = [];
      firstAllowed = batch.snapshot.metadata.index + 1;
    }
    const head = batch.entries[0];
    const fresh = head ? batch.entries.slice(Math.max(0, firstAllowed - head.index)) : [];
    const from = fresh[0]?.index;
    if (from !== undefined) {
      // Stored entries from `from` on belong to a conflicting suffix being replaced.
      const kept: Segment[] = [];
      for (const segment of segments) {
        if (segment.end < from) {
          kept.push(segment);
          continue;
        }
        operations.push(segmentDel(segment.start));
        const keepFrom = Math.max(segment.start, this.memory.firstIndex());
        if (segment.start < from && keepFrom < from) {
          const prefix = this.memory.entries(keepFrom, from, Number.MAX_SAFE_INTEGER);
          operations.push(segmentPut(prefix));
          kept.push({ start: keepFrom, end: from - 1 });
        }
      }
      operations.push(segmentPut(fresh));
      kept.push({ start: from, end: from + fresh.length - 1 });
      segments = kept;
    }
    if (batch.hardState) operations.push(hardStatePut(batch.hardState));
    if (operations.length === 0) return;
    await this.write(operations, batch.sync);
    this.segments = segments;
    if (batch.snapshot) this.memory.applySnapshot(batch.snapshot);
    if (fresh.length) this.memory.append(fresh);
    if (batch.hardState) this.memory.setHardState(batch.hardState);
  }

  /**
   * Records a snapshot of the state machine at `index` (already applied) and drops the
   * entries it covers up to `compactTo` (≤ index; keeping some lets slow followers catch up
   * from the log instead of needing the whole snapshot).
   */
  async snapshotAndCompact(
    index: number,
    conf: ConfState,
    data: Uint8Array,
    compactTo: number = index,
  ): Promise<Snapshot> {
    const snapshot: Snapshot = {
      metadata: { index, term: this.memory.term(index), confState: conf },
      data,
    };
    const operations: Operation[] = [snapshotPut(snapshot)];
    const from = this.memory.firstIndex();
    const to = Math.min(compactTo, index);
    // Whole segments behind the compaction point go; one that straddles it stays, and
    // loading skips its compacted entries.
    const kept = this.segments.filter((segment) => {
      if (to < from || segment.end > to) return true;
      operations.push(segmentDel(segment.start));
      return false;
    });
    if (to >= from) operations.push(offsetPut(to, this.memory.term(to)));
    await this.write(operations, true);
    this.segments = kept;
    this.memory.createSnapshot(index, conf, data);
    if (to >= from) this.memory.compact(to);
    return snapshot;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async write(operations: Operation[], sync: boolean): Promise<void> {
    // classic-level takes `sync` per batch; its type definitions do not declare it.
    await this.db.batch(operations, { sync } as object);
  }
}

function segmentKey(start: number): string {
  return SEGMENT_PREFIX + start.toString(16).padStart(16, '0');
}

function segmentPut(entries: readonly Entry[]): Operation {
  return {
    type: 'put',
    key: segmentKey(entries[0]!.index),
    value: encode(entries.map((e) => [e.term, e.type === 'normal' ? 0 : 1, e.data])),
  };
}

function segmentDel(start: number): Operation {
  return { type: 'del', key: segmentKey(start) };
}

function hardStatePut(hardState: HardState): Operation {
  return { type: 'put', key: HARD_STATE_KEY, value: encode(hardState) };
}

function offsetPut(index: number, term: number): Operation {
  return { type: 'put', key: OFFSET_KEY, value: encode({ index, term }) };
}

function snapshotPut(snapshot: Snapshot): Operation {
  const { index, term, confState } = snapshot.metadata;
  return {
    type: 'put',
    key: SNAPSHOT_KEY,
    value: encode({ index, term, confState, data: snapshot.data }),
  };
}

/** Reads the whole store into a MemoryStorage, checking it; undefined for a new store. */
async function load(
  directory: string,
  db: ClassicLevel<string, Uint8Array>,
): Promise<{ memory: MemoryStorage; segments: Segment[] } | undefined> {
  const corrupt = (detail: string, cause?: unknown) =>
    new StorageCorruptError(directory, detail, cause ? { cause } : undefined);
  const read = (key: string, bytes: Uint8Array): unknown => {
    try {
      return decode(bytes);
    } catch (error) {
      throw corrupt(
        `record "${key}" does not decode`,
        error instanceof DecodeError ? error.cause : error,
      );
    }
  };

  let meta: Uint8Array | undefined;
  let hardStateBytes: Uint8Array | undefined;
  let snapshotBytes: Uint8Array | undefined;
  let offsetBytes: Uint8Array | undefined;
  const stored: Entry[] = [];
  const segments: Segment[] = [];
  try {
    meta = await db.get(META_KEY);
    hardStateBytes = await db.get(HARD_STATE_KEY);
    snapshotBytes = await db.get(SNAPSHOT_KEY);
    offsetBytes = await db.get(OFFSET_KEY);
    const range = { gte: SEGMENT_PREFIX, lt: `${SEGMENT_PREFIX}~` };
    for await (const [key, value] of db.iterator(range)) {
      const segment = parseSegment(key, read(key, value), corrupt);
      segments.push({ start: segment[0]!.index, end: segment[segment.length - 1]!.index });
      stored.push(...segment);
    }
  } catch (error) {
    if (error instanceof StorageCorruptError) throw error;
    throw corrupt((error as Error).message, error);
  }

  if (!meta) {
    if (hardStateBytes || snapshotBytes || stored.length)
      throw corrupt('the format record is missing');
    return undefined;
  }
  const format = (read(META_KEY, meta) as { format?: unknown } | null)?.format;
  if (format !== FORMAT) throw corrupt(`unknown format ${String(format)}`);

  const snapshot = snapshotBytes && parseSnapshot(read(SNAPSHOT_KEY, snapshotBytes), corrupt);
  const offset = offsetBytes && parseOffset(read(OFFSET_KEY, offsetBytes), corrupt);
  if (Boolean(snapshot) !== Boolean(offset))
    throw corrupt('snapshot and compaction records disagree');
  const memory = new MemoryStorage();
  if (snapshot && offset) {
    if (offset.index > snapshot.metadata.index) {
      throw corrupt(
        `the log was compacted to ${offset.index}, past the snapshot at ${snapshot.metadata.index}`,
      );
    }
    // Rebuild the log from its compaction point, then lay the snapshot over it.
    memory.applySnapshot(
      offset.index === snapshot.metadata.index
        ? snapshot
        : {
            metadata: { ...offset, confState: snapshot.metadata.confState },
            data: new Uint8Array(0),
          },
    );
  }
  // A segment may straddle the compaction point: its compacted entries are skipped.
  const entries = stored.filter((entry) => entry.index >= memory.firstIndex());
  const expectedFirst = memory.firstIndex();
  entries.forEach((entry, i) => {
    if (entry.index !== expectedFirst + i) {
      throw corrupt(`log entry ${expectedFirst + i} is missing (found ${entry.index} next)`);
    }
  });
  memory.append(entries);
  if (snapshot && offset && offset.index < snapshot.metadata.index) {
    if (snapshot.metadata.index > memory.lastIndex()) {
      throw corrupt(`log entries up to the snapshot at ${snapshot.metadata.index} are missing`);
    }
    memory.createSnapshot(snapshot.metadata.index, snapshot.metadata.confState, snapshot.data);
  }
  if (hardStateBytes) {
    const hardState = parseHardState(read(HARD_STATE_KEY, hardStateBytes), corrupt);
    if (hardState.commit > memory.lastIndex()) {
      throw corrupt(
        `commit index ${hardState.commit} is beyond the last entry ${memory.lastIndex()}`,
      );
    }
    memory.setHardState(hardState);
  }
  return { memory, segments };
}

type Corrupt = (detail: string, cause?: unknown) => StorageCorruptError;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseSegment(key: string, value: unknown, corrupt: Corrupt): Entry[] {
  const start = Number.parseInt(key.slice(SEGMENT_PREFIX.length), 16);
  if (!Number.isSafeInteger(start) || !Array.isArray(value) || value.length === 0) {
    throw corrupt(`log segment ${key} is malformed`);
  }
  return value.map((item: unknown, i): Entry => {
    if (
      !Array.isArray(item) ||
      !isIndex(item[0]) ||
      (item[1] !== 0 && item[1] !== 1) ||
      !(item[2] instanceof Uint8Array)
    ) {
      throw corrupt(`log entry ${start + i} is malformed`);
    }
    return {
      index: start + i,
      term: item[0],
      type: item[1] === 0 ? 'normal' : 'confChange',
      data: item[2],
    };
  });
}

function parseOffset(value: unknown, corrupt: Corrupt): { index: number; term: number } {
  if (!isRecord(value) || !isIndex(value.index) || !isIndex(value.term)) {
    throw corrupt('the compaction record is malformed');
  }
  return { index: value.index, term: value.term };
}

function parseHardState(value: unknown, corrupt: Corrupt): HardState {
  if (
    !isRecord(value) ||
    !isIndex(value.term) ||
    !isIndex(value.commit) ||
    !(value.vote === null || typeof value.vote === 'string')
  ) {
    throw corrupt('the hard state is malformed');
  }
  return { term: value.term, vote: value.vote, commit: value.commit };
}

function parseSnapshot(value: unknown, corrupt: Corrupt): Snapshot {
  if (
    !isRecord(value) ||
    !isIndex(value.index) ||
    !isIndex(value.term) ||
    !(value.data instanceof Uint8Array) ||
    !isRecord(value.confState)
  ) {
    throw corrupt('the snapshot record is malformed');
  }
  const conf = value.confState;
  const ids = (list: unknown): string[] => {
    if (!Array.isArray(list) || !list.every((id) => typeof id === 'string')) {
      throw corrupt('the snapshot membership is malformed');
    }
    return list;
  };
  return {
    metadata: {
      index: value.index,
      term: value.term,
      confState: makeConfState(ids(conf.voters), ids(conf.learners), ids(conf.removed)),
    },
    data: value.data,
  };
}

function openFailure(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause;
  const text = cause?.message ?? (error as Error).message;
  if (/lock/i.test(text)) return `it is in use by another process (${text})`;
  return text;
}
