/**
 * Linearizability checker for client histories recorded against a replicated key-value store.
 *
 * The model is a set of independent registers, one per key, each initially absent. Because
 * linearizability is compositional, every key is checked on its own. A key's history is
 * checked with a Wing & Gong style backtracking search over the real-time order of the
 * operations, with Lowe's improvement: every (set of linearized operations, register state)
 * pair reached is remembered, and a search that arrives at a remembered pair again is cut
 * off. The set of linearized operations is kept as a bitset over operation indices.
 *
 * Semantics of an operation's outcome:
 * - `ok`: the operation took effect exactly once, at some instant in [invokedAt, completedAt],
 *   and its output is known (and checked).
 * - `fail`: the operation definitely did not take effect. It is dropped from the history.
 * - `timeout`: unknown. It may or may not have taken effect, at any instant after invokedAt
 *   (completion is treated as +infinity; `completedAt`, the moment the client gave up, is
 *   informational only) and its output is unconstrained.
 *
 * Two operations are ordered in real time only if one completed strictly before the other
 * was invoked: intervals that touch (completedAt === invokedAt) count as concurrent.
 *
 * Times are whatever numbers the recorder was given (logical ticks or milliseconds); the
 * checker never reads a clock.
 */

/** What happened to an operation, as seen by the client. */
export type Outcome = 'ok' | 'fail' | 'timeout';

/**
 * An absent value is `undefined` or `null` (both accepted everywhere; the recorder stores
 * `undefined`).
 */
export type MaybeValue = string | null | undefined;

/** A request a client sends. */
export type KvOperation =
  | { kind: 'get'; key: string }
  | { kind: 'put'; key: string; value: string }
  | { kind: 'cas'; key: string; expected: MaybeValue; value: string }
  | { kind: 'delete'; key: string };

/** Output of a successful get: the value read, absent when the key did not exist. */
export interface GetOutput {
  value: MaybeValue;
}

/** Output of a completed compare-and-set. */
export interface CasOutput {
  /** Whether the value was swapped. */
  swapped: boolean;
  /**
   * For a cas that did not swap, the value the store held instead, if the store reports it
   * (checked when given, like a get). Leave it out when unknown.
   */
  actual?: MaybeValue;
}

/** Output of a successful delete: optionally whether the key existed (checked when given). */
export interface DeleteOutput {
  existed?: boolean;
}

/** Any operation output. A put has none (pass `undefined`). */
export type KvOutput = GetOutput | CasOutput | DeleteOutput;

interface OpRecordBase {
  id: number;
  client: string;
  key: string;
  invokedAt: number;
  /** Completion time for `ok`, the time the outcome was learnt for `fail` / `timeout`. */
  completedAt?: number;
  outcome: Outcome;
}

export interface GetRecord extends OpRecordBase {
  kind: 'get';
  output?: GetOutput;
}

export interface PutRecord extends OpRecordBase {
  kind: 'put';
  value: string;
  output?: undefined;
}

export interface CasRecord extends OpRecordBase {
  kind: 'cas';
  expected: MaybeValue;
  value: string;
  output?: CasOutput;
}

export interface DeleteRecord extends OpRecordBase {
  kind: 'delete';
  output?: DeleteOutput;
}

/** One operation in a history. */
export type OpRecord = GetRecord | PutRecord | CasRecord | DeleteRecord;

export type History = readonly OpRecord[];

export interface CheckOptions {
  /**
   * Upper bound on distinct (linearized set, state) pairs the search may remember for one
   * key before it gives up with `{ ok: 'unknown' }`. Default 1,000,000.
   */
  maxStates?: number;
}

export interface LinearizableResult {
  ok: true;
}

export interface ViolationResult {
  ok: false;
  /** The first key (in order of first appearance in the history) that is not linearizable. */
  key: string;
  /** A readable explanation. */
  message: string;
  /** The operation at whose completion the history of this key stops being linearizable. */
  operation: OpRecord;
  /**
   * The shortest non-linearizable prefix of the key's history: every non-failed operation on
   * the key invoked no later than `operation` completed, ordered by invocation time. (Within
   * that prefix, operations still running when `operation` completed are treated as pending.)
   */
  operations: OpRecord[];
}

export interface UnknownResult {
  ok: 'unknown';
  key: string;
  message: string;
  /** Distinct (linearized set, state) pairs remembered before giving up. */
  statesExplored: number;
}

export type CheckResult = LinearizableResult | ViolationResult | UnknownResult;

export const DEFAULT_MAX_STATES = 1_000_000;

/** States the explanation may spend listing the values a violating operation could have seen. */
const EXPLAIN_ALL_STATES = 50_000;

// ---------------------------------------------------------------------------------------------
// Recorder

export interface HistoryOptions {
  /**
   * What to do with operations that were invoked but never resolved with ok / fail / timeout:
   * `'error'` (default) throws, `'timeout'` records them as timed out.
   */
  unresolved?: 'error' | 'timeout';
}

/**
 * Records a history. Every call takes an explicit time; the recorder never reads a clock.
 *
 * ```ts
 * const id = rec.invoke('c1', { kind: 'put', key: 'x', value: 'a' }, now());
 * rec.ok(id, undefined, now());            // or rec.fail(id, now()) / rec.timeout(id, now())
 * const id2 = rec.invoke('c1', { kind: 'get', key: 'x' }, now());
 * rec.ok(id2, { value: 'a' }, now());
 * checkLinearizable(rec.history());
 * ```
 */
export class HistoryRecorder {
  readonly #records: OpRecord[] = [];
  readonly #pending = new Map<number, OpRecord>();
  #nextId = 1;

  /** Records the invocation of `op` by `client` at time `at`; returns the operation id. */
  invoke(client: string, op: KvOperation, at: number): number {
    assertTime(at, 'invoke time');
    const id = this.#nextId++;
    const base = { id, client, key: op.key, invokedAt: at, outcome: 'timeout' as Outcome };
    let record: OpRecord;
    switch (op.kind) {
      case 'get':
        record = { ...base, kind: 'get' };
        break;
      case 'put':
        record = { ...base, kind: 'put', value: op.value };
        break;
      case 'cas':
        record = { ...base, kind: 'cas', expected: op.expected ?? undefined, value: op.value };
        break;
      case 'delete':
        record = { ...base, kind: 'delete' };
        break;
    }
    this.#records.push(record);
    this.#pending.set(id, record);
    return id;
  }

  /** The operation took effect and returned `output` (use `undefined` for a put). */
  ok(id: number, output: KvOutput | undefined, at: number): void {
    const kind = this.#pending.get(id)?.kind;
    let stored: OpRecord['output'];
    if (kind === 'get') {
      if (output === undefined || output === null || !('value' in output)) {
        throw new Error(`get #${id} needs an output { value }`);
      }
      stored = { value: normalizeValue(output.value) };
    } else if (kind === 'cas') {
      const cas = output as CasOutput | undefined | null;
      if (cas === undefined || cas === null || typeof cas.swapped !== 'boolean') {
        throw new Error(`cas #${id} needs an output { swapped: boolean }`);
      }
      stored =
        !cas.swapped && 'actual' in cas
          ? { swapped: false, actual: normalizeValue(cas.actual) }
          : { swapped: cas.swapped };
    } else if (kind === 'delete') {
      const existed =
        output !== undefined && output !== null && 'existed' in output ? output.existed : undefined;
      stored = existed === undefined ? {} : { existed };
    }
    const record = this.#resolve(id, at);
    record.outcome = 'ok';
    if (stored !== undefined) record.output = stored as never;
  }

  /** The operation definitely did not take effect. */
  fail(id: number, at: number): void {
    this.#resolve(id, at).outcome = 'fail';
  }

  /** The outcome is unknown (e.g. the request timed out or the connection dropped). */
  timeout(id: number, at: number): void {
    this.#resolve(id, at).outcome = 'timeout';
  }

  /** Ids of operations invoked but not yet resolved. */
  pending(): number[] {
    return [...this.#pending.keys()];
  }

  /** A copy of the history recorded so far. */
  history(options: HistoryOptions = {}): OpRecord[] {
    if (this.#pending.size > 0 && (options.unresolved ?? 'error') === 'error') {
      throw new Error(
        `operations still unresolved: ${this.pending().join(', ')} ` +
          "(resolve them with timeout(), or pass { unresolved: 'timeout' })",
      );
    }
    return this.#records.map((r) => {
      const copy = { ...r } as OpRecord;
      if (r.output !== undefined) copy.output = { ...r.output } as never;
      if (this.#pending.has(r.id)) copy.outcome = 'timeout';
      return copy;
    });
  }

  #resolve(id: number, at: number): OpRecord {
    assertTime(at, 'completion time');
    const record = this.#pending.get(id);
    if (record === undefined) {
      throw new Error(`operation #${id} is unknown or already resolved`);
    }
    if (at < record.invokedAt) {
      throw new Error(
        `operation #${id} completes at ${at}, before its invocation ${record.invokedAt}`,
      );
    }
    this.#pending.delete(id);
    record.completedAt = at;
    return record;
  }
}

function assertTime(at: number, what: string): void {
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new Error(`${what} must be a finite number, got ${String(at)}`);
  }
}

function normalizeValue(v: string | null | undefined): string | undefined {
  return v === null ? undefined : v;
}

// ---------------------------------------------------------------------------------------------
// Checker

const GET = 0;
const PUT = 1;
const CAS = 2;
const DEL = 3;
/** Value id of the absent value. */
const ABSENT = 0;

/** An operation of one key, normalized for the search. */
interface Op {
  rec: OpRecord;
  kind: number;
  start: number;
  /** +Infinity when not required. */
  end: number;
  /** Must be linearized (ok), as opposed to may be (timeout). */
  required: boolean;
  /** Output unconstrained but recorded in the search state (used to explain a violation). */
  wild: boolean;
  /** Value id written (put / cas: value, delete: ABSENT); -1 for get. */
  write: number;
  /** cas: expected value id; otherwise -1. */
  expected: number;
  /** -1: unconstrained. get: value id read; cas: 1 swapped / 0 not; delete: 1 existed / 0 not. */
  out: number;
  /** cas that did not swap: value id it reported instead; otherwise -1 (unknown). */
  actual: number;
}

class Values {
  readonly #ids = new Map<string, number>();
  readonly list: (string | undefined)[] = [undefined];

  id(v: string | undefined): number {
    if (v === undefined) return ABSENT;
    let id = this.#ids.get(v);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(v);
      this.#ids.set(v, id);
    }
    return id;
  }

  /** The id of `v` if it was seen, without adding it. */
  lookup(v: string): number | undefined {
    return this.#ids.get(v);
  }

  value(id: number): string | undefined {
    return this.list[id];
  }
}

/**
 * Checks that `history` is linearizable with respect to a key-value store whose keys are
 * independent registers that start absent. Keys are checked independently; the first key
 * (in order of first appearance) that is not linearizable is reported. If the search for
 * some key exceeds `maxStates` and no key is found to be violated, the result is
 * `{ ok: 'unknown' }`.
 *
 * Throws on malformed records (non-finite times, `ok` without `completedAt` or without a
 * required output, duplicate ids).
 */
export function checkLinearizable(history: History, options: CheckOptions = {}): CheckResult {
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  const byKey = new Map<string, OpRecord[]>();
  const ids = new Set<number>();
  for (const rec of history) {
    validate(rec);
    if (ids.has(rec.id)) throw new Error(`duplicate operation id ${rec.id}`);
    ids.add(rec.id);
    let list = byKey.get(rec.key);
    if (list === undefined) {
      list = [];
      byKey.set(rec.key, list);
    }
    list.push(rec);
  }
  let unknown: UnknownResult | undefined;
  for (const [key, records] of byKey) {
    const result = checkKey(key, records, maxStates);
    if (result.ok === false) return result;
    if (result.ok === 'unknown' && unknown === undefined) unknown = result;
  }
  return unknown ?? { ok: true };
}

function validate(rec: OpRecord): void {
  const where = `operation #${String(rec.id)}`;
  if (typeof rec.id !== 'number') throw new Error(`operation id must be a number`);
  if (typeof rec.key !== 'string') throw new Error(`${where}: key must be a string`);
  if (!['get', 'put', 'cas', 'delete'].includes(rec.kind)) {
    throw new Error(`${where}: unknown kind ${String(rec.kind)}`);
  }
  if (!['ok', 'fail', 'timeout'].includes(rec.outcome)) {
    throw new Error(`${where}: unknown outcome ${String(rec.outcome)}`);
  }
  if (!Number.isFinite(rec.invokedAt)) throw new Error(`${where}: invokedAt must be finite`);
  if (rec.outcome !== 'ok') return;
  if (rec.completedAt === undefined || !Number.isFinite(rec.completedAt)) {
    throw new Error(`${where}: an ok operation needs a finite completedAt`);
  }
  if (rec.completedAt < rec.invokedAt) {
    throw new Error(
      `${where}: completedAt ${rec.completedAt} is before invokedAt ${rec.invokedAt}`,
    );
  }
  if (rec.kind === 'get' && (rec.output === undefined || rec.output === null)) {
    throw new Error(`${where}: an ok get needs an output { value }`);
  }
  if (rec.kind === 'cas' && typeof rec.output?.swapped !== 'boolean') {
    throw new Error(`${where}: an ok cas needs an output { swapped }`);
  }
}

function normalize(records: readonly OpRecord[], values: Values): Op[] {
  const ops: Op[] = [];
  for (const rec of records) {
    if (rec.outcome === 'fail') continue;
    const required = rec.outcome === 'ok';
    const op: Op = {
      rec,
      kind: GET,
      start: rec.invokedAt,
      end: required ? (rec.completedAt as number) : Number.POSITIVE_INFINITY,
      required,
      wild: false,
      write: -1,
      expected: -1,
      out: -1,
      actual: -1,
    };
    switch (rec.kind) {
      case 'get':
        if (required) op.out = values.id(normalizeValue(rec.output?.value));
        break;
      case 'put':
        op.kind = PUT;
        op.write = values.id(rec.value);
        break;
      case 'cas':
        op.kind = CAS;
        op.write = values.id(rec.value);
        op.expected = values.id(normalizeValue(rec.expected));
        if (required) op.out = rec.output?.swapped ? 1 : 0;
        if (op.out === 0 && rec.output !== undefined && 'actual' in rec.output) {
          op.actual = values.id(normalizeValue(rec.output.actual));
        }
        break;
      case 'delete': {
        op.kind = DEL;
        op.write = ABSENT;
        const existed = rec.output?.existed;
        if (required && existed !== undefined) op.out = existed ? 1 : 0;
        break;
      }
    }
    ops.push(op);
  }
  return ops;
}

/**
 * Simplifies a key's operations before the search without changing which linearizations
 * exist, or returns `undefined` when the history is plainly impossible:
 *
 * 1. Gets whose output is unconstrained (timed out) are dropped: they never change the state.
 * 2. A value a required operation observes (a get returning it, a cas that swapped on it or
 *    reported it as the actual value) must
 *    have been written by an operation invoked no later than the observer completed. If no
 *    such writer exists the history is impossible. If exactly one exists, it must have taken
 *    effect before the observer completed: it becomes required, with that deadline (and, for a
 *    cas, with a successful swap). With unique values per write, this turns every timed-out
 *    write whose value was seen into a required one, which keeps the search small.
 * 3. Optional (timed-out) writes of a value that nothing observes are dropped. Sound when no
 *    operation can tell a value apart from "some other value" (no cas known to have failed,
 *    no delete with a known `existed`, no `wild` operation): a linearization that applies such
 *    a write stays valid with the write (and any timed-out cas it made fail) left out, since
 *    every operation between it and the next write neither reads its value nor depends on it.
 * 4. Otherwise (without a `wild` operation), every value that nothing observes (no get returns
 *    it, no cas expects it) is written as the single value `other`: no operation behaves
 *    differently in two such states, so this merges states the search would tell apart.
 */
function simplify(input: readonly Op[], other: number): Op[] | undefined {
  const ops = input.filter((o) => o.required || o.kind !== GET);

  const writers = new Map<number, number[]>();
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    if (o.kind === GET || o.write === ABSENT || (o.kind === CAS && o.out === 0)) continue;
    let list = writers.get(o.write);
    if (list === undefined) {
      list = [];
      writers.set(o.write, list);
    }
    list.push(i);
  }
  for (const list of writers.values()) list.sort((a, b) => ops[a]!.start - ops[b]!.start);
  const deadlines = new Map<number, number>();
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    if (!o.required || o.wild) continue;
    const seen = o.kind === GET ? o.out : o.kind !== CAS ? -1 : o.out === 1 ? o.expected : o.actual;
    if (seen <= ABSENT) continue;
    let count = 0;
    let only = -1;
    for (const w of writers.get(seen) ?? []) {
      if (ops[w]!.start > o.end) break;
      if (w === i) continue;
      count++;
      only = w;
      if (count > 1) break;
    }
    if (count === 0) return undefined;
    if (count === 1) deadlines.set(only, Math.min(deadlines.get(only) ?? o.end, o.end));
  }
  for (const [w, deadline] of deadlines) {
    const o = ops[w]!;
    ops[w] = {
      ...o,
      required: true,
      end: Math.min(o.end, deadline),
      out: o.kind === CAS ? 1 : o.out,
    };
  }

  const observed = new Set<number>([ABSENT]);
  let negative = false;
  for (const o of ops) {
    if (o.wild) return ops;
    if (o.kind === GET) observed.add(o.out);
    else if (o.kind === CAS) {
      observed.add(o.expected);
      if (o.actual >= 0) observed.add(o.actual);
      else if (o.required && o.out === 0) negative = true;
    } else if (o.kind === DEL && o.required && o.out >= 0) negative = true;
  }
  const kept = negative ? ops : ops.filter((o) => o.required || observed.has(o.write));
  return kept.map((o) => (o.kind === GET || observed.has(o.write) ? o : { ...o, write: other }));
}

/**
 * Simplifies and searches. Value ids are below `radix - 1`; `radix - 1` stands for "a value
 * nothing observes".
 */
function solve(
  ops: readonly Op[],
  radix: number,
  maxStates: number,
  collectAll: boolean,
): SearchResult {
  const simplified = simplify(ops, radix - 1);
  if (simplified === undefined)
    return { status: 'fail', states: 0, finals: new Set(), stuckAt: Number.NEGATIVE_INFINITY };
  return search(simplified, radix, maxStates, collectAll);
}

type SearchStatus = 'ok' | 'fail' | 'unknown';

interface SearchResult {
  status: SearchStatus;
  states: number;
  /** collectAll: the final composite states of all complete linearizations. */
  finals: Set<number>;
  /**
   * The latest completion time the search could not get past (-Infinity if none): usually
   * where the shortest failing prefix ends.
   */
  stuckAt: number;
}

/** Register transition; -1 when the operation's output is impossible in state `s`. */
function stepRegister(op: Op, s: number): number {
  switch (op.kind) {
    case GET:
      return op.out < 0 || op.out === s ? s : -1;
    case PUT:
      return op.write;
    case CAS:
      if (s === op.expected) return op.out === 0 ? -1 : op.write;
      return op.out === 1 || (op.actual >= 0 && op.actual !== s) ? -1 : s;
    default:
      if (op.out === 1 && s === ABSENT) return -1;
      if (op.out === 0 && s !== ABSENT) return -1;
      return ABSENT;
  }
}

/**
 * Backtracking search for a linearization of `ops`. The search state is a composite number
 * `register + radix * observed`, where `observed` is the register value the `wild` operation
 * saw (0 when there is none). With `collectAll`, the search does not stop at the first
 * linearization but collects the final states of all of them.
 *
 * Optional operations are never applied when they would not change the state (that only uses
 * them up). Optional operations that are interchangeable (same kind, expected and written
 * value; their outputs are unconstrained and they never have to complete) form a class, and
 * only the earliest-invoked unused member of a class may be applied: any linearization can be
 * rewritten to use a class's members in invocation order.
 */
function search(ops: Op[], radix: number, maxStates: number, collectAll: boolean): SearchResult {
  const n = ops.length;
  const finals = new Set<number>();
  let remaining = 0;
  for (const o of ops) if (o.required) remaining++;
  if (remaining === 0) {
    if (collectAll) finals.add(0);
    return { status: 'ok', states: 0, finals, stuckAt: Number.NEGATIVE_INFINITY };
  }

  // Events: a call per operation, a return per required operation; sorted by time with calls
  // before returns at equal times (touching intervals are concurrent).
  const events: { time: number; call: boolean; op: number }[] = [];
  for (let i = 0; i < n; i++) {
    const o = ops[i]!;
    events.push({ time: o.start, call: true, op: i });
    if (o.required) events.push({ time: o.end, call: false, op: i });
  }
  events.sort((a, b) => a.time - b.time || (a.call ? 0 : 1) - (b.call ? 0 : 1) || a.op - b.op);
  const e = events.length;
  const head = e;
  const tail = e + 1;
  const next = new Int32Array(e + 2);
  const prev = new Int32Array(e + 2);
  const nodeOp = new Int32Array(e);
  const nodeIsCall = new Uint8Array(e);
  const callNode = new Int32Array(n);
  const returnNode = new Int32Array(n).fill(-1);
  let last = head;
  for (let i = 0; i < e; i++) {
    const ev = events[i]!;
    nodeOp[i] = ev.op;
    nodeIsCall[i] = ev.call ? 1 : 0;
    if (ev.call) callNode[ev.op] = i;
    else returnNode[ev.op] = i;
    next[last] = i;
    prev[i] = last;
    last = i;
  }
  next[last] = tail;
  prev[tail] = last;

  const opClass = new Int32Array(n).fill(-1);
  const classMembers: number[][] = [];
  const classIds = new Map<string, number>();
  for (const ev of events) {
    const o = ops[ev.op]!;
    if (!ev.call || o.required || o.wild) continue;
    const signature = `${o.kind}:${o.expected}:${o.write}`;
    let c = classIds.get(signature);
    if (c === undefined) {
      c = classMembers.length;
      classIds.set(signature, c);
      classMembers.push([]);
    }
    classMembers[c]!.push(ev.op);
    opClass[ev.op] = c;
  }
  const classUsed = new Int32Array(classMembers.length);

  const unlink = (x: number): void => {
    next[prev[x]!] = next[x]!;
    prev[next[x]!] = prev[x]!;
  };
  const relink = (x: number): void => {
    next[prev[x]!] = x;
    prev[next[x]!] = x;
  };

  // Memo key: three 16-bit words of state followed by the bitset of linearized operations.
  // Its hash combines the state with a Zobrist hash of the bitset kept up to date in `bitsHash`.
  const key = new Uint16Array(3 + Math.ceil(n / 16));
  const visited = new StateSet(key.length);
  const zobrist = new Int32Array(n);
  for (let i = 0; i < n; i++) zobrist[i] = mix32(Math.imul(i + 1, 0x9e3779b9));
  let bitsHash = 0;
  const stackOp = new Int32Array(n);
  const stackState = new Float64Array(n);
  let depth = 0;
  let state = 0;
  let entry = next[head]!;
  let stuck = -1;
  const done = (status: SearchStatus): SearchResult => ({
    status,
    states: visited.size,
    finals,
    stuckAt: stuck < 0 ? Number.NEGATIVE_INFINITY : events[stuck]!.time,
  });

  for (;;) {
    let backtrack = entry === tail || nodeIsCall[entry] === 0;
    if (!backtrack) {
      const i = nodeOp[entry]!;
      const op = ops[i]!;
      const reg = state % radix;
      const c = opClass[i]!;
      const stepped = c >= 0 && classMembers[c]![classUsed[c]!] !== i ? -1 : stepRegister(op, reg);
      if (stepped >= 0 && (c < 0 || stepped !== reg)) {
        const ns = op.wild ? stepped + radix * reg : stepped + (state - reg);
        const word = 3 + (i >> 4);
        const mask = 1 << (i & 15);
        key[word] = key[word]! | mask;
        key[0] = ns % 65536;
        key[1] = Math.floor(ns / 65536) % 65536;
        key[2] = Math.floor(ns / 4294967296);
        const hash = mix32(
          bitsHash ^
            zobrist[i]! ^
            Math.imul(key[0]! + 1, 0x85ebca6b) ^
            Math.imul(key[1]! + 1, 0xc2b2ae35) ^
            Math.imul(key[2]! + 1, 0x27d4eb2f),
        );
        if (visited.add(key, hash)) {
          if (visited.size > maxStates) return done('unknown');
          bitsHash ^= zobrist[i]!;
          stackOp[depth] = i;
          stackState[depth] = state;
          depth++;
          state = ns;
          unlink(callNode[i]!);
          if (c >= 0) classUsed[c] = classUsed[c]! + 1;
          if (op.required) {
            unlink(returnNode[i]!);
            remaining--;
          }
          if (remaining === 0) {
            if (!collectAll) return done('ok');
            finals.add(state);
            backtrack = true;
          } else {
            entry = next[head]!;
            continue;
          }
        } else {
          key[word] = key[word]! & ~mask;
        }
      }
      if (!backtrack) {
        entry = next[entry]!;
        continue;
      }
    }
    // A return event of an operation not yet linearized (or a complete linearization while
    // collecting): undo the most recent choice and try the next candidate after it.
    if (entry !== tail && entry > stuck && nodeIsCall[entry] === 0) stuck = entry;
    if (depth === 0) return done(collectAll && finals.size > 0 ? 'ok' : 'fail');
    depth--;
    const i = stackOp[depth]!;
    state = stackState[depth]!;
    const word = 3 + (i >> 4);
    key[word] = key[word]! & ~(1 << (i & 15));
    bitsHash ^= zobrist[i]!;
    if (ops[i]!.required) {
      relink(returnNode[i]!);
      remaining++;
    }
    const c = opClass[i]!;
    if (c >= 0) classUsed[c] = classUsed[c]! - 1;
    relink(callNode[i]!);
    entry = next[callNode[i]!]!;
  }
}

/** murmur3's 32-bit finalizer: a bijection that spreads bits. */
function mix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** A set of fixed-length Uint16Array keys (copied in), with caller-supplied 32-bit hashes. */
class StateSet {
  readonly #width: number;
  #pool: Uint16Array;
  #hashes: Int32Array;
  #table: Int32Array;
  #size = 0;

  constructor(width: number) {
    this.#width = width;
    this.#pool = new Uint16Array(width * 1024);
    this.#hashes = new Int32Array(1024);
    this.#table = new Int32Array(2048).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a copy of `key` unless an equal key is present; returns whether it was added. */
  add(key: Uint16Array, hash: number): boolean {
    const width = this.#width;
    let mask = this.#table.length - 1;
    let slot = hash & mask;
    for (;;) {
      const e = this.#table[slot]!;
      if (e < 0) break;
      if (this.#hashes[e] === hash) {
        const base = e * width;
        let same = true;
        for (let w = 0; w < width; w++) {
          if (this.#pool[base + w] !== key[w]) {
            same = false;
            break;
          }
        }
        if (same) return false;
      }
      slot = (slot + 1) & mask;
    }
    const e = this.#size++;
    if (e === this.#hashes.length) {
      const pool = new Uint16Array(this.#pool.length * 2);
      pool.set(this.#pool);
      this.#pool = pool;
      const hashes = new Int32Array(this.#hashes.length * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    this.#pool.set(key, e * width);
    this.#hashes[e] = hash;
    if (this.#size * 2 > this.#table.length) {
      const table = new Int32Array(this.#table.length * 2).fill(-1);
      mask = table.length - 1;
      for (let x = 0; x < this.#size; x++) {
        let s = this.#hashes[x]! & mask;
        while (table[s]! >= 0) s = (s + 1) & mask;
        table[s] = x;
      }
      this.#table = table;
    } else {
      this.#table[slot] = e;
    }
    return true;
  }
}

function checkKey(
  key: string,
  records: readonly OpRecord[],
  maxStates: number,
): LinearizableResult | ViolationResult | UnknownResult {
  const values = new Values();
  const ops = normalize(records, values);
  const radix = values.list.length + 1;
  const result = solve(ops, radix, maxStates, false);
  if (result.status === 'ok') return { ok: true };
  if (result.status === 'unknown') {
    const timeouts = ops.filter((o) => !o.required).length;
    return {
      ok: 'unknown',
      key,
      statesExplored: result.states,
      message:
        `key ${quote(key)}: gave up after exploring more than ${maxStates} states ` +
        `(${ops.length} operations, ${timeouts} of them timed out); raise maxStates or ` +
        'record shorter histories',
    };
  }
  return explain(key, records, ops, values, radix, maxStates, result.stuckAt);
}

/** The prefix of the history invoked no later than `t`; operations running at `t` are pending. */
function prefixAt(ops: readonly Op[], t: number): Op[] {
  const prefix: Op[] = [];
  for (const o of ops) {
    if (o.start > t) continue;
    if (o.required && o.end > t) {
      prefix.push({ ...o, required: false, end: Number.POSITIVE_INFINITY, out: -1, actual: -1 });
    } else prefix.push(o);
  }
  return prefix;
}

function explain(
  key: string,
  records: readonly OpRecord[],
  ops: readonly Op[],
  values: Values,
  radix: number,
  maxStates: number,
  stuckAt: number,
): ViolationResult {
  // The explanation may spend at most maxStates more states in total.
  let budget = maxStates;
  const run = (candidate: Op[], collectAll: boolean, limit = budget): SearchResult => {
    if (budget <= 0)
      return { status: 'unknown', states: 0, finals: new Set(), stuckAt: Number.NEGATIVE_INFINITY };
    const r = solve(candidate, radix, Math.min(budget, limit), collectAll);
    budget -= Math.max(r.states, 1);
    return r;
  };
  const status = (candidate: Op[]): SearchStatus => run(candidate, false).status;

  // The shortest failing prefix ends at some completion time. Failing prefixes are closed
  // upwards (a linearization of a longer prefix, cut at time t, linearizes the prefix at t),
  // so binary search over the completion times.
  const ends = [...new Set(ops.filter((o) => o.required).map((o) => o.end))].sort((a, b) => a - b);
  let lo = 0;
  let hi = ends.length - 1;
  // Usually the prefix ends where the full search got stuck: try there and just before first.
  const hint = ends.indexOf(stuckAt);
  if (hint >= 0 && hint < hi) {
    const s = status(prefixAt(ops, stuckAt));
    if (s === 'fail') hi = hint;
    else if (s === 'ok') lo = hint + 1;
  }
  if (lo < hi) {
    const s = status(prefixAt(ops, ends[hi - 1]!));
    if (s === 'ok') lo = hi;
    else if (s === 'fail') hi--;
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const s = status(prefixAt(ops, ends[mid]!));
    if (s === 'unknown') break;
    if (s === 'fail') hi = mid;
    else lo = mid + 1;
  }
  const t = ends[hi]!;
  const prefix = prefixAt(ops, t);

  // The culprit completes at t. If several do, prefer one that alone breaks the prefix.
  const completing = prefix.filter((o) => o.required && o.end === t);
  let culprit = completing[0]!;
  if (completing.length > 1) {
    for (const c of completing) {
      const relaxed = prefix.map((o) =>
        o === c ? { ...o, required: false, end: Number.POSITIVE_INFINITY, out: -1, actual: -1 } : o,
      );
      if (status(relaxed) === 'ok') {
        culprit = c;
        break;
      }
    }
  }

  // Which register values could the culprit have observed, given everything else?
  let possible: number[] | undefined;
  if (culprit.kind === GET || culprit.kind === CAS || culprit.out >= 0) {
    const wild = prefix.map((o) => (o === culprit ? { ...o, wild: true, out: -1, actual: -1 } : o));
    // Enumerates all linearizations of the prefix, so it gets a smaller budget; only the
    // message depends on it.
    const r = run(wild, true, EXPLAIN_ALL_STATES);
    if (r.status === 'ok') {
      possible = [...new Set([...r.finals].map((s) => Math.floor(s / radix)))].sort(
        (a, b) => a - b,
      );
    }
  }

  const c = culprit.rec;
  const parts: string[] = [`key ${quote(key)} is not linearizable.`];
  const allowed =
    possible === undefined || possible.length === 0
      ? undefined
      : possible.length === 1
        ? fmt(values.value(possible[0]!))
        : `one of ${listOf(possible.map((p) => fmt(values.value(p))))}`;
  const contextNote = 'given the operations before it';
  if (c.kind === 'get') {
    const claimed = culprit.out;
    parts.push(
      allowed === undefined
        ? `${describeOperation(c)}: it cannot be linearized with the operations before it.`
        : `${describeOperation(c)}: ${contextNote}, it could only have returned ${allowed}.`,
    );
    parts.push(...valueNotes(claimed, culprit, ops, records, values));
  } else if (c.kind === 'cas') {
    const exp = fmt(values.value(culprit.expected));
    const held =
      allowed === undefined ? '' : ` ${contextNote}, the value could only have been ${allowed}`;
    if (culprit.out === 1) {
      parts.push(`${describeOperation(c)}: it swapped, so the value was ${exp};${held}.`);
      parts.push(...valueNotes(culprit.expected, culprit, ops, records, values));
    } else {
      const what =
        culprit.actual >= 0
          ? `it did not swap and saw ${fmt(values.value(culprit.actual))}`
          : `it did not swap, so the value was not ${exp}`;
      parts.push(`${describeOperation(c)}: ${what};${held}.`);
      if (culprit.actual >= 0) {
        parts.push(...valueNotes(culprit.actual, culprit, ops, records, values));
      }
    }
  } else if (c.kind === 'delete' && culprit.out >= 0) {
    const held =
      allowed === undefined ? '' : ` ${contextNote}, the value could only have been ${allowed}`;
    parts.push(
      `${describeOperation(c)}: ${culprit.out === 1 ? 'the key existed' : 'the key was absent'};${held}.`,
    );
  } else {
    parts.push(`${describeOperation(c)}: it cannot be linearized with the operations before it.`);
  }
  const operations = prefix
    .map((o) => o.rec)
    .sort((a, b) => a.invokedAt - b.invokedAt || a.id - b.id);
  parts.push(
    `Shortest non-linearizable prefix: the ${operations.length} operations on this key invoked ` +
      `up to t=${t}, when #${c.id} completed (see result.operations).`,
  );
  return { ok: false, key, message: parts.join(' '), operation: c, operations };
}

/** Does `o` (possibly) write value id `v`? */
function writes(o: Op, v: number): boolean {
  if (o.kind === GET || o.write !== v) return false;
  return o.kind !== CAS || o.out !== 0;
}

/** Does `o` certainly write (not a failed cas, not timed out)? */
function definitelyWrites(o: Op): boolean {
  return o.required && o.kind !== GET && (o.kind !== CAS || o.out === 1);
}

/** Heuristic hints about where value `v`, claimed to be observed by `culprit`, came from. */
function valueNotes(
  v: number,
  culprit: Op,
  ops: readonly Op[],
  records: readonly OpRecord[],
  values: Values,
): string[] {
  const shown = fmt(values.value(v));
  const writers = ops.filter((o) => o !== culprit && writes(o, v));
  if (v !== ABSENT && writers.length === 0) {
    const failed = records.filter(
      (r) =>
        r.outcome === 'fail' &&
        (r.kind === 'put' || r.kind === 'cas') &&
        values.lookup(r.value) === v,
    );
    if (failed.length > 0) {
      return [
        `${shown} was only written by failed operations, which must not take effect: ` +
          `${listOf(failed.map(describeOperation))}.`,
      ];
    }
    return [`No operation ever wrote ${shown}.`];
  }
  const before = writers.filter((o) => o.start <= culprit.end);
  if (v !== ABSENT && before.length === 0) {
    return [
      `Every write of ${shown} was invoked after #${culprit.rec.id} completed: ` +
        `${listOf(writers.map((o) => describeOperation(o.rec)))}.`,
    ];
  }
  // Stale read: was every write of v that could precede the culprit overwritten before it?
  const overwrites: string[] = [];
  const sources: { end: number; text: string }[] = before.map((o) => ({
    end: o.end,
    text: describeOperation(o.rec),
  }));
  if (v === ABSENT)
    sources.unshift({ end: Number.NEGATIVE_INFINITY, text: 'the initial (absent) value' });
  for (const source of sources) {
    let by: Op | undefined;
    for (const z of ops) {
      if (z === culprit || !definitelyWrites(z) || z.write === v) continue;
      if (z.start > source.end && z.end < culprit.start && (by === undefined || z.end > by.end)) {
        by = z;
      }
    }
    if (by === undefined) return [];
    overwrites.push(`${source.text} was overwritten by ${describeOperation(by.rec)}`);
  }
  return [
    `Every write of ${shown} that could precede #${culprit.rec.id} was overwritten before it was ` +
      `invoked at t=${culprit.start}: ${listOf(overwrites, 3)}.`,
  ];
}

/** One line describing an operation, e.g. `#3 c1 get("x") -> "a" [4, 5]`. */
export function describeOperation(r: OpRecord): string {
  let call: string;
  let out = '';
  switch (r.kind) {
    case 'get':
      call = `get(${quote(r.key)})`;
      if (r.outcome === 'ok') out = ` -> ${fmt(normalizeValue(r.output?.value))}`;
      break;
    case 'put':
      call = `put(${quote(r.key)}, ${fmt(r.value)})`;
      break;
    case 'cas':
      call = `cas(${quote(r.key)}, ${fmt(normalizeValue(r.expected))} -> ${fmt(r.value)})`;
      if (r.outcome === 'ok') {
        out = r.output?.swapped ? ' swapped' : ' not swapped';
        if (r.output !== undefined && !r.output.swapped && 'actual' in r.output) {
          out += ` (saw ${fmt(normalizeValue(r.output.actual))})`;
        }
      }
      break;
    case 'delete':
      call = `delete(${quote(r.key)})`;
      if (r.outcome === 'ok' && r.output?.existed !== undefined) {
        out = r.output.existed ? ' existed' : ' absent';
      }
      break;
  }
  const interval =
    r.outcome === 'ok'
      ? `[${r.invokedAt}, ${r.completedAt}]`
      : r.outcome === 'timeout'
        ? `[${r.invokedAt}, ∞) timed out`
        : `[${r.invokedAt}, ${r.completedAt ?? '?'}] failed`;
  return `#${r.id} ${r.client} ${call}${out} ${interval}`;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function fmt(v: string | undefined): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

function listOf(items: string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
