/**
 * The managers' side of `swarmts join`, protocol /swarmts/join/1. A node that reached us has
 * already proved it holds the network key (the private-network handshake); here it proves
 * its role secret. The caller's identity is the libp2p peer id the handshake authenticated,
 * never a field of the request.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { ClusterStore, Node } from '../state/index.js';
import type { Consensus } from './consensus.js';
import type { ControlApi } from './controlapi.js';
import { type JoinRequest, type JoinResponse, joinRequest, type ManagerAddress } from './wire.js';

export interface JoinHandlerDeps {
  store: ClusterStore;
  consensus: Consensus;
  controlApi: ControlApi;
  /** Handed to nodes that join as managers, who will seal and unseal secrets too. */
  secretsKey: Uint8Array;
  now: () => Date;
  logger: Logger;
}

export function joinHandler(deps: JoinHandlerDeps) {
  return async (raw: unknown, remotePeer: string): Promise<JoinResponse> => {
    const parsed = joinRequest.safeParse(raw);
    if (!parsed.success) return refuse('malformed join request');
    try {
      return await admit(deps, parsed.data, remotePeer);
    } catch (error) {
      deps.logger.warn({ peer: remotePeer, err: oneLineMessage(error) }, 'join failed');
      // No leader, a lost proposal...: the node may try another manager, or again later.
      return { ok: false, message: oneLineMessage(error).slice(0, 1000), retry: true };
    }
  };
}

async function admit(
  deps: JoinHandlerDeps,
  request: JoinRequest,
  nodeId: string,
): Promise<JoinResponse> {
  // Read the tokens as of now: a token rotated a moment ago on the leader must not work here.
  await deps.consensus.readBarrier();
  const role = deps.controlApi.roleForSecret(request.roleSecret);
  if (!role) {
    deps.logger.warn({ peer: nodeId }, 'refused a join with a wrong role secret');
    return refuse('invalid join token: the swarm refused its secret (rotated, or another swarm)');
  }
  if (deps.store.isRemoved(nodeId)) {
    return refuse(
      'this node was removed from the swarm; it can only join again with a new identity (swarmts leave, then join)',
    );
  }
  const addrsError = checkAddresses(request.p2pAddrs, nodeId);
  if (addrsError) return refuse(addrsError);
  const clusterId = deps.controlApi.cluster().ID;
  const existing = deps.store.getNode(nodeId);
  if (!existing) {
    const at = deps.now().toISOString();
    await deps.consensus.propose({
      type: 'node.create',
      node: {
        ID: nodeId,
        CreatedAt: at,
        UpdatedAt: at,
        Spec: { Labels: {}, Role: role, Availability: 'active' },
        Description: request.description,
        Status: { State: 'unknown', Addr: request.addr },
        Role: 'worker',
        P2PAddrs: request.p2pAddrs,
      },
    });
    deps.logger.info({ peer: nodeId, role, hostname: request.description.Hostname }, 'node joined');
  }
  const granted = existing?.Spec.Role ?? role;
  return {
    ok: true,
    clusterId,
    role: granted,
    managers: managerAddresses(deps.store.listNodes()),
    ...(granted === 'manager' ? { secretsKey: new Uint8Array(deps.secretsKey) } : {}),
  };
}

/** A final answer: the same request will be refused again. */
function refuse(message: string): JoinResponse {
  return { ok: false, message, retry: false };
}

/** Why `addrs` cannot be a node's own addresses (one names another node), if they cannot. */
export function checkAddresses(addrs: string[], nodeId: string): string | undefined {
  for (const address of addrs) {
    try {
      const peer = multiaddr(address)
        .getComponents()
        .find((c) => c.name === 'p2p')?.value;
      if (peer !== undefined && peerIdFromString(peer).toString() !== nodeId) {
        return `address ${address} names another node`;
      }
    } catch {
      return `address ${address} is not a multiaddr`;
    }
  }
  return undefined;
}

/** Who agents should dial to reach the managers. */
export function managerAddresses(nodes: readonly Node[]): ManagerAddress[] {
  return nodes
    .filter((n) => n.Spec.Role === 'manager' || n.Role === 'manager')
    .map((n) => ({ id: n.ID, addrs: n.P2PAddrs }));
}
