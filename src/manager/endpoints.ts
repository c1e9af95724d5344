/**
 * The routing mesh's table, computed from the store: for every service with ingress-published
 * ports, the tasks that may take traffic now — running, meant to run, not unhealthy, on a node
 * not Down — with their node's address and the host port Docker gave each target port. The
 * leader sends it to every agent; each agent's proxy follows it (src/ingress).
 *
 * A task asked to stop (DesiredState shutdown) leaves the table in the same commit that asks
 * it, before its node's executor stops the container: the drain starts at the proxies.
 */
import type { MeshPort, MeshTable } from '../ingress/index.js';
import type { ClusterStore, Node, PortConfig, Task } from '../state/index.js';
import { taskStateRank } from '../state/index.js';

export function meshTable(store: ClusterStore): MeshTable {
  const table: MeshTable = [];
  const nodes = new Map(store.listNodes().map((n) => [n.ID, n]));
  for (const service of store.listServices()) {
    const published = (service.Endpoint.Ports ?? []).filter(
      (p) => (p.PublishMode ?? 'ingress') === 'ingress' && p.PublishedPort && p.Protocol !== 'sctp',
    );
    if (published.length === 0) continue;
    const serving = store
      .tasksOfService(service.ID)
      .filter((t) => takesTraffic(t, nodes))
      .sort((a, b) => (a.ID < b.ID ? -1 : 1));
    const ports: MeshPort[] = published.map((port) => ({
      protocol: port.Protocol === 'udp' ? 'udp' : 'tcp',
      published: port.PublishedPort ?? 0,
      proxyProtocol: port.ProxyProtocol === 'v2',
      backends: serving.flatMap((task) => {
        const hostPort = hostPortFor(task, port);
        const node = nodes.get(task.NodeID);
        if (!hostPort || !node) return [];
        return [{ taskId: task.ID, nodeId: task.NodeID, addr: node.Status.Addr, hostPort }];
      }),
    }));
    table.push({ serviceId: service.ID, name: service.Spec.Name, ports });
  }
  return table;
}

function takesTraffic(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  return (
    task.Status.State === 'running' &&
    taskStateRank(task.DesiredState) <= taskStateRank('running') &&
    task.Status.Health !== 'unhealthy' &&
    nodes.get(task.NodeID)?.Status.State !== 'down'
  );
}

/** The host port Docker bound for the port's target on the task's node. */
function hostPortFor(task: Task, port: PortConfig): number | undefined {
  const protocol = port.Protocol ?? 'tcp';
  return task.Status.PortStatus?.Ports?.find(
    (p) => p.TargetPort === port.TargetPort && (p.Protocol ?? 'tcp') === protocol,
  )?.PublishedPort;
}
