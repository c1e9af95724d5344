import { describe, expect, it } from 'vitest';
import { exitOutcome, portStatus } from '../../../src/worker/status-mapping.js';
import { makeTask } from './harness.js';

describe('exitOutcome', () => {
  it('completes on 0, fails otherwise, names the OOM killer, and is shutdown when stopping', () => {
    expect(exitOutcome(0, false, false)).toEqual({ state: 'complete', message: 'finished' });
    expect(exitOutcome(3, false, false)).toMatchObject({
      state: 'failed',
      err: 'task: non-zero exit (3)',
    });
    expect(exitOutcome(137, true, false).err).toMatch(/^task: non-zero exit \(137\).*OOM/);
    expect(exitOutcome(137, false, true)).toEqual({ state: 'shutdown', message: 'shutdown' });
  });
});

describe('portStatus', () => {
  it('reports the host port each published port got, once per address family pair', () => {
    const task = makeTask('t1', {
      Endpoint: {
        Ports: [
          { Name: 'web', TargetPort: 80, PublishedPort: 30080 },
          { TargetPort: 80, PublishedPort: 8081, PublishMode: 'host' },
          { TargetPort: 53, Protocol: 'udp', PublishMode: 'host' },
          { TargetPort: 99 }, // not bound (yet): left out
        ],
      },
    });
    const bound = (containerPort: number, hostPort: number, protocol: 'tcp' | 'udp' = 'tcp') => [
      { containerPort, protocol, hostIp: '0.0.0.0', hostPort },
      { containerPort, protocol, hostIp: '::', hostPort },
    ];
    expect(
      portStatus(task, [...bound(80, 8081), ...bound(80, 32768), ...bound(53, 32769, 'udp')]),
    ).toEqual([
      {
        Name: 'web',
        Protocol: 'tcp',
        TargetPort: 80,
        PublishedPort: 32768,
        PublishMode: 'ingress',
      },
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8081, PublishMode: 'host' },
      { Protocol: 'udp', TargetPort: 53, PublishedPort: 32769, PublishMode: 'host' },
    ]);
  });
});
