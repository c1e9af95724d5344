import { afterAll, describe, expect, it } from 'vitest';
import {
  ContainerConflictError,
  ContainerNotFoundError,
  DockerRuntime,
  EngineUnreachableError,
  ImageNotFoundError,
} from '../../../src/runtime/index.js';
import type { LogLine } from '../../../src/runtime/types.js';
import { engineFixture, firstEvent, justBefore, TEST_IMAGE } from '../../support/engine.js';

const engine = engineFixture();
const { runtime } = engine;

afterAll(async () => {
  await engine.cleanup();
  expect(await runtime.listContainers({ labels: engine.labels })).toEqual([]);
});

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

async function runToExit(args: string[]): Promise<string> {
  const since = justBefore();
  const id = await runtime.createContainer(engine.spec({ args }));
  await runtime.startContainer(id);
  await firstEvent(runtime, { since, labels: engine.labels, types: ['die'] }, (e) => {
    return e.containerId === id;
  });
  return id;
}

describe('DockerRuntime against the real engine', () => {
  it('reports the engine it talks to', async () => {
    await runtime.ping();
    const info = await runtime.info();
    expect(info.cpus).toBeGreaterThan(0);
    expect(info.memoryBytes).toBeGreaterThan(0);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(info.apiVersion).toMatch(/^1\.\d+$/);
    expect(await runtime.hasImage(TEST_IMAGE)).toBe(true);
  });

  it('creates, starts, inspects, stops and removes a container', async () => {
    const id = await runtime.createContainer(
      engine.spec({
        args: ['sh', '-c', 'trap "exit 0" TERM; echo "$GREETING"; sleep 60 & wait'],
        env: { GREETING: 'hello' },
        labels: { 'swarmts.task': 'task-1' },
        hostname: 'web-1',
      }),
    );
    expect(await runtime.inspectContainer(id)).toMatchObject({ id, state: 'created' });

    await runtime.startContainer(id);
    const running = await runtime.inspectContainer(id);
    expect(running.state).toBe('running');
    expect(running.pid).toBeGreaterThan(0);
    expect(running.labels['swarmts.task']).toBe('task-1');
    expect(running.image).toBe(TEST_IMAGE);

    // The shell traps SIGTERM and exits 0: the stop signal reached it before any SIGKILL.
    await runtime.stopContainer(id, { graceMs: 10_000 });
    const stopped = await runtime.inspectContainer(id);
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(stopped.finishedAt).toBeInstanceOf(Date);

    await runtime.stopContainer(id); // stopping a stopped container is not an error
    await runtime.removeContainer(id);
    await expect(runtime.inspectContainer(id)).rejects.toBeInstanceOf(ContainerNotFoundError);
    await runtime.removeContainer(id); // nor is removing an absent one
  });

  it('kills a container that ignores the stop signal once the grace period ends', async () => {
    const id = await runtime.createContainer(
      engine.spec({ args: ['sh', '-c', 'trap "" TERM; sleep 60 & wait; sleep 60'] }),
    );
    await runtime.startContainer(id);
    await runtime.stopContainer(id, { graceMs: 1000 });
    expect(await runtime.inspectContainer(id)).toMatchObject({ state: 'exited', exitCode: 137 });
  });

  it('reports a container that exits through the event stream, with its exit code', async () => {
    const since = justBefore();
    const id = await runtime.createContainer(engine.spec({ args: ['sh', '-c', 'exit 3'] }));
    await runtime.startContainer(id);
    const died = await firstEvent(
      runtime,
      { since, labels: engine.labels },
      (e) => e.type === 'die' && e.containerId === id,
    );
    expect(died).toMatchObject({ type: 'die', containerId: id, exitCode: 3 });
    expect(died.labels[Object.keys(engine.labels)[0]!]).toBe(engine.runId);
  });

  it('reports a container killed for exceeding its memory limit', async () => {
    const since = justBefore();
    const id = await runtime.createContainer(
      engine.spec({
        // Holds ~60 MB in a shell variable under an 8 MiB limit.
        args: ['sh', '-c', 'x=$(head -c 60000000 /dev/zero | tr "\\0" a); echo survived'],
        memoryBytes: 8 * 1024 * 1024,
      }),
    );
    await runtime.startContainer(id);
    const oom = await firstEvent(
      runtime,
      { since, labels: engine.labels },
      (e) => e.type === 'oom' && e.containerId === id,
    );
    expect(oom.type).toBe('oom');
    await firstEvent(runtime, { since, labels: engine.labels }, (e) => {
      return e.type === 'die' && e.containerId === id;
    });
    expect(await runtime.inspectContainer(id)).toMatchObject({ oomKilled: true, exitCode: 137 });
  });

  it('lists containers by label', async () => {
    const a1 = await runtime.createContainer(
      engine.spec({ args: ['true'], labels: { role: 'a' } }),
    );
    const a2 = await runtime.createContainer(
      engine.spec({ args: ['true'], labels: { role: 'a' } }),
    );
    const b = await runtime.createContainer(engine.spec({ args: ['true'], labels: { role: 'b' } }));

    const onlyA = await runtime.listContainers({ labels: { ...engine.labels, role: 'a' } });
    expect(onlyA.map((c) => c.id).sort()).toEqual([a1, a2].sort());
    const withRole = await runtime.listContainers({ labels: { ...engine.labels, role: true } });
    expect(withRole.map((c) => c.id).sort()).toEqual([a1, a2, b].sort());
    expect(onlyA[0]).toMatchObject({ state: 'created', image: TEST_IMAGE });
  });

  it('follows a health check from starting to healthy', async () => {
    const since = justBefore();
    const id = await runtime.createContainer(
      engine.spec({
        args: ['sh', '-c', 'sleep 0.5; touch /tmp/ready; sleep 60'],
        healthcheck: { test: ['CMD-SHELL', 'test -f /tmp/ready'], intervalMs: 100, retries: 3 },
      }),
    );
    await runtime.startContainer(id);
    const healthy = await firstEvent(
      runtime,
      { since, labels: engine.labels, types: ['health_status'] },
      (e) => e.containerId === id && e.type === 'health_status' && e.health === 'healthy',
    );
    expect(healthy.type).toBe('health_status');
    expect((await runtime.inspectContainer(id)).health).toBe('healthy');
  });

  it('reports an unhealthy container', async () => {
    const since = justBefore();
    const id = await runtime.createContainer(
      engine.spec({
        args: ['sleep', '60'],
        healthcheck: { test: ['CMD', 'false'], intervalMs: 100, retries: 1 },
      }),
    );
    await runtime.startContainer(id);
    await firstEvent(
      runtime,
      { since, labels: engine.labels, types: ['health_status'] },
      (e) => e.containerId === id && e.type === 'health_status' && e.health === 'unhealthy',
    );
    expect((await runtime.inspectContainer(id)).health).toBe('unhealthy');
  });

  it('reads logs: both streams, tail, timestamps', async () => {
    const id = await runToExit(['sh', '-c', 'echo out1; echo err1 >&2; echo out2']);

    const lines = await collect(runtime.logs(id));
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['out1', 'out2']);
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['err1']);

    const last = await collect(runtime.logs(id, { tail: 1 }));
    expect(last).toHaveLength(1);

    const stamped = await collect(runtime.logs(id, { timestamps: true }));
    expect(stamped).toHaveLength(3);
    for (const line of stamped) {
      expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
      expect(line.text).not.toMatch(/^\d{4}-/);
    }
  });

  it('follows logs until the container exits', async () => {
    const id = await runtime.createContainer(
      engine.spec({ args: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done'] }),
    );
    await runtime.startContainer(id);
    const lines = await collect(runtime.logs(id, { follow: true }));
    expect(lines.map((l) => l.text)).toEqual(['line1', 'line2', 'line3']);
  });

  it('stops following logs when the caller aborts', async () => {
    const id = await runtime.createContainer(
      engine.spec({ args: ['sh', '-c', 'echo first; sleep 60'] }),
    );
    await runtime.startContainer(id);
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const line of runtime.logs(id, { follow: true, signal: controller.signal })) {
      seen.push(line.text);
      controller.abort();
    }
    expect(seen).toEqual(['first']);
  });

  it('publishes a container port on a host port the engine picks', async () => {
    const since = justBefore();
    const id = await runtime.createContainer(
      engine.spec({
        args: ['httpd', '-f', '-p', '80', '-h', '/www'],
        ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' }],
        // Healthy means httpd answers, so the request below needs no retry loop.
        healthcheck: {
          test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1/'],
          intervalMs: 100,
        },
      }),
    );
    await runtime.startContainer(id);
    await firstEvent(
      runtime,
      { since, labels: engine.labels, types: ['health_status'] },
      (e) => e.containerId === id && e.type === 'health_status' && e.health === 'healthy',
    );
    const port = (await runtime.inspectContainer(id)).ports.find((p) => p.containerPort === 80);
    expect(port?.hostPort).toBeGreaterThan(0);
    const response = await fetch(`http://127.0.0.1:${port?.hostPort}/index.html`);
    expect(await response.text()).toBe('swarmts test image\n');
  });

  it('refuses a second container with the same name', async () => {
    const name = `swarmts-test-${engine.runId}`;
    await runtime.createContainer(engine.spec({ name, args: ['true'] }));
    await expect(
      runtime.createContainer(engine.spec({ name, args: ['true'] })),
    ).rejects.toBeInstanceOf(ContainerConflictError);
  });

  it('names a missing image, without a registry to pull from', async () => {
    const missing = 'swarmts/no-such-image:never';
    expect(await runtime.hasImage(missing)).toBe(false);
    const created = runtime.createContainer(engine.spec({ image: missing, args: ['true'] }));
    await expect(created).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(created).rejects.toThrow(missing);

    // A registry address on loopback that nothing serves: the pull fails at once.
    const unreachableRegistry = '127.0.0.1:9/swarmts/missing:1';
    const pulled = runtime.ensureImage(unreachableRegistry);
    await expect(pulled).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(pulled).rejects.toThrow(/no registry could serve it/);
  });

  it('says the engine is unreachable when nothing answers', async () => {
    const noSocket = new DockerRuntime({ dockerHost: 'unix:///nonexistent/docker.sock' });
    await expect(noSocket.ping()).rejects.toBeInstanceOf(EngineUnreachableError);
    await expect(noSocket.listContainers()).rejects.toThrow(/unix:\/\/\/nonexistent\/docker.sock/);

    const refused = new DockerRuntime({ dockerHost: 'tcp://127.0.0.1:1' });
    await expect(refused.info()).rejects.toBeInstanceOf(EngineUnreachableError);
  });
});
