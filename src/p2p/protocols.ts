/** The libp2p protocol ids and gossip topics swarmts speaks. A version bump is a new id. */
export const JOIN_PROTOCOL = '/swarmts/join/1';
export const CONTROL_PROTOCOL = '/swarmts/control/1';
export const DISPATCHER_PROTOCOL = '/swarmts/dispatcher/1';
export const HEARTBEAT_TOPIC = '/swarmts/heartbeat/1';
export const LOGS_PROTOCOL = '/swarmts/logs/1';
