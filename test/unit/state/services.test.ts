import { describe, expect, it } from 'vitest';
import { newNode, newService, newTask, ok, setup, T1 } from './fixtures.js';

function withService() {
  const s = setup();
  ok(s.apply({ type: 'node.create', node: newNode('n1') }));
  ok(s.apply({ type: 'service.create', service: newService('s1', 'web') }));
  return s;
}

describe('services', () => {
  it('refuses a second service with the same name', () => {
    const { apply } = withService();
    const result = apply({ type: 'service.create', service: newService('s2', 'web') });
    expect(result).toMatchObject({ ok: false, code: 'conflict' });
    expect(!result.ok && result.message).toContain('service web already exists');
  });

  it('refuses an ingress port another service publishes, naming that service', () => {
    const { apply } = setup();
    const port = { TargetPort: 80, PublishedPort: 8080 };
    ok(apply({ type: 'service.create', service: newService('s1', 'web', [port]) }));
    const result = apply({ type: 'service.create', service: newService('s2', 'api', [port]) });
    expect(!result.ok && result.message).toBe(
      'port 8080/tcp is already in use by service web (s1)',
    );
    // udp on the same number is another port
    const udp = { TargetPort: 53, PublishedPort: 8080, Protocol: 'udp' as const };
    ok(apply({ type: 'service.create', service: newService('s3', 'dns', [udp]) }));
  });

  it('refuses an update naming a stale version and keeps the spec', () => {
    const { apply, store } = withService();
    const service = store.getServiceByName('web');
    if (!service) throw new Error('no service');
    const spec = { ...service.Spec, Labels: { a: 'b' } };
    ok(
      apply({
        type: 'service.update',
        id: 's1',
        version: service.Version.Index,
        spec,
        ports: [],
        at: T1,
      }),
    );
    const stale = apply({
      type: 'service.update',
      id: 's1',
      version: service.Version.Index,
      spec,
      ports: [],
      at: T1,
    });
    expect(stale).toMatchObject({ ok: false, code: 'conflict' });
    expect(store.getService('s1')?.Spec.Labels).toEqual({ a: 'b' });
    expect(store.getService('s1')?.UpdatedAt).toBe(T1);
  });

  it('asks every task of a removed service to go', () => {
    const { apply, store } = withService();
    ok(apply({ type: 'tasks.write', ops: [{ op: 'create', task: newTask('t1', 's1') }], at: T1 }));
    ok(apply({ type: 'service.remove', id: 's1', at: T1 }));
    expect(store.getService('s1')).toBeUndefined();
    expect(store.getServiceByName('web')).toBeUndefined();
    expect(store.getTask('t1')?.DesiredState).toBe('remove');
  });
});

describe('tasks', () => {
  it('indexes tasks by service and by node as they are assigned', () => {
    const { apply, store } = withService();
    ok(apply({ type: 'tasks.write', ops: [{ op: 'create', task: newTask('t1', 's1') }], at: T1 }));
    expect(store.tasksOfNode('n1')).toEqual([]);
    ok(apply({ type: 'tasks.write', ops: [{ op: 'assign', id: 't1', nodeId: 'n1' }], at: T1 }));
    expect(store.tasksOfNode('n1').map((t) => t.ID)).toEqual(['t1']);
    expect(store.tasksOfService('s1')[0]?.Status.State).toBe('assigned');
    ok(apply({ type: 'tasks.write', ops: [{ op: 'remove', id: 't1' }], at: T1 }));
    expect(store.tasksOfNode('n1')).toEqual([]);
    expect(store.tasksOfService('s1')).toEqual([]);
  });

  it('moves status and desired state forward only, and takes status only from the task node', () => {
    const { apply, store } = withService();
    ok(apply({ type: 'tasks.write', ops: [{ op: 'create', task: newTask('t1', 's1') }], at: T1 }));
    ok(apply({ type: 'tasks.write', ops: [{ op: 'assign', id: 't1', nodeId: 'n1' }], at: T1 }));
    const status = (State: 'running' | 'starting') => ({ Timestamp: T1, State, Message: State });
    ok(
      apply({
        type: 'tasks.write',
        ops: [
          { op: 'status', id: 't1', nodeId: 'n1', status: status('running') },
          { op: 'status', id: 't1', nodeId: 'n1', status: status('starting') },
          { op: 'status', id: 't1', nodeId: 'n2', status: { ...status('running'), Message: 'x' } },
          { op: 'desire', id: 't1', state: 'shutdown' },
          { op: 'desire', id: 't1', state: 'running' },
          // assigning again is too late once the task is on a node
          { op: 'assign', id: 't1', nodeId: 'n2' },
        ],
        at: T1,
      }),
    );
    const task = store.getTask('t1');
    expect(task?.Status.State).toBe('running');
    expect(task?.Status.Message).toBe('running');
    expect(task?.DesiredState).toBe('shutdown');
    expect(task?.NodeID).toBe('n1');
  });

  it('does not create a task for a service that is gone', () => {
    const { apply, store } = setup();
    ok(
      apply({ type: 'tasks.write', ops: [{ op: 'create', task: newTask('t1', 'nope') }], at: T1 }),
    );
    expect(store.getTask('t1')).toBeUndefined();
  });

  it('survives a snapshot and restore with its indexes', () => {
    const { apply, store } = withService();
    ok(apply({ type: 'tasks.write', ops: [{ op: 'create', task: newTask('t1', 's1') }], at: T1 }));
    ok(apply({ type: 'tasks.write', ops: [{ op: 'assign', id: 't1', nodeId: 'n1' }], at: T1 }));
    const other = setup();
    other.store.restore(store.snapshot());
    expect(other.store.getServiceByName('web')?.ID).toBe('s1');
    expect(other.store.tasksOfNode('n1').map((t) => t.ID)).toEqual(['t1']);
    expect(other.store.snapshot()).toEqual(store.snapshot());
  });

  it('refuses a task op whose shape is wrong, leaving the store as it was', () => {
    const { apply, store } = withService();
    const bad = {
      type: 'tasks.write',
      ops: [{ op: 'desire', id: 't1', state: 'sideways' }],
      at: T1,
    };
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed
    expect(() => apply(bad as any)).toThrow(/invalid command/);
    expect(store.taskCount()).toBe(0);
  });
});

describe('snapshots from before services', () => {
  it('restores a format 1 snapshot as one with no services or tasks', async () => {
    const { encode } = await import('../../../src/wire/codec.js');
    const { store } = setup();
    store.restore(encode({ format: 1, cluster: null, nodes: [], removed: [] }));
    expect(store.listServices()).toEqual([]);
    expect(store.taskCount()).toBe(0);
  });
});
