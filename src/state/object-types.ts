/**
 * Secrets, configs and networks, in the shapes of Docker's swarm object model.
 *
 * A secret's data is kept sealed (encrypted with the cluster's secrets key, which never enters
 * the Raft log) from the moment the control API accepts it; only the dispatcher unseals it,
 * for a node that runs a task using it. A config's data is stored as given.
 */
import type { ObjectMeta } from './types.js';

/** Docker's limits: 500 KB of secret data, 1,000 KB of config data. */
export const MAX_SECRET_BYTES = 500 * 1024;
export const MAX_CONFIG_BYTES = 1000 * 1024;

/** Docker's rule for secret and config names. */
export const OBJECT_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;

export interface SecretSpec {
  Name: string;
  Labels: Record<string, string>;
}

export interface ConfigSpec {
  Name: string;
  Labels: Record<string, string>;
}

/** A secret as stored: the data sealed, never returned by the API. */
export interface Secret extends ObjectMeta {
  Spec: SecretSpec;
  /** nonce ‖ ciphertext ‖ tag (AES-256-GCM). */
  Sealed: Uint8Array;
}

export interface Config extends ObjectMeta {
  Spec: ConfigSpec;
  Data: Uint8Array;
}

export interface NetworkSpec {
  Name: string;
  Labels: Record<string, string>;
  Driver: string;
  Options: Record<string, string>;
  Attachable: boolean;
  Internal: boolean;
}

/**
 * A swarm-scoped network. swarmts records networks so stacks and tools that create them work,
 * but tasks run on each node's default bridge and reach each other through published ports
 * (docs/compatibility.md).
 */
export interface Network extends ObjectMeta {
  Spec: NetworkSpec;
}

/** How a task's container sees a secret or config: a file at Name (relative to its root). */
export interface FileTarget {
  /** Secrets: a name under /run/secrets, or an absolute path. Configs: an absolute path. */
  Name: string;
  UID: string;
  GID: string;
  /** Unix permission bits, as Docker sends them (a number, 0444 by default). */
  Mode: number;
}

export interface SecretReference {
  File: FileTarget;
  SecretID: string;
  SecretName: string;
}

export interface ConfigReference {
  File: FileTarget;
  ConfigID: string;
  ConfigName: string;
}

export interface NetworkAttachmentConfig {
  /** A network's id or name. */
  Target: string;
  Aliases?: string[];
}
