import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { ClusterStore, type StoreEvent } from '../../../src/state/index.js';
import { encode } from '../../../src/wire/codec.js';
import { newCluster, newNode, ok, setup, T1 } from './fixtures.js';

function populated() {
  const s = setup();
  ok(s.apply({ type: 'cluster.create', cluster: newCluster() }));
  for (const id of ['n3', 'n1', 'n2']) ok(s.apply({ type: 'node.create', node: newNode(id) }));
  ok(s.apply({ type: 'node.setStatus', updates: [{ id: 'n1', state: 'ready' }], at: T1 }));
  ok(
    s.apply({
      type: 'node.setStatus',
      updates: [{ id: 'n2', state: 'down', message: 'x' }],
      at: T1,
    }),
  );
  ok(s.apply({ type: 'node.remove', id: 'n3' }));
  ok(
    s.apply({
      type: 'cluster.update',
      version: 1,
      joinTokens: { Worker: 'w', Manager: 'm' },
      at: T1,
    }),
  );
  const spec = {
    Name: 'edge',
    Labels: { a: 'b' },
    Role: 'manager',
    Availability: 'pause',
  } as const;
  ok(s.apply({ type: 'node.updateSpec', id: 'n1', version: 5, spec, at: T1 }));
  ok(s.apply({ type: 'node.setRole', id: 'n1', role: 'manager', at: T1 }));
  const description = { ...newNode('n2').Description, Engine: { EngineVersion: '27', Labels: {} } };
  ok(
    s.apply({
      type: 'node.describe',
      id: 'n2',
      description,
      addr: '10.1.1.1',
      p2pAddrs: [],
      at: T1,
    }),
  );
  return s;
}

function contents(store: ClusterStore) {
  return {
    cluster: store.getCluster(),
    nodes: store.listNodes(),
    removed: ['n1', 'n2', 'n3'].filter((id) => store.isRemoved(id)),
  };
}

describe('snapshot and restore', () => {
  it('round-trips the whole store, tombstones included', () => {
    const { store } = populated();
    const copy = new ClusterStore();
    copy.restore(store.snapshot());
    expect(contents(copy)).toEqual(contents(store));
    expect(contents(copy).removed).toEqual(['n3']);
    // Same bytes too: a restored manager and one that applied the log agree exactly.
    expect(copy.snapshot()).toEqual(store.snapshot());
    expect(Object.isFrozen(copy.getNode('n2')?.Status)).toBe(true);
  });

  it('keeps refusing a removed id after a restore', () => {
    const { store } = populated();
    const copy = setup();
    copy.store.restore(store.snapshot());
    expect(copy.apply({ type: 'node.create', node: newNode('n3') })).toMatchObject({
      ok: false,
      code: 'invalid_argument',
    });
  });

  it('restores an empty store', () => {
    const { store } = populated();
    store.restore(new ClusterStore().snapshot());
    expect(contents(store)).toEqual({ cluster: undefined, nodes: [], removed: [] });
  });

  it('orders nodes by ID whatever order they joined in', () => {
    const a = setup();
    const b = setup();
    ok(a.apply({ type: 'node.create', node: newNode('n1') }));
    ok(a.apply({ type: 'node.create', node: newNode('n2') }));
    ok(b.apply({ type: 'node.create', node: newNode('n2') }));
    ok(b.apply({ type: 'node.create', node: newNode('n1') }));
    // Same objects except for the indexes that wrote them.
    const indexes = (s: ClusterStore) => s.listNodes().map((n) => n.Version.Index);
    expect(indexes(a.store)).toEqual([1, 2]);
    expect(indexes(b.store)).toEqual([2, 1]);
    expect(a.store.listNodes().map((n) => n.ID)).toEqual(b.store.listNodes().map((n) => n.ID));
  });

  it.each([
    ['not msgpack', new Uint8Array([0x81])],
    ['not an object', encode([1, 2, 3])],
    ['an unknown format', encode({ format: 99, cluster: null, nodes: [], removed: [] })],
    ['a broken node', encode({ format: 1, cluster: null, nodes: [{ ID: 'n1' }], removed: [] })],
    [
      'a node twice',
      encode({
        format: 1,
        cluster: null,
        nodes: [
          { ...newNode('n1'), Version: { Index: 1 } },
          { ...newNode('n1'), Version: { Index: 2 } },
        ],
        removed: [],
      }),
    ],
    [
      'a node both present and removed',
      encode({
        format: 1,
        cluster: null,
        nodes: [{ ...newNode('n1'), Version: { Index: 1 } }],
        removed: ['n1'],
      }),
    ],
  ])('refuses %s and keeps its contents', (_what, bytes) => {
    const { store } = populated();
    const before = contents(store);
    const events: StoreEvent[] = [];
    store.watch((event) => events.push(event));
    expect(() => store.restore(bytes)).toThrow(InvalidArgumentError);
    expect(contents(store)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('emits one restore event with the new view', () => {
    const { store } = populated();
    const target = setup();
    ok(target.apply({ type: 'node.create', node: newNode('n9') }));
    const events: StoreEvent[] = [];
    target.store.watch((event) => events.push(event));
    target.store.restore(store.snapshot());
    expect(events).toEqual([
      {
        kind: 'restore',
        cluster: store.getCluster(),
        nodes: store.listNodes(),
        services: [],
        tasks: [],
      },
    ]);
  });
});
