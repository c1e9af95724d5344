import { describe, expect, it } from 'vitest';
import { containerName, containerSpecFor } from '../../../src/worker/index.js';
import { makeTask } from './harness.js';

const SECOND_NS = 1_000_000_000;

describe('containerSpecFor', () => {
  it('names the container <service>.<slot>.<task id>, or the node for a global task', () => {
    expect(containerSpecFor(makeTask('t1', { Slot: 3 })).name).toBe('web.3.t1');
    expect(containerName(makeTask('t2', { Slot: 0, NodeID: 'node-a' }))).toBe('web.node-a.t2');
  });

  it('labels the container for its node, service, task and slot; ours win over the spec', () => {
    const task = makeTask('t1', {
      Slot: 2,
      Spec: {
        ContainerSpec: {
          Image: 'app:1',
          Labels: { team: 'blue', 'swarmts.node': 'forged' },
        },
      },
    });
    expect(containerSpecFor(task, 'node-b').labels).toEqual({
      team: 'blue',
      'swarmts.node': 'node-b',
      'swarmts.service': 'svc-1',
      'swarmts.task': 't1',
      'swarmts.slot': '2',
      'com.docker.swarm.service.id': 'svc-1',
      'com.docker.swarm.service.name': 'web',
      'com.docker.swarm.task.id': 't1',
      'com.docker.swarm.task.name': 'web.2.t1',
      'com.docker.swarm.node.id': 'node-b',
    });
    // Without an explicit node the task's own NodeID is used.
    expect(containerSpecFor(task).labels?.['swarmts.node']).toBe('node-a');
  });

  it('maps the container spec: command, args, env, user, dir, mounts, limits', () => {
    const spec = containerSpecFor(
      makeTask('t1', {
        Spec: {
          ContainerSpec: {
            Image: 'app:1',
            Command: ['/entry'],
            Args: ['--port', '80'],
            Env: ['A=1', 'B=x=y', 'EMPTY=', 'UNSET', 'A=2'],
            Hostname: 'h1',
            User: 'nobody',
            Dir: '/srv',
            StopSignal: 'SIGQUIT',
            Mounts: [
              { Type: 'bind', Source: '/data', Target: '/data', ReadOnly: true },
              { Type: 'tmpfs', Target: '/tmp' },
            ],
          },
          Resources: { Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 2 ** 20 } },
        },
      }),
    );
    expect(spec).toMatchObject({
      image: 'app:1',
      command: ['/entry'],
      args: ['--port', '80'],
      env: { A: '2', B: 'x=y', EMPTY: '' },
      hostname: 'h1',
      user: 'nobody',
      workingDir: '/srv',
      stopSignal: 'SIGQUIT',
      mounts: [
        { type: 'bind', source: '/data', target: '/data', readOnly: true },
        { type: 'tmpfs', target: '/tmp' },
      ],
      nanoCpus: 500_000_000,
      memoryBytes: 64 * 2 ** 20,
    });
    expect(spec.mounts?.[1]).not.toHaveProperty('source');
  });

  it('leaves out what the spec does not set', () => {
    const spec = containerSpecFor(makeTask('t1', { Spec: { ContainerSpec: { Image: 'a' } } }));
    expect(Object.keys(spec).sort()).toEqual(['image', 'labels', 'name', 'stopGraceMs']);
  });

  it('converts the health check from nanoseconds to milliseconds', () => {
    const spec = containerSpecFor(
      makeTask('t1', {
        Spec: {
          ContainerSpec: {
            Image: 'a',
            Healthcheck: {
              Test: ['CMD-SHELL', 'true'],
              Interval: 2 * SECOND_NS,
              Timeout: 500_000_000,
              StartPeriod: 100, // under a millisecond: kept as 1 ms, not dropped
              Retries: 3,
            },
          },
        },
      }),
    );
    expect(spec.healthcheck).toEqual({
      test: ['CMD-SHELL', 'true'],
      intervalMs: 2000,
      timeoutMs: 500,
      startPeriodMs: 1,
      retries: 3,
    });
    const inherit = containerSpecFor(
      makeTask('t2', { Spec: { ContainerSpec: { Image: 'a', Healthcheck: { Interval: 0 } } } }),
    );
    expect(inherit.healthcheck).toEqual({ test: [] });
  });

  it('defaults the stop grace period to 10 s; an explicit value (even 0) is kept', () => {
    const grace = (ns?: number) =>
      containerSpecFor(
        makeTask('t', {
          Spec: {
            ContainerSpec: { Image: 'a', ...(ns === undefined ? {} : { StopGracePeriod: ns }) },
          },
        }),
      ).stopGraceMs;
    expect(grace()).toBe(10_000);
    expect(grace(3 * SECOND_NS)).toBe(3000);
    expect(grace(0)).toBe(0);
  });

  it('publishes host-mode ports on their port and ingress ports on one the engine picks', () => {
    const spec = containerSpecFor(
      makeTask('t1', {
        Endpoint: {
          Ports: [
            { TargetPort: 80, PublishedPort: 8080, PublishMode: 'host', Protocol: 'tcp' },
            { TargetPort: 81, PublishMode: 'host' },
            { TargetPort: 53, PublishedPort: 30053, Protocol: 'udp' },
            { TargetPort: 443, PublishedPort: 30443, PublishMode: 'ingress' },
            { TargetPort: 9, PublishedPort: 9, Protocol: 'sctp', PublishMode: 'host' },
          ],
        },
      }),
    );
    expect(spec.ports).toEqual([
      { containerPort: 80, protocol: 'tcp', hostPort: 8080 },
      { containerPort: 81, protocol: 'tcp', hostPort: 0 },
      { containerPort: 53, protocol: 'udp', hostPort: 0 },
      { containerPort: 443, protocol: 'tcp', hostPort: 0 },
    ]);
  });
});
