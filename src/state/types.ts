/**
 * The replicated objects, in the shapes of Docker's swarm object model (so the Docker CLI and
 * tools built on the Docker API read them unchanged). Field names are Docker's, PascalCase.
 *
 * `Version.Index` is the Raft index of the command that last wrote the object; an update
 * that names an older version is refused (409). Timestamps are RFC 3339 strings chosen by the
 * proposer, never by apply, so every manager stores the same bytes.
 */

export interface Version {
  Index: number;
}

export interface ObjectMeta {
  ID: string;
  Version: Version;
  CreatedAt: string;
  UpdatedAt: string;
}

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';
/** Docker's node states; swarmts uses unknown, ready, down and disconnected. */
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface NodeSpec {
  Name?: string;
  Labels: Record<string, string>;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface NodeDescription {
  Hostname: string;
  Platform: { Architecture: string; OS: string };
  Resources: { NanoCPUs: number; MemoryBytes: number };
  Engine: { EngineVersion: string; Labels?: Record<string, string> };
}

export interface NodeStatus {
  State: NodeState;
  Message?: string;
  /** The node's IP address as other nodes reach it. */
  Addr: string;
}

/** Filled in when read, from the Raft group's view; never stored. */
export interface ManagerStatus {
  Leader?: boolean;
  Reachability: Reachability;
  /** host:port of the manager's listen address. */
  Addr: string;
}

export interface Node extends ObjectMeta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
  /**
   * swarmts: the role the node holds now (Spec.Role is the one asked for). A manager becomes
   * `manager` once it is a Raft voter and `worker` once it has left the Raft group.
   */
  Role: NodeRole;
  /** swarmts: libp2p multiaddrs (with /p2p/<ID>) other agents dial to reach this node. */
  P2PAddrs: string[];
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

export interface ClusterSpec {
  Name: string;
  Labels: Record<string, string>;
  Raft: { SnapshotInterval: number; ElectionTick: number; HeartbeatTick: number };
  Dispatcher: { HeartbeatPeriod: number };
}

/** Docker calls it Swarm in /swarm and Cluster inside SwarmKit. */
export interface Cluster extends ObjectMeta {
  Spec: ClusterSpec;
  JoinTokens: JoinTokens;
}
