/**
 * Listen and advertise addresses as users write them (Docker's forms: "0.0.0.0:4377",
 * "10.0.0.1", "eth0", "eth0:4377") and as libp2p wants them (multiaddrs).
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError } from '../errors.js';

export const DEFAULT_PORT = 4377;

export interface HostPort {
  host: string;
  port: number;
}

/** "host", "host:port", "[v6]:port"; the port defaults to `defaultPort`. */
export function parseHostPort(text: string, defaultPort: number, what: string): HostPort {
  const trimmed = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  let host: string;
  let port: string | undefined;
  if (v6) {
    host = v6[1] ?? '';
    port = v6[2];
  } else {
    const parts = trimmed.split(':');
    if (parts.length > 2) throw new InvalidArgumentError(`${what} ${text}: use host:port`);
    host = parts[0] ?? '';
    port = parts[1];
  }
  if (host === '') throw new InvalidArgumentError(`${what} ${text}: the host is missing`);
  const number = port === undefined ? defaultPort : Number(port);
  if (!Number.isInteger(number) || number < 1 || number > 65535) {
    throw new InvalidArgumentError(`${what} ${text}: the port must be 1-65535`);
  }
  return { host: resolveInterface(host, what), port: number };
}

/** An interface name stands for its first IPv4 address. */
function resolveInterface(host: string, what: string): string {
  if (isIP(host) || /^[a-z0-9.-]+\.[a-z]+$/i.test(host) || host === 'localhost') return host;
  const addresses = networkInterfaces()[host];
  if (!addresses) return host;
  const v4 = addresses.find((a) => a.family === 'IPv4');
  if (!v4) throw new InvalidArgumentError(`${what}: interface ${host} has no IPv4 address`);
  return v4.address;
}

/** The address other machines most likely reach us at: the first non-loopback IPv4. */
export function defaultAdvertiseIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

export function tcpMultiaddr({ host, port }: HostPort): string {
  const kind = isIP(host) === 6 ? 'ip6' : isIP(host) === 4 ? 'ip4' : 'dns';
  return `/${kind}/${host}/tcp/${port}`;
}
