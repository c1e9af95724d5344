import { describe, expect, it } from 'vitest';
import { toRuntimeError } from '../../../src/runtime/docker-errors.js';
import { parseDockerHost } from '../../../src/runtime/docker-host.js';
import { fromEvent, fromInspect, toCreateBody } from '../../../src/runtime/docker-mapping.js';
import {
  ContainerConflictError,
  ContainerNotFoundError,
  EngineError,
  EngineUnreachableError,
  ImageNotFoundError,
} from '../../../src/runtime/errors.js';

describe('toCreateBody', () => {
  it('maps a task-like spec to the Engine API body', () => {
    const body = toCreateBody({
      image: 'web:1',
      command: ['/entry'],
      args: ['--port', '80'],
      env: { A: '1' },
      labels: { 'swarmts.task': 't1' },
      ports: [
        { containerPort: 80, protocol: 'tcp', hostPort: 8080 },
        { containerPort: 53, protocol: 'udp' },
      ],
      mounts: [{ type: 'bind', source: '/srv', target: '/data', readOnly: true }],
      nanoCpus: 500_000_000,
      memoryBytes: 64 * 1024 * 1024,
      healthcheck: { test: ['CMD', 'true'], intervalMs: 100, timeoutMs: 50, retries: 2 },
      stopGraceMs: 1500,
      stopSignal: 'SIGQUIT',
    });
    expect(body).toMatchObject({
      Image: 'web:1',
      Entrypoint: ['/entry'],
      Cmd: ['--port', '80'],
      Env: ['A=1'],
      Labels: { 'swarmts.task': 't1' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      StopSignal: 'SIGQUIT',
      StopTimeout: 2,
      Healthcheck: {
        Test: ['CMD', 'true'],
        Interval: 100_000_000,
        Timeout: 50_000_000,
        Retries: 2,
      },
      HostConfig: {
        PortBindings: {
          '80/tcp': [{ HostIp: '', HostPort: '8080' }],
          '53/udp': [{ HostIp: '', HostPort: '' }],
        },
        Mounts: [{ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true }],
        NanoCpus: 500_000_000,
        Memory: 64 * 1024 * 1024,
        MemorySwap: 64 * 1024 * 1024,
        RestartPolicy: { Name: 'no' },
      },
    });
  });

  it('leaves the image defaults alone when the spec is silent', () => {
    const body = toCreateBody({ image: 'web:1' });
    expect(body).toEqual({ Image: 'web:1', HostConfig: { RestartPolicy: { Name: 'no' } } });
  });
});

describe('fromInspect', () => {
  it('reads state, health and published ports; a zero date means never', () => {
    const info = fromInspect({
      Id: 'abc',
      Name: '/web.1',
      Config: { Image: 'web:1', Labels: { a: 'b' } },
      State: {
        Status: 'running',
        Pid: 42,
        ExitCode: 0,
        StartedAt: '2026-11-25T18:00:00.5Z',
        FinishedAt: '0001-01-01T00:00:00Z',
        Health: { Status: 'healthy' },
      },
      NetworkSettings: {
        Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }], '81/tcp': null },
      },
    });
    expect(info).toMatchObject({
      id: 'abc',
      name: 'web.1',
      state: 'running',
      health: 'healthy',
      pid: 42,
    });
    expect(info.startedAt?.toISOString()).toBe('2026-11-25T18:00:00.500Z');
    expect(info.finishedAt).toBeUndefined();
    expect(info.ports).toEqual([
      { containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 32768 },
    ]);
  });
});

describe('fromEvent', () => {
  const actor = (attributes: Record<string, string>) => ({ ID: 'c1', Attributes: attributes });

  it('reads the exit code of a die event and separates labels from attributes', () => {
    // Parsed from text as the engine sends it: timeNano is beyond a double's exact range.
    const event = fromEvent(
      JSON.parse(
        JSON.stringify({
          Type: 'container',
          Action: 'die',
          Actor: actor({ exitCode: '3', image: 'web:1', name: 'x', 'swarmts.task': 't1' }),
        }).replace(/}$/, ',"timeNano":1795631041695377685}'),
      ),
    );
    expect(event).toMatchObject({
      type: 'die',
      containerId: 'c1',
      exitCode: 3,
      labels: { 'swarmts.task': 't1' },
    });
    expect(event?.time.getTime()).toBe(1_795_631_041_695);
  });

  it('reads the health status out of the action text', () => {
    const event = fromEvent({
      Type: 'container',
      Action: 'health_status: unhealthy',
      Actor: actor({}),
      time: 1,
    });
    expect(event).toMatchObject({ type: 'health_status', health: 'unhealthy' });
  });

  it('ignores events it does not follow and garbage', () => {
    expect(fromEvent({ Type: 'network', Action: 'connect', Actor: actor({}) })).toBeUndefined();
    expect(
      fromEvent({ Type: 'container', Action: 'exec_start: sh', Actor: actor({}) }),
    ).toBeUndefined();
    expect(fromEvent('nonsense')).toBeUndefined();
  });
});

describe('parseDockerHost', () => {
  it('accepts unix sockets and tcp addresses', () => {
    expect(parseDockerHost('unix:///run/docker.sock')).toEqual({
      kind: 'unix',
      socketPath: '/run/docker.sock',
    });
    expect(parseDockerHost('/run/docker.sock')).toEqual({
      kind: 'unix',
      socketPath: '/run/docker.sock',
    });
    expect(parseDockerHost('tcp://10.0.0.1:2376')).toEqual({
      kind: 'tcp',
      host: '10.0.0.1',
      port: 2376,
    });
    expect(parseDockerHost('tcp://[::1]')).toEqual({ kind: 'tcp', host: '::1', port: 2375 });
  });

  it('refuses what it cannot reach, naming the address', () => {
    expect(() => parseDockerHost('ssh://host')).toThrow('invalid Docker host "ssh://host"');
    expect(() => parseDockerHost('unix://relative.sock')).toThrow(/must be absolute/);
  });
});

describe('toRuntimeError', () => {
  const endpoint = 'unix:///var/run/docker.sock';

  it('names the engine when nothing answers', () => {
    const error = toRuntimeError(
      Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      endpoint,
    );
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(error.message).toBe(`Docker engine at ${endpoint} is unreachable: ECONNREFUSED`);
  });

  it('tells a missing image from a missing container by what was asked', () => {
    const notFound = { statusCode: 404, json: { message: 'No such thing' } };
    expect(toRuntimeError(notFound, endpoint, { kind: 'image', ref: 'web:1' })).toBeInstanceOf(
      ImageNotFoundError,
    );
    expect(toRuntimeError(notFound, endpoint, { kind: 'container', id: 'c1' })).toBeInstanceOf(
      ContainerNotFoundError,
    );
  });

  it('keeps the engine message on conflicts and other failures', () => {
    const conflict = toRuntimeError(
      { statusCode: 409, json: { message: 'name in use' } },
      endpoint,
      {
        kind: 'container',
        id: 'web',
      },
    );
    expect(conflict).toBeInstanceOf(ContainerConflictError);
    expect(conflict.message).toBe('container web: name in use');
    const other = toRuntimeError({ statusCode: 500, reason: 'server error' }, endpoint);
    expect(other).toBeInstanceOf(EngineError);
    expect(other.message).toContain('server error');
  });
});
