/**
 * The order of a member's work in a round (driver.ts, round), which decides how soon a
 * proposer hears back: new entries go to the followers before the leader's own write is done,
 * and a round that only commits applies (answering the proposer) before it writes the commit
 * broadcast to the followers' sockets, which may wait for the end of the event loop's turn; a
 * member applies what is committed while its own write of new entries is under way, and a
 * follower acknowledges those once written. Drivers on real LevelDB files, messages passed in
 * memory, ticks driven by the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { type MessageSender, RaftDriver, type Ticker } from '../../../src/raft/driver.js';
import { encodeKvCommand, type KvResult, KvStateMachine } from '../../../src/raft/kv.js';
import { LevelStorage } from '../../../src/raft/level-storage.js';
import type { Entry, Message } from '../../../src/raft/types.js';
import { encode } from '../../../src/wire/codec.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Member {
  driver: RaftDriver;
  tick: () => void;
}

/** What a member did, in order: sends of entries and commits, acknowledgements, writes, applies. */
type Event = string;

/** `sender` replaces the in-memory network to the other members. */
async function member(
  id: string,
  voters: string[],
  peers: Map<string, Member>,
  events: Event[] | undefined,
  sender?: MessageSender,
): Promise<Member> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmts-order-'));
  const storage = await LevelStorage.open(dir, { bootstrap: { voters } });
  if (events) {
    const persist = storage.persist.bind(storage);
    storage.persist = async (batch) => {
      await persist(batch);
      for (const entry of batch.entries) events.push(`written ${entry.index}`);
    };
  }
  const kv = new KvStateMachine();
  if (events) {
    const apply = kv.apply.bind(kv);
    kv.apply = (command, entry) => {
      events.push(`applied ${entry.index}`);
      return apply(command, entry);
    };
  }
  let tick = () => {};
  const ticker: Ticker = {
    every: (_ms, fn) => {
      tick = fn;
      return () => {};
    },
  };
  const driver = new RaftDriver({
    id,
    storage,
    stateMachine: kv,
    sender: sender ?? {
      send: (messages: readonly Message[], when = 'now') => {
        for (const m of messages) {
          if (events && m.type === 'append') {
            const last = m.entries.at(-1);
            events.push(last ? `sent entries to ${last.index}` : `sent commit ${m.commit}`);
            if (!last) events.push(`commit ${m.commit} sent ${when}`);
          }
          // Delivered later, as a network would.
          setImmediate(() => peers.get(m.to)?.driver.step(m));
        }
      },
    },
    logger: silentLogger,
    random: () => 0.5,
    ticker,
  });
  driver.start();
  cleanups.push(async () => {
    await driver.stop();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  const self = { driver, tick: () => tick() };
  peers.set(id, self);
  return self;
}

/**
 * Waits for `done` without ticking: only the drivers' own work can get there. (A deadline,
 * so that a wakeup the driver loses shows as a failure, not as a hung test.)
 */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within 5 s without ticks`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Two members; `a` is made to campaign by ticks given right after start, then never again. */
async function electedPair() {
  const peers = new Map<string, Member>();
  const events: Event[] = [];
  const a = await member('a', ['a', 'b'], peers, events);
  await member('b', ['a', 'b'], peers, undefined);
  for (let i = 0; i < 40 && a.driver.status().role === 'follower'; i++) a.tick();
  await until(() => a.driver.status().role === 'leader', 'a leads');
  return { a, events };
}

describe('the driver loop', () => {
  it('loses no kick that comes while its loop is finishing', async () => {
    // The ticks above come right after start(), while the driver's first (empty) loop is
    // finishing. The election then needs no further tick: a kick lost there would leave the
    // votes unsent until a next tick, and there is none.
    const { a } = await electedPair();
    expect(a.driver.status().role).toBe('leader');
  });
});

describe('a leader round', () => {
  it('sends new entries before its own write, and answers before the commit broadcast', async () => {
    const { a, events } = await electedPair();
    const put = async (key: string) => {
      const result = (await a.driver.propose(
        encodeKvCommand({ op: 'put', key, value: 'v' }),
      )) as KvResult;
      // The commit broadcast follows the answer; wait until it has been sent.
      await until(() => events.includes(`sent commit ${result.index}`), 'commit broadcast');
      return result.index;
    };
    // The first write after the election finds the follower being probed (one append in
    // flight, sent when the follower answers); from then on it is replicated to at once.
    await put('first');
    events.length = 0;
    const index = await put('second');

    const at = (event: string) => {
      const i = events.indexOf(event);
      expect(i, `${event} in ${events.join(', ')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(at(`sent entries to ${index}`)).toBeLessThan(at(`written ${index}`));
    expect(at(`applied ${index}`)).toBeLessThan(at(`sent commit ${index}`));
    // ...and lets it wait for the next append (the proposer's next write) to leave together.
    expect(events).toContain(`commit ${index} sent end-of-turn`);
  });
});

describe('a follower round', () => {
  it('applies what is committed while it writes the new entries, then acknowledges them', async () => {
    const events: Event[] = [];
    const { driver } = await member('b', ['a', 'b'], new Map(), events, {
      // As the transport does: a 'now' send is written once the current microtasks have run.
      send: (messages) =>
        queueMicrotask(() => {
          for (const m of messages) {
            if (m.type === 'appendResponse') events.push(`acknowledged ${m.index}`);
          }
        }),
    });
    // The test is the leader, a, in term 2. The bootstrap log ends at index 1, term 1.
    const entry = (index: number): Entry => ({
      term: 2,
      index,
      type: 'normal',
      data: encode([
        `request-${index}`,
        encodeKvCommand({ op: 'put', key: `k${index}`, value: 'v' }),
      ]),
    });
    const append = (prevIndex: number, prevTerm: number, commit: number): Message => ({
      type: 'append',
      from: 'a',
      to: 'b',
      term: 2,
      prevIndex,
      prevTerm,
      commit,
      entries: [entry(prevIndex + 1)],
    });
    driver.step(append(1, 1, 1));
    await until(() => events.includes('acknowledged 2'), 'entry 2 acknowledged');
    // Entry 3 comes with the news that entry 2 is committed, as a busy leader sends it.
    driver.step(append(2, 2, 2));
    await until(() => events.includes('acknowledged 3'), 'entry 3 acknowledged');
    // Entry 2 is on the leader's disk and ours: applying it need not wait for entry 3's write,
    // and the acknowledgement of entry 3 must.
    expect(events.indexOf('applied 2')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('applied 2')).toBeLessThan(events.indexOf('written 3'));
    expect(events.indexOf('written 3')).toBeLessThan(events.indexOf('acknowledged 3'));
  });
});
