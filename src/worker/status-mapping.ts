/**
 * Pure translations from what the engine says about a container to task status fields:
 * how an exit reads, and which host ports the task's published ports landed on.
 */
import type { PublishedPort } from '../runtime/types.js';
import type { PortConfig, Task, TaskState } from '../state/service-types.js';

export interface ExitOutcome {
  state: TaskState;
  message: string;
  err?: string;
}

/**
 * A container's exit as a task state. While the task is meant to stop, any exit is the
 * shutdown it was asked for; otherwise 0 completes it and anything else fails it.
 */
export function exitOutcome(exitCode: number, oomKilled: boolean, stopping: boolean): ExitOutcome {
  if (stopping) return { state: 'shutdown', message: 'shutdown' };
  if (oomKilled) {
    return {
      state: 'failed',
      message: 'failed',
      err: `task: non-zero exit (${exitCode}): killed by the kernel OOM killer`,
    };
  }
  if (exitCode === 0) return { state: 'complete', message: 'finished' };
  return { state: 'failed', message: 'failed', err: `task: non-zero exit (${exitCode})` };
}

/**
 * The task's ports with PublishedPort set to the host port the engine bound. The engine lists
 * a binding once per address family (0.0.0.0 and ::) with the same port: those count once.
 * Host-mode ports with a fixed port claim theirs first, so a port the engine picked for
 * another entry on the same target port is never mistaken for it.
 */
export function portStatus(task: Task, published: readonly PublishedPort[]): PortConfig[] {
  const ports = (task.Endpoint?.Ports ?? []).filter((p) => p.Protocol !== 'sctp');
  const used = new Set<string>();
  const claim = (port: PortConfig, exact: boolean): PublishedPort | undefined => {
    const binding = published.find(
      (p) =>
        p.containerPort === port.TargetPort &&
        p.protocol === (port.Protocol ?? 'tcp') &&
        p.hostPort > 0 &&
        !used.has(bindingKey(p)) &&
        (!exact || p.hostPort === port.PublishedPort),
    );
    if (binding) used.add(bindingKey(binding));
    return binding;
  };
  const fixed = (port: PortConfig) => port.PublishMode === 'host' && Boolean(port.PublishedPort);
  const bindings = new Map<PortConfig, PublishedPort | undefined>();
  for (const port of ports) if (fixed(port)) bindings.set(port, claim(port, true));
  for (const port of ports) if (!fixed(port)) bindings.set(port, claim(port, false));

  const out: PortConfig[] = [];
  for (const port of ports) {
    const binding = bindings.get(port);
    if (!binding) continue; // not bound (yet)
    const config: PortConfig = {
      Protocol: port.Protocol ?? 'tcp',
      TargetPort: port.TargetPort,
      PublishedPort: binding.hostPort,
      PublishMode: port.PublishMode ?? 'ingress',
    };
    if (port.Name) config.Name = port.Name;
    out.push(config);
  }
  return out;
}

function bindingKey(p: PublishedPort): string {
  return `${p.containerPort}/${p.protocol}/${p.hostPort}`;
}
