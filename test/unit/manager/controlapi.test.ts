/**
 * The control API's rules, over a real store and a stand-in for Raft that applies each
 * proposal at the next index (named so: it is not consensus, it only orders commands).
 */
import { describe, expect, it } from 'vitest';
import { ControlApi } from '../../../src/manager/controlapi.js';
import { SecretSeal } from '../../../src/manager/secret-seal.js';
import { formatJoinToken, parseJoinToken } from '../../../src/p2p/tokens.js';
import type { ConfState, Status } from '../../../src/raft/types.js';
import type { NodeRole } from '../../../src/state/index.js';
import { orderedConsensus } from '../../support/ordered-consensus.js';
import { newCluster, newNode, setup } from '../state/fixtures.js';

async function world(managers: string[], workers: string[], conf: Partial<ConfState> = {}) {
  const { store } = setup();
  const membership: ConfState = {
    voters: conf.voters ?? managers,
    learners: conf.learners ?? [],
    removed: conf.removed ?? [],
  };
  const applyInOrder = orderedConsensus(store, {
    id: managers[0] ?? 'm1',
    status: () => ({ conf: membership, leader: managers[0] ?? null }) as unknown as Status,
  });
  const bytes = (n: number) => new Uint8Array(n).fill(3);
  const networkKey = new Uint8Array(32).fill(1);
  const token = (fill: number) =>
    formatJoinToken({ networkKey, roleSecret: new Uint8Array(16).fill(fill) });
  const ready: Array<Promise<unknown>> = [];
  ready.push(
    applyInOrder.propose({
      type: 'cluster.create',
      cluster: newCluster({ JoinTokens: { Worker: token(5), Manager: token(6) } }),
    }),
  );
  const add = (id: string, role: NodeRole) => {
    const node = newNode(id, id);
    ready.push(
      applyInOrder.propose({
        type: 'node.create',
        node: {
          ...node,
          Spec: { ...node.Spec, Role: role },
          Role: role,
          Status: { ...node.Status, State: 'ready' },
        },
      }),
    );
  };
  for (const id of managers) add(id, 'manager');
  for (const id of workers) add(id, 'worker');
  const api = new ControlApi({
    store,
    consensus: applyInOrder,
    now: () => new Date('2026-01-01T00:00:00Z'),
    randomBytes: bytes,
    seal: new SecretSeal(new Uint8Array(32), bytes),
  });
  const setState = (id: string, state: 'ready' | 'down') =>
    applyInOrder.propose({
      type: 'node.setStatus',
      updates: [{ id, state }],
      at: '2026-01-01T00:00:01Z',
    });
  await Promise.all(ready);
  return { api, store, setState };
}

describe('the control API', () => {
  it('refuses to demote the last manager', async () => {
    const { api, store } = await world(['m1'], ['w1']);
    const m1 = store.getNode('m1')!;
    await expect(
      api.updateNode('m1', m1.Version.Index, { ...m1.Spec, Role: 'worker' }),
    ).rejects.toThrow(/last manager/);
  });

  it('refuses a demotion that would leave too few reachable managers, and says so', async () => {
    const { api, store, setState } = await world(['m1', 'm2', 'm3'], []);
    await setState('m3', 'down');
    const m2 = store.getNode('m2')!;
    await expect(
      api.updateNode('m2', m2.Version.Index, { ...m2.Spec, Role: 'worker' }),
    ).rejects.toThrow(
      /loss of quorum \(1 of the 2 remaining managers are reachable, 2 are needed\)/,
    );
    expect(store.getNode('m2')?.Spec.Role).toBe('manager');
  });

  it('demotes when the rest keep a quorum', async () => {
    const { api, store } = await world(['m1', 'm2', 'm3'], []);
    const m3 = store.getNode('m3')!;
    await api.updateNode('m3', m3.Version.Index, { ...m3.Spec, Role: 'worker' });
    expect(store.getNode('m3')?.Spec.Role).toBe('worker');
  });

  it('checks role changes one at a time: two demotions sent together cannot both pass', async () => {
    const { api, store } = await world(['m1', 'm2'], []);
    const m1 = store.getNode('m1')!;
    const m2 = store.getNode('m2')!;
    const results = await Promise.allSettled([
      api.updateNode('m1', m1.Version.Index, { ...m1.Spec, Role: 'worker' }),
      api.updateNode('m2', m2.Version.Index, { ...m2.Spec, Role: 'worker' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(store.listNodes().filter((n) => n.Spec.Role === 'manager')).toHaveLength(1);
  });

  it('refuses to promote an id the raft group removed, telling how to come back', async () => {
    const { api, store } = await world(['m1'], ['w1'], { removed: ['w1'] });
    const w1 = store.getNode('w1')!;
    await expect(
      api.updateNode('w1', w1.Version.Index, { ...w1.Spec, Role: 'manager' }),
    ).rejects.toThrow(/leave.*join it again/);
  });

  it('removes a node only when it is down, a worker, or forced', async () => {
    const { api, store, setState } = await world(['m1'], ['w1', 'w2']);
    await expect(api.removeNode('w1', false)).rejects.toThrow(/is not down/);
    await setState('w1', 'down');
    await api.removeNode('w1', false);
    await api.removeNode('w2', true);
    expect(store.getNode('w1')).toBeUndefined();
    expect(store.isRemoved('w2')).toBe(true);
    await expect(api.removeNode('m1', true)).rejects.toThrow(/must be demoted/);
  });

  it('rotates a token: the old secret no longer admits anyone, the other role is untouched', async () => {
    const { api } = await world(['m1'], []);
    const before = api.cluster();
    const oldWorker = parseJoinToken(before.JoinTokens.Worker).roleSecret;
    expect(api.roleForSecret(oldWorker)).toBe('worker');
    await api.updateCluster(before.Version.Index, undefined, { worker: true, manager: false });
    const after = api.cluster();
    expect(after.JoinTokens.Manager).toBe(before.JoinTokens.Manager);
    expect(api.roleForSecret(oldWorker)).toBeUndefined();
    expect(api.roleForSecret(parseJoinToken(after.JoinTokens.Worker).roleSecret)).toBe('worker');
    expect(parseJoinToken(after.JoinTokens.Worker).networkKey).toEqual(
      parseJoinToken(before.JoinTokens.Worker).networkKey,
    );
  });

  it('shows manager status only for managers, with the leader marked', async () => {
    const { api } = await world(['m1', 'm2'], ['w1']);
    const nodes = new Map(api.listNodes().map((n) => [n.ID, n]));
    expect(nodes.get('m1')?.ManagerStatus?.Leader).toBe(true);
    expect(nodes.get('m2')?.ManagerStatus).toMatchObject({ Reachability: 'reachable' });
    expect(nodes.get('m2')?.ManagerStatus?.Leader).toBeUndefined();
    expect(nodes.get('w1')?.ManagerStatus).toBeUndefined();
    expect(api.listNodes({ role: ['worker'] }).map((n) => n.ID)).toEqual(['w1']);
  });
});
