import { describe, expect, it } from 'vitest';
import {
  type CheckResult,
  checkLinearizable,
  describeOperation,
  type GetRecord,
  HistoryRecorder,
  type KvOperation,
  type KvOutput,
  type OpRecord,
  type ViolationResult,
} from './linearizability.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

const get = (key = 'x'): KvOperation => ({ kind: 'get', key });
const put = (value: string, key = 'x'): KvOperation => ({ kind: 'put', key, value });
const cas = (expected: string | null | undefined, value: string, key = 'x'): KvOperation => ({
  kind: 'cas',
  key,
  expected,
  value,
});
const del = (key = 'x'): KvOperation => ({ kind: 'delete', key });
const read = (value: string | null | undefined): KvOutput => ({ value });
const swapped = (s: boolean): KvOutput => ({ swapped: s });
const notSwapped = (actual: string | null | undefined): KvOutput => ({ swapped: false, actual });

type Resolution = KvOutput | undefined | 'fail' | 'timeout';
/** [client, operation, invokedAt, completedAt, output or 'fail' / 'timeout']; ids are 1, 2, ... */
type Spec = [string, KvOperation, number, number, Resolution];

function hist(...specs: Spec[]): OpRecord[] {
  const rec = new HistoryRecorder();
  for (const [client, op, invokedAt, completedAt, res] of specs) {
    const id = rec.invoke(client, op, invokedAt);
    if (res === 'fail') rec.fail(id, completedAt);
    else if (res === 'timeout') rec.timeout(id, completedAt);
    else rec.ok(id, res, completedAt);
  }
  return rec.history();
}

function expectViolation(result: CheckResult): ViolationResult {
  if (result.ok !== false) throw new Error(`expected a violation, got ${JSON.stringify(result)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Random histories

interface Plan {
  client: string;
  op: KvOperation;
  invokedAt: number;
  completedAt: number;
  outcome: 'ok' | 'fail' | 'timeout';
  /** Linearization point, when the operation takes effect. */
  at?: number;
  output?: KvOutput;
}

interface GenOptions {
  keys: string[];
  clients: number;
  opsPerClient: number;
  /** 'unique': every put writes a fresh value; 'small': values from a 3-value domain. */
  values: 'unique' | 'small';
  timeoutRate: number;
  failRate: number;
}

/**
 * A linearizable history by construction: each client runs its operations one after another
 * with random durations and gaps; every operation that takes effect does so at a random point
 * inside its interval (a timed-out one possibly long after its client gave up), and outputs
 * come from applying the operations to a register per key in the order of those points.
 */
function generate(rng: () => number, o: GenOptions): OpRecord[] {
  const plans: Plan[] = [];
  const written: string[] = [];
  const domain = ['a', 'b', 'c'];
  for (let c = 0; c < o.clients; c++) {
    const client = `c${c}`;
    let t = rng() * 5;
    for (let i = 0; i < o.opsPerClient; i++) {
      const key = pick(rng, o.keys);
      const fresh = (): string => {
        const v = o.values === 'unique' ? `${client}.${i}` : pick(rng, domain);
        written.push(v);
        return v;
      };
      const r = rng();
      let op: KvOperation;
      if (r < 0.4) op = get(key);
      else if (r < 0.7) op = put(fresh(), key);
      else if (r < 0.9) {
        const recent = written.slice(-6);
        const expected = rng() < 0.2 || recent.length === 0 ? undefined : pick(rng, recent);
        op = cas(expected, fresh(), key);
      } else op = del(key);
      const invokedAt = t + rng() * 2;
      const completedAt = invokedAt + 0.5 + rng() * 8;
      const plan: Plan = { client, op, invokedAt, completedAt, outcome: 'ok' };
      const u = rng();
      if (u < o.failRate) plan.outcome = 'fail';
      else if (u < o.failRate + o.timeoutRate) {
        plan.outcome = 'timeout';
        if (rng() < 0.5) plan.at = invokedAt + rng() * (completedAt - invokedAt) * 3;
      } else plan.at = invokedAt + rng() * (completedAt - invokedAt);
      plans.push(plan);
      t = completedAt + rng() * 2;
    }
  }
  const registers = new Map<string, string>();
  const applied = plans.filter((p) => p.at !== undefined).sort((a, b) => a.at! - b.at!);
  for (const p of applied) {
    const current = registers.get(p.op.key);
    switch (p.op.kind) {
      case 'get':
        p.output = { value: current };
        break;
      case 'put':
        registers.set(p.op.key, p.op.value);
        break;
      case 'cas':
        p.output =
          current === p.op.expected
            ? { swapped: true }
            : rng() < 0.5
              ? { swapped: false, actual: current }
              : { swapped: false };
        if (current === p.op.expected) registers.set(p.op.key, p.op.value);
        break;
      case 'delete':
        p.output = rng() < 0.5 ? { existed: current !== undefined } : {};
        registers.delete(p.op.key);
        break;
    }
  }
  // Feed the recorder in time order, as a simulation would.
  const events: { time: number; invoke: boolean; plan: Plan }[] = [];
  for (const p of plans) {
    events.push({ time: p.invokedAt, invoke: true, plan: p });
    events.push({ time: p.completedAt, invoke: false, plan: p });
  }
  events.sort((a, b) => a.time - b.time);
  const rec = new HistoryRecorder();
  const ids = new Map<Plan, number>();
  for (const e of events) {
    const p = e.plan;
    if (e.invoke) ids.set(p, rec.invoke(p.client, p.op, p.invokedAt));
    else if (p.outcome === 'fail') rec.fail(ids.get(p)!, p.completedAt);
    else if (p.outcome === 'timeout') rec.timeout(ids.get(p)!, p.completedAt);
    else rec.ok(ids.get(p)!, p.output, p.completedAt);
  }
  return rec.history();
}

/** A value put on g's key only by operations invoked after g completed, if there is one. */
function futureValue(h: readonly OpRecord[], g: GetRecord): string | undefined {
  const writtenBy = (o: OpRecord): string | undefined =>
    o.kind === 'put' || o.kind === 'cas' ? o.value : undefined;
  const early = new Set(
    h.filter((o) => o.key === g.key && o.invokedAt <= g.completedAt!).map(writtenBy),
  );
  for (const w of h) {
    const v = writtenBy(w);
    if (w.key === g.key && v !== undefined && !early.has(v)) return v;
  }
  return undefined;
}

/**
 * Brute-force reference: tries every order of the operations that respects real time, with
 * every subset of the timed-out ones, for tiny single-key histories.
 */
function bruteForce(history: readonly OpRecord[]): boolean {
  const ops = history.filter((r) => r.outcome !== 'fail');
  const used = new Array<boolean>(ops.length).fill(false);
  const end = (r: OpRecord): number =>
    r.outcome === 'ok' ? r.completedAt! : Number.POSITIVE_INFINITY;
  const apply = (r: OpRecord, s: string | undefined): { ok: boolean; next: string | undefined } => {
    const known = r.outcome === 'ok';
    switch (r.kind) {
      case 'get':
        return { ok: !known || (r.output!.value ?? undefined) === s, next: s };
      case 'put':
        return { ok: true, next: r.value };
      case 'cas': {
        const match = s === (r.expected ?? undefined);
        if (known && r.output!.swapped !== match) return { ok: false, next: s };
        if (known && 'actual' in r.output! && (r.output.actual ?? undefined) !== s) {
          return { ok: false, next: s };
        }
        return { ok: true, next: match ? r.value : s };
      }
      case 'delete': {
        const existed = known ? r.output?.existed : undefined;
        return { ok: existed === undefined || existed === (s !== undefined), next: undefined };
      }
    }
  };
  const dfs = (s: string | undefined): boolean => {
    if (ops.every((r, i) => used[i] || r.outcome !== 'ok')) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const r = ops[i]!;
      const blocked = ops.some((p, j) => !used[j] && p.outcome === 'ok' && end(p) < r.invokedAt);
      if (blocked) continue;
      const step = apply(r, s);
      if (!step.ok) continue;
      used[i] = true;
      const found = dfs(step.next);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return dfs(undefined);
}

/** Tiny random single-key histories with random (often impossible) outputs. */
function tinyRandomHistory(rng: () => number, domain: number): OpRecord[] {
  const rec = new HistoryRecorder();
  const values = ['a', 'b', 'c'].slice(0, domain);
  const value = (): string | undefined => pick(rng, [undefined, ...values]);
  type Pending = { id: number; op: KvOperation; end: number };
  const all: Pending[] = [];
  const clients = 2 + Math.floor(rng() * 3);
  for (let c = 0; c < clients; c++) {
    let t = Math.floor(rng() * 3);
    const count = 1 + Math.floor(rng() * 3);
    for (let i = 0; i < count; i++) {
      const k = rng();
      const op: KvOperation =
        k < 0.35
          ? get()
          : k < 0.65
            ? put(pick(rng, values))
            : k < 0.9
              ? cas(value(), pick(rng, values))
              : del();
      const start = t + Math.floor(rng() * 2);
      const end = start + Math.floor(rng() * 4);
      all.push({ id: rec.invoke(`c${c}`, op, start), op, end });
      t = end + Math.floor(rng() * 2);
    }
  }
  for (const p of all) {
    const u = rng();
    if (u < 0.1) rec.fail(p.id, p.end);
    else if (u < 0.3) rec.timeout(p.id, p.end);
    else if (p.op.kind === 'get') rec.ok(p.id, read(value()), p.end);
    else if (p.op.kind === 'cas') {
      const x = rng();
      rec.ok(p.id, x < 0.4 ? swapped(true) : x < 0.7 ? swapped(false) : notSwapped(value()), p.end);
    } else if (p.op.kind === 'delete') {
      const x = rng();
      rec.ok(p.id, x < 0.33 ? {} : { existed: x < 0.66 }, p.end);
    } else rec.ok(p.id, undefined, p.end);
  }
  return rec.history();
}

// ---------------------------------------------------------------------------------------------

describe('HistoryRecorder', () => {
  it('records invocations and outcomes with the given times', () => {
    const rec = new HistoryRecorder();
    const a = rec.invoke('c1', put('v'), 10);
    const b = rec.invoke('c2', get(), 11);
    const c = rec.invoke('c3', cas('v', 'w'), 12);
    const d = rec.invoke('c4', del(), 13);
    const e = rec.invoke('c5', put('lost'), 14);
    expect(new Set([a, b, c, d, e]).size).toBe(5);
    expect(rec.pending()).toEqual([a, b, c, d, e]);
    rec.ok(a, undefined, 20);
    rec.ok(b, read('v'), 21);
    rec.timeout(c, 22);
    rec.ok(d, { existed: true }, 23);
    rec.fail(e, 24);
    expect(rec.pending()).toEqual([]);
    const h = rec.history();
    expect(h.map((r) => [r.id, r.outcome, r.invokedAt, r.completedAt])).toEqual([
      [a, 'ok', 10, 20],
      [b, 'ok', 11, 21],
      [c, 'timeout', 12, 22],
      [d, 'ok', 13, 23],
      [e, 'fail', 14, 24],
    ]);
    expect(h[1]).toMatchObject({ kind: 'get', client: 'c2', key: 'x', output: { value: 'v' } });
    expect(h[2]).toMatchObject({ kind: 'cas', expected: 'v', value: 'w' });
    expect(h[3]).toMatchObject({ kind: 'delete', output: { existed: true } });
    // The history is a copy.
    (h[1] as GetRecord).output = { value: 'changed' };
    expect(rec.history()[1]).toMatchObject({ output: { value: 'v' } });
    expect(describeOperation(rec.history()[1]!)).toBe('#2 c2 get("x") -> "v" [11, 21]');
    expect(describeOperation(rec.history()[2]!)).toBe(
      '#3 c3 cas("x", "v" -> "w") [12, ∞) timed out',
    );
  });

  it('rejects misuse', () => {
    const rec = new HistoryRecorder();
    const a = rec.invoke('c1', get(), 5);
    expect(() => rec.ok(a, undefined, 6)).toThrow(/needs an output/);
    expect(() => rec.ok(a, read('v'), 4)).toThrow(/before its invocation/);
    expect(() => rec.invoke('c1', get(), Number.NaN)).toThrow(/finite/);
    rec.ok(a, read(undefined), 6);
    expect(() => rec.fail(a, 7)).toThrow(/already resolved/);
    expect(() => rec.timeout(999, 7)).toThrow(/unknown/);
  });

  it('refuses to hand out a history with unresolved operations unless told to time them out', () => {
    const rec = new HistoryRecorder();
    const a = rec.invoke('c1', put('v'), 1);
    expect(() => rec.history()).toThrow(/unresolved: 1/);
    const h = rec.history({ unresolved: 'timeout' });
    expect(h[0]).toMatchObject({ id: a, outcome: 'timeout' });
    expect(checkLinearizable(h)).toEqual({ ok: true });
  });
});

describe('checkLinearizable', () => {
  it('accepts an empty history', () => {
    expect(checkLinearizable([])).toEqual({ ok: true });
  });

  it('accepts a sequential history', () => {
    const h = hist(
      ['c1', get(), 0, 1, read(undefined)],
      ['c1', put('a'), 2, 3, undefined],
      ['c2', get(), 4, 5, read('a')],
      ['c1', cas('a', 'b'), 6, 7, swapped(true)],
      ['c2', cas('a', 'c'), 8, 9, swapped(false)],
      ['c2', get(), 10, 11, read('b')],
      ['c1', del(), 12, 13, { existed: true }],
      ['c1', get(), 14, 15, read(undefined)],
      ['c2', del(), 16, 17, { existed: false }],
      ['c2', cas(undefined, 'd'), 18, 19, swapped(true)],
      ['c1', get(), 20, 21, read('d')],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
  });

  it('rejects a first read that returns a value on an empty register', () => {
    const v = expectViolation(checkLinearizable(hist(['c1', get(), 0, 1, read('a')])));
    expect(v.key).toBe('x');
    expect(v.operation.id).toBe(1);
    expect(v.message).toContain('No operation ever wrote "a"');
  });

  it('accepts a read that sees either of two overlapping writes', () => {
    for (const seen of ['a', 'b']) {
      const h = hist(
        ['c1', put('a'), 0, 10, undefined],
        ['c2', put('b'), 2, 8, undefined],
        ['c3', get(), 11, 12, read(seen)],
        ['c3', get(), 13, 14, read(seen)],
      );
      expect(checkLinearizable(h)).toEqual({ ok: true });
    }
    // A read overlapping both writes may also see the initial absent value.
    const h = hist(
      ['c1', put('a'), 0, 10, undefined],
      ['c2', put('b'), 2, 8, undefined],
      ['c3', get(), 1, 9, read(undefined)],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
  });

  it('rejects two later reads that disagree about the order of two overlapping writes', () => {
    const h = hist(
      ['c1', put('a'), 0, 10, undefined],
      ['c2', put('b'), 2, 8, undefined],
      ['c3', get(), 11, 12, read('a')],
      ['c3', get(), 13, 14, read('b')],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(4);
    expect(v.message).toContain('could only have returned "a"');
  });

  it('rejects a stale read', () => {
    // put(a) completes, then put(b) runs and completes, then a get starts and returns a.
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, undefined],
      ['c3', get(), 4, 5, read('a')],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.key).toBe('x');
    expect(v.operation.id).toBe(3);
    expect(v.operations.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(v.message).toContain('could only have returned "b"');
    expect(v.message).toContain(
      '#1 c1 put("x", "a") [0, 1] was overwritten by #2 c2 put("x", "b") [2, 3]',
    );

    // The same read overlapping put(b) may still see a.
    const overlapping = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, undefined],
      ['c3', get(), 2.5, 5, read('a')],
    );
    expect(checkLinearizable(overlapping)).toEqual({ ok: true });
  });

  it('rejects a stale read of the initial value after a completed write', () => {
    const h = hist(['c1', put('a'), 0, 1, undefined], ['c2', get(), 2, 3, read(undefined)]);
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(2);
    expect(v.message).toContain('the initial (absent) value was overwritten by #1');
  });

  it('treats intervals that only touch as concurrent', () => {
    // put(b) is invoked at the instant put(a) completes, so b may take effect before a.
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 1, 2, undefined],
      ['c3', get(), 3, 4, read('a')],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
    const gap = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 1.5, 2, undefined],
      ['c3', get(), 3, 4, read('a')],
    );
    expect(checkLinearizable(gap).ok).toBe(false);
  });

  it('rejects a read of a value that was never written', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 0, 2, undefined],
      ['c3', get(), 0, 3, read('zzz')],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(3);
    expect(v.message).toContain('No operation ever wrote "zzz"');
  });

  it('rejects a read of a value written only after the read completed', () => {
    const h = hist(['c1', get(), 0, 1, read('a')], ['c2', put('a'), 2, 3, undefined]);
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(1);
    expect(v.operations.map((r) => r.id)).toEqual([1]);
    expect(v.message).toContain('invoked after #1 completed');
  });

  it('accepts a timed-out put whose value later becomes visible', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, 'timeout'],
      ['c3', get(), 4, 5, read('a')],
      ['c3', get(), 100, 101, read('b')],
      ['c3', get(), 102, 103, read('b')],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
  });

  it('accepts a timed-out put whose value never becomes visible', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, 'timeout'],
      ['c3', get(), 4, 5, read('a')],
      ['c3', get(), 100, 101, read('a')],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
  });

  it('rejects a timed-out put that takes effect twice or before it was invoked', () => {
    const flipFlop = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, 'timeout'],
      ['c3', get(), 4, 5, read('b')],
      ['c3', get(), 6, 7, read('a')],
      ['c3', get(), 8, 9, read('b')],
    );
    expect(expectViolation(checkLinearizable(flipFlop)).operation.id).toBe(4);
    const early = hist(['c1', get(), 0, 1, read('b')], ['c2', put('b'), 2, 3, 'timeout']);
    expect(expectViolation(checkLinearizable(early)).operation.id).toBe(1);
  });

  it('rejects reading the value of a failed put', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, 'fail'],
      ['c3', get(), 4, 5, read('b')],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(3);
    expect(v.message).toContain('"b" was only written by failed operations');
    // Failed operations are not part of the reported prefix.
    expect(v.operations.map((r) => r.id)).toEqual([1, 3]);
  });

  it('implements compare-and-set: it swaps exactly when the expected value matches', () => {
    const base: Spec[] = [['c1', put('a'), 0, 1, undefined]];
    const ok = (...more: Spec[]) => checkLinearizable(hist(...base, ...more)).ok;
    expect(ok(['c2', cas('a', 'b'), 2, 3, swapped(true)], ['c2', get(), 4, 5, read('b')])).toBe(
      true,
    );
    expect(ok(['c2', cas('z', 'b'), 2, 3, swapped(false)], ['c2', get(), 4, 5, read('a')])).toBe(
      true,
    );
    // Swapped although the value was not the expected one.
    expect(ok(['c2', cas('z', 'b'), 2, 3, swapped(true)])).toBe(false);
    // Did not swap although the value was the expected one.
    expect(ok(['c2', cas('a', 'b'), 2, 3, swapped(false)])).toBe(false);
    // A failed cas does not change the value.
    expect(ok(['c2', cas('z', 'b'), 2, 3, swapped(false)], ['c2', get(), 4, 5, read('b')])).toBe(
      false,
    );
    // Of two concurrent cas(a -> ...), at most one can succeed.
    expect(
      ok(['c2', cas('a', 'b'), 2, 5, swapped(true)], ['c3', cas('a', 'c'), 2, 5, swapped(true)]),
    ).toBe(false);
    expect(
      ok(['c2', cas('a', 'b'), 2, 5, swapped(true)], ['c3', cas('a', 'c'), 2, 5, swapped(false)]),
    ).toBe(true);
    // cas with an absent expected value only succeeds on an absent key.
    expect(checkLinearizable(hist(['c1', cas(undefined, 'a'), 0, 1, swapped(true)])).ok).toBe(true);
    expect(ok(['c2', cas(undefined, 'b'), 2, 3, swapped(true)])).toBe(false);
  });

  it('checks the actual value a cas reports when it does not swap', () => {
    const base: Spec[] = [['c1', put('a'), 0, 1, undefined]];
    const ok = (...more: Spec[]) => checkLinearizable(hist(...base, ...more)).ok;
    expect(ok(['c2', cas('z', 'b'), 2, 3, notSwapped('a')])).toBe(true);
    expect(ok(['c2', cas('z', 'b'), 2, 3, notSwapped(null)])).toBe(false);
    const v = expectViolation(
      checkLinearizable(hist(...base, ['c2', cas('z', 'b'), 2, 3, notSwapped('q')])),
    );
    expect(v.operation.id).toBe(2);
    expect(v.message).toContain('did not swap and saw "q"');
    expect(v.message).toContain('No operation ever wrote "q"');
    // Reporting the expected value as the actual one contradicts not swapping.
    expect(ok(['c2', cas('a', 'b'), 2, 3, notSwapped('a')])).toBe(false);
  });

  it('accepts null as well as undefined for absent values', () => {
    const h = hist(
      ['c1', get(), 0, 1, read(null)],
      ['c1', cas(null, 'a'), 2, 3, swapped(true)],
      ['c2', cas(null, 'b'), 4, 5, notSwapped('a')],
      ['c1', del(), 6, 7, {}],
      ['c2', get(), 8, 9, read(null)],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
    const raw: OpRecord[] = [
      {
        id: 1,
        client: 'c',
        key: 'x',
        kind: 'get',
        invokedAt: 0,
        completedAt: 1,
        outcome: 'ok',
        output: { value: null },
      },
      {
        id: 2,
        client: 'c',
        key: 'x',
        kind: 'cas',
        expected: null,
        value: 'a',
        invokedAt: 2,
        completedAt: 3,
        outcome: 'ok',
        output: { swapped: true },
      },
      {
        id: 3,
        client: 'c',
        key: 'x',
        kind: 'get',
        invokedAt: 4,
        completedAt: 5,
        outcome: 'ok',
        output: { value: null },
      },
    ];
    expect(expectViolation(checkLinearizable(raw)).operation.id).toBe(3);
  });

  it('explains an impossible cas', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, undefined],
      ['c3', cas('a', 'c'), 4, 5, swapped(true)],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(3);
    expect(v.message).toContain('it swapped, so the value was "a"');
    expect(v.message).toContain('the value could only have been "b"');
  });

  it('lets a timed-out cas take effect or not, but only when it could have matched', () => {
    const base: Spec[] = [
      ['c1', put('a'), 0, 1, undefined],
      ['c2', cas('a', 'b'), 2, 3, 'timeout'],
    ];
    const ok = (...more: Spec[]) => checkLinearizable(hist(...base, ...more)).ok;
    expect(ok(['c3', get(), 4, 5, read('b')])).toBe(true);
    expect(ok(['c3', get(), 4, 5, read('a')])).toBe(true);
    expect(ok(['c1', put('z'), 1.5, 1.7, undefined], ['c3', get(), 4, 5, read('b')])).toBe(false);
  });

  it('lets each of several identical timed-out writes take effect once, and no more', () => {
    const twice: Spec[] = [
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, 'timeout'],
      ['c3', put('b'), 2, 3, 'timeout'],
      ['c4', get(), 4, 5, read('b')],
      ['c1', put('a'), 6, 7, undefined],
      ['c4', get(), 8, 9, read('b')],
    ];
    expect(checkLinearizable(hist(...twice))).toEqual({ ok: true });
    const thrice: Spec[] = [
      ...twice,
      ['c1', put('a'), 10, 11, undefined],
      ['c4', get(), 12, 13, read('b')],
    ];
    expect(expectViolation(checkLinearizable(hist(...thrice))).operation.id).toBe(8);
  });

  it('does not confuse timed-out cas operations that expect different values', () => {
    // Only the second cas can apply; the first (invoked earlier) expects a value never held.
    const h = hist(
      ['c1', put('b'), 0, 1, undefined],
      ['c2', cas('a', 'c'), 2, 3, 'timeout'],
      ['c3', cas('b', 'c'), 3, 4, 'timeout'],
      ['c1', get(), 10, 11, read('c')],
    );
    expect(checkLinearizable(h)).toEqual({ ok: true });
  });

  it('implements delete', () => {
    const base: Spec[] = [
      ['c1', put('a'), 0, 1, undefined],
      ['c1', del(), 2, 3, {}],
    ];
    const ok = (...more: Spec[]) => checkLinearizable(hist(...base, ...more)).ok;
    expect(ok(['c2', get(), 4, 5, read(undefined)])).toBe(true);
    expect(ok(['c2', get(), 4, 5, read('a')])).toBe(false);
    expect(ok(['c2', del(), 4, 5, { existed: false }])).toBe(true);
    expect(ok(['c2', del(), 4, 5, { existed: true }])).toBe(false);
    expect(ok(['c2', cas(undefined, 'b'), 4, 5, swapped(true)])).toBe(true);
  });

  it('checks keys independently and reports the violated key', () => {
    // Linearizable per key, although a single register could not explain it.
    const independent = hist(
      ['c1', put('1', 'x'), 0, 1, undefined],
      ['c2', get('y'), 2, 3, read(undefined)],
      ['c2', put('2', 'y'), 4, 5, undefined],
      ['c1', get('x'), 6, 7, read('1')],
    );
    expect(checkLinearizable(independent)).toEqual({ ok: true });

    const h = hist(
      ['c1', put('1', 'x'), 0, 1, undefined],
      ['c2', put('a', 'y'), 0, 1, undefined],
      ['c1', put('2', 'x'), 2, 3, undefined],
      ['c2', put('b', 'y'), 2, 3, undefined],
      ['c1', get('x'), 4, 5, read('2')],
      ['c2', get('y'), 4, 5, read('a')],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.key).toBe('y');
    expect(v.operation.id).toBe(6);
    expect(v.operations.every((r) => r.key === 'y')).toBe(true);
    expect(v.message).toContain('key "y"');
  });

  it('reports the first violated key in order of appearance', () => {
    const h = hist(['c1', get('p'), 0, 1, read('nope')], ['c2', get('q'), 0, 1, read('nope')]);
    expect(expectViolation(checkLinearizable(h)).key).toBe('p');
  });

  it('reports the earliest point of violation, not a later consequence', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, undefined],
      ['c3', get(), 4, 5, read('a')], // stale
      ['c1', put('c'), 6, 7, undefined],
      ['c3', get(), 8, 9, read('c')],
      ['c2', get(), 10, 11, read('zzz')],
    );
    const v = expectViolation(checkLinearizable(h));
    expect(v.operation.id).toBe(3);
    expect(v.operations.map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it('gives up with unknown when the search exceeds maxStates', () => {
    const h = hist(
      ['c1', put('a'), 0, 1, undefined],
      ['c2', put('b'), 2, 3, undefined],
      ['c3', get(), 4, 5, read('a')],
    );
    const r = checkLinearizable(h, { maxStates: 1 });
    expect(r.ok).toBe('unknown');
    if (r.ok !== 'unknown') return;
    expect(r.key).toBe('x');
    expect(r.statesExplored).toBeGreaterThan(1);
    expect(r.message).toContain('maxStates');
    // A violation on another key is still reported as definite.
    const both = [
      ...h,
      ...hist(['c9', get('other'), 0, 1, read('zzz')]).map((o) => ({ ...o, id: 99 })),
    ];
    expect(checkLinearizable(both, { maxStates: 1 }).ok).toBe(false);
  });

  it('rejects malformed records', () => {
    const okWithoutEnd: OpRecord = {
      id: 1,
      client: 'c1',
      key: 'x',
      kind: 'put',
      value: 'a',
      invokedAt: 0,
      outcome: 'ok',
    };
    expect(() => checkLinearizable([okWithoutEnd])).toThrow(/completedAt/);
    const getWithoutOutput: OpRecord = { ...okWithoutEnd, kind: 'get', completedAt: 1 };
    expect(() => checkLinearizable([getWithoutOutput])).toThrow(/output/);
    const dup = hist(['c1', put('a'), 0, 1, undefined]);
    expect(() => checkLinearizable([...dup, ...dup])).toThrow(/duplicate/);
  });

  it('agrees with a brute-force search on tiny random histories', () => {
    const rng = prng(7);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 600; i++) {
      const h = tinyRandomHistory(rng, 1 + (i % 3));
      if (h.filter((r) => r.outcome !== 'fail').length > 9) continue;
      const expected = bruteForce(h);
      const result = checkLinearizable(h);
      if (result.ok !== expected) {
        throw new Error(
          `history ${i}: checker says ${String(result.ok)}, brute force ${expected}:\n` +
            h.map(describeOperation).join('\n'),
        );
      }
      if (expected) accepted++;
      else rejected++;
    }
    // Both verdicts are well represented.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('accepts random linearizable histories and rejects them once a read is corrupted', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rng = prng(seed);
      const h = generate(rng, {
        keys: ['k1', 'k2', 'k3'],
        clients: 4,
        opsPerClient: 40,
        values: seed % 2 === 0 ? 'unique' : 'small',
        timeoutRate: 0.1,
        failRate: 0.05,
      });
      expect(checkLinearizable(h), `seed ${seed}`).toEqual({ ok: true });

      const reads = h
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => r.kind === 'get' && r.outcome === 'ok');
      const { r: target, i } = pick(rng, reads);
      const impossible = h.map((r) => ({ ...r })) as OpRecord[];
      impossible[i] = { ...(target as GetRecord), output: { value: 'never-written' } };
      const v = expectViolation(checkLinearizable(impossible));
      expect(v.key, `seed ${seed}`).toBe(target.key);
      expect(v.operation.id, `seed ${seed}`).toBe(target.id);
      expect(v.message).toContain('No operation ever wrote "never-written"');

      // A value from the future: written only by operations invoked after the read completed.
      const future = reads
        .map(({ r }) => ({ g: r as GetRecord, value: futureValue(h, r as GetRecord) }))
        .find((f) => f.value !== undefined);
      if (future === undefined) continue;
      const { g } = future;
      const fromFuture = h.map((r) => (r === g ? { ...g, output: { value: future.value } } : r));
      const fv = expectViolation(checkLinearizable(fromFuture));
      expect(fv.operation.id, `seed ${seed}`).toBe(g.id);
    }
  });

  it('rejects a stale read injected into a random history with timeouts and failed cas', () => {
    for (let seed = 100; seed < 110; seed++) {
      const rng = prng(seed);
      const h = generate(rng, {
        keys: ['k'],
        clients: 4,
        opsPerClient: 60,
        values: 'unique',
        timeoutRate: 0.15,
        failRate: 0.05,
      });
      expect(checkLinearizable(h), `seed ${seed}`).toEqual({ ok: true });
      // Values are unique, so a value whose only (definite) write was followed by another
      // definite write, completed before the read began, cannot be read any more.
      const definiteWrite = (r: OpRecord): string | undefined =>
        r.outcome === 'ok' && (r.kind === 'put' || (r.kind === 'cas' && r.output?.swapped))
          ? r.value
          : undefined;
      const gets = h
        .filter((r): r is GetRecord => r.kind === 'get' && r.outcome === 'ok')
        .sort((a, b) => a.invokedAt - b.invokedAt);
      const g = gets[Math.floor(gets.length * 0.8)]!;
      const writes = h.filter((r) => definiteWrite(r) !== undefined);
      const stale = writes
        .filter((w) =>
          writes.some((z) => z.invokedAt > w.completedAt! && z.completedAt! < g.invokedAt),
        )
        .sort((a, b) => b.completedAt! - a.completedAt!)[0];
      expect(stale, `seed ${seed}`).toBeDefined();
      const value = definiteWrite(stale!)!;
      const corrupted = h.map((r) => (r === g ? { ...g, output: { value } } : r));
      const v = expectViolation(checkLinearizable(corrupted));
      expect(v.operation.id, `seed ${seed}`).toBe(g.id);
      expect(v.message).toContain(`${describeOperation(stale!)} was overwritten by`);
    }
  });

  it('handles ~500 operations on one key from 5 concurrent clients', () => {
    for (const values of ['unique', 'small'] as const) {
      const h = generate(prng(values === 'unique' ? 500 : 501), {
        keys: ['hot'],
        clients: 5,
        opsPerClient: 100,
        values,
        timeoutRate: 0.05,
        failRate: 0.02,
      });
      expect(h.length).toBe(500);
      expect(checkLinearizable(h)).toEqual({ ok: true });
    }
  });
});
