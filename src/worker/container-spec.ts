/**
 * Pure mapping from a swarm Task (Docker's shapes, durations in nanoseconds) to the runtime's
 * ContainerSpec (milliseconds, plain maps). No I/O: what the executor asks the engine for is
 * decided here and tested without one.
 */
import type { ContainerSpec, Healthcheck, Mount, PortBinding } from '../runtime/types.js';
import type { HealthConfig, PortConfig, Task } from '../state/service-types.js';
import {
  DOCKER_NODE_ID_LABEL,
  DOCKER_SERVICE_ID_LABEL,
  DOCKER_SERVICE_NAME_LABEL,
  DOCKER_TASK_ID_LABEL,
  DOCKER_TASK_NAME_LABEL,
  NODE_LABEL,
  SERVICE_LABEL,
  SLOT_LABEL,
  TASK_LABEL,
} from './labels.js';

const NS_PER_MS = 1_000_000;

/** Docker's default stop grace period when the spec gives none. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** `<service>.<slot>.<task id>`, or `<service>.<node id>.<task id>` for a global task (slot 0). */
export function containerName(task: Task): string {
  const slot = task.Slot === 0 ? task.NodeID : String(task.Slot);
  return `${task.ServiceAnnotations.Name}.${slot}.${task.ID}`;
}

/** The spec's StopGracePeriod in ms; an explicit 0 means "kill at once", as in Docker. */
export function stopGraceMs(task: Task): number {
  const ns = task.Spec.ContainerSpec.StopGracePeriod;
  return ns === undefined ? DEFAULT_STOP_GRACE_MS : Math.round(ns / NS_PER_MS);
}

/**
 * The container to create for `task`. `nodeId` defaults to the task's NodeID; the executor
 * passes its own so the node label always matches the filter it adopts and watches with.
 */
export function containerSpecFor(task: Task, nodeId: string = task.NodeID): ContainerSpec {
  const source = task.Spec.ContainerSpec;
  const name = containerName(task);
  const spec: ContainerSpec = {
    name,
    image: source.Image,
    // Ours last: a user label must not be able to hide a container from its node.
    labels: {
      ...source.Labels,
      [DOCKER_SERVICE_ID_LABEL]: task.ServiceID,
      [DOCKER_SERVICE_NAME_LABEL]: task.ServiceAnnotations.Name,
      [DOCKER_TASK_ID_LABEL]: task.ID,
      [DOCKER_TASK_NAME_LABEL]: name,
      [DOCKER_NODE_ID_LABEL]: nodeId,
      [NODE_LABEL]: nodeId,
      [SERVICE_LABEL]: task.ServiceID,
      [TASK_LABEL]: task.ID,
      [SLOT_LABEL]: String(task.Slot),
    },
    stopGraceMs: stopGraceMs(task),
  };
  if (source.Command?.length) spec.command = [...source.Command];
  if (source.Args?.length) spec.args = [...source.Args];
  if (source.Env?.length) spec.env = envMap(source.Env);
  if (source.Hostname) spec.hostname = source.Hostname;
  if (source.User) spec.user = source.User;
  if (source.Dir) spec.workingDir = source.Dir;
  if (source.StopSignal) spec.stopSignal = source.StopSignal;
  if (source.Mounts?.length) spec.mounts = source.Mounts.map(toMount);
  if (source.Healthcheck) spec.healthcheck = toHealthcheck(source.Healthcheck);
  const limits = task.Spec.Resources?.Limits;
  if (limits?.NanoCPUs) spec.nanoCpus = limits.NanoCPUs;
  if (limits?.MemoryBytes) spec.memoryBytes = limits.MemoryBytes;
  const ports = (task.Endpoint?.Ports ?? []).flatMap(toPortBinding);
  if (ports.length) spec.ports = ports;
  return spec;
}

/**
 * "K=V" entries to a map; a later entry wins, as in Docker. An entry without "=" asks Docker
 * to unset the variable, which a map cannot say, so it is left out.
 */
function envMap(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function toMount(mount: NonNullable<Task['Spec']['ContainerSpec']['Mounts']>[number]): Mount {
  const out: Mount = { type: mount.Type, target: mount.Target };
  if (mount.Source !== undefined) out.source = mount.Source;
  if (mount.ReadOnly) out.readOnly = true;
  return out;
}

/** An absent Test is kept as [] (Docker: use the image's test with these timings). */
function toHealthcheck(health: HealthConfig): Healthcheck {
  const out: Healthcheck = { test: [...(health.Test ?? [])] };
  const interval = nsToMs(health.Interval);
  const timeout = nsToMs(health.Timeout);
  const startPeriod = nsToMs(health.StartPeriod);
  if (interval !== undefined) out.intervalMs = interval;
  if (timeout !== undefined) out.timeoutMs = timeout;
  if (startPeriod !== undefined) out.startPeriodMs = startPeriod;
  if (health.Retries) out.retries = health.Retries;
  return out;
}

/** 0 or absent means "the default" in Docker; anything set stays at least 1 ms. */
function nsToMs(ns: number | undefined): number | undefined {
  if (!ns || ns <= 0) return undefined;
  return Math.max(1, Math.round(ns / NS_PER_MS));
}

/**
 * Host mode binds the published port on this node (0: the engine picks). Ingress binds an
 * ephemeral port the engine picks; the routing mesh forwards the service's port to it. The
 * runtime has no SCTP, so such ports are not bound here.
 */
function toPortBinding(port: PortConfig): PortBinding[] {
  if (port.Protocol === 'sctp') return [];
  const hostPort = port.PublishMode === 'host' ? (port.PublishedPort ?? 0) : 0;
  return [{ containerPort: port.TargetPort, protocol: port.Protocol ?? 'tcp', hostPort }];
}
