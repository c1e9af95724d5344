/**
 * What the cluster commands share: an ApiClient for the agent picked by the global
 * `-H, --host` option (else SWARMTS_HOST, else the default socket), the shape of GET /info
 * they read, and docker's small text helpers.
 */
import type { Command } from 'commander';
import { ApiClient, resolveSocket } from '../api/client.js';
import { InvalidArgumentError } from '../errors.js';
import type { CliIo } from './io.js';

export type ClientFactory = (socketPath: string) => ApiClient;

export interface ApiCommandDeps {
  io: CliIo;
  /** Tests may hand in their own client; by default a plain ApiClient on the socket. */
  client?: ClientFactory;
}

/** The client for the agent this command line talks to. */
export function apiClient(command: Command, deps: ApiCommandDeps): ApiClient {
  const { host } = command.optsWithGlobals<{ host?: string }>();
  const socketPath = resolveSocket(host, deps.io.env);
  return deps.client ? deps.client(socketPath) : new ApiClient(socketPath);
}

/** The parts of GET /info the CLI reads. */
export interface AgentInfo {
  ID: string;
  Name?: string;
  Swarm: {
    NodeID: string;
    NodeAddr: string;
    LocalNodeState: 'inactive' | 'active' | string;
    ControlAvailable: boolean;
    RemoteManagers?: Array<{ NodeID: string; Addr: string }> | null;
  };
}

/** The id of the node the CLI talks to (docker's `self`). */
export function selfNodeId(info: AgentInfo): string {
  return info.Swarm.NodeID || info.ID;
}

/** Docker's PrettyPrint of an enum: the first letter capitalized ("ready" → "Ready"). */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A repeatable option's collector: `--label-add a=1 --label-add b=2` → ['a=1', 'b=2']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Refuses a flag value outside `allowed`, before any request is sent. */
export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const lower = value.toLowerCase();
  const match = allowed.find((a) => a === lower);
  if (match === undefined) {
    throw new InvalidArgumentError(
      `invalid argument "${value}" for "${flag}" flag: must be one of ${allowed.join(', ')}`,
    );
  }
  return match;
}
