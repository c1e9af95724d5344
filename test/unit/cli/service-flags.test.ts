import { describe, expect, it } from 'vitest';
import {
  applyOptions,
  parseMount,
  parsePlacementPref,
  parsePublish,
  parseServiceFlags,
  type ServiceFlags,
  specFromOptions,
  withReplicas,
} from '../../../src/cli/service/flags-to-spec.js';
import type { ServiceSpec } from '../../../src/state/service-types.js';
import {
  formatCpus,
  formatDuration,
  humanDuration,
  parseBytes,
  parseCpus,
  parseDuration,
  shellWords,
} from '../../../src/units.js';

describe('durations', () => {
  it('parses Go durations into nanoseconds', () => {
    expect(parseDuration('300ms')).toBe(300_000_000);
    expect(parseDuration('5s')).toBe(5_000_000_000);
    expect(parseDuration('1m30s')).toBe(90_000_000_000);
    expect(parseDuration('2h')).toBe(7_200_000_000_000);
    expect(parseDuration('1.5s')).toBe(1_500_000_000);
    expect(parseDuration('1h2m3s4ms5us6ns')).toBe(3_723_004_005_006);
    expect(parseDuration('10µs')).toBe(10_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('-5s')).toBe(-5_000_000_000);
  });

  it('refuses what Go refuses, in its words', () => {
    expect(() => parseDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseDuration('5')).toThrow('time: missing unit in duration "5"');
    expect(() => parseDuration('5x')).toThrow('time: unknown unit "x" in duration "5x"');
    expect(() => parseDuration('s')).toThrow('time: invalid duration "s"');
    expect(() => parseDuration('1m 30s')).toThrow('time: unknown unit "m " in duration "1m 30s"');
  });

  it("prints them as Go's Duration.String", () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(300_000_000)).toBe('300ms');
    expect(formatDuration(5_000_000_000)).toBe('5s');
    expect(formatDuration(90_000_000_000)).toBe('1m30s');
    expect(formatDuration(7_200_000_000_000)).toBe('2h0m0s');
    expect(formatDuration(1_500_000_000)).toBe('1.5s');
    expect(formatDuration(1_500)).toBe('1.5µs');
    expect(formatDuration(12)).toBe('12ns');
  });

  it("words an age as docker's HumanDuration", () => {
    expect(humanDuration(500)).toBe('less than a second');
    expect(humanDuration(1_000)).toBe('1 second');
    expect(humanDuration(5_900)).toBe('5 seconds');
    expect(humanDuration(60_000)).toBe('about a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(3_600_000)).toBe('about an hour');
    expect(humanDuration(3 * 3_600_000)).toBe('3 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(humanDuration(21 * 86_400_000)).toBe('3 weeks');
  });
});

describe('sizes and cpus', () => {
  it("parses memory sizes as docker's RAMInBytes (binary units)", () => {
    expect(parseBytes('512M')).toBe(512 * 1024 ** 2);
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('512mb')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1g')).toBe(1024 ** 3);
    expect(parseBytes('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('64k')).toBe(65_536);
    expect(parseBytes('100')).toBe(100);
    expect(parseBytes('100b')).toBe(100);
    for (const bad of ['', 'lots', '-1g', '1x', '1.g']) {
      expect(() => parseBytes(bad)).toThrow(`invalid size: '${bad}'`);
    }
  });

  it('parses decimal CPUs into NanoCPUs and prints them back', () => {
    expect(parseCpus('0.5')).toBe(500_000_000);
    expect(parseCpus('2')).toBe(2_000_000_000);
    expect(parseCpus('1.25')).toBe(1_250_000_000);
    expect(parseCpus('0.000000001')).toBe(1);
    expect(() => parseCpus('0.0000000001')).toThrow('value is too precise');
    expect(() => parseCpus('half')).toThrow('failed to parse half as a rational number');
    expect(() => parseCpus('-1')).toThrow('failed to parse -1 as a rational number');
    expect(formatCpus(500_000_000)).toBe('0.5');
    expect(formatCpus(2_000_000_000)).toBe('2');
  });

  it('splits command lines as a shell would, without expansion', () => {
    expect(shellWords('sh -c "echo hi there"')).toEqual(['sh', '-c', 'echo hi there']);
    expect(shellWords(`a 'b c' d\\ e "x\\"y" ''`)).toEqual(['a', 'b c', 'd e', 'x"y', '']);
    expect(shellWords('  ')).toEqual([]);
    expect(() => shellWords('"open')).toThrow('unterminated quoted string');
  });
});

describe('--publish', () => {
  it('reads the short forms', () => {
    expect(parsePublish('8080:80')).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
    ]);
    expect(parsePublish('53:53/udp')).toEqual([
      { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' },
    ]);
    expect(parsePublish('80')).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' },
    ]);
    expect(parsePublish('8080-8081:80-81')).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8081, PublishMode: 'ingress' },
    ]);
  });

  it('reads the long form', () => {
    expect(parsePublish('published=8080,target=80,protocol=udp,mode=host')).toEqual([
      { Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
    ]);
    expect(parsePublish('target=80')).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' },
    ]);
  });

  it('reads the PROXY protocol option, for tcp ingress ports only', () => {
    expect(parsePublish('published=8080,target=80,proxy-protocol=v2')).toEqual([
      {
        Protocol: 'tcp',
        TargetPort: 80,
        PublishedPort: 8080,
        PublishMode: 'ingress',
        ProxyProtocol: 'v2',
      },
    ]);
    expect(() => parsePublish('target=80,proxy-protocol=v1')).toThrow(
      'invalid proxy-protocol "v1"',
    );
    expect(() => parsePublish('target=80,mode=host,proxy-protocol=v2')).toThrow(
      'proxy-protocol needs a tcp port in ingress mode',
    );
  });

  it('refuses bad ports, protocols, modes and fields', () => {
    expect(() => parsePublish('0:80')).toThrow('invalid published port "0"');
    expect(() => parsePublish('8080:70000')).toThrow('invalid target port "70000"');
    expect(() => parsePublish('8080:80/icmp')).toThrow('invalid protocol "icmp"');
    expect(() => parsePublish('1.2.3.4:8080:80')).toThrow('hostip is not supported');
    expect(() => parsePublish('8080-8082:80-81')).toThrow('invalid ranges');
    expect(() => parsePublish('published=8080')).toThrow('missing mandatory field "target"');
    expect(() => parsePublish('target=80,mode=bridge')).toThrow('invalid mode "bridge"');
    expect(() => parsePublish('target=80,color=red')).toThrow('invalid field key color');
  });
});

describe('--mount', () => {
  it('reads type, source, target and read-only under all their names', () => {
    expect(parseMount('type=bind,source=/srv,target=/data,readonly')).toEqual({
      Type: 'bind',
      Source: '/srv',
      Target: '/data',
      ReadOnly: true,
    });
    expect(parseMount('src=vol,dst=/data')).toEqual({
      Type: 'volume',
      Source: 'vol',
      Target: '/data',
    });
    expect(parseMount('type=tmpfs,destination=/tmp,ro=false')).toEqual({
      Type: 'tmpfs',
      Target: '/tmp',
    });
    expect(parseMount('type=volume,source=v,target=/v,ro=1')).toMatchObject({ ReadOnly: true });
  });

  it('refuses what cannot be mounted', () => {
    expect(() => parseMount('type=bind,source=/srv')).toThrow('target is required');
    expect(() => parseMount('type=bind,target=/data')).toThrow('source is required');
    expect(() => parseMount('type=tmpfs,source=x,target=/t')).toThrow('takes no source');
    expect(() => parseMount('type=nfs,target=/t')).toThrow('invalid mount type "nfs"');
    expect(() => parseMount('target=/t,color=red')).toThrow("unexpected key 'color'");
    expect(() => parseMount('target=/t,ro=maybe')).toThrow('invalid boolean "maybe"');
    expect(() => parseMount('target=/t,shared')).toThrow("invalid field 'shared'");
  });
});

describe('--placement-pref', () => {
  it('reads spread preferences only', () => {
    expect(parsePlacementPref('spread=node.labels.zone')).toEqual({
      Spread: { SpreadDescriptor: 'node.labels.zone' },
    });
    expect(() => parsePlacementPref('spread')).toThrow('must be of the format');
    expect(() => parsePlacementPref('pack=node.labels.zone')).toThrow(
      'unsupported placement preference pack (only spread is supported)',
    );
  });
});

describe('service create flags → spec', () => {
  const create = (flags: ServiceFlags, args: string[] = [], env = {}) =>
    specFromOptions('nginx:1.27', args, parseServiceFlags(flags, env));

  it('builds the minimal spec: one replica, no name when none is given', () => {
    expect(create({})).toEqual({
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' } },
      Mode: { Replicated: { Replicas: 1 } },
    });
  });

  it('maps every mode', () => {
    expect(create({ mode: 'global' }).Mode).toEqual({ Global: {} });
    expect(create({ mode: 'global-job' }).Mode).toEqual({ GlobalJob: {} });
    expect(create({ mode: 'replicated-job', replicas: '10', maxConcurrent: '2' }).Mode).toEqual({
      ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 10 },
    });
    expect(create({ mode: 'replicated-job', replicas: '3' }).Mode).toEqual({
      ReplicatedJob: { MaxConcurrent: 3, TotalCompletions: 3 },
    });
    expect(create({ mode: 'REPLICATED', replicas: '0' }).Mode).toEqual({
      Replicated: { Replicas: 0 },
    });
  });

  it('refuses flags that do not fit the mode', () => {
    expect(() => create({ mode: 'global', replicas: '2' })).toThrow(
      'replicas can only be used with replicated or replicated-job mode',
    );
    expect(() => create({ maxConcurrent: '2' })).toThrow(
      'max-concurrent can only be used with replicated-job mode',
    );
    expect(() => create({ mode: 'global', replicasMaxPerNode: '1' })).toThrow(
      'replicas-max-per-node can only be used with replicated mode',
    );
    expect(() => create({ mode: 'cluster' })).toThrow(
      'invalid argument "cluster" for "--mode" flag: must be one of replicated, global, replicated-job, global-job',
    );
  });

  it('takes the command and arguments after the image, and the entrypoint as words', () => {
    const spec = create({ entrypoint: '/bin/sh -c' }, ['echo', 'hi']);
    expect(spec.TaskTemplate.ContainerSpec).toEqual({
      Image: 'nginx:1.27',
      Command: ['/bin/sh', '-c'],
      Args: ['echo', 'hi'],
    });
  });

  it('fills the environment from the CLI for a bare KEY, as docker does', () => {
    const spec = create({ env: ['A=1', 'HOME', 'UNSET', 'B=x=y'] }, [], { HOME: '/root' });
    expect(spec.TaskTemplate.ContainerSpec.Env).toEqual(['A=1', 'HOME=/root', 'UNSET', 'B=x=y']);
    expect(() => create({ env: ['=1'] })).toThrow(
      'invalid argument "=1" for "--env" flag: invalid environment variable: =1',
    );
  });

  it('names the flag in every value error', () => {
    const cases: Array<[ServiceFlags, string]> = [
      [{ replicas: '-1' }, 'invalid argument "-1" for "--replicas" flag'],
      [{ replicas: 'three' }, 'invalid argument "three" for "--replicas" flag'],
      [{ reserveCpu: 'lots' }, 'invalid argument "lots" for "--reserve-cpu" flag'],
      [
        { limitMemory: '1x' },
        `invalid argument "1x" for "--limit-memory" flag: invalid size: '1x'`,
      ],
      [
        { restartDelay: '5' },
        'invalid argument "5" for "--restart-delay" flag: time: missing unit',
      ],
      [{ restartDelay: '-5s' }, 'for "--restart-delay" flag: duration cannot be negative'],
      [{ restartCondition: 'always' }, 'for "--restart-condition" flag: must be one of none'],
      [{ updateOrder: 'random' }, 'for "--update-order" flag'],
      [{ rollbackFailureAction: 'rollback' }, 'for "--rollback-failure-action" flag'],
      [{ updateMaxFailureRatio: '2' }, 'for "--update-max-failure-ratio" flag'],
      [{ publish: ['80:x'] }, 'invalid argument "80:x" for "--publish" flag'],
      [{ mount: ['type=bind'] }, 'invalid argument "type=bind" for "--mount" flag'],
      [{ placementPref: ['x'] }, 'invalid argument "x" for "--placement-pref" flag'],
      [{ label: ['=v'] }, 'invalid argument "=v" for "--label" flag'],
      [{ constraint: [' '] }, 'for "--constraint" flag: must not be empty'],
      [{ healthRetries: 'x' }, 'for "--health-retries" flag'],
      [{ entrypoint: '"sh' }, 'for "--entrypoint" flag: unterminated quoted string'],
      [{ name: '-web' }, 'invalid argument "-web" for "--name" flag'],
    ];
    for (const [flags, message] of cases) expect(() => create(flags)).toThrow(message);
  });

  it('refuses --no-healthcheck with --health-* options', () => {
    expect(() => create({ healthcheck: false, healthCmd: 'true' })).toThrow(
      '--no-healthcheck conflicts with --health-* options',
    );
    expect(create({ healthcheck: false }).TaskTemplate.ContainerSpec.Healthcheck).toEqual({
      Test: ['NONE'],
    });
  });

  it('builds a rich spec from a rich command line', () => {
    const spec = create({
      name: 'web',
      replicas: '3',
      env: ['A=1'],
      label: ['tier=front', 'beta'],
      containerLabel: ['c=1'],
      constraint: ['node.role==worker', 'node.labels.zone!=c'],
      placementPref: ['spread=node.labels.zone'],
      replicasMaxPerNode: '2',
      publish: ['8080:80', 'published=9443,target=443,mode=host'],
      mount: ['type=volume,source=data,target=/data'],
      reserveCpu: '0.5',
      reserveMemory: '512M',
      limitCpu: '1',
      limitMemory: '1g',
      restartCondition: 'on-failure',
      restartDelay: '10s',
      restartMaxAttempts: '3',
      restartWindow: '2m',
      updateParallelism: '2',
      updateDelay: '1m30s',
      updateOrder: 'start-first',
      updateFailureAction: 'rollback',
      updateMonitor: '10s',
      updateMaxFailureRatio: '0.25',
      rollbackParallelism: '0',
      rollbackFailureAction: 'continue',
      healthCmd: 'curl -f http://localhost/',
      healthInterval: '5s',
      healthTimeout: '2s',
      healthRetries: '3',
      healthStartPeriod: '30s',
      stopGracePeriod: '20s',
      user: 'nobody',
      workdir: '/app',
      hostname: 'web-host',
    });
    expect(spec).toEqual({
      Name: 'web',
      Labels: { tier: 'front', beta: '' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'nginx:1.27',
          Labels: { c: '1' },
          Hostname: 'web-host',
          Env: ['A=1'],
          Dir: '/app',
          User: 'nobody',
          Mounts: [{ Type: 'volume', Source: 'data', Target: '/data' }],
          StopGracePeriod: 20_000_000_000,
          Healthcheck: {
            Test: ['CMD-SHELL', 'curl -f http://localhost/'],
            Interval: 5_000_000_000,
            Timeout: 2_000_000_000,
            Retries: 3,
            StartPeriod: 30_000_000_000,
          },
        },
        Resources: {
          Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 536_870_912 },
          Limits: { NanoCPUs: 1_000_000_000, MemoryBytes: 1_073_741_824 },
        },
        RestartPolicy: {
          Condition: 'on-failure',
          Delay: 10_000_000_000,
          MaxAttempts: 3,
          Window: 120_000_000_000,
        },
        Placement: {
          Constraints: ['node.role==worker', 'node.labels.zone!=c'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
          MaxReplicas: 2,
        },
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: {
        Parallelism: 2,
        Delay: 90_000_000_000,
        Order: 'start-first',
        FailureAction: 'rollback',
        Monitor: 10_000_000_000,
        MaxFailureRatio: 0.25,
      },
      RollbackConfig: { Parallelism: 0, FailureAction: 'continue' },
      EndpointSpec: {
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 443, PublishedPort: 9443, PublishMode: 'host' },
        ],
      },
    });
  });

  it('refuses the update-only flags', () => {
    expect(() => create({ envRm: ['A'] })).toThrow('unknown flag: --env-rm');
    expect(() => create({ force: true })).toThrow('unknown flag: --force');
  });
});

describe('service update flags → spec', () => {
  const current: ServiceSpec = {
    Name: 'web',
    Labels: { tier: 'front', old: '1' },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'nginx:1.26',
        Env: ['A=1', 'B=2'],
        Labels: { c: '1' },
        Mounts: [
          { Type: 'volume', Source: 'data', Target: '/data' },
          { Type: 'tmpfs', Target: '/tmp' },
        ],
        Healthcheck: { Test: ['NONE'] },
      },
      Resources: { Reservations: { NanoCPUs: 500_000_000 } },
      RestartPolicy: { Condition: 'any', Delay: 5_000_000_000 },
      Placement: { Constraints: ['node.role==worker'] },
      ForceUpdate: 2,
    },
    Mode: { Replicated: { Replicas: 3 } },
    UpdateConfig: { Parallelism: 1, Order: 'stop-first' },
    EndpointSpec: {
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' },
      ],
    },
  };
  const update = (flags: ServiceFlags) => applyOptions(current, parseServiceFlags(flags));

  it('leaves the spec as it is without flags', () => {
    expect(update({})).toEqual(current);
  });

  it('adds, replaces and removes list entries by their keys', () => {
    const spec = update({
      image: 'nginx:1.27',
      envAdd: ['B=3', 'C=4'],
      envRm: ['A'],
      labelAdd: ['new=2', 'tier=back'],
      labelRm: ['old', 'missing'],
      containerLabelAdd: ['d=2'],
      containerLabelRm: ['c'],
      constraintAdd: ['node.labels.ssd==true'],
      constraintRm: ['node.role==worker'],
      placementPrefAdd: ['spread=node.labels.zone'],
      mountAdd: ['type=bind,source=/srv,target=/data,ro'],
      mountRm: ['/tmp'],
      publishRm: ['80'],
      publishAdd: ['9090:80', '53:53/udp'],
      reserveMemory: '256m',
      restartMaxAttempts: '5',
      updateDelay: '10s',
      healthCmd: 'true',
      force: true,
    });
    expect(spec).toEqual({
      Name: 'web',
      Labels: { tier: 'back', new: '2' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'nginx:1.27',
          Env: ['B=3', 'C=4'],
          Labels: { d: '2' },
          Mounts: [{ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true }],
          Healthcheck: { Test: ['CMD-SHELL', 'true'] },
        },
        Resources: { Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 268_435_456 } },
        RestartPolicy: { Condition: 'any', Delay: 5_000_000_000, MaxAttempts: 5 },
        Placement: {
          Constraints: ['node.labels.ssd==true'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
        },
        ForceUpdate: 3,
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, Order: 'stop-first', Delay: 10_000_000_000 },
      EndpointSpec: {
        Ports: [
          { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 9090, PublishMode: 'ingress' },
        ],
      },
    });
  });

  it('drops emptied lists, and --args/--entrypoint replace the command', () => {
    const spec = update({
      envRm: ['A', 'B'],
      constraintRm: ['node.role==worker'],
      publishRm: ['8080:80', '53/udp'],
      args: 'ping -c 3 "example.com"',
      entrypoint: '',
    });
    expect(spec.TaskTemplate.ContainerSpec.Env).toBeUndefined();
    expect(spec.TaskTemplate.Placement).toBeUndefined();
    expect(spec.EndpointSpec).toBeUndefined();
    expect(spec.TaskTemplate.ContainerSpec.Args).toEqual(['ping', '-c', '3', 'example.com']);
    expect(spec.TaskTemplate.ContainerSpec.Command).toBeUndefined();
  });

  it('sets replicas of replicated services and jobs, and refuses global ones', () => {
    expect(withReplicas(current, 5).Mode).toEqual({ Replicated: { Replicas: 5 } });
    expect(
      withReplicas({ ...current, Mode: { ReplicatedJob: { MaxConcurrent: 2 } } }, 9).Mode,
    ).toEqual({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 9 } });
    expect(() => withReplicas({ ...current, Mode: { Global: {} } }, 2)).toThrow(
      'replicas can only be used with replicated or replicated-job mode',
    );
  });
});
