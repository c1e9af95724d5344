/**
 * Durable Raft storage on LevelDB (classic-level). The core reads synchronously, so the
 * whole retained log is mirrored in a MemoryStorage (the log is bounded by compaction);
 * every write goes to LevelDB first, as one batch, fsync'd when the Ready asks for it, and
 * reaches the mirror only once the batch is on disk.
 *
 * Layout (keys are strings, values msgpack):
 *   meta        { format: 4 }
 *   hardstate   { term, vote, commit }
 *   snapshot    { index, term, confState, file, bytes, sha256 }  the state machine's data is
 *               in snapshots/<file> (null: no data); format 2 kept it inline as `data`
 *   offset      { index, term }   the last entry dropped from the log (compaction point);
 *                                 may be below the snapshot when recent entries are kept
 *   s/<index>   a segment (binary, see segment.ts; format 3 wrote msgpack [[term, type, data],
 *               ...]): the entries one Ready appended, the first at <index> (16 hex digits, so
 *               keys sort by index). One record per Ready rather than per entry keeps a busy
 *               leader's batches small.
 *
 * A snapshot's data goes to a file of its own, fsync'd (and renamed into place) before the
 * batch that records it: a state machine snapshot is megabytes, and as a LevelDB value it
 * went through the write-ahead log, a memtable flush and compactions, holding up the Raft
 * log's writes behind it for hundreds of milliseconds. A file can be written while the log
 * keeps going (see writeSnapshotData / recordSnapshot).
 *
 * Opening checks what it reads (every value decodes, the log is contiguous and starts right
 * after the snapshot, the commit index is inside it, the snapshot file is whole) and refuses a
 * store that fails, naming the directory: the agent must never run on silently lost or
 * mangled Raft state. Files in snapshots/ that no record names (a crash between writing one
 * and recording it) are removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, open as openFile, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import { DecodeError, decode, encode } from '../wire/codec.js';
import { confState as makeConfState } from './confchange.js';
import { RaftInvariantError, SnapshotOutOfDateError } from './errors.js';
import { decodeSegment, encodeSegment, isBinarySegment } from './segment.js';
import { type InitialState, MemoryStorage, type RaftStorageReader } from './storage.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot, SnapshotMetadata } from './types.js';

const FORMAT = 4;
/**
 * Format 2 kept snapshot data inline in its record, format 3 wrote msgpack segments; both open
 * and are marked format 4 (which earlier versions refuse to open rather than misread).
 */
const READABLE_FORMATS = new Set([2, 3, 4]);
const SNAPSHOT_DIRECTORY = 'snapshots';
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

/**
 * A snapshot's data as written to disk, ready to be recorded: the file under snapshots/ (null
 * when there is no data, as in a new cluster's bootstrap snapshot), its size and digest.
 */
export interface WrittenSnapshot {
  index: number;
  term: number;
  file: string | null;
  bytes: number;
  sha256: string;
}

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
    /** The snapshot file the stored record names, if any. */
    private snapshotFile: string | null,
  ) {}

  private get snapshotDirectory(): string {
    return join(this.directory, SNAPSHOT_DIRECTORY);
  }

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
        loaded?.snapshotFile ?? null,
      );
      if (!loaded) await storage.initialise(options.bootstrap?.voters);
      else if (loaded.format !== FORMAT) await storage.write([formatPut()], true);
      await storage.removeUnrecordedSnapshotFiles();
      return storage;
    } catch (error) {
      await db.close().catch(() => {});
      throw error;
    }
  }

  private async initialise(voters: readonly NodeId[] | undefined): Promise<void> {
    const operations: Operation[] = [formatPut()];
    if (voters) {
      const bootstrap = MemoryStorage.bootstrap(voters);
      operations.push(snapshotPut(bootstrap.snapshot().metadata, noData(1, 1)));
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
    // A snapshot's data is on disk before the record that names it.
    const written =
      batch.snapshot &&
      (await this.writeSnapshotData(
        batch.snapshot.metadata.index,
        batch.snapshot.metadata.term,
        batch.snapshot.data,
      ));
    const operations: Operation[] = [];
    let segments = this.segments;
    let firstAllowed = this.memory.firstIndex();
    if (batch.snapshot && written) {
      operations.push(snapshotPut(batch.snapshot.metadata, written));
      operations.push(offsetPut(batch.snapshot.metadata.index, batch.snapshot.metadata.term));
      for (const segment of segments) operations.push(segmentDel(segment.start));
      segments = [];
      firstAllowed = batch.snapshot.metadata.index + 1;
    }
    const head = batch.entries[0];
    const fresh = head ? batch.entries.slice(Math.max(0, firstAllowed - head.index)) : [];
    const from = fresh[0]?.index;
    // Segments are in index order: only the last few can hold entries from `from` on, which
    // belong to a conflicting suffix being replaced. (Going through all of them made every
    // write cost as much as the log is long: 14–18 % of each member's main thread when every
    // Ready carries one entry.)
    let keptSegments = segments.length;
    const addedSegments: Segment[] = [];
    if (from !== undefined) {
      while (keptSegments > 0 && segments[keptSegments - 1]!.end >= from) keptSegments--;
      for (const segment of segments.slice(keptSegments)) {
        operations.push(segmentDel(segment.start));
        const keepFrom = Math.max(segment.start, this.memory.firstIndex());
        if (segment.start < from && keepFrom < from) {
          const prefix = this.memory.entries(keepFrom, from, Number.MAX_SAFE_INTEGER);
          operations.push(segmentPut(prefix));
          addedSegments.push({ start: keepFrom, end: from - 1 });
        }
      }
      operations.push(segmentPut(fresh));
      addedSegments.push({ start: from, end: from + fresh.length - 1 });
    }
    if (batch.hardState) operations.push(hardStatePut(batch.hardState));
    if (operations.length === 0) return;
    // With a snapshot, always synced: the file it replaces is removed right after.
    await this.write(operations, batch.sync || written !== undefined);
    // Memory follows only once the batch is on disk.
    segments.length = keptSegments;
    segments.push(...addedSegments);
    this.segments = segments;
    if (batch.snapshot) this.memory.applySnapshot(batch.snapshot);
    if (written) this.replaceSnapshotFile(written.file);
    if (fresh.length) this.memory.append(fresh);
    if (batch.hardState) this.memory.setHardState(batch.hardState);
  }

  /**
   * Records a snapshot of the state machine at `index` (already applied) and drops the
   * entries it covers up to `compactTo` (≤ index; keeping some lets slow followers catch up
   * from the log instead of needing the whole snapshot). Both steps in one: see
   * writeSnapshotData and recordSnapshot to keep the log going while the data is written.
   */
  async snapshotAndCompact(
    index: number,
    conf: ConfState,
    data: Uint8Array,
    compactTo: number = index,
  ): Promise<Snapshot> {
    const written = await this.writeSnapshotData(index, this.memory.term(index), data);
    const recorded = await this.recordSnapshot(written, conf, data, { compactTo });
    if (!recorded) throw new SnapshotOutOfDateError(index, this.memory.snapshot().metadata.index);
    return recorded;
  }

  /**
   * Writes a snapshot's data to a file of its own, fsync'd, touching nothing LevelDB holds:
   * it may run while the log is being written. Nothing refers to the file until
   * recordSnapshot; a file left unrecorded is removed when the store is next opened.
   */
  async writeSnapshotData(index: number, term: number, data: Uint8Array): Promise<WrittenSnapshot> {
    if (data.length === 0) return noData(index, term);
    const file = snapshotFileName(index, term);
    const path = join(this.snapshotDirectory, file);
    const digest = sha256(data);
    // Written under a temporary name and renamed: a crash never leaves half a file under
    // a name that a record could be pointing at.
    const handle = await openFile(`${path}.tmp`, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(`${path}.tmp`, path);
    await syncDirectory(this.snapshotDirectory);
    return { index, term, file, bytes: data.length, sha256: digest };
  }

  /**
   * Records a snapshot whose data writeSnapshotData put on disk, compacts the log behind it
   * to `compactTo`, and stores `hardState` (if given) in the same synced batch. Returns
   * undefined, recording nothing, when a newer snapshot (one from the leader) got there first.
   */
  async recordSnapshot(
    written: WrittenSnapshot,
    conf: ConfState,
    data: Uint8Array,
    options: { compactTo?: number; hardState?: HardState | undefined } = {},
  ): Promise<Snapshot | undefined> {
    const { index, term } = written;
    if (index <= this.memory.snapshot().metadata.index) {
      await this.removeSnapshotFile(written.file);
      return undefined;
    }
    if (this.memory.term(index) !== term) {
      throw new RaftInvariantError(
        `snapshot at ${index} was taken in term ${term}; the log has term ${this.memory.term(index)} there`,
      );
    }
    const snapshot: Snapshot = { metadata: { index, term, confState: conf }, data };
    const operations: Operation[] = [snapshotPut(snapshot.metadata, written)];
    const from = this.memory.firstIndex();
    const to = Math.min(options.compactTo ?? index, index);
    // Whole segments behind the compaction point go; one that straddles it stays, and
    // loading skips its compacted entries.
    const kept = this.segments.filter((segment) => {
      if (to < from || segment.end > to) return true;
      operations.push(segmentDel(segment.start));
      return false;
    });
    if (to >= from) operations.push(offsetPut(to, this.memory.term(to)));
    if (options.hardState) operations.push(hardStatePut(options.hardState));
    await this.write(operations, true);
    this.segments = kept;
    this.memory.createSnapshot(index, conf, data);
    if (to >= from) this.memory.compact(to);
    if (options.hardState) this.memory.setHardState(options.hardState);
    this.replaceSnapshotFile(written.file);
    return snapshot;
  }

  /** The recorded snapshot is now `file`: the one it replaces can go. */
  private replaceSnapshotFile(file: string | null): void {
    const previous = this.snapshotFile;
    this.snapshotFile = file;
    if (previous !== file) void this.removeSnapshotFile(previous);
  }

  private async removeSnapshotFile(file: string | null): Promise<void> {
    if (file === null || file === this.snapshotFile) return;
    // Best effort: a file left behind is removed at the next open.
    await unlink(join(this.snapshotDirectory, file)).catch(() => {});
  }

  /** Files a crash left between writing a snapshot and recording it. */
  private async removeUnrecordedSnapshotFiles(): Promise<void> {
    // A new directory's entry is durable only once its parent is synced.
    if (await mkdir(this.snapshotDirectory, { recursive: true })) {
      await syncDirectory(this.directory);
    }
    for (const file of await readdir(this.snapshotDirectory)) {
      if (file === this.snapshotFile) continue;
      // Tolerates a file gone meanwhile (a removal from before a reopen, finishing now).
      await unlink(join(this.snapshotDirectory, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /**
   * One batch, through the chained form: abstract-level's array form clones, checks and
   * re-encodes each operation in JavaScript first, 20–30 µs more per call here than the chained
   * batch for the same two operations, and every member writes one batch per Raft round.
   */
  private async write(operations: Operation[], sync: boolean): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const operation of operations) {
        if (operation.type === 'put') batch.put(operation.key, operation.value);
        else batch.del(operation.key);
      }
    } catch (error) {
      await batch.close();
      throw error;
    }
    // classic-level takes `sync` per batch; its type definitions do not declare it.
    await batch.write({ sync } as object);
  }
}

function segmentKey(start: number): string {
  return SEGMENT_PREFIX + start.toString(16).padStart(16, '0');
}

function segmentPut(entries: readonly Entry[]): Operation {
  return {
    type: 'put',
    key: segmentKey(entries[0]!.index),
    value: encodeSegment(entries),
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

function formatPut(): Operation {
  return { type: 'put', key: META_KEY, value: encode({ format: FORMAT }) };
}

function snapshotPut(metadata: SnapshotMetadata, written: WrittenSnapshot): Operation {
  const { index, term, confState } = metadata;
  const { file, bytes, sha256 } = written;
  return {
    type: 'put',
    key: SNAPSHOT_KEY,
    value: encode({ index, term, confState, file, bytes, sha256 }),
  };
}

function noData(index: number, term: number): WrittenSnapshot {
  return { index, term, file: null, bytes: 0, sha256: '' };
}

const SNAPSHOT_FILE = /^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/;

function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

/** ~6 ms for 8.6 MB here; WebCrypto's digest, for all it is asynchronous, held the thread 30 ms. */
function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A renamed file's name is durable only once its directory is synced. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await openFile(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads the whole store into a MemoryStorage, checking it; undefined for a new store. */
async function load(
  directory: string,
  db: ClassicLevel<string, Uint8Array>,
): Promise<
  | { memory: MemoryStorage; segments: Segment[]; snapshotFile: string | null; format: number }
  | undefined
> {
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
  const range = { gte: SEGMENT_PREFIX, lt: `${SEGMENT_PREFIX}~` };
  const asCorrupt = (error: unknown): StorageCorruptError =>
    error instanceof StorageCorruptError ? error : corrupt((error as Error).message, error);
  try {
    meta = await db.get(META_KEY);
    hardStateBytes = await db.get(HARD_STATE_KEY);
    snapshotBytes = await db.get(SNAPSHOT_KEY);
    offsetBytes = await db.get(OFFSET_KEY);
    if (!meta) {
      const anySegment = (await db.keys({ ...range, limit: 1 }).all()).length > 0;
      if (hardStateBytes || snapshotBytes || anySegment) {
        throw corrupt('the format record is missing');
      }
      return undefined;
    }
  } catch (error) {
    throw asCorrupt(error);
  }
  // Before anything else is read: a store of a later version says so, not that its records
  // do not decode.
  const format = (read(META_KEY, meta!) as { format?: unknown } | null)?.format;
  if (typeof format !== 'number' || !READABLE_FORMATS.has(format)) {
    throw corrupt(`unknown format ${String(format)}`);
  }
  try {
    for await (const [key, value] of db.iterator(range)) {
      const segment = isBinarySegment(value)
        ? readSegment(key, value, corrupt)
        : parseSegment(key, read(key, value), corrupt);
      segments.push({ start: segment[0]!.index, end: segment[segment.length - 1]!.index });
      stored.push(...segment);
    }
  } catch (error) {
    throw asCorrupt(error);
  }

  const record = snapshotBytes && parseSnapshot(read(SNAPSHOT_KEY, snapshotBytes), corrupt);
  const snapshot: Snapshot | undefined = record && {
    metadata: record.metadata,
    data: await readSnapshotData(directory, record.data, corrupt),
  };
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
  const snapshotFile = record && !(record.data instanceof Uint8Array) ? record.data.file : null;
  return { memory, segments, snapshotFile, format };
}

/** Where a stored snapshot's data is: inline (format 2) or in a file under snapshots/. */
type StoredData = Uint8Array | { file: string | null; bytes: number; sha256: string };

async function readSnapshotData(
  directory: string,
  stored: StoredData,
  corrupt: Corrupt,
): Promise<Uint8Array> {
  if (stored instanceof Uint8Array) return stored;
  if (stored.file === null) return new Uint8Array(0);
  const path = join(SNAPSHOT_DIRECTORY, stored.file);
  let data: Buffer;
  try {
    data = await readFile(join(directory, path));
  } catch (error) {
    throw corrupt(`the snapshot file ${path} cannot be read (${oneLineMessage(error)})`, error);
  }
  if (data.length !== stored.bytes || sha256(data) !== stored.sha256) {
    throw corrupt(`the snapshot file ${path} is damaged (size or checksum differs)`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

type Corrupt = (detail: string, cause?: unknown) => StorageCorruptError;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function segmentStart(key: string, corrupt: Corrupt): number {
  const start = Number.parseInt(key.slice(SEGMENT_PREFIX.length), 16);
  if (!Number.isSafeInteger(start)) throw corrupt(`log segment ${key} is malformed`);
  return start;
}

function readSegment(key: string, value: Uint8Array, corrupt: Corrupt): Entry[] {
  const start = segmentStart(key, corrupt);
  try {
    return decodeSegment(start, value);
  } catch (error) {
    throw corrupt(`log segment ${key} is malformed: ${(error as Error).message}`);
  }
}

/** A segment as format 3 wrote it: msgpack [[term, type, data], ...]. */
function parseSegment(key: string, value: unknown, corrupt: Corrupt): Entry[] {
  const start = segmentStart(key, corrupt);
  if (!Array.isArray(value) || value.length === 0) {
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

function parseSnapshot(
  value: unknown,
  corrupt: Corrupt,
): { metadata: SnapshotMetadata; data: StoredData } {
  if (
    !isRecord(value) ||
    !isIndex(value.index) ||
    !isIndex(value.term) ||
    !isRecord(value.confState)
  ) {
    throw corrupt('the snapshot record is malformed');
  }
  const data = parseStoredData(value);
  if (!data) throw corrupt('the snapshot record is malformed');
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
    data,
  };
}

function parseStoredData(value: Record<string, unknown>): StoredData | undefined {
  if (value.data instanceof Uint8Array) return value.data;
  const { file, bytes, sha256 } = value;
  if (file === null) return { file, bytes: 0, sha256: '' };
  // The name goes into a path: nothing but the names this module writes.
  if (typeof file !== 'string' || !SNAPSHOT_FILE.test(file)) return undefined;
  if (!isIndex(bytes) || typeof sha256 !== 'string') return undefined;
  return { file, bytes, sha256 };
}

function openFailure(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause;
  const text = cause?.message ?? (error as Error).message;
  if (/lock/i.test(text)) return `it is in use by another process (${text})`;
  return text;
}
