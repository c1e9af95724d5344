/**
 * One published UDP port of the routing mesh. UDP has no connections, so the proxy keeps a
 * session per client address:port: its own socket connected to the backend chosen for that
 * client (least sessions, local first; see balancer.ts), so the client's datagrams keep
 * reaching the same task and the backend's replies can be told apart and sent back to the
 * client from the published port. A session ends after `idleMs` without traffic either way.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../log.js';
import { chooseBackend, type PoolEntry } from './balancer.js';
import type { MeshCounters } from './types.js';

export interface UdpRoute {
  serviceName: string;
  counters: MeshCounters;
  pool: PoolEntry[];
}

export interface UdpProxyOptions {
  host: string;
  port: number;
  selfNodeId: string;
  idleMs: number;
  logger: Logger;
  route: UdpRoute;
  /** Called when a session ends (idle, error or shutdown); for tests and metrics. */
  onSessionClosed?: (client: string, backend: string) => void;
}

/** Datagrams held while a new session's socket connects; beyond that they are dropped. */
const MAX_PENDING = 64;
/** Client sessions per published UDP port. */
const MAX_SESSIONS = 4096;

interface Session {
  readonly key: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly backendKey: string;
  readonly counters: MeshCounters;
  readonly socket: dgram.Socket;
  readonly timer: NodeJS.Timeout;
  /** Datagrams from the client before the connect finished; undefined once connected. */
  pending: Buffer[] | undefined;
}

export class UdpProxy {
  private route: UdpRoute;
  private readonly socket: dgram.Socket;
  private readonly log: Logger;
  private readonly sessions = new Map<string, Session>();
  /** Takes tied backends in turn (see chooseBackend). */
  private turn = 0;
  /** Sessions per backend endpoint: the balancer's input. */
  private readonly active = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: UdpProxyOptions) {
    this.route = options.route;
    this.log = options.logger.child({ port: options.port, protocol: 'udp' });
    this.socket = dgram.createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
    this.socket.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.socket.once('error', onError);
      this.socket.bind({ address: this.options.host, port: this.options.port }, () => {
        this.socket.off('error', onError);
        // A failed send of a reply (a client gone, a full buffer) must not bring us down.
        this.socket.on('error', (error) => this.log.debug({ err: error }, 'udp socket error'));
        resolve();
      });
    });
  }

  /** New sessions use the new pool at once; existing sessions keep their backend. */
  setRoute(route: UdpRoute): void {
    this.route = route;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Closes the port and every session. */
  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of [...this.sessions.values()]) this.end(session);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    const session = this.sessions.get(key) ?? this.open(key, rinfo);
    if (session === undefined) return;
    session.timer.refresh();
    session.counters.udpPackets++;
    session.counters.bytesIn += msg.length;
    if (session.pending === undefined) session.socket.send(msg);
    else if (session.pending.length < MAX_PENDING) session.pending.push(msg);
  }

  private open(key: string, rinfo: dgram.RemoteInfo): Session | undefined {
    const route = this.route;
    // Each session holds a socket: a flood of spoofed sources must not exhaust the agent's
    // descriptors. Past the cap, new clients wait for an idle session to expire.
    if (this.sessions.size >= MAX_SESSIONS) {
      route.counters.failedDials++;
      return undefined;
    }
    const target = chooseBackend(
      route.pool,
      this.active,
      this.options.selfNodeId,
      undefined,
      this.turn++,
    );
    if (target === undefined) {
      this.log.debug({ service: route.serviceName, client: key }, 'no backend for datagram');
      return undefined;
    }
    const socket = dgram.createSocket(isIPv6(target.addr) ? 'udp6' : 'udp4');
    const session: Session = {
      key,
      clientAddress: rinfo.address,
      clientPort: rinfo.port,
      backendKey: target.key,
      counters: route.counters,
      socket,
      timer: setTimeout(() => this.end(session), this.options.idleMs).unref(),
      pending: [],
    };
    this.sessions.set(key, session);
    this.active.set(target.key, (this.active.get(target.key) ?? 0) + 1);
    route.counters.connections++;
    route.counters.activeConnections++;
    // A connected socket: the kernel drops datagrams from anyone but the backend, and sends
    // need no per-packet address lookup.
    socket.connect(target.hostPort, target.addr, () => {
      const pending = session.pending ?? [];
      session.pending = undefined;
      for (const msg of pending) socket.send(msg);
    });
    socket.on('message', (reply) => {
      session.timer.refresh();
      session.counters.udpPackets++;
      session.counters.bytesOut += reply.length;
      this.socket.send(reply, session.clientPort, session.clientAddress);
    });
    socket.on('error', (error) => {
      // ECONNREFUSED here is an ICMP port unreachable: the backend is not listening.
      if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') session.counters.failedDials++;
      this.log.debug({ err: error, backend: target.key, client: key }, 'udp session error');
      this.end(session);
    });
    return session;
  }

  private end(session: Session): void {
    if (this.sessions.get(session.key) !== session) return;
    this.sessions.delete(session.key);
    clearTimeout(session.timer);
    const left = (this.active.get(session.backendKey) ?? 1) - 1;
    if (left > 0) this.active.set(session.backendKey, left);
    else this.active.delete(session.backendKey);
    session.counters.activeConnections--;
    try {
      session.socket.close();
    } catch {
      // Already closed by a failed bind; nothing left to release.
    }
    this.options.onSessionClosed?.(session.key, session.backendKey);
  }
}
