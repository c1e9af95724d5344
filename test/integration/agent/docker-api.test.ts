/**
 * One agent on loopback (a real process, the real HTTP server on its unix socket), asked as a
 * Docker client asks: plain HTTP with version-prefixed paths and Go's JSON (nulls, empty
 * strings). Checks the version negotiation headers, the engine endpoints it does not serve,
 * and that Docker-shaped bodies are read as Docker reads them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent } from '../../../cluster/agents.js';

let dir: string;
let agent: TestAgent;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request over the socket; a hang fails it after 10 s instead of waiting forever. */
function http(method: string, path: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: agent.socket,
        path,
        method,
        timeout: 10_000,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const json = (answer: Answer): Record<string, unknown> =>
  JSON.parse(answer.text) as Record<string, unknown>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmts-docker-api-'));
  agent = new TestAgent({
    name: 'd1',
    dir: join(dir, 'd1'),
    listen: `127.0.0.1:${await freePort()}`,
  });
  await agent.start();
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the control socket, as Docker's clients see it", () => {
  it('answers /_ping with the API version and an inactive swarm before init', async () => {
    const ping = await http('GET', '/v1.41/_ping');
    expect(ping.status).toBe(200);
    expect(ping.text).toBe('OK');
    expect(ping.headers['api-version']).toBe('1.47');
    expect(ping.headers.swarm).toBe('inactive');
  });

  it('says active/manager on /_ping once the swarm is initialised, for GET and HEAD', async () => {
    await agent.init();
    const ping = await http('GET', '/_ping');
    expect(ping.status).toBe(200);
    expect(ping.text).toBe('OK');
    expect(ping.headers.swarm).toBe('active/manager');
    const head = await http('HEAD', '/v1.47/_ping');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers['api-version']).toBe('1.47');
    expect(head.headers.swarm).toBe('active/manager');
  });

  it('reports its API versions in /version, whatever version the path names', async () => {
    const answer = await http('GET', '/v1.24/version');
    expect(answer.status).toBe(200);
    const version = json(answer) as {
      ApiVersion: string;
      MinAPIVersion: string;
      Components: Array<{ Name: string }>;
    };
    expect(version.ApiVersion).toBe('1.47');
    expect(version.MinAPIVersion).toBe('1.24');
    expect(version.Components[0]?.Name).toBe('Engine');
  });

  it("answers engine endpoints it does not serve with 501 and Docker's message", async () => {
    for (const path of ['/v1.41/containers/json', '/images/json']) {
      const answer = await http('GET', path);
      expect(answer.status).toBe(501);
      expect(answer.headers['content-type']).toMatch(/application\/json/);
      expect(json(answer).message).toEqual(expect.stringContaining('swarmts does not serve'));
    }
    const unknown = await http('GET', '/v1.41/nothing/here');
    expect(unknown.status).toBe(404);
    expect(json(unknown).message).toEqual(expect.any(String));
  });

  it('refuses a secret whose data is not base64, naming Data, with null labels accepted', async () => {
    const answer = await http('POST', '/v1.41/secrets/create', {
      Name: 'bad',
      Labels: null,
      Data: 'not base64!',
    });
    expect(answer.status).toBe(400);
    // Only Data: the null Labels are read as absent.
    expect(json(answer).message).toBe('invalid secret spec: Data: must be base64');
  });

  it('creates a secret from a Docker body and never shows its data', async () => {
    const created = await http('POST', '/v1.41/secrets/create', {
      Name: 'db-password',
      Labels: null,
      Data: Buffer.from('s3cr3t').toString('base64'),
      Driver: null,
      Templating: null,
    });
    expect(created.status).toBe(201);
    const { ID } = json(created) as { ID: string };
    expect(ID).toMatch(/^[a-z0-9]{25}$/);
    const inspected = await http('GET', '/v1.41/secrets/db-password');
    expect(inspected.status).toBe(200);
    const secret = json(inspected) as { ID: string; Spec: Record<string, unknown> };
    expect(secret.ID).toBe(ID);
    expect(secret.Spec.Name).toBe('db-password');
    expect(secret.Spec).not.toHaveProperty('Data');
    expect(inspected.text).not.toContain(Buffer.from('s3cr3t').toString('base64'));
  });

  it('takes a config of 1,000 KB and refuses one byte more', async () => {
    const limit = 1000 * 1024;
    const fits = await http('POST', '/v1.41/configs/create', {
      Name: 'big',
      Labels: null,
      Data: Buffer.alloc(limit, 'a').toString('base64'),
    });
    expect(fits.status).toBe(201);
    const over = await http('POST', '/v1.41/configs/create', {
      Name: 'too-big',
      Data: Buffer.alloc(limit + 1, 'a').toString('base64'),
    });
    expect(over.status).toBe(400);
    expect(json(over).message).toMatch(/too long/);
    const list = await http('GET', '/v1.41/configs');
    expect(
      (JSON.parse(list.text) as Array<{ Spec: { Name: string } }>).map((c) => c.Spec.Name),
    ).toEqual(['big']);
  });

  it('creates a service from a spec with Go nulls and empty choices', async () => {
    const created = await http('POST', '/v1.41/services/create', {
      Name: 'web',
      Labels: null,
      TaskTemplate: {
        ContainerSpec: {
          Image: 'busybox:1.36',
          Args: null,
          Labels: null,
          Env: null,
          Mounts: null,
        },
        Resources: { Limits: null, Reservations: null },
        RestartPolicy: { Condition: '' },
        Placement: null,
        Networks: null,
      },
      Mode: { Replicated: { Replicas: 0 } },
      UpdateConfig: { Order: '', FailureAction: '' },
      EndpointSpec: { Mode: '', Ports: null },
    });
    expect(created.status).toBe(201);
    const { ID } = json(created) as { ID: string };
    const service = json(await http('GET', `/v1.41/services/${ID}`)) as {
      Spec: { Name: string; Labels: Record<string, string>; Mode: unknown };
    };
    expect(service.Spec.Name).toBe('web');
    expect(service.Spec.Labels).toEqual({});
    expect(service.Spec.Mode).toEqual({ Replicated: { Replicas: 0 } });
  });
});
