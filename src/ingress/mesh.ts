/**
 * The routing mesh's data plane on one agent: a listener per published port of the table
 * (TCP and UDP), each with its service's backend pool. `update` reconciles listeners with a
 * new table; it is the only place the set of ports changes, and calls to it run one at a time.
 */
import type { Logger } from '../log.js';
import { toPool } from './balancer.js';
import { TcpProxy, type TcpRoute } from './tcp-proxy.js';
import {
  emptyCounters,
  type IngressMeshOptions,
  type MeshCounters,
  type MeshPort,
  type MeshService,
  type MeshTable,
} from './types.js';
import { UdpProxy } from './udp-proxy.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 1000;
const DEFAULT_UDP_IDLE_MS = 30_000;

export class IngressMesh {
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly udpIdleMs: number;
  private readonly tcp = new Map<number, TcpProxy>();
  private readonly udp = new Map<number, UdpProxy>();
  /** TCP ports removed from the table whose open connections are still running. */
  private readonly draining = new Set<TcpProxy>();
  /** Per service name; kept while the service is in the table or has open connections. */
  private readonly stats = new Map<string, MeshCounters>();
  private failures: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: IngressMeshOptions) {
    this.log = options.logger.child({ component: 'ingress' });
    // Zero would mean "never" to the socket timers: a dial that hangs forever.
    this.connectTimeoutMs = positiveOr(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    this.udpIdleMs = positiveOr(options.udpIdleMs, DEFAULT_UDP_IDLE_MS);
  }

  /**
   * Applies a new table: opens listeners for new published ports, closes those gone, swaps
   * backend pools at once (existing connections are not cut). Never throws for a port it
   * cannot bind: logs it and reports it via `errors()`.
   */
  update(table: MeshTable): Promise<void> {
    const run = this.queue.then(() => this.apply(table));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Ports that could not be opened, with the reason ("port 8080/tcp: address in use"). */
  errors(): string[] {
    return [...this.failures];
  }

  /** Per service name; bytes include those of connections still open. */
  counters(): Record<string, MeshCounters> {
    const out: Record<string, MeshCounters> = {};
    const copies = new Map<MeshCounters, MeshCounters>();
    for (const [name, counters] of this.stats) {
      const copy = { ...counters };
      out[name] = copy;
      copies.set(counters, copy);
    }
    const addLive = (counters: MeshCounters, bytesIn: number, bytesOut: number) => {
      const copy = copies.get(counters);
      if (copy === undefined) return;
      copy.bytesIn += bytesIn;
      copy.bytesOut += bytesOut;
    };
    for (const proxy of this.tcp.values()) proxy.collectLive(addLive);
    for (const proxy of this.draining) proxy.collectLive(addLive);
    return out;
  }

  /** Closes every listener and every proxied connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const all = [...this.tcp.values(), ...this.draining, ...this.udp.values()];
    this.tcp.clear();
    this.udp.clear();
    this.draining.clear();
    await Promise.all(all.map((proxy) => proxy.destroy()));
  }

  private async apply(table: MeshTable): Promise<void> {
    if (this.closed) return;
    const failures: string[] = [];
    const wanted = this.wantedPorts(table, failures);

    for (const service of table) {
      if (!this.stats.has(service.name)) this.stats.set(service.name, emptyCounters());
    }
    const inTable = new Set(table.map((s) => s.name));
    for (const [name, counters] of this.stats) {
      if (!inTable.has(name) && counters.activeConnections === 0) this.stats.delete(name);
    }

    // Ports gone: a TCP port stops accepting but lets its connections finish; UDP sessions
    // cannot outlive the socket their replies leave from, so they end with it.
    const closing: Promise<void>[] = [];
    for (const [port, proxy] of this.tcp) {
      if (wanted.has(portKey(port, 'tcp'))) continue;
      this.tcp.delete(port);
      this.draining.add(proxy);
      void proxy.stop().then(() => this.draining.delete(proxy));
      this.log.info({ port, protocol: 'tcp' }, 'published port closed');
    }
    for (const [port, proxy] of this.udp) {
      if (wanted.has(portKey(port, 'udp'))) continue;
      this.udp.delete(port);
      closing.push(proxy.destroy());
      this.log.info({ port, protocol: 'udp' }, 'published port closed');
    }
    // update() resolves with the dropped UDP ports released, not merely on their way out.
    await Promise.all(closing);

    const opening: Promise<void>[] = [];
    for (const { service, port } of wanted.values()) {
      const route: TcpRoute = {
        serviceName: service.name,
        counters: this.stats.get(service.name)!,
        pool: toPool(port.backends),
        proxyProtocol: port.proxyProtocol,
      };
      const existing =
        port.protocol === 'tcp' ? this.tcp.get(port.published) : this.udp.get(port.published);
      if (existing !== undefined) {
        existing.setRoute(route);
        continue;
      }
      opening.push(this.open(port, route, failures));
    }
    await Promise.all(opening);
    this.failures = failures;
  }

  /** One entry per port/protocol, the first one listed winning; bad port numbers reported. */
  private wantedPorts(
    table: MeshTable,
    failures: string[],
  ): Map<string, { service: MeshService; port: MeshPort }> {
    const wanted = new Map<string, { service: MeshService; port: MeshPort }>();
    for (const service of table) {
      for (const port of service.ports) {
        const key = portKey(port.published, port.protocol);
        if (!Number.isInteger(port.published) || port.published < 1 || port.published > 65535) {
          failures.push(`port ${key}: invalid port number`);
          continue;
        }
        const first = wanted.get(key);
        if (first !== undefined) {
          this.log.warn(
            {
              port: port.published,
              protocol: port.protocol,
              service: service.name,
              kept: first.service.name,
            },
            'published port listed twice; keeping the first',
          );
          continue;
        }
        wanted.set(key, { service, port });
      }
    }
    return wanted;
  }

  private async open(port: MeshPort, route: TcpRoute, failures: string[]): Promise<void> {
    const common = {
      host: this.options.listenAddress,
      port: port.published,
      selfNodeId: this.options.selfNodeId,
      logger: this.log,
      route,
    };
    const proxy =
      port.protocol === 'tcp'
        ? new TcpProxy({ ...common, connectTimeoutMs: this.connectTimeoutMs })
        : new UdpProxy({ ...common, idleMs: this.udpIdleMs });
    try {
      await proxy.listen();
    } catch (error) {
      const reason = bindFailure(error);
      failures.push(`port ${portKey(port.published, port.protocol)}: ${reason}`);
      this.log.warn(
        { port: port.published, protocol: port.protocol, reason },
        'cannot open published port',
      );
      return;
    }
    if (proxy instanceof TcpProxy) this.tcp.set(port.published, proxy);
    else this.udp.set(port.published, proxy);
    this.log.info(
      { port: port.published, protocol: port.protocol, service: route.serviceName },
      'published port open',
    );
  }
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function portKey(port: number, protocol: 'tcp' | 'udp'): string {
  return `${port}/${protocol}`;
}

function bindFailure(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return 'address in use';
    case 'EACCES':
      return 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'address not available';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
