/**
 * What makes the control socket answer like a Docker engine in swarm mode, for the stock
 * docker CLI and tools on the Docker API: the version headers clients negotiate with, Go's
 * `null` for empty fields read as absent, and a prompt Docker-style error for the engine
 * endpoints swarmts does not serve (containers, images, ...), never a hang.
 */

import type { Cluster } from '../state/index.js';
import { SWARMTS_VERSION } from '../version.js';
import type { ApiRequest, ApiResponse } from './types.js';

/** The newest Docker Engine API version whose swarm endpoints swarmts speaks. */
export const API_VERSION = '1.47';
/** The oldest a client may use (Docker's own minimum). */
export const MIN_API_VERSION = '1.24';

/** Headers on every answer; clients read the API version from /_ping's. */
export function commonHeaders(): Record<string, string> {
  return {
    'api-version': API_VERSION,
    'docker-experimental': 'false',
    ostype: 'linux',
    server: `swarmts/${SWARMTS_VERSION} (linux)`,
  };
}

/**
 * Go marshals empty slices, maps and pointers as `null`; the API's schemas read absent fields,
 * so nulls inside objects are dropped (recursively) before validation.
 */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child !== null) out[key] = stripNulls(child);
  }
  return out;
}

/** Engine endpoints of a single Docker host: swarmts manages services, not local objects. */
const ENGINE_ONLY = [
  'containers',
  'images',
  'build',
  'volumes',
  'exec',
  'plugins',
  'system',
  'events',
  'commit',
  'auth',
  'distribution',
  'session',
  'grpc',
  'swarm/unlock',
  'swarm/unlockkey',
];

/** 501 for an engine endpoint swarmts does not serve, 404 for anything else unknown. */
export function unknownRoute(request: ApiRequest): ApiResponse {
  const path = request.path.replace(/^\/+/, '');
  const area = ENGINE_ONLY.find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  if (area) {
    return {
      status: 501,
      body: {
        message: `swarmts does not serve /${area}: it manages swarm services, nodes, secrets, configs and networks; use a node's own Docker engine for ${area}`,
      },
    };
  }
  return { status: 404, body: { message: `page not found: ${request.method} ${request.path}` } };
}

/** Docker's ClusterInfo: the swarm as /swarm and /info's Swarm.Cluster show it. */
export function dockerCluster(cluster: Cluster) {
  const { Spec } = cluster;
  return {
    ID: cluster.ID,
    Version: cluster.Version,
    CreatedAt: cluster.CreatedAt,
    UpdatedAt: cluster.UpdatedAt,
    Spec: {
      Name: Spec.Name,
      Labels: Spec.Labels,
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: {
        SnapshotInterval: Spec.Raft.SnapshotInterval,
        KeepOldSnapshots: 0,
        LogEntriesForSlowFollowers: 500,
        ElectionTick: Spec.Raft.ElectionTick,
        HeartbeatTick: Spec.Raft.HeartbeatTick,
      },
      Dispatcher: Spec.Dispatcher,
      // swarmts has no certificates: nodes are identified by their libp2p keys.
      CAConfig: { NodeCertExpiry: 0 },
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: false },
    },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DefaultAddrPool: [],
    SubnetSize: 24,
    DataPathPort: 0,
  };
}
