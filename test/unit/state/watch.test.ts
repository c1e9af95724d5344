import { describe, expect, it } from 'vitest';
import type { Node, StoreEvent } from '../../../src/state/index.js';
import { WatcherOverflowError } from '../../../src/state/index.js';
import { EventQueue } from '../../../src/state/watch.js';
import { newCluster, newNode, ok, setup, T1 } from './fixtures.js';

/** Takes `count` events from an iterator (each must already be queued or come soon). */
async function take(iterator: AsyncIterator<StoreEvent>, count: number): Promise<StoreEvent[]> {
  const events: StoreEvent[] = [];
  for (let i = 0; i < count; i++) {
    const next = await iterator.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

describe('watch', () => {
  it('tells listeners of each change after it is applied, with the previous object', () => {
    const { store, apply } = setup();
    const seen: Array<[StoreEvent, Node | undefined]> = [];
    store.watch((event) => seen.push([event, store.getNode('n1')]));
    ok(apply({ type: 'cluster.create', cluster: newCluster() }));
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    ok(apply({ type: 'node.setRole', id: 'n1', role: 'manager', at: T1 }));
    ok(apply({ type: 'node.remove', id: 'n1' }));
    const events = seen.map(([event]) => event);
    expect(events.map((e) => [e.kind, 'action' in e && e.action, 'index' in e && e.index])).toEqual(
      [
        ['cluster', 'create', 1],
        ['node', 'create', 2],
        ['node', 'update', 3],
        ['node', 'remove', 4],
      ],
    );
    const update = events[2];
    expect(update?.kind === 'node' && update.action === 'update' && update.previous.Role).toBe(
      'worker',
    );
    // The store already holds the change when the listener runs.
    expect(seen[2]?.[1]?.Role).toBe('manager');
    expect(events[3]).toMatchObject({ object: { ID: 'n1', Role: 'manager' } });
  });

  it('emits nothing for a refusal', () => {
    const { store, apply } = setup();
    const events: StoreEvent[] = [];
    store.watch((event) => events.push(event));
    apply({ type: 'node.remove', id: 'nx' });
    expect(events).toEqual([]);
  });

  it('stops after unsubscribe', () => {
    const { store, apply } = setup();
    const events: StoreEvent[] = [];
    const unsubscribe = store.watch((event) => events.push(event));
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    unsubscribe();
    ok(apply({ type: 'node.create', node: newNode('n2') }));
    expect(events).toHaveLength(1);
  });

  it('survives a listener that throws: apply and the other listeners go on', () => {
    const errors: unknown[] = [];
    const { store, apply } = setup({ onListenerError: (error) => errors.push(error) });
    const before: StoreEvent[] = [];
    const after: StoreEvent[] = [];
    store.watch((event) => before.push(event));
    store.watch(() => {
      throw new Error('listener bug');
    });
    store.watch((event) => after.push(event));
    const result = apply({ type: 'node.create', node: newNode('n1') });
    expect(result).toMatchObject({ ok: true, index: 1 });
    expect(store.getNode('n1')).toBeDefined();
    expect(before).toHaveLength(1);
    expect(after).toHaveLength(1);
    expect(errors).toEqual([new Error('listener bug')]);
  });

  it('survives a throwing error handler too', () => {
    const { store, apply } = setup({
      onListenerError: () => {
        throw new Error('handler bug');
      },
    });
    store.watch(() => {
      throw new Error('listener bug');
    });
    expect(apply({ type: 'node.create', node: newNode('n1') })).toMatchObject({ ok: true });
  });
});

describe('viewAndWatch', () => {
  it('gives a view and then exactly the later changes', async () => {
    const { store, apply } = setup();
    ok(apply({ type: 'cluster.create', cluster: newCluster() }));
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    const view = store.viewAndWatch();
    ok(apply({ type: 'node.create', node: newNode('n2') }));
    ok(apply({ type: 'node.setStatus', updates: [{ id: 'n1', state: 'ready' }], at: T1 }));
    expect(view.cluster).toBe(store.getCluster());
    expect(view.nodes.map((n) => n.ID)).toEqual(['n1']);
    const iterator = view.events[Symbol.asyncIterator]();
    const events = await take(iterator, 2);
    expect(events).toMatchObject([
      { kind: 'node', action: 'create', index: 3, object: { ID: 'n2' } },
      { kind: 'node', action: 'update', index: 4, previous: view.nodes[0] },
    ]);
    view.close();
    ok(apply({ type: 'node.remove', id: 'n2' }));
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('replays into the same state the store holds (no gap, no duplicate)', async () => {
    const { store, apply } = setup();
    for (const id of ['a', 'b', 'c']) ok(apply({ type: 'node.create', node: newNode(id) }));
    const view = store.viewAndWatch();
    const mirror = new Map(view.nodes.map((n) => [n.ID, n]));
    ok(apply({ type: 'node.create', node: newNode('d') }));
    ok(apply({ type: 'node.remove', id: 'a' }));
    ok(apply({ type: 'node.setRole', id: 'b', role: 'manager', at: T1 }));
    ok(apply({ type: 'node.setStatus', updates: [{ id: 'c', state: 'down' }], at: T1 }));
    const iterator = view.events[Symbol.asyncIterator]();
    for (const event of await take(iterator, 4)) {
      if (event.kind !== 'node') throw new Error(`unexpected ${event.kind} event`);
      if (event.action === 'update') expect(mirror.get(event.object.ID)).toBe(event.previous);
      if (event.action === 'create') expect(mirror.has(event.object.ID)).toBe(false);
      if (event.action === 'remove') mirror.delete(event.object.ID);
      else mirror.set(event.object.ID, event.object);
    }
    expect([...mirror.values()].sort((x, y) => (x.ID < y.ID ? -1 : 1))).toEqual(store.listNodes());
    view.close();
  });

  it('delivers events to a consumer already waiting', async () => {
    const { store, apply } = setup();
    const view = store.viewAndWatch();
    const iterator = view.events[Symbol.asyncIterator]();
    const pending = iterator.next();
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    expect(await pending).toMatchObject({ done: false, value: { kind: 'node', action: 'create' } });
    view.close();
  });

  it('passes a restore on as one event carrying the new view', async () => {
    const source = setup();
    ok(source.apply({ type: 'node.create', node: newNode('n7') }));
    const { store, apply } = setup();
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    const view = store.viewAndWatch();
    store.restore(source.store.snapshot());
    const [event] = await take(view.events[Symbol.asyncIterator](), 1);
    expect(event).toEqual({
      kind: 'restore',
      cluster: undefined,
      nodes: source.store.listNodes(),
      services: [],
      tasks: [],
    });
    view.close();
  });

  it('closes a watcher that falls too far behind, and forgets it', async () => {
    const { store, apply } = setup({ maxQueuedEvents: 3 });
    const slow = store.viewAndWatch();
    const fast: StoreEvent[] = [];
    store.watch((event) => fast.push(event));
    for (let i = 0; i < 5; i++) ok(apply({ type: 'node.create', node: newNode(`n${i}`) }));
    expect(fast).toHaveLength(5);
    const iterator = slow.events[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(WatcherOverflowError);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    // The store no longer feeds it.
    ok(apply({ type: 'node.create', node: newNode('late') }));
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('ends a for-await loop with the overflow error', async () => {
    const { store, apply } = setup({ maxQueuedEvents: 2 });
    const view = store.viewAndWatch();
    for (let i = 0; i < 3; i++) ok(apply({ type: 'node.create', node: newNode(`n${i}`) }));
    const consume = async () => {
      for await (const _event of view.events) {
        // Never reached: the backlog is dropped on overflow.
      }
    };
    await expect(consume()).rejects.toThrow(/fell more than 2 events behind/);
  });

  it('is closed by breaking out of the loop, and by an abort signal', async () => {
    const { store, apply } = setup();
    const view = store.viewAndWatch();
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    ok(apply({ type: 'node.create', node: newNode('n2') }));
    for await (const _event of view.events) break;
    expect(await view.events[Symbol.asyncIterator]().next()).toMatchObject({ done: true });

    const controller = new AbortController();
    const aborted = store.viewAndWatch({ signal: controller.signal });
    const pending = aborted.events[Symbol.asyncIterator]().next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });

    const already = store.viewAndWatch({ signal: AbortSignal.abort() });
    expect(await already.events[Symbol.asyncIterator]().next()).toMatchObject({ done: true });
  });
});

describe('EventQueue', () => {
  it('keeps order across a long backlog', async () => {
    const queue = new EventQueue<number>(5000);
    for (let i = 0; i < 5000; i++) expect(queue.push(i)).toBe(true);
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const next = await queue.next();
      if (!next.done) out.push(next.value);
      if (i === 2500) queue.push(5000);
    }
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(await queue.next()).toEqual({ done: false, value: 5000 });
  });

  it('runs onEnd once and refuses pushes once closed', () => {
    let ends = 0;
    const queue = new EventQueue<number>(1, () => ends++);
    expect(queue.push(1)).toBe(true);
    expect(queue.push(2)).toBe(false); // overflow
    expect(queue.closed).toBe(true);
    queue.close();
    expect(queue.push(3)).toBe(false);
    expect(ends).toBe(1);
  });

  it('rejects a waiting consumer when it fails', async () => {
    const queue = new EventQueue<number>(1);
    const pending = queue.next();
    queue.fail(new WatcherOverflowError(1));
    await expect(pending).rejects.toBeInstanceOf(WatcherOverflowError);
    expect(() => new EventQueue<number>(0)).toThrow(RangeError);
  });
});
