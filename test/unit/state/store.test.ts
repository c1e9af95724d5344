import { describe, expect, it } from 'vitest';
import type { Cluster, Node } from '../../../src/state/index.js';
import { encode } from '../../../src/wire/codec.js';
import { newCluster, newNode, ok, setup, T0, T1, T2 } from './fixtures.js';

const spec = {
  Name: 'edge',
  Labels: { zone: 'a' },
  Role: 'manager',
  Availability: 'drain',
} as const;

describe('cluster commands', () => {
  it('creates the cluster at the entry index, with the proposer timestamps', () => {
    const { store, apply } = setup();
    const result = ok(apply({ type: 'cluster.create', cluster: newCluster() }));
    const cluster = store.getCluster();
    expect(result).toEqual({ ok: true, index: 1, object: cluster });
    expect(cluster).toMatchObject({ ID: 'cluster1', Version: { Index: 1 }, CreatedAt: T0 });
    expect(cluster?.UpdatedAt).toBe(T0);
  });

  it('refuses a second cluster and keeps the first', () => {
    const { store, apply } = setup();
    apply({ type: 'cluster.create', cluster: newCluster() });
    const before = store.getCluster();
    const result = apply({ type: 'cluster.create', cluster: newCluster({ ID: 'other' }) });
    expect(result).toMatchObject({ ok: false, code: 'conflict' });
    expect(store.getCluster()).toBe(before);
  });

  it('updates spec and join tokens at the current version', () => {
    const { store, apply } = setup();
    apply({ type: 'cluster.create', cluster: newCluster() });
    const newSpec = { ...newCluster().Spec, Labels: { env: 'prod' } };
    ok(apply({ type: 'cluster.update', version: 1, spec: newSpec, at: T1 }));
    const tokens = { Worker: 'SWMTS-1-b-w', Manager: 'SWMTS-1-b-m' };
    const result = ok(apply({ type: 'cluster.update', version: 2, joinTokens: tokens, at: T2 }));
    const cluster = result.object as Cluster;
    expect(cluster.Spec.Labels).toEqual({ env: 'prod' });
    expect(cluster.JoinTokens).toEqual(tokens);
    expect(cluster).toMatchObject({ Version: { Index: 3 }, CreatedAt: T0, UpdatedAt: T2 });
    expect(store.getCluster()).toBe(cluster);
  });

  it('refuses an update at a stale version: "update out of sequence", store unchanged', () => {
    const { store, apply } = setup();
    apply({ type: 'cluster.create', cluster: newCluster() });
    apply({ type: 'cluster.update', version: 1, at: T1 });
    const before = store.getCluster();
    const result = apply({ type: 'cluster.update', version: 1, spec: newCluster().Spec, at: T2 });
    expect(result).toMatchObject({ ok: false, code: 'conflict' });
    expect(!result.ok && result.message).toMatch(/^update out of sequence: /);
    expect(store.getCluster()).toBe(before);
  });

  it('refuses an update when there is no cluster', () => {
    const { store, apply } = setup();
    const result = apply({ type: 'cluster.update', version: 0, at: T1 });
    expect(result).toMatchObject({ ok: false, code: 'not_found' });
    expect(store.getCluster()).toBeUndefined();
  });
});

describe('node commands', () => {
  function withNodes(...ids: string[]) {
    const s = setup();
    for (const id of ids) ok(s.apply({ type: 'node.create', node: newNode(id) }));
    return s;
  }

  it('creates a node at the entry index', () => {
    const { store, apply } = setup();
    const result = ok(apply({ type: 'node.create', node: newNode('n1') }));
    expect(result.object).toBe(store.getNode('n1'));
    expect(store.getNode('n1')).toEqual({ ...newNode('n1'), Version: { Index: 1 } });
  });

  it('refuses a node id that exists', () => {
    const { store, apply } = withNodes('n1');
    const before = store.getNode('n1');
    const result = apply({ type: 'node.create', node: newNode('n1', 'elsewhere') });
    expect(result).toMatchObject({ ok: false, code: 'conflict' });
    expect(store.getNode('n1')).toBe(before);
  });

  it('never re-creates a removed id', () => {
    const { store, apply } = withNodes('n1');
    const removed = ok(apply({ type: 'node.remove', id: 'n1' }));
    expect(removed.object).toMatchObject({ ID: 'n1' });
    expect(store.getNode('n1')).toBeUndefined();
    expect(store.isRemoved('n1')).toBe(true);
    const result = apply({ type: 'node.create', node: newNode('n1') });
    expect(result).toMatchObject({ ok: false, code: 'invalid_argument' });
    expect(!result.ok && result.message).toMatch(/removed.*new identity/);
    expect(store.getNode('n1')).toBeUndefined();
  });

  it('refuses removing an unknown node', () => {
    const { store, apply } = withNodes('n1');
    expect(apply({ type: 'node.remove', id: 'n2' })).toMatchObject({
      ok: false,
      code: 'not_found',
    });
    expect(store.isRemoved('n2')).toBe(false);
    expect(store.listNodes()).toHaveLength(1);
  });

  it('updates a spec at the current version', () => {
    const { store, apply } = withNodes('n1');
    const result = ok(apply({ type: 'node.updateSpec', id: 'n1', version: 1, spec, at: T1 }));
    expect(result.object).toBe(store.getNode('n1'));
    expect(store.getNode('n1')).toMatchObject({
      Spec: spec,
      Version: { Index: 2 },
      CreatedAt: T0,
      UpdatedAt: T1,
      Role: 'worker',
    });
  });

  it('refuses a spec update at a stale version, store unchanged', () => {
    const { store, apply } = withNodes('n1');
    ok(apply({ type: 'node.updateSpec', id: 'n1', version: 1, spec, at: T1 }));
    const before = store.getNode('n1');
    const result = apply({
      type: 'node.updateSpec',
      id: 'n1',
      version: 1,
      spec: { ...spec, Availability: 'active' },
      at: T2,
    });
    expect(result).toMatchObject({ ok: false, code: 'conflict' });
    expect(!result.ok && result.message).toMatch(
      /^update out of sequence: node n1 is at version 2/,
    );
    expect(store.getNode('n1')).toBe(before);
  });

  it('refuses a spec update of an unknown node', () => {
    const { apply } = withNodes('n1');
    const result = apply({ type: 'node.updateSpec', id: 'nx', version: 1, spec, at: T1 });
    expect(result).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('sets the held role, and treats the same role as no change', () => {
    const { store, apply } = withNodes('n1');
    const same = ok(apply({ type: 'node.setRole', id: 'n1', role: 'worker', at: T1 }));
    expect(same.object).toBe(store.getNode('n1'));
    expect(store.getNode('n1')?.Version.Index).toBe(1);
    ok(apply({ type: 'node.setRole', id: 'n1', role: 'manager', at: T1 }));
    expect(store.getNode('n1')).toMatchObject({
      Role: 'manager',
      Spec: { Role: 'worker' },
      Version: { Index: 3 },
      UpdatedAt: T1,
    });
    expect(apply({ type: 'node.setRole', id: 'nx', role: 'manager', at: T1 })).toMatchObject({
      ok: false,
      code: 'not_found',
    });
  });

  it('records what a node describes about itself', () => {
    const { store, apply } = withNodes('n1');
    const description = { ...newNode('n1').Description, Hostname: 'renamed' };
    const p2pAddrs = ['/ip4/10.0.0.9/tcp/4377/p2p/n1'];
    ok(apply({ type: 'node.describe', id: 'n1', description, addr: '10.0.0.9', p2pAddrs, at: T1 }));
    expect(store.getNode('n1')).toMatchObject({
      Description: description,
      Status: { State: 'unknown', Addr: '10.0.0.9' },
      P2PAddrs: p2pAddrs,
      Version: { Index: 2 },
      UpdatedAt: T1,
    });
    const unknown = apply({
      type: 'node.describe',
      id: 'nx',
      description,
      addr: '10.0.0.9',
      p2pAddrs,
      at: T1,
    });
    expect(unknown).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('hands out frozen objects that are not aliases of its input', () => {
    const { store, apply } = setup();
    const node = newNode('n1');
    ok(apply({ type: 'node.create', node }));
    node.Spec.Labels.sneaky = 'yes';
    const stored = store.getNode('n1') as Node;
    expect(stored.Spec.Labels).toEqual({});
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored.Description.Platform)).toBe(true);
    expect(() => {
      (stored.Spec.Labels as Record<string, string>).x = 'y';
    }).toThrow(TypeError);
  });
});

describe('node.setStatus', () => {
  function threeNodes() {
    const s = setup();
    for (const id of ['n1', 'n2', 'n3']) ok(s.apply({ type: 'node.create', node: newNode(id) }));
    return s;
  }

  it('applies a batch, skipping unknown ids and updates that change nothing', () => {
    const { store, apply } = threeNodes();
    const result = ok(
      apply({
        type: 'node.setStatus',
        updates: [
          { id: 'n1', state: 'ready' },
          { id: 'n2', state: 'unknown' }, // unchanged
          { id: 'gone', state: 'down' },
          { id: 'n3', state: 'down', message: 'heartbeat failure' },
        ],
        at: T1,
      }),
    );
    expect(result.index).toBe(4);
    expect((result.object as Node[]).map((n) => n.ID)).toEqual(['n1', 'n3']);
    expect(store.getNode('n1')).toMatchObject({
      Status: { State: 'ready' },
      Version: { Index: 4 },
    });
    expect(store.getNode('n1')?.UpdatedAt).toBe(T1);
    expect(store.getNode('n2')?.Version.Index).toBe(2);
    expect(store.getNode('n2')?.UpdatedAt).toBe(T0);
    expect(store.getNode('n3')?.Status).toEqual({
      State: 'down',
      Message: 'heartbeat failure',
      Addr: '10.0.0.1',
    });
  });

  it('treats a changed message alone as a change, and clears it when absent', () => {
    const { store, apply } = threeNodes();
    ok(
      apply({
        type: 'node.setStatus',
        updates: [{ id: 'n1', state: 'down', message: 'a' }],
        at: T1,
      }),
    );
    ok(
      apply({
        type: 'node.setStatus',
        updates: [{ id: 'n1', state: 'down', message: 'b' }],
        at: T1,
      }),
    );
    expect(store.getNode('n1')?.Status.Message).toBe('b');
    ok(apply({ type: 'node.setStatus', updates: [{ id: 'n1', state: 'down' }], at: T2 }));
    expect(store.getNode('n1')?.Status).toEqual({ State: 'down', Addr: '10.0.0.1' });
    expect(store.getNode('n1')?.Version.Index).toBe(6);
  });

  it('is ok without a version bump or an event when nothing changes', () => {
    const { store, apply } = threeNodes();
    const events: unknown[] = [];
    store.watch((event) => events.push(event));
    const before = store.listNodes();
    const result = ok(
      apply({
        type: 'node.setStatus',
        updates: [
          { id: 'n1', state: 'unknown' },
          { id: 'nope', state: 'ready' },
        ],
        at: T1,
      }),
    );
    expect(result.object).toEqual([]);
    expect(store.listNodes()).toEqual(before);
    expect(store.getNode('n1')).toBe(before[0]);
    expect(events).toEqual([]);
  });

  it('applies repeated ids in order', () => {
    const { store, apply } = threeNodes();
    const result = ok(
      apply({
        type: 'node.setStatus',
        updates: [
          { id: 'n1', state: 'ready' },
          { id: 'n1', state: 'down' },
        ],
        at: T1,
      }),
    );
    expect(store.getNode('n1')?.Status.State).toBe('down');
    expect(result.object).toEqual([store.getNode('n1')]);
  });
});

describe('apply of bad bytes', () => {
  it('refuses garbage instead of throwing, and changes nothing', () => {
    const { store, apply, applyBytes } = setup();
    ok(apply({ type: 'node.create', node: newNode('n1') }));
    const before = store.snapshot();
    for (const bytes of [
      new Uint8Array([0x81]),
      new Uint8Array([0xff, 0x00, 0x13, 0x37]),
      encode('node.create'),
      encode({ type: 'node.create', node: { ID: 'n2' } }),
      encode({ type: 'node.remove', id: 7 }),
      encode({ type: 'cluster.update', version: '1', at: T1 }),
    ]) {
      const result = applyBytes(bytes);
      expect(result).toMatchObject({ ok: false, code: 'invalid_argument' });
      expect(!result.ok && result.message).toMatch(/^(invalid command|command is not valid)/);
    }
    expect(store.snapshot()).toEqual(before);
  });
});
