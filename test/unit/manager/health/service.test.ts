/**
 * The health service over a real store, a fake clock and a stand-in for Raft that applies
 * proposals at once (named so: it only orders commands).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import type { Consensus } from '../../../../src/manager/consensus.js';
import { HealthService } from '../../../../src/manager/health/service.js';
import { type Command, encodeCommand } from '../../../../src/state/index.js';
import { newNode, setup } from '../../state/fixtures.js';

function world(options: { leader: boolean }) {
  const { store } = setup();
  let index = 0;
  let now = 0;
  const proposals: Command[] = [];
  const consensus = {
    id: 'm1',
    isLeader: () => options.leader,
    async propose<T>(command: Command): Promise<T> {
      proposals.push(command);
      const result = store.apply(encodeCommand(command), { index: ++index, term: 1 });
      if (!result.ok) throw new Error(result.message);
      return result.object as T;
    },
  } as unknown as Consensus;
  for (const id of ['m1', 'w1']) {
    store.apply(encodeCommand({ type: 'node.create', node: newNode(id, id) }), {
      index: ++index,
      term: 1,
    });
  }
  const service = new HealthService({
    store,
    consensus,
    nowMs: () => now,
    now: () => new Date(0),
    logger: silentLogger,
    evaluateEveryMs: 0,
  });
  service.start();
  let seq = 0;
  /** Runs the clock forward in 100 ms ticks; `beats` says who sends a heartbeat when. */
  const run = async (ms: number, beats: (t: number) => string[]) => {
    for (let t = 0; t < ms; t += 100) {
      now += 100;
      for (const id of beats(now)) service.heartbeat(id, ++seq);
      service.tick();
      await Promise.resolve();
    }
  };
  const state = (id: string) => store.getNode(id)?.Status.State;
  return { service, run, state, proposals, setNow: (t: number) => (now = t), now: () => now };
}

const everyHalfSecond = (ids: string[]) => (t: number) => (t % 500 === 0 ? ids : []);

describe('the health service', () => {
  it('marks a silent node down and a returning one ready, on the leader', async () => {
    const w = world({ leader: true });
    await w.run(5000, everyHalfSecond(['m1', 'w1']));
    expect(w.state('w1')).toBe('ready');
    await w.run(2500, everyHalfSecond(['m1']));
    expect(w.state('w1')).toBe('down');
    await w.run(1500, everyHalfSecond(['m1', 'w1']));
    expect(w.state('w1')).toBe('ready');
  });

  it('judges nobody in the first seconds after it starts', async () => {
    const w = world({ leader: true });
    await w.run(2500, () => []);
    expect(w.proposals).toEqual([]);
  });

  it('proposes nothing on a follower, though it evaluates', async () => {
    const w = world({ leader: false });
    await w.run(5000, everyHalfSecond(['m1', 'w1']));
    await w.run(3000, everyHalfSecond(['m1']));
    expect(w.proposals).toEqual([]);
  });

  it('does not blame the nodes for a stall of its own process', async () => {
    const w = world({ leader: true });
    await w.run(5000, everyHalfSecond(['m1', 'w1']));
    // The process sleeps 2 s: no tick, no heartbeat read. Then the queued heartbeats arrive.
    w.setNow(w.now() + 2000);
    await w.run(1500, everyHalfSecond(['m1', 'w1']));
    expect(
      w.proposals.filter((p) => p.type === 'node.setStatus' && JSON.stringify(p).includes('down')),
    ).toEqual([]);
    expect(w.state('w1')).toBe('ready');
  });
});
