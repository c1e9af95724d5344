import { InvalidArgumentError } from '../errors.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export type DockerEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number };

/**
 * Parses a DOCKER_HOST-style address: `unix:///path/to/socket`, a bare socket path, or
 * `tcp://host:port` (plain HTTP; TLS engines are not supported yet and are refused clearly).
 */
export function parseDockerHost(address: string): DockerEndpoint {
  const value = address.trim();
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new InvalidArgumentError(
        `invalid Docker host "${address}": a unix socket path must be absolute`,
      );
    }
    return { kind: 'unix', socketPath };
  }
  if (value.startsWith('/')) return { kind: 'unix', socketPath: value };
  if (value.startsWith('tcp://') || value.startsWith('http://')) {
    const url = new URL(value.replace(/^tcp:/, 'http:'));
    const port = url.port ? Number(url.port) : 2375;
    if (!url.hostname)
      throw new InvalidArgumentError(`invalid Docker host "${address}": no host name`);
    return { kind: 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port };
  }
  throw new InvalidArgumentError(
    `invalid Docker host "${address}": use unix:///path/to/docker.sock or tcp://host:port`,
  );
}

export function formatDockerEndpoint(endpoint: DockerEndpoint): string {
  return endpoint.kind === 'unix'
    ? `unix://${endpoint.socketPath}`
    : `tcp://${endpoint.host}:${endpoint.port}`;
}
