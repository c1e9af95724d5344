/**
 * The agent's metrics in Prometheus' text exposition format. For now: the routing mesh's
 * counters, per service, as this node's proxy saw them.
 */
import type { MeshCounters } from '../ingress/index.js';

const MESH_METRICS: Array<[keyof MeshCounters, string, 'counter' | 'gauge', string]> = [
  [
    'connections',
    'swarmts_mesh_connections_total',
    'counter',
    'Connections accepted on published ports',
  ],
  ['activeConnections', 'swarmts_mesh_active_connections', 'gauge', 'Connections open now'],
  ['bytesIn', 'swarmts_mesh_received_bytes_total', 'counter', 'Bytes from clients to backends'],
  ['bytesOut', 'swarmts_mesh_sent_bytes_total', 'counter', 'Bytes from backends to clients'],
  ['failedDials', 'swarmts_mesh_failed_dials_total', 'counter', 'Backend connections that failed'],
  ['udpPackets', 'swarmts_mesh_udp_packets_total', 'counter', 'UDP packets relayed'],
];

export function renderMetrics(mesh: Record<string, MeshCounters>): string {
  const services = Object.keys(mesh).sort();
  let text = '';
  for (const [key, name, type, help] of MESH_METRICS) {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const service of services) {
      text += `${name}{service="${escapeLabel(service)}"} ${mesh[service]?.[key] ?? 0}\n`;
    }
  }
  return text;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
