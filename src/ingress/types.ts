/**
 * The routing mesh's public types: the table the control side hands the data plane, the
 * counters it reads back, and the mesh's options. Only types here, so the balancer and the
 * proxies can share them without importing one another.
 */
import type { Logger } from '../log.js';

export interface MeshPort {
  protocol: 'tcp' | 'udp';
  /** The port every node listens on. */
  published: number;
  /** Send a PROXY protocol v2 header to the backend first (TCP only). */
  proxyProtocol: boolean;
  backends: MeshBackend[];
}

export interface MeshBackend {
  taskId: string;
  nodeId: string;
  /** The backend node's IP and the host port its container's target port was given. */
  addr: string;
  hostPort: number;
}

export interface MeshService {
  serviceId: string;
  name: string;
  ports: MeshPort[];
}

export type MeshTable = MeshService[];

/**
 * Per service. A UDP session counts as a connection (`connections`, `activeConnections`).
 * `bytesIn` is what clients sent, `bytesOut` what they were sent back; `udpPackets` counts
 * datagrams relayed either way.
 */
export interface MeshCounters {
  connections: number;
  activeConnections: number;
  bytesIn: number;
  bytesOut: number;
  failedDials: number;
  udpPackets: number;
}

export interface IngressMeshOptions {
  /** Address the published ports listen on (the node's advertise address). */
  listenAddress: string;
  selfNodeId: string;
  logger: Logger;
  /** Per backend dial, default 1000. */
  connectTimeoutMs?: number;
  /** UDP client session idle timeout, default 30_000. */
  udpIdleMs?: number;
}

export function emptyCounters(): MeshCounters {
  return {
    connections: 0,
    activeConnections: 0,
    bytesIn: 0,
    bytesOut: 0,
    failedDials: 0,
    udpPackets: 0,
  };
}
