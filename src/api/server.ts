/**
 * The control API's HTTP server on a unix socket (mode 0600: whoever can reach the socket
 * controls the cluster). It parses requests into ApiRequests, strips Docker's version prefix
 * (/v1.41/...), answers a body that is not JSON with 400, and sends write routes to
 * `forwardWrite` when this node must not run them itself.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { oneLineMessage, SwarmtsError } from '../errors.js';
import type { Logger } from '../log.js';
import { commonHeaders, stripNulls, unknownRoute } from './docker-compat.js';
import { errorResponse } from './errors.js';
import type { Router } from './router.js';
import type { ApiRequest, ApiResponse } from './types.js';

/** A 1,000 KB config, base64-encoded, with room for its spec. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface ApiServerOptions {
  socketPath: string;
  router: Router;
  /**
   * Decides where a write runs: undefined → here; a function → it runs the request elsewhere
   * (on the leader). May throw (no leader, not a manager).
   */
  forwardWrite: () => ((request: ApiRequest) => Promise<ApiResponse>) | undefined;
  logger: Logger;
}

export class ApiServer {
  private server: Server | undefined;

  constructor(private readonly options: ApiServerOptions) {}

  async start(): Promise<void> {
    const { socketPath } = this.options;
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
    await removeStaleSocket(socketPath);
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Runs one request as this node would: locally, or forwarded to the leader for writes. */
  async handle(request: ApiRequest, options: { forwarded?: boolean } = {}): Promise<ApiResponse> {
    const match = this.options.router.match(request.method, request.path);
    if (!match) return unknownRoute(request);
    if (options.forwarded && !match.route.write) {
      // Another manager may only hand us cluster writes, never this agent's own business.
      return {
        status: 403,
        body: { message: `${request.method} ${request.path} is not forwardable` },
      };
    }
    if (match.route.write && !options.forwarded) {
      let forward: ((request: ApiRequest) => Promise<ApiResponse>) | undefined;
      try {
        forward = this.options.forwardWrite();
      } catch (error) {
        return errorResponse(error);
      }
      if (forward) {
        try {
          return await forward(request);
        } catch (error) {
          return errorResponse(error);
        }
      }
    }
    return this.options.router.run(match, request);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: ApiResponse;
    try {
      response = await this.handle(await parseRequest(req));
    } catch (error) {
      response = errorResponse(error);
    }
    if (response.status >= 500 && response.status !== 503) {
      this.options.logger.warn(
        { method: req.method, url: req.url, status: response.status, body: response.body },
        'control API request failed',
      );
    }
    send(res, response);
  }
}

async function parseRequest(req: IncomingMessage): Promise<ApiRequest> {
  const url = new URL(req.url ?? '/', 'http://swarmts');
  const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new SwarmtsError('invalid_argument', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  let body: unknown;
  if (text !== '') {
    try {
      body = stripNulls(JSON.parse(text));
    } catch (error) {
      throw new SwarmtsError(
        'invalid_argument',
        `request body is not valid JSON: ${oneLineMessage(error)}`,
      );
    }
  }
  return { method: req.method ?? 'GET', path, query: url.searchParams, body };
}

function send(res: ServerResponse, response: ApiResponse): void {
  for (const [name, value] of Object.entries({ ...commonHeaders(), ...response.headers })) {
    res.setHeader(name, value);
  }
  if (response.stream) {
    void sendStream(res, response.stream, response.contentType);
    return;
  }
  if (response.text && typeof response.body === 'string') {
    res.writeHead(response.status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(response.body);
    return;
  }
  if (response.body === undefined) {
    res.writeHead(response.status);
    res.end();
    return;
  }
  res.writeHead(response.status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(response.body)}\n`);
}

/** Writes a text stream as it comes, chunked; stops producing when the client goes away. */
async function sendStream(
  res: ServerResponse,
  stream: (signal: AbortSignal) => AsyncIterable<string | Uint8Array>,
  contentType = 'text/plain; charset=utf-8',
): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  res.writeHead(200, { 'content-type': contentType });
  try {
    for await (const chunk of stream(controller.signal)) {
      if (!res.write(chunk)) {
        // The client may leave with the buffer full: 'close' ends the wait as 'drain' would.
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
      if (controller.signal.aborted) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) res.write(`error: ${oneLineMessage(error)}\n`);
  } finally {
    controller.abort();
    res.end();
  }
}

/** A socket file left by a crashed agent is removed; one that answers belongs to a live agent. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (alive) {
    throw new SwarmtsError('conflict', `another swarmts agent is listening on ${path}`);
  }
  await unlink(path).catch(() => {});
}
