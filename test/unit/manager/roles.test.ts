import { describe, expect, it } from 'vitest';
import { nextRoleAction } from '../../../src/manager/roles.js';
import type { ProgressStatus, Status } from '../../../src/raft/types.js';
import type { Node, NodeRole } from '../../../src/state/types.js';
import { newNode } from '../state/fixtures.js';

function node(id: string, want: NodeRole, now: NodeRole): Node {
  const base = newNode(id, id);
  return { ...base, Version: { Index: 1 }, Spec: { ...base.Spec, Role: want }, Role: now };
}

function status(
  conf: { voters: string[]; learners?: string[]; removed?: string[] },
  progress: Record<string, Partial<ProgressStatus>> = {},
): Status {
  return {
    id: 'm1',
    term: 2,
    vote: 'm1',
    commit: 100,
    applied: 100,
    firstIndex: 1,
    lastIndex: 100,
    leader: 'm1',
    role: 'leader',
    leadTransferee: null,
    conf: { voters: conf.voters, learners: conf.learners ?? [], removed: conf.removed ?? [] },
    progress: Object.fromEntries(
      Object.entries(progress).map(([id, p]) => [
        id,
        { match: 0, next: 1, state: 'probe', learner: false, paused: false, ...p },
      ]),
    ),
  };
}

const reachable = () => true;

describe('the role manager', () => {
  it('records Role=manager before the node enters the group, then adds it as a learner', () => {
    expect(
      nextRoleAction([node('w1', 'manager', 'worker')], status({ voters: ['m1'] }), reachable),
    ).toMatchObject({ kind: 'setRole', role: 'manager', node: { ID: 'w1' } });
    expect(
      nextRoleAction([node('w1', 'manager', 'manager')], status({ voters: ['m1'] }), reachable),
    ).toMatchObject({ kind: 'conf', type: 'addLearner', node: { ID: 'w1' } });
  });

  it('never records Role=worker for a node still in the group, even a fresh learner', () => {
    const demotedLearner = node('w1', 'worker', 'manager');
    const conf = { voters: ['m1'], learners: ['w1'] };
    expect(nextRoleAction([demotedLearner], status(conf), reachable)).toMatchObject({
      kind: 'conf',
      type: 'removeNode',
    });
  });

  it('promotes a learner only once it replicates and is close to the leader', () => {
    const nodes = [node('w1', 'manager', 'manager')];
    const conf = { voters: ['m1'], learners: ['w1'] };
    expect(nextRoleAction(nodes, status(conf, { w1: { match: 0 } }), reachable)).toBeUndefined();
    expect(
      nextRoleAction(nodes, status(conf, { w1: { match: 10, state: 'replicate' } }), reachable),
    ).toBeUndefined();
    expect(
      nextRoleAction(nodes, status(conf, { w1: { match: 99, state: 'replicate' } }), reachable),
    ).toMatchObject({ kind: 'conf', type: 'promoteLearner' });
  });

  it('removes a demoted node from the group, and only then records Role=worker', () => {
    const demoted = node('m2', 'worker', 'manager');
    expect(
      nextRoleAction([demoted], status({ voters: ['m1', 'm2', 'm3'] }), reachable),
    ).toMatchObject({ kind: 'conf', type: 'removeNode', node: { ID: 'm2' } });
    expect(
      nextRoleAction([demoted], status({ voters: ['m1', 'm3'], removed: ['m2'] }), reachable),
    ).toMatchObject({ kind: 'setRole', role: 'worker' });
  });

  it('hands leadership away before removing itself', () => {
    const self = node('m1', 'worker', 'manager');
    expect(nextRoleAction([self], status({ voters: ['m1', 'm2'] }), (id) => id === 'm2')).toEqual({
      kind: 'transfer',
      to: 'm2',
    });
    expect(nextRoleAction([self], status({ voters: ['m1', 'm2'] }), () => false)).toBeUndefined();
  });

  it('never tries to re-add an id the group removed', () => {
    const back = node('m2', 'manager', 'worker');
    expect(
      nextRoleAction([back], status({ voters: ['m1'], removed: ['m2'] }), reachable),
    ).toBeUndefined();
  });

  it('has nothing to do when the group matches the roles', () => {
    const nodes = [node('m1', 'manager', 'manager'), node('w1', 'worker', 'worker')];
    expect(nextRoleAction(nodes, status({ voters: ['m1'] }), reachable)).toBeUndefined();
  });
});
