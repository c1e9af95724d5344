/**
 * Published ports of services. Ingress ports are the cluster's: each (port, protocol) belongs
 * to one service, and a port left out gets one from Swarm's range 30000–32767. Host-mode ports
 * belong to nodes; the scheduler keeps two tasks from asking for one on the same node.
 */
import { SwarmtsError } from '../errors.js';
import type { PortConfig, Service } from '../state/index.js';

export const DYNAMIC_PORTS = { first: 30000, last: 32767 } as const;

/**
 * The ports a service gets for `requested`: published ports kept, missing ingress ones filled
 * in (reusing what the service held before for the same target, so an update keeps them).
 */
export function allocatePorts(
  requested: readonly PortConfig[],
  previous: readonly PortConfig[],
  others: readonly Service[],
): PortConfig[] {
  const taken = new Map<string, string>();
  for (const service of others) {
    for (const port of service.Endpoint.Ports ?? []) {
      if (isIngress(port) && port.PublishedPort) {
        taken.set(key(port.PublishedPort, port.Protocol), service.Spec.Name);
      }
    }
  }
  const mine = new Set<string>();
  const result: PortConfig[] = [];
  for (const port of requested) {
    const protocol = port.Protocol ?? 'tcp';
    const mode = port.PublishMode ?? 'ingress';
    let published = port.PublishedPort ?? 0;
    if (mode === 'ingress') {
      if (published === 0) {
        const before = previous.find(
          (p) =>
            isIngress(p) && p.TargetPort === port.TargetPort && (p.Protocol ?? 'tcp') === protocol,
        );
        const reusable = before?.PublishedPort && !mine.has(key(before.PublishedPort, protocol));
        published =
          reusable && before?.PublishedPort
            ? before.PublishedPort
            : freePort(taken, mine, protocol);
      }
      const holder = taken.get(key(published, protocol));
      if (holder) {
        throw new SwarmtsError(
          'conflict',
          `port ${published}/${protocol} is already in use by service ${holder}`,
        );
      }
      if (mine.has(key(published, protocol))) {
        throw new SwarmtsError(
          'invalid_argument',
          `port ${published}/${protocol} is published twice`,
        );
      }
      mine.add(key(published, protocol));
    }
    result.push({
      ...(port.Name ? { Name: port.Name } : {}),
      Protocol: protocol,
      TargetPort: port.TargetPort,
      PublishedPort: published,
      PublishMode: mode,
      ...(port.ProxyProtocol ? { ProxyProtocol: port.ProxyProtocol } : {}),
    });
  }
  return result;
}

function freePort(taken: Map<string, string>, mine: Set<string>, protocol: string): number {
  for (let port = DYNAMIC_PORTS.first; port <= DYNAMIC_PORTS.last; port++) {
    const k = key(port, protocol);
    if (!taken.has(k) && !mine.has(k)) return port;
  }
  throw new SwarmtsError('unavailable', 'no free port left in 30000-32767');
}

function isIngress(port: PortConfig): boolean {
  return (port.PublishMode ?? 'ingress') === 'ingress';
}

function key(port: number, protocol: string | undefined): string {
  return `${port}/${protocol ?? 'tcp'}`;
}
