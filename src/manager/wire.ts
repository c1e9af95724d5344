/**
 * Messages between agents and managers (join, dispatcher sessions), checked with zod on
 * arrival: they come from other machines, and a bad one closes the stream, never the agent.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { z } from 'zod';
import { taskSchema, taskStatus } from '../state/service-schema.js';

const description = z.object({
  Hostname: z.string().min(1).max(253),
  Platform: z.object({ Architecture: z.string().max(64), OS: z.string().max(64) }),
  Resources: z.object({
    NanoCPUs: z.number().int().nonnegative(),
    MemoryBytes: z.number().int().nonnegative(),
  }),
  Engine: z.object({
    EngineVersion: z.string().max(128),
    Labels: z.record(z.string().max(256), z.string().max(1024)).optional(),
  }),
});

const nodeReport = {
  description,
  /** The IP other nodes reach this one at. */
  addr: z.string().min(1).max(64),
  p2pAddrs: z.array(z.string().max(256)).min(1).max(16),
};

export const joinRequest = z.object({
  roleSecret: z.instanceof(Uint8Array),
  ...nodeReport,
});
export type JoinRequest = z.infer<typeof joinRequest>;

/** A node id: a libp2p peer id as text. */
export const nodeIdSchema = z.string().refine(
  (text) => {
    try {
      peerIdFromString(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a node id' },
);

export const managerAddress = z.object({
  id: nodeIdSchema,
  addrs: z.array(z.string().max(256)).max(16),
});
export type ManagerAddress = z.infer<typeof managerAddress>;

export const joinResponse = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    clusterId: z.string(),
    role: z.enum(['worker', 'manager']),
    managers: z.array(managerAddress),
    /** To a node joining as a manager only: the swarm's secrets key. */
    secretsKey: z.instanceof(Uint8Array).optional(),
  }),
  z.object({ ok: z.literal(false), message: z.string().max(1024), retry: z.boolean() }),
]);
export type JoinResponse = z.infer<typeof joinResponse>;

/** Agent → manager, first message of a dispatcher session. */
export const sessionHello = z.object({ t: z.literal('hello'), ...nodeReport });
export type SessionHello = z.infer<typeof sessionHello>;

const role = z.enum(['worker', 'manager']);
/** What an agent reads of its own Node object; the rest passes through. */
export const sessionNode = z.looseObject({
  ID: z.string(),
  Role: role,
  Spec: z.looseObject({ Role: role, Availability: z.enum(['active', 'pause', 'drain']) }),
});
export type SessionNode = z.infer<typeof sessionNode>;

/** The routing mesh's table (src/manager/endpoints.ts builds it, src/ingress follows it). */
export const meshTableSchema = z
  .array(
    z.object({
      serviceId: z.string().max(128),
      name: z.string().max(256),
      ports: z
        .array(
          z.object({
            protocol: z.enum(['tcp', 'udp']),
            published: z.number().int().min(1).max(65535),
            proxyProtocol: z.boolean(),
            backends: z
              .array(
                z.object({
                  taskId: z.string().max(128),
                  nodeId: z.string().max(128),
                  addr: z.string().max(64),
                  hostPort: z.number().int().min(1).max(65535),
                }),
              )
              .max(100_000),
          }),
        )
        .max(256),
    }),
  )
  .max(10_000);

/** Manager → agent. `node` is the agent's own Node object as the store holds it. */
export const sessionMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('redirect'), leader: managerAddress.nullable() }),
  /** `secretsKey` goes only to a node whose Spec.Role is manager. */
  z.object({
    t: z.literal('welcome'),
    managers: z.array(managerAddress),
    node: sessionNode,
    secretsKey: z.instanceof(Uint8Array).optional(),
  }),
  z.object({
    t: z.literal('node'),
    node: sessionNode,
    secretsKey: z.instanceof(Uint8Array).optional(),
  }),
  z.object({ t: z.literal('managers'), managers: z.array(managerAddress) }),
  z.object({ t: z.literal('removed') }),
  /** The node's tasks: `full` replaces what the agent holds, otherwise changes to merge. */
  z.object({
    t: z.literal('assignments'),
    full: z.boolean(),
    tasks: z.array(taskSchema).max(20_000),
    removed: z.array(z.string().max(128)).max(20_000),
  }),
  z.object({ t: z.literal('mesh'), table: meshTableSchema }),
  /** The data of a secret or config the node's tasks use, before the assignments that do. */
  z.object({
    t: z.literal('file'),
    key: z.string().max(160),
    data: z.instanceof(Uint8Array),
  }),
]);
export type SessionMessage = z.infer<typeof sessionMessage>;

/**
 * Agent → manager after the hello: what its tasks are doing. The envelope is checked first,
 * then each report on its own, so one bad report is dropped, not the session.
 */
export const taskStatusReports = z.object({
  t: z.literal('status'),
  reports: z.array(z.unknown()).max(20_000),
});
export const taskStatusReport = z.object({
  taskId: z.string().min(1).max(128),
  status: taskStatus,
});
export type TaskStatusReport = z.infer<typeof taskStatusReport>;
