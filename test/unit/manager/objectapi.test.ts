/**
 * Secrets, configs and networks: the API's checks, sealing at rest, the store's rules (names,
 * labels-only updates, removal refused while a service uses one), and what a node is sent.
 * Over a real store and a stand-in for Raft that applies each proposal in order (named so).
 */
import { describe, expect, it } from 'vitest';
import type { Consensus } from '../../../src/manager/consensus.js';
import { ObjectApi } from '../../../src/manager/objectapi.js';
import { SecretSeal } from '../../../src/manager/secret-seal.js';
import { ServiceApi } from '../../../src/manager/serviceapi.js';
import { filesForTasks } from '../../../src/manager/task-files.js';
import { type Command, encodeCommand, type Task } from '../../../src/state/index.js';
import { orderedConsensus } from '../../support/ordered-consensus.js';
import { setup } from '../state/fixtures.js';

const NETWORK_KEY = new Uint8Array(32).fill(7);
const text = (s: string) => new TextEncoder().encode(s);

function world() {
  const { store, apply } = setup();
  const inOrder = orderedConsensus(store);
  const proposed: Command[] = [];
  const consensus: Consensus = {
    ...inOrder,
    propose: (command) => {
      proposed.push(command);
      return inOrder.propose(command);
    },
  };
  let seed = 0;
  const randomBytes = (n: number) => new Uint8Array(n).map(() => ++seed % 251);
  const seal = new SecretSeal(NETWORK_KEY, randomBytes);
  const deps = { store, consensus, now: () => new Date('2026-01-01T00:00:00Z'), randomBytes, seal };
  return {
    store,
    apply,
    proposed,
    seal,
    objects: new ObjectApi(deps),
    services: new ServiceApi(deps),
  };
}

const secretUser = (name: string, secret: string) => ({
  Name: name,
  TaskTemplate: {
    ContainerSpec: {
      Image: 'busybox',
      Secrets: [
        {
          File: { Name: secret, UID: '0', GID: '0', Mode: 0o444 },
          SecretID: '',
          SecretName: secret,
        },
      ],
    },
  },
});

describe('secrets', () => {
  it('are sealed before they are proposed: the plain data is in no Raft entry', async () => {
    const w = world();
    const { ID } = await w.objects.createSecret({
      Name: 'db_pw',
      Labels: {},
      Data: text('hunter2-very-secret'),
    });
    // The entries as Raft stores them.
    const bytes = Buffer.concat(w.proposed.map((c) => Buffer.from(encodeCommand(c))));
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes('hunter2')).toBe(false);
    const stored = w.store.getSecret(ID);
    expect(stored).toBeDefined();
    expect(Buffer.from(w.seal.unseal(ID, stored?.Sealed ?? new Uint8Array())).toString()).toBe(
      'hunter2-very-secret',
    );
  });

  it('never show their data when listed or inspected', async () => {
    const w = world();
    await w.objects.createSecret({ Name: 'db_pw', Labels: { a: 'b' }, Data: text('x') });
    const shown = JSON.stringify([w.objects.listSecrets({}), w.objects.inspectSecret('db_pw')]);
    expect(shown).not.toContain('Sealed');
    expect(shown).not.toContain('Data');
    expect(w.objects.inspectSecret('db_pw').Spec).toEqual({ Name: 'db_pw', Labels: { a: 'b' } });
  });

  it('cannot be unsealed with another swarm key or moved to another id', async () => {
    const w = world();
    const { ID } = await w.objects.createSecret({ Name: 's', Labels: {}, Data: text('x') });
    const sealed = w.store.getSecret(ID)?.Sealed ?? new Uint8Array();
    const other = new SecretSeal(new Uint8Array(32).fill(8), () => new Uint8Array(12));
    expect(() => other.unseal(ID, sealed)).toThrow();
    expect(() => w.seal.unseal('another-id', sealed)).toThrow();
  });

  it('keeps Swarm limits: 500 KB of data, names as Docker allows, one per name', async () => {
    const w = world();
    await expect(
      w.objects.createSecret({ Name: 'big', Labels: {}, Data: new Uint8Array(500 * 1024 + 1) }),
    ).rejects.toThrow(/secret data is too long \(512001 bytes; the limit is 512000 bytes\)/);
    await w.objects.createSecret({ Name: 'fits', Labels: {}, Data: new Uint8Array(500 * 1024) });
    await expect(
      w.objects.createSecret({ Name: 'bad name', Labels: {}, Data: text('x') }),
    ).rejects.toThrow(/invalid secret name "bad name"/);
    await expect(
      w.objects.createSecret({ Name: 'fits', Labels: {}, Data: text('x') }),
    ).rejects.toThrow(/secret fits already exists/);
  });

  it('change only their labels; the same data sent again is accepted', async () => {
    const w = world();
    const { ID } = await w.objects.createSecret({ Name: 's', Labels: {}, Data: text('one') });
    const version = w.store.getSecret(ID)?.Version.Index ?? 0;
    await expect(
      w.objects.updateLabels('secret', 's', version, { Labels: {}, Data: text('two') }),
    ).rejects.toThrow('only updates to Labels are allowed');
    await w.objects.updateLabels('secret', 's', version, {
      Name: 's',
      Labels: { k: 'v' },
      Data: text('one'),
    });
    expect(w.store.getSecret(ID)?.Spec.Labels).toEqual({ k: 'v' });
    await expect(w.objects.updateLabels('secret', 's', version, { Labels: {} })).rejects.toThrow(
      /update out of sequence/,
    );
  });

  it('resolve by name in a service spec and cannot be removed while a service uses them', async () => {
    const w = world();
    const { ID } = await w.objects.createSecret({ Name: 'db_pw', Labels: {}, Data: text('x') });
    await w.services.create(secretUser('api', 'db_pw'));
    const spec = w.store.getServiceByName('api')?.Spec.TaskTemplate.ContainerSpec;
    expect(spec?.Secrets?.[0]).toMatchObject({ SecretID: ID, SecretName: 'db_pw' });
    await expect(w.objects.remove('secret', 'db_pw')).rejects.toThrow(
      "secret 'db_pw' is in use by the following service: api",
    );
    await w.services.remove('api');
    await w.objects.remove('secret', 'db_pw');
    expect(w.store.getSecret(ID)).toBeUndefined();
  });

  it('stays in use while a rollback would need it, and is free once nothing can', async () => {
    const w = world();
    await w.objects.createSecret({ Name: 's1', Labels: {}, Data: text('1') });
    await w.objects.createSecret({ Name: 's2', Labels: {}, Data: text('2') });
    await w.services.create(secretUser('api', 's1'));
    const version = () => w.store.getServiceByName('api')?.Version.Index ?? 0;
    await w.services.update('api', version(), secretUser('api', 's2'), false);
    await expect(w.objects.remove('secret', 's1')).rejects.toThrow(
      "secret 's1' is in use by the following service: api",
    );
    await w.services.update('api', version(), undefined, true);
    expect(
      w.store.getServiceByName('api')?.Spec.TaskTemplate.ContainerSpec.Secrets?.[0]?.SecretName,
    ).toBe('s1');
    await w.services.update('api', version(), secretUser('api', 's2'), false);
    await w.services.update(
      'api',
      version(),
      { ...secretUser('api', 's2'), Labels: { a: 'b' } },
      false,
    );
    await w.objects.remove('secret', 's1');
  });

  it('stays in use while a task made from an older spec still runs', async () => {
    const w = world();
    const { ID } = await w.objects.createSecret({ Name: 's1', Labels: {}, Data: text('1') });
    await w.services.create({ Name: 'api', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } });
    const service = w.store.getServiceByName('api');
    if (!service) throw new Error('no service');
    const spec = secretUser('api', 's1').TaskTemplate;
    const template = {
      ...spec,
      ContainerSpec: {
        ...spec.ContainerSpec,
        Secrets: [{ ...spec.ContainerSpec.Secrets[0]!, SecretID: ID }],
      },
    };
    w.apply({
      type: 'tasks.write',
      at: '2026-01-01T00:00:00Z',
      ops: [
        {
          op: 'create',
          task: {
            ID: 't1',
            CreatedAt: '2026-01-01T00:00:00Z',
            UpdatedAt: '2026-01-01T00:00:00Z',
            Labels: {},
            Spec: template,
            SpecVersion: { Index: 1 },
            ServiceID: service.ID,
            ServiceAnnotations: { Name: 'api' },
            Slot: 1,
            NodeID: '',
            Status: { Timestamp: '2026-01-01T00:00:00Z', State: 'new', Message: 'created' },
            DesiredState: 'running',
          },
        },
      ],
    });
    await expect(w.objects.remove('secret', 's1')).rejects.toThrow(
      /in use by the following service: api/,
    );
    w.apply({
      type: 'tasks.write',
      at: '2026-01-01T00:00:00Z',
      ops: [{ op: 'desire', id: 't1', state: 'shutdown' }],
    });
    await w.objects.remove('secret', 's1');
  });

  it('a service naming an unknown secret, or one target twice, is refused', async () => {
    const w = world();
    await expect(w.services.create(secretUser('api', 'nope'))).rejects.toThrow(
      'secret not found: nope',
    );
    await w.objects.createSecret({ Name: 'a', Labels: {}, Data: text('x') });
    const twice = secretUser('api', 'a');
    const ref = twice.TaskTemplate.ContainerSpec.Secrets[0];
    if (!ref) throw new Error('no ref');
    twice.TaskTemplate.ContainerSpec.Secrets.push({ ...ref });
    await expect(w.services.create(twice)).rejects.toThrow(
      'duplicate secret target for a not allowed',
    );
    const escaping = secretUser('api', 'a');
    escaping.TaskTemplate.ContainerSpec.Secrets[0]!.File.Name = '../../etc/passwd';
    await expect(w.services.create(escaping)).rejects.toThrow(
      'secret target ../../etc/passwd must stay inside /run/secrets',
    );
  });

  it('the store refuses a service whose secret was removed after the API checked it', () => {
    const w = world();
    const result = w.apply({
      type: 'service.create',
      service: {
        ID: 'svc1',
        CreatedAt: '2026-01-01T00:00:00Z',
        UpdatedAt: '2026-01-01T00:00:00Z',
        Spec: {
          Name: 'api',
          Labels: {},
          Mode: { Replicated: { Replicas: 1 } },
          TaskTemplate: {
            ContainerSpec: {
              Image: 'busybox',
              Secrets: [
                {
                  File: { Name: 'x', UID: '0', GID: '0', Mode: 0o444 },
                  SecretID: 'gone',
                  SecretName: 'x',
                },
              ],
            },
          },
        },
        Endpoint: { Spec: {} },
      },
    });
    expect(result).toMatchObject({ ok: false, message: 'secret not found: x' });
    expect(w.store.getServiceByName('api')).toBeUndefined();
  });
});

describe('configs', () => {
  it('keep their data readable, up to 1,000 KB', async () => {
    const w = world();
    const { ID } = await w.objects.createConfig({
      Name: 'app.conf',
      Labels: {},
      Data: text('a=1'),
    });
    expect(Buffer.from(w.objects.inspectConfig('app.conf').Data).toString()).toBe('a=1');
    expect(w.objects.inspectConfig(ID.slice(0, 6)).ID).toBe(ID);
    await expect(
      w.objects.createConfig({ Name: 'big', Labels: {}, Data: new Uint8Array(1000 * 1024 + 1) }),
    ).rejects.toThrow(/config data is too long/);
  });

  it('are listed with Docker filters', async () => {
    const w = world();
    await w.objects.createConfig({ Name: 'app_a', Labels: { stack: 'x' }, Data: text('1') });
    await w.objects.createConfig({ Name: 'app_b', Labels: {}, Data: text('2') });
    await w.objects.createConfig({ Name: 'other', Labels: {}, Data: text('3') });
    const names = (filters: object) => w.objects.listConfigs(filters).map((c) => c.Spec.Name);
    expect(names({ name: ['app'] })).toEqual(expect.arrayContaining(['app_a', 'app_b']));
    expect(names({ name: ['app'] })).toHaveLength(2);
    expect(names({ names: ['app'] })).toEqual([]);
    expect(names({ label: ['stack=x'] })).toEqual(['app_a']);
  });
});

describe('networks', () => {
  it('are recorded as overlay networks; another driver is refused', async () => {
    const w = world();
    const net = {
      Name: 'app_default',
      Labels: {},
      Options: {},
      Attachable: false,
      Internal: false,
    };
    const { Id } = await w.objects.createNetwork({ ...net, Driver: 'overlay' });
    expect(w.store.getNetwork(Id)?.Spec.Driver).toBe('overlay');
    await expect(w.objects.createNetwork({ ...net, Name: 'b', Driver: 'macvlan' })).rejects.toThrow(
      /network driver "macvlan" is not supported/,
    );
    await expect(w.objects.createNetwork({ ...net, Driver: 'overlay' })).rejects.toThrow(
      /network app_default already exists/,
    );
  });

  it('are resolved to ids in service specs and kept while a service is attached', async () => {
    const w = world();
    const net = {
      Name: 'app_default',
      Labels: {},
      Options: {},
      Attachable: false,
      Internal: false,
    };
    const { Id } = await w.objects.createNetwork({ ...net, Driver: 'overlay' });
    await w.services.create({
      Name: 'api',
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        Networks: [{ Target: 'app_default', Aliases: ['api'] }],
      },
    });
    expect(w.store.getServiceByName('api')?.Spec.TaskTemplate.Networks).toEqual([
      { Target: Id, Aliases: ['api'] },
    ]);
    await expect(w.objects.remove('network', 'app_default')).rejects.toThrow(
      "network 'app_default' is in use by the following service: api",
    );
    await expect(
      w.services.create({
        Name: 'b',
        TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'nope' }] },
      }),
    ).rejects.toThrow('network nope not found');
  });
});

describe('delivery to nodes', () => {
  it('sends only the files of tasks that are to run, secrets unsealed', async () => {
    const w = world();
    const { ID: secretId } = await w.objects.createSecret({
      Name: 'db_pw',
      Labels: {},
      Data: text('pw'),
    });
    const { ID: configId } = await w.objects.createConfig({
      Name: 'conf',
      Labels: {},
      Data: text('c'),
    });
    await w.services.create({
      ...secretUser('api', 'db_pw'),
      TaskTemplate: {
        ContainerSpec: {
          ...secretUser('api', 'db_pw').TaskTemplate.ContainerSpec,
          Configs: [
            {
              File: { Name: '/etc/conf', UID: '0', GID: '0', Mode: 0o444 },
              ConfigID: '',
              ConfigName: 'conf',
            },
          ],
        },
      },
    });
    const spec = w.store.getServiceByName('api')?.Spec.TaskTemplate;
    if (!spec) throw new Error('no service');
    const task = (id: string, desired: Task['DesiredState']) =>
      ({ ID: id, Spec: spec, DesiredState: desired }) as Task;
    const files = filesForTasks([task('t1', 'running')], w.store, w.seal);
    expect(Object.fromEntries(files.map((f) => [f.key, Buffer.from(f.data).toString()]))).toEqual({
      [`secret/${secretId}`]: 'pw',
      [`config/${configId}`]: 'c',
    });
    expect(filesForTasks([task('t2', 'shutdown')], w.store, w.seal)).toEqual([]);
    // What a session already carried is not sent again.
    const sent = new Set([`secret/${secretId}`]);
    expect(filesForTasks([task('t1', 'running')], w.store, w.seal, sent).map((f) => f.key)).toEqual(
      [`config/${configId}`],
    );
  });
});

describe('the secrets key', () => {
  it('is 32 bytes, and a secret sealed under one key does not open under another', () => {
    expect(() => new SecretSeal(new Uint8Array(16), () => new Uint8Array(12))).toThrow(
      'a secrets key is 32 bytes',
    );
    const a = new SecretSeal(new Uint8Array(32).fill(1), (n) => new Uint8Array(n).fill(9));
    const b = new SecretSeal(new Uint8Array(32).fill(2), (n) => new Uint8Array(n).fill(9));
    const sealed = a.seal('s1', text('data'));
    expect(Buffer.from(a.unseal('s1', sealed)).toString()).toBe('data');
    expect(() => b.unseal('s1', sealed)).toThrow();
  });
});

describe('snapshots', () => {
  it('carry secrets, configs and networks to a restored store unchanged', async () => {
    const w = world();
    const { ID } = await w.objects.createSecret({ Name: 's', Labels: {}, Data: text('abc') });
    await w.objects.createConfig({ Name: 'c', Labels: { a: 'b' }, Data: text('conf') });
    const net = { Name: 'n', Labels: {}, Options: {}, Attachable: true, Internal: false };
    await w.objects.createNetwork({ ...net, Driver: 'overlay' });
    const other = setup().store;
    other.restore(w.store.snapshot());
    expect(
      Buffer.from(w.seal.unseal(ID, other.getSecret(ID)?.Sealed ?? new Uint8Array())).toString(),
    ).toBe('abc');
    expect(Buffer.from(other.getObjectByName('config', 'c')?.Data ?? []).toString()).toBe('conf');
    expect(other.getObjectByName('network', 'n')?.Spec.Attachable).toBe(true);
  });
});
