/**
 * Host-mode published ports. A task publishing `mode=host` binds the port on its own node, so
 * two such tasks with the same port and protocol cannot share a node. Ingress ports are served
 * by the routing mesh on every node and never conflict; a host port without a number is chosen
 * by the engine and cannot conflict either.
 */
import type { PortConfig } from '../../state/service-types.js';

/** The task's host ports as "80/tcp" keys, in the order the task lists them, without repeats. */
export function hostPortKeys(ports: readonly PortConfig[] | undefined): string[] {
  const keys: string[] = [];
  if (ports === undefined) return keys;
  for (const port of ports) {
    if (port.PublishMode !== 'host') continue;
    if (port.PublishedPort === undefined || port.PublishedPort <= 0) continue;
    const key = `${port.PublishedPort}/${port.Protocol ?? 'tcp'}`;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}
