/**
 * One published TCP port of the routing mesh: accept, pick a backend (balancer.ts), dial it
 * (skipping those that refuse or time out), optionally send a PROXY v2 header, then splice
 * the two sockets with pipe() so the streams do backpressure and half-close for us.
 *
 * Error policy: every socket has an 'error' listener from the moment it exists (a peer's
 * reset must never crash the agent), and the decision what to do is taken once, on 'close':
 * a side that closed without a clean end in both directions takes the other side down.
 */
import net from 'node:net';
import type { Logger } from '../log.js';
import { chooseBackend, type PoolEntry } from './balancer.js';
import { proxyV2Header } from './proxy-protocol.js';
import type { MeshCounters } from './types.js';

/** Connections per published TCP port; past it Node closes new ones at once. */
const MAX_CONNECTIONS = 16_384;

/** What the mesh tells a port: whose it is and where its connections go. Swapped whole. */
export interface TcpRoute {
  serviceName: string;
  counters: MeshCounters;
  pool: PoolEntry[];
  proxyProtocol: boolean;
}

export interface TcpProxyOptions {
  host: string;
  port: number;
  selfNodeId: string;
  connectTimeoutMs: number;
  logger: Logger;
  route: TcpRoute;
}

/** One proxied client connection. Its route is the one it was accepted under. */
interface Connection {
  readonly client: net.Socket;
  readonly route: TcpRoute;
  /** The dial in progress or the connected backend; undefined once it has closed. */
  backend: net.Socket | undefined;
  clientClosed: boolean;
  /** Endpoints that failed for this client; created on the first failure only. */
  tried: Set<string> | undefined;
}

export class TcpProxy {
  private route: TcpRoute;
  private readonly server: net.Server;
  private readonly log: Logger;
  /** Proxied connections (and dials in progress) per backend endpoint: the balancer's input. */
  private readonly active = new Map<string, number>();
  private readonly connections = new Set<Connection>();
  /** Takes tied backends in turn (see chooseBackend). */
  private turn = 0;
  private closing: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  constructor(private readonly options: TcpProxyOptions) {
    this.route = options.route;
    this.log = options.logger.child({ port: options.port, protocol: 'tcp' });
    // allowHalfOpen: a client's FIN must not end our side before the backend has answered.
    // pauseOnConnect: nothing is read from the client until a backend is there to take it.
    this.server = net.createServer(
      { allowHalfOpen: true, pauseOnConnect: true, noDelay: true },
      (client) => this.accept(client),
    );
    // Each client costs two descriptors (client and backend): a flood must not exhaust them.
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /** Binds the port; rejects with the bind error (EADDRINUSE, EACCES…). */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.server.off('error', onError);
        // After binding, errors are accept failures (EMFILE…): log them, keep listening.
        this.server.on('error', (error) => this.log.warn({ err: error }, 'accept failed'));
        resolve();
      });
    });
  }

  /** New connections use the new route at once; open ones keep theirs. */
  setRoute(route: TcpRoute): void {
    this.route = route;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Reports the bytes of open connections, which the counters only get when they close. */
  collectLive(add: (counters: MeshCounters, bytesIn: number, bytesOut: number) => void): void {
    for (const conn of this.connections) {
      add(conn.route.counters, conn.client.bytesRead, conn.client.bytesWritten);
    }
  }

  /** Stops accepting; open connections go on. Resolves once the last one has finished. */
  stop(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => this.server.close(() => resolve())).then(() =>
      this.drained(),
    );
    return this.closing;
  }

  /** Stops accepting and cuts every open connection. */
  async destroy(): Promise<void> {
    const stopped = this.stop();
    for (const conn of this.connections) {
      abort(conn.client);
      if (conn.backend?.connecting) conn.backend.destroy();
      else if (conn.backend !== undefined) abort(conn.backend);
    }
    await stopped;
  }

  private accept(client: net.Socket): void {
    const route = this.route;
    const conn: Connection = {
      client,
      route,
      backend: undefined,
      clientClosed: false,
      tried: undefined,
    };
    this.connections.add(conn);
    route.counters.connections++;
    route.counters.activeConnections++;
    client.on('error', (error) => this.log.debug({ err: error }, 'client connection error'));
    client.on('close', () => {
      conn.clientClosed = true;
      const backend = conn.backend;
      if (backend === undefined) this.finish(conn);
      // Still dialling: give up the dial.
      else if (backend.connecting) backend.destroy();
      // The client went away mid-stream: nothing more can be delivered; tell the backend so.
      else if (!endedCleanly(client)) abort(backend);
      // Otherwise the backend is flushing its last bytes; its own 'close' finishes the job.
    });
    this.dial(conn);
  }

  private dial(conn: Connection): void {
    const { client } = conn;
    const target = chooseBackend(
      this.route.pool,
      this.active,
      this.options.selfNodeId,
      conn.tried,
      this.turn++,
    );
    if (target === undefined) {
      // No backend (none at all, or all failed): reset now rather than leave the client hanging.
      this.log.debug({ service: conn.route.serviceName }, 'no backend for connection');
      client.resetAndDestroy();
      return;
    }
    const key = target.key;
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    const backend = net.connect({
      host: target.addr,
      port: target.hostPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    conn.backend = backend;
    let connected = false;
    backend.setTimeout(this.options.connectTimeoutMs, () => backend.destroy());
    backend.on('error', (error) => this.log.debug({ err: error, backend: key }, 'backend error'));
    backend.once('connect', () => {
      connected = true;
      backend.setTimeout(0);
      this.splice(conn, backend);
    });
    backend.once('close', () => {
      const left = (this.active.get(key) ?? 1) - 1;
      if (left > 0) this.active.set(key, left);
      else this.active.delete(key);
      conn.backend = undefined;
      if (!connected && !client.destroyed) {
        // Refused, unreachable or timed out: count it and try the next backend.
        conn.route.counters.failedDials++;
        this.log.debug({ backend: key, task: target.taskId }, 'backend dial failed');
        conn.tried ??= new Set();
        conn.tried.add(key);
        this.dial(conn);
        return;
      }
      if (conn.clientClosed) this.finish(conn);
      else if (backend.readableEnded) {
        // The backend sent its whole reply, then stopped taking data (say, an early 413 while
        // the client was still uploading). Let the reply drain to the client and drop the rest
        // of the upload; cutting the client now could lose the reply's tail.
        if (!backend.writableFinished) client.resume();
      } else abort(client);
    });
  }

  private splice(conn: Connection, backend: net.Socket): void {
    const { client } = conn;
    if (conn.route.proxyProtocol) {
      const header = headerFor(client);
      if (header === undefined) {
        abort(backend);
        return;
      }
      backend.write(header);
    }
    forward(client, backend);
    forward(backend, client);
  }

  private finish(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const counters = conn.route.counters;
    counters.activeConnections--;
    counters.bytesIn += conn.client.bytesRead;
    counters.bytesOut += conn.client.bytesWritten;
    if (this.connections.size === 0) this.resolveDrained?.();
  }

  /** The server's own close waits for client sockets only; this also waits for backends. */
  private drained(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.resolveDrained = resolve;
    });
  }
}

/**
 * What pipe() does, with less machinery per chunk (this is the mesh's hot path): write each
 * chunk on, pause the source while the destination's buffer is full, pass the end on.
 */
function forward(from: net.Socket, to: net.Socket): void {
  const resume = () => from.resume();
  from.on('data', (chunk: Buffer) => {
    // The destination stopped taking data (it ended, or is gone): what is left is dropped.
    if (to.writableEnded || to.destroyed) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  });
  from.once('end', () => {
    if (!to.destroyed) to.end();
  });
  from.resume();
}

/**
 * Passes an abort on as an abort: a reset, not a FIN, so the peer cannot take a cut stream
 * for a complete one (think of a response body delimited by the connection's end).
 */
function abort(socket: net.Socket): void {
  if (socket.destroyed) return;
  // Once our FIN is on its way libuv refuses the reset (uv_tcp_close_reset: EINVAL on a shut
  // down handle) and Node then never emits 'close'; a plain destroy is all that is left.
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

/** Both directions ended with a FIN: nothing was cut. */
function endedCleanly(socket: net.Socket): boolean {
  return socket.readableEnded && socket.writableFinished;
}

/** The client's address and the published address it reached, or undefined if it is gone. */
function headerFor(client: net.Socket): Buffer | undefined {
  const { remoteAddress, remotePort, localAddress, localPort } = client;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return undefined;
  return proxyV2Header(
    { address: remoteAddress, port: remotePort },
    { address: localAddress, port: localPort },
  );
}
