/**
 * A fake control API on a unix socket for CLI tests: canned answers per route, requests recorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/** One request the fake API received. */
export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** A canned answer: status defaults to 200, an undefined body sends an empty response. */
export type Answer = { status?: number; body?: unknown };

/** Answers keyed by 'METHOD /path'; an unknown route answers 404. */
export type Routes = Record<string, Answer | ((req: Recorded) => Answer)>;

export interface FakeApi {
  /** Every request received, in order. */
  readonly requests: Recorded[];
  /** The requests received, as 'METHOD /path'. */
  calls(): string[];
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

/** Starts a fake control API listening on `socketPath`, answering from `routes`. */
export async function startFakeApi(routes: Routes, socketPath: string): Promise<FakeApi> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://agent');
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = {
        method: req.method ?? '',
        path: decodeURIComponent(url.pathname),
        query: Object.fromEntries(url.searchParams),
        body: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(recorded);
      const route = routes[`${recorded.method} ${recorded.path}`];
      const answer: Answer = (typeof route === 'function' ? route(recorded) : route) ?? {
        status: 404,
        body: { message: `no route ${recorded.method} ${recorded.path}` },
      };
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    requests,
    calls: () => requests.map((r) => `${r.method} ${r.path}`),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What a test file uses: a fresh socket directory and fake API per test, closed after it. */
export interface FakeApiFixture {
  /** This test's temporary directory, holding the socket. */
  dir: string;
  socket: string;
  /** The env that points the CLI at the fake API: { SWARMTS_HOST: socket }. */
  hostEnv: Record<string, string>;
  /** The requests the current test's fake API received. */
  requests: Recorded[];
  start(routes: Routes): Promise<void>;
  /** The requests sent, as 'METHOD /path'. */
  calls(): string[];
}

/** Registers beforeEach/afterEach hooks that give every test its own fake API. */
export function useFakeApi(prefix: string): FakeApiFixture {
  let api: FakeApi | undefined;
  const fixture: FakeApiFixture = {
    dir: '',
    socket: '',
    hostEnv: {},
    requests: [],
    async start(routes) {
      api = await startFakeApi(routes, fixture.socket);
      fixture.requests = api.requests;
    },
    calls: () => api?.calls() ?? [],
  };
  beforeEach(async () => {
    fixture.dir = await mkdtemp(join(tmpdir(), prefix));
    fixture.socket = join(fixture.dir, 'api.sock');
    fixture.hostEnv = { SWARMTS_HOST: fixture.socket };
    fixture.requests = [];
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    await rm(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
