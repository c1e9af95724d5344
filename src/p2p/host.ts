/**
 * The libp2p host every agent runs: TCP, the swarm's private network, noise, yamux, identify,
 * ping and gossipsub.
 * Protocols (raft, dispatcher, gossip) register their handlers on the host it returns.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { withQuietFraming } from './noise-framing.js';
import { privateNetwork } from './private-network.js';

export interface HostOptions {
  privateKey: PrivateKey;
  /** 32 bytes shared by the cluster (see private-network.ts). */
  networkSecret: Uint8Array;
  /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/4377. */
  listen: string[];
  /** Multiaddrs other nodes should dial, when they differ from the listen addresses. */
  announce?: string[];
  /**
   * How long the private-network handshake may take. A peer with the wrong key is refused as
   * soon as its proof arrives; this bounds a peer that never sends one.
   */
  handshakeTimeoutMs?: number;
}

export type Host = Libp2p<{
  identify: ReturnType<ReturnType<typeof identify>>;
  ping: ReturnType<ReturnType<typeof ping>>;
  pubsub: GossipSub;
}>;

export async function createHost(options: HostOptions): Promise<Host> {
  return createLibp2p({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen,
      ...(options.announce ? { announce: options.announce } : {}),
    },
    transports: [tcp()],
    connectionEncrypters: [withQuietFraming(noise())],
    streamMuxers: [yamux()],
    connectionProtector: privateNetwork({
      networkKey: options.networkSecret,
      timeoutMs: options.handshakeTimeoutMs ?? 2000,
    }),
    services: {
      identify: identify(),
      ping: ping(),
      // Own messages go to every subscribed peer (not only the mesh), so a heartbeat reaches
      // every manager in one hop; publishing before any peer is known is not an error.
      pubsub: gossipsub({
        floodPublish: true,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
      }),
    },
  });
}
