/**
 * `service logs` across the cluster: the manager that got the request asks every node that
 * holds tasks of the service for their containers' lines (`/swarmts/logs/1`), its own engine
 * directly, and interleaves the answers. Two renderings: swarmts's text
 * (`web.1.<task>@<host>    | <line>`) and Docker's multiplexed stream with the details the
 * docker CLI reads its prefixes from.
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

/** One line of a task's container, or a node that could not be asked. */
export type ServiceLogEntry =
  | { kind: 'line'; task: Task | undefined; nodeId: string; hostname: string; line: TaskLogLine }
  | { kind: 'error'; hostname: string; message: string };

/** swarmts's text rendering. */
export function textLogLine(entry: ServiceLogEntry): string {
  if (entry.kind === 'error') return `error from ${entry.hostname}: ${entry.message}\n`;
  const { task, line, hostname } = entry;
  const prefix = `${task?.ServiceAnnotations.Name}.${task?.Slot || task?.NodeID}.${line.task}@${hostname}`;
  const stamp = line.timestamp ? `${line.timestamp} ` : '';
  return `${stamp}${prefix}    | ${line.text}\n`;
}

/**
 * Docker's rendering: one frame of its multiplexed stream per line (1 = stdout, 2 = stderr;
 * 4 bytes of stream id and padding, then the length), the line optionally preceded by the
 * timestamp and the details (`com.docker.swarm.node.id=...,...`) the docker CLI parses.
 */
export function dockerLogFrame(
  entry: ServiceLogEntry,
  options: { details: boolean; timestamps: boolean },
): Uint8Array {
  let text: string;
  let stream = 2;
  if (entry.kind === 'error') {
    text = `error from ${entry.hostname}: ${entry.message}\n`;
  } else {
    const { task, line, nodeId } = entry;
    stream = line.stream === 'stdout' ? 1 : 2;
    text = `${line.text}\n`;
    if (options.details) {
      const details = [
        ['com.docker.swarm.node.id', nodeId],
        ['com.docker.swarm.service.id', task?.ServiceID ?? ''],
        ['com.docker.swarm.task.id', line.task],
      ]
        .map(([key, value]) => `${key}=${encodeURIComponent(value ?? '')}`)
        .join(',');
      text = `${details} ${text}`;
    }
    if (options.timestamps && line.timestamp) text = `${line.timestamp} ${text}`;
  }
  const payload = Buffer.from(text);
  const frame = Buffer.alloc(8 + payload.length);
  frame[0] = stream;
  frame.writeUInt32BE(payload.length, 4);
  payload.copy(frame, 8);
  return frame;
}

/**
 * Docker's stream of a service's logs: only the streams asked for, and a failure mid-way as
 * one last stderr frame (raw text would break the client's frame parser).
 */
export async function* dockerLogStream(
  entries: AsyncIterable<ServiceLogEntry>,
  options: { details: boolean; timestamps: boolean; stdout: boolean; stderr: boolean },
): AsyncGenerator<Uint8Array> {
  try {
    for await (const entry of entries) {
      if (entry.kind === 'line' && !options[entry.line.stream]) continue;
      yield dockerLogFrame(entry, options);
    }
  } catch (error) {
    yield dockerLogFrame(
      { kind: 'error', hostname: 'swarmts', message: oneLineMessage(error) },
      options,
    );
  }
}

export async function* serviceLogs(
  deps: ServiceLogsDeps,
  tasks: readonly Task[],
  options: LogOptions,
  signal: AbortSignal,
): AsyncGenerator<ServiceLogEntry> {
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
): AsyncGenerator<ServiceLogEntry> {
  const node = deps.store.getNode(nodeId);
  const hostname = node?.Description.Hostname ?? nodeId;
  const byId = new Map(tasks.map((t) => [t.ID, t]));
  const format = (line: TaskLogLine): ServiceLogEntry => ({
    kind: 'line',
    task: byId.get(line.task),
    nodeId,
    hostname,
    line,
  });
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
    if (!signal.aborted) yield { kind: 'error', hostname, message: oneLineMessage(error) };
  }
}
