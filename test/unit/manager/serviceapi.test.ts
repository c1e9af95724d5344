/**
 * The service API's checks and defaults, over a real store and a stand-in for Raft that
 * applies each proposal at the next index (named so: it only orders commands).
 */
import { describe, expect, it } from 'vitest';
import { parseBody } from '../../../src/api/schemas.js';
import { allocatePorts } from '../../../src/manager/ports.js';
import { completeSpec, ServiceApi } from '../../../src/manager/serviceapi.js';
import { serviceSpecInput } from '../../../src/state/index.js';
import { orderedConsensus } from '../../support/ordered-consensus.js';
import { setup } from '../state/fixtures.js';

function world() {
  const { store } = setup();
  const applyInOrder = orderedConsensus(store);
  let seed = 0;
  const api = new ServiceApi({
    store,
    consensus: applyInOrder,
    now: () => new Date('2026-01-01T00:00:00Z'),
    randomBytes: (n) => new Uint8Array(n).map(() => ++seed % 251),
  });
  return { store, api };
}

const template = { ContainerSpec: { Image: 'busybox' } };

describe('service specs', () => {
  it('fills in Swarm defaults: one replica, no labels', () => {
    expect(completeSpec({ Name: 'web', TaskTemplate: template })).toEqual({
      Name: 'web',
      Labels: {},
      TaskTemplate: template,
      Mode: { Replicated: { Replicas: 1 } },
    });
  });

  it('fills in the counts a docker client leaves out of the mode', () => {
    expect(
      completeSpec({ Name: 'web', TaskTemplate: template, Mode: { Replicated: {} } }).Mode,
    ).toEqual({
      Replicated: { Replicas: 1 },
    });
    expect(
      completeSpec({
        Name: 'job',
        TaskTemplate: template,
        Mode: { ReplicatedJob: { MaxConcurrent: 3 } },
      }).Mode,
    ).toEqual({ ReplicatedJob: { MaxConcurrent: 3, TotalCompletions: 3 } });
  });

  it('refuses a bad constraint, naming it', () => {
    const spec = {
      Name: 'web',
      TaskTemplate: { ...template, Placement: { Constraints: ['node.zone=east'] } },
    };
    expect(() => completeSpec(spec)).toThrow(/^invalid constraint "node.zone=east": /);
  });

  it('refuses bodies that are not a service spec, naming the field', () => {
    expect(() => parseBody(serviceSpecInput, { Name: 'web' }, 'service spec')).toThrow(
      /invalid service spec: TaskTemplate: /,
    );
    expect(() =>
      parseBody(
        serviceSpecInput,
        { Name: 'web', TaskTemplate: template, Mode: { Replicated: { Replicas: -1 } } },
        'service spec',
      ),
    ).toThrow(/Mode\.Replicated\.Replicas/);
    expect(() =>
      parseBody(
        serviceSpecInput,
        { Name: 'web', TaskTemplate: template, Mode: { Replicated: {}, Global: {} } },
        'service spec',
      ),
    ).toThrow(/only one of Replicated, Global/);
  });
});

describe('published ports', () => {
  it('gives an ingress port without a published port one from 30000-32767, kept across updates', () => {
    const first = allocatePorts([{ TargetPort: 80 }], [], []);
    expect(first).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' },
    ]);
    expect(allocatePorts([{ TargetPort: 80 }], first, [])).toEqual(first);
  });

  it('leaves host-mode ports to the nodes', () => {
    expect(
      allocatePorts([{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }], [], []),
    ).toEqual([{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }]);
  });
});

describe('ServiceApi', () => {
  it('creates, names a conflicting port after its holder, and finds services by prefix', async () => {
    const { api } = world();
    const { ID } = await api.create({
      Name: 'web',
      TaskTemplate: template,
      EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
    });
    await expect(
      api.create({
        Name: 'api',
        TaskTemplate: template,
        EndpointSpec: { Ports: [{ TargetPort: 81, PublishedPort: 8080 }] },
      }),
    ).rejects.toThrow('port 8080/tcp is already in use by service web');
    expect(api.inspect(ID.slice(0, 5)).Spec.Name).toBe('web');
    expect(api.inspect('web').ServiceStatus).toEqual({
      RunningTasks: 0,
      DesiredTasks: 1,
      CompletedTasks: 0,
    });
  });

  it('names a service the user did not name', async () => {
    const { api } = world();
    const { ID } = await api.create({ TaskTemplate: template });
    expect(api.inspect(ID).Spec.Name).toMatch(/^[a-z]+_[a-z]+\d?$/);
  });

  it('marks an update that changes the tasks as updating, and a rollback goes back to the previous spec', async () => {
    const { api } = world();
    await api.create({ Name: 'web', TaskTemplate: template });
    const v1 = api.inspect('web');
    await api.update(
      'web',
      v1.Version.Index,
      { ...v1.Spec, TaskTemplate: { ContainerSpec: { Image: 'busybox:2' } } },
      false,
    );
    const v2 = api.inspect('web');
    expect(v2.UpdateStatus?.State).toBe('updating');
    expect(v2.PreviousSpec?.TaskTemplate.ContainerSpec.Image).toBe('busybox');
    await expect(api.update('web', v1.Version.Index, v1.Spec, false)).rejects.toThrow(
      /update out of sequence/,
    );
    await api.update('web', v2.Version.Index, undefined, true);
    const v3 = api.inspect('web');
    expect(v3.Spec.TaskTemplate.ContainerSpec.Image).toBe('busybox');
    expect(v3.UpdateStatus?.State).toBe('rollback_started');
  });

  it('refuses to change a service mode', async () => {
    const { api } = world();
    await api.create({ Name: 'web', TaskTemplate: template });
    const v1 = api.inspect('web');
    await expect(
      api.update('web', v1.Version.Index, { ...v1.Spec, Mode: { Global: {} } }, false),
    ).rejects.toThrow('service mode change is not allowed');
  });
});
