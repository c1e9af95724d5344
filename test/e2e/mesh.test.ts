/**
 * The routing mesh on three test hosts with real engines: a published port answers on every
 * node, whichever nodes run the service, and keeps answering through a killed container and
 * a rolling update; host mode publishes on the task's node only; PROXY v2 tells the backend
 * who the client is. Requests come from this machine (the bridge), as a user's would.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentOnHost, type TestAgent, waitUntil } from '../../cluster/agents.js';
import { createTestHosts, DEFAULT_TEST_IMAGE, type TestHosts } from '../../cluster/test-hosts.js';
import type { Service, ServiceSpec, Task } from '../../src/state/index.js';
import { loadUdpEchoImage, UDP_ECHO_IMAGE } from '../support/udp-echo-image.js';

let hosts: TestHosts;
let agents: TestAgent[] = [];
const NAMES = ['m0', 'w1', 'w2'];
const manager = () => agents[0]!;
const addresses = () => hosts.hosts.map((h) => h.address);

/** busybox httpd answering with its container's hostname. */
function web(name: string, replicas: number, publish: ServiceSpec['EndpointSpec']): ServiceSpec {
  return {
    Name: name,
    Labels: {},
    TaskTemplate: {
      ContainerSpec: {
        Image: DEFAULT_TEST_IMAGE,
        Args: [
          'sh',
          '-c',
          'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www',
        ],
        StopGracePeriod: 1e9,
      },
      RestartPolicy: { Condition: 'any', Delay: 0 },
      Placement: { Constraints: ['node.hostname!=w2'] },
    },
    Mode: { Replicated: { Replicas: replicas } },
    EndpointSpec: publish,
  };
}

async function create(spec: ServiceSpec): Promise<string> {
  return (await manager().client.post<{ ID: string }>('/services/create', spec)).ID;
}

async function update(id: string, change: (s: ServiceSpec) => ServiceSpec): Promise<void> {
  const current = await manager().client.get<Service>(`/services/${id}`);
  await manager().client.post(`/services/${id}/update`, change(current.Spec), {
    version: String(current.Version.Index),
  });
}

async function running(id: string): Promise<Task[]> {
  const tasks = await manager().client.get<Task[]>('/tasks', {
    filters: JSON.stringify({ service: [id] }),
  });
  return tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
}

/** One request on a new connection; the body, or the error's code. */
async function get(address: string, port: number): Promise<string> {
  try {
    const response = await fetch(`http://${address}:${port}/`, {
      signal: AbortSignal.timeout(3000),
      headers: { connection: 'close' },
    });
    return (await response.text()).trim();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return `error: ${cause?.code ?? String(error)}`;
  }
}

/** Every node answers on the port, through the mesh, with a body from the service. */
async function meshAnswers(port: number, from: Set<string>): Promise<boolean> {
  for (const address of addresses()) {
    const body = await get(address, port);
    if (!from.has(body)) return false;
  }
  return true;
}

async function containerNames(id: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const t of await running(id)) names.add(t.Status.ContainerStatus!.ContainerID!.slice(0, 12));
  return names;
}

beforeAll(async () => {
  hosts = await createTestHosts({ count: NAMES.length, name: 'mesh' });
  agents = NAMES.map((name, i) => agentOnHost(hosts.hosts[i]!, name));
  await Promise.all(agents.map((a) => a.start(30_000)));
  await manager().init(hosts.hosts[0]!.address);
  const tokens = (await manager().swarm()).JoinTokens;
  for (const a of agents.slice(1)) await a.join(tokens.Worker, manager());
  await waitUntil(
    async () => {
      const nodes = await manager().nodes();
      return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready');
    },
    20_000,
    'three ready nodes',
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await hosts?.destroy();
}, 120_000);

describe('the routing mesh', () => {
  it('answers on every node, reaches both replicas, and survives a killed container and a rolling update', async () => {
    const id = await create(web('web', 2, { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] }));
    let replicas = new Set<string>();
    await waitUntil(
      async () => {
        replicas = await containerNames(id);
        return replicas.size === 2 && (await meshAnswers(8080, replicas));
      },
      30_000,
      'every node answering on 8080',
    );
    // w2 runs no task and still answers; across requests both replicas do.
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await get(hosts.hosts[2]!.address, 8080));
    expect(seen).toEqual(replicas);

    // A replica's container killed behind the orchestrator's back: nothing fails.
    const victim = (await running(id))[0]!;
    const host =
      hosts.hosts[NAMES.indexOf((await manager().node(victim.NodeID)).Description.Hostname)]!;
    await host.docker().getContainer(victim.Status.ContainerStatus!.ContainerID!).kill();
    for (let i = 0; i < 20; i++) {
      expect(await get(addresses()[i % 3]!, 8080)).not.toMatch(/^error/);
    }

    // A rolling update under a steady client: no request fails.
    await waitUntil(async () => (await running(id)).length === 2, 30_000, 'two replicas again');
    const failures: string[] = [];
    let requests = 0;
    let done = false;
    const client = (async () => {
      while (!done) {
        const body = await get(addresses()[requests % 3]!, 8080);
        requests++;
        if (body.startsWith('error')) failures.push(body);
      }
    })();
    await update(id, (s) => ({
      ...s,
      TaskTemplate: { ...s.TaskTemplate, ForceUpdate: 1 },
      UpdateConfig: { Parallelism: 1, Monitor: 1e9, Order: 'stop-first' },
    }));
    await waitUntil(
      async () =>
        (await manager().client.get<Service>(`/services/${id}`)).UpdateStatus?.State ===
        'completed',
      60_000,
      'the update completed',
    );
    done = true;
    await client;
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(10);

    // Scaled to zero: a connection is closed at once, not left hanging.
    await update(id, (s) => ({ ...s, Mode: { Replicated: { Replicas: 0 } } }));
    await waitUntil(async () => (await running(id)).length === 0, 30_000, 'no replica');
    await waitUntil(
      async () => (await get(addresses()[1]!, 8080)).startsWith('error'),
      10_000,
      'the mesh has no backend',
    );
    const started = performance.now();
    expect(await get(addresses()[2]!, 8080)).toMatch(/^error/);
    expect(performance.now() - started).toBeLessThan(1000);
    await manager().client.delete(`/services/${id}`);
  }, 180_000);

  it('publishes a host-mode port only on the nodes that run a task', async () => {
    const spec = web('hostmode', 1, {
      Ports: [{ TargetPort: 80, PublishedPort: 8081, PublishMode: 'host' }],
    });
    const id = await create(spec);
    let task: Task | undefined;
    await waitUntil(
      async () => {
        task = (await running(id))[0];
        return task !== undefined;
      },
      30_000,
      'a running task',
    );
    const on = (await manager().node(task!.NodeID)).Description.Hostname;
    for (const [i, name] of NAMES.entries()) {
      const body = await get(addresses()[i]!, 8081);
      if (name === on) expect(body).not.toMatch(/^error/);
      else expect(body).toMatch(/^error/);
    }
    await manager().client.delete(`/services/${id}`);
  }, 90_000);

  it('tells the backend the client address with PROXY protocol v2', async () => {
    const id = await create({
      Name: 'proxied',
      Labels: {},
      TaskTemplate: {
        // Answers each connection with the hex of its first 28 bytes: the PROXY v2 header.
        ContainerSpec: {
          Image: DEFAULT_TEST_IMAGE,
          Args: ['nc', '-ll', '-p', '80', '-e', 'sh', '-c', 'head -c 28 | xxd -p | tr -d "\\n"'],
          StopGracePeriod: 1e9,
        },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: {
        Ports: [{ TargetPort: 80, PublishedPort: 8082, ProxyProtocol: 'v2' }],
      },
    });
    const exchange = () =>
      new Promise<{ hex: string; local: { address: string; port: number } }>((resolve, reject) => {
        const socket = connect({ host: addresses()[1]!, port: 8082 });
        let hex = '';
        let local = { address: '', port: 0 };
        socket.on('connect', () => {
          local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
        });
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          hex += chunk;
        });
        socket.on('close', () => resolve({ hex, local }));
        socket.on('error', reject);
        socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
      });
    let answer = { hex: '', local: { address: '', port: 0 } };
    await waitUntil(
      async () => {
        answer = await exchange().catch(() => answer);
        return answer.hex.length === 56;
      },
      30_000,
      'a PROXY header echoed back',
    );
    const header = Buffer.from(answer.hex, 'hex');
    expect(header.subarray(0, 12).toString('binary')).toBe('\r\n\r\n\0\r\nQUIT\n');
    expect(header[12]).toBe(0x21); // version 2, PROXY
    expect(header[13]).toBe(0x11); // TCP over IPv4
    const source = [...header.subarray(16, 20)].join('.');
    expect(source).toBe(answer.local.address.replace(/^::ffff:/, ''));
    expect(header.readUInt16BE(24)).toBe(answer.local.port);
    await manager().client.delete(`/services/${id}`);
  }, 90_000);

  it('carries UDP: an echo on one node answers through every node', async () => {
    await Promise.all(hosts.hosts.map((h) => loadUdpEchoImage(h.docker())));
    const id = await create({
      Name: 'udpecho',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: UDP_ECHO_IMAGE, StopGracePeriod: 1e9 },
        Placement: { Constraints: ['node.hostname==m0'] },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Ports: [{ TargetPort: 7, PublishedPort: 8083, Protocol: 'udp' }] },
    });
    const echo = (address: string, text: string) =>
      new Promise<string>((resolve) => {
        const socket = createSocket('udp4');
        const timer = setTimeout(() => {
          socket.close();
          resolve('timeout');
        }, 500);
        socket.on('message', (message) => {
          clearTimeout(timer);
          socket.close();
          resolve(message.toString());
        });
        socket.send(text, 8083, address);
      });
    for (const [i, address] of addresses().entries()) {
      // Datagrams may be lost until the mesh knows the task: retry for a while.
      let answer = '';
      await waitUntil(
        async () => {
          answer = await echo(address, `ping ${i}`);
          return answer !== 'timeout';
        },
        30_000,
        `an echo through ${NAMES[i]}`,
      );
      expect(answer).toBe(`ping ${i}`);
    }
    await manager().client.delete(`/services/${id}`);
  }, 90_000);
});
