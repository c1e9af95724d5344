/**
 * `service logs` across the cluster: the manager that got the request asks every node that
 * holds tasks of the service for their containers' lines (`/swarmts/logs/1`), its own engine
 * directly, and interleaves the answers as Docker does: `web.1.<task>@<host>    | <line>`.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { oneLineMessage } from '../errors.js';
import { openChannel } from '../p2p/channel.js';
import type { Host } from '../p2p/host.js';
import { LOGS_PROTOCOL } from '../p2p/protocols.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { ClusterStore, Task } from '../state/index.js';
import { type LogsRequest, logLine, merge, type TaskLogLine, taskLogs } from '../worker/logs.js';

export interface ServiceLogsDeps {
  host: Host;
  store: ClusterStore;
  selfId: string;
  runtime: ContainerRuntime | undefined;
}

export type LogOptions = Omit<LogsRequest, 'taskIds'>;

export async function* serviceLogs(
  deps: ServiceLogsDeps,
  tasks: readonly Task[],
  options: LogOptions,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const byNode = new Map<string, Task[]>();
  for (const task of tasks) {
    if (task.NodeID === '') continue;
    const list = byNode.get(task.NodeID) ?? [];
    list.push(task);
    byNode.set(task.NodeID, list);
  }
  const sources = [...byNode].map(([nodeId, nodeTasks]) =>
    fromNode(deps, nodeId, nodeTasks, options, signal),
  );
  yield* merge(sources, signal);
}

async function* fromNode(
  deps: ServiceLogsDeps,
  nodeId: string,
  tasks: Task[],
  options: LogOptions,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const node = deps.store.getNode(nodeId);
  const hostname = node?.Description.Hostname ?? nodeId;
  const byId = new Map(tasks.map((t) => [t.ID, t]));
  const format = (line: TaskLogLine) => {
    const task = byId.get(line.task);
    const prefix = `${task?.ServiceAnnotations.Name}.${task?.Slot || task?.NodeID}.${line.task}@${hostname}`;
    const stamp = line.timestamp ? `${line.timestamp} ` : '';
    return `${stamp}${prefix}    | ${line.text}\n`;
  };
  const request: LogsRequest = { taskIds: [...byId.keys()], ...options };
  try {
    if (nodeId === deps.selfId) {
      if (!deps.runtime) return;
      for await (const line of taskLogs(deps.runtime, request, signal)) yield format(line);
      return;
    }
    const peer = peerIdFromString(nodeId);
    if (node) {
      await deps.host.peerStore.merge(peer, { multiaddrs: node.P2PAddrs.map((a) => multiaddr(a)) });
    }
    const channel = await openChannel(
      deps.host,
      peer,
      LOGS_PROTOCOL,
      AbortSignal.any([signal, AbortSignal.timeout(3000)]),
    );
    const onAbort = () => void channel.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await channel.send(request);
      for await (const raw of channel.receive()) {
        const parsed = logLine.safeParse(raw);
        if (!parsed.success) throw new Error('bad log line from the node');
        yield format(parsed.data);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      channel.abort('logs done');
    }
  } catch (error) {
    if (!signal.aborted) yield `error from ${hostname}: ${oneLineMessage(error)}\n`;
  }
}
