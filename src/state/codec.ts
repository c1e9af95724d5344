/**
 * Commands and snapshots on the wire: msgpackr bytes, checked with zod when read back.
 *
 * Bytes handed to the store come from the Raft log, i.e. from another manager or from disk,
 * so decoding never trusts them: any shape that is not exactly a Command (or a snapshot) is an
 * InvalidArgumentError naming the first problems, which the store turns into a refusal.
 * Unknown extra fields are dropped, so a newer proposer's additions do not break an older
 * reader's validation.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { DecodeError, decode, encode } from '../wire/codec.js';
import type { Command, NewCluster, NewNode, TaskOp } from './commands.js';
import {
  configSchema,
  networkSchema,
  newConfig,
  newNetwork,
  newSecret,
  secretSchema,
} from './object-schema.js';
import type { Config, Network, Secret } from './object-types.js';
import {
  newService,
  newTask,
  portConfig,
  serviceSchema,
  serviceSpec,
  taskSchema,
  taskStateSchema,
  taskStatus,
  updateStatusSchema,
} from './service-schema.js';
import type { Service, Task } from './service-types.js';
import type { Cluster, Node } from './types.js';

const id = z.string().min(1);
const index = z.number().int().nonnegative();
/** RFC 3339, as the proposer chose it (apply never reads a clock). */
const timestamp = z.iso.datetime({ offset: true });
const labels = z.record(z.string(), z.string());
const version = z.object({ Index: index });

const nodeRole = z.enum(['worker', 'manager']);
const nodeState = z.enum(['unknown', 'down', 'ready', 'disconnected']);

const nodeSpec = z.object({
  Name: z.string().optional(),
  Labels: labels,
  Role: nodeRole,
  Availability: z.enum(['active', 'pause', 'drain']),
});

const nodeDescription = z.object({
  Hostname: z.string(),
  Platform: z.object({ Architecture: z.string(), OS: z.string() }),
  Resources: z.object({
    NanoCPUs: z.number().int().nonnegative(),
    MemoryBytes: z.number().int().nonnegative(),
  }),
  Engine: z.object({ EngineVersion: z.string(), Labels: labels.optional() }),
});

const nodeStatus = z.object({
  State: nodeState,
  Message: z.string().optional(),
  Addr: z.string(),
});

const newNodeShape = {
  ID: id,
  CreatedAt: timestamp,
  UpdatedAt: timestamp,
  Spec: nodeSpec,
  Description: nodeDescription,
  Status: nodeStatus,
  Role: nodeRole,
  P2PAddrs: z.array(z.string()),
};

const clusterSpec = z.object({
  Name: z.string(),
  Labels: labels,
  Raft: z.object({
    SnapshotInterval: z.number().int().positive(),
    ElectionTick: z.number().int().positive(),
    HeartbeatTick: z.number().int().positive(),
  }),
  Dispatcher: z.object({ HeartbeatPeriod: z.number().nonnegative() }),
});

const joinTokens = z.object({ Worker: z.string(), Manager: z.string() });

const newClusterShape = {
  ID: id,
  CreatedAt: timestamp,
  UpdatedAt: timestamp,
  Spec: clusterSpec,
  JoinTokens: joinTokens,
};

const newNode: z.ZodType<NewNode> = z.object(newNodeShape);
const newCluster: z.ZodType<NewCluster> = z.object(newClusterShape);
/** A stored node: ManagerStatus is filled in when read, never stored, so it is dropped here. */
const nodeSchema: z.ZodType<Node> = z.object({ ...newNodeShape, Version: version });
const clusterSchema: z.ZodType<Cluster> = z.object({ ...newClusterShape, Version: version });

const commandSchema: z.ZodType<Command> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cluster.create'), cluster: newCluster }),
  z.object({
    type: z.literal('cluster.update'),
    version: index,
    spec: clusterSpec.optional(),
    joinTokens: joinTokens.optional(),
    at: timestamp,
  }),
  z.object({ type: z.literal('node.create'), node: newNode }),
  z.object({
    type: z.literal('node.updateSpec'),
    id,
    version: index,
    spec: nodeSpec,
    at: timestamp,
  }),
  z.object({
    type: z.literal('node.setStatus'),
    updates: z.array(z.object({ id, state: nodeState, message: z.string().optional() })),
    at: timestamp,
  }),
  z.object({ type: z.literal('node.setRole'), id, role: nodeRole, at: timestamp }),
  z.object({
    type: z.literal('node.describe'),
    id,
    description: nodeDescription,
    addr: z.string(),
    p2pAddrs: z.array(z.string()),
    at: timestamp,
  }),
  z.object({ type: z.literal('node.remove'), id }),
  z.object({ type: z.literal('service.create'), service: newService }),
  z.object({
    type: z.literal('service.update'),
    id,
    version: index,
    spec: serviceSpec,
    previousSpec: serviceSpec.optional(),
    ports: z.array(portConfig),
    updateStatus: updateStatusSchema.optional(),
    jobIteration: index.optional(),
    at: timestamp,
  }),
  z.object({
    type: z.literal('service.setUpdateStatus'),
    id,
    version: index,
    updateStatus: updateStatusSchema,
    at: timestamp,
  }),
  z.object({ type: z.literal('service.remove'), id, at: timestamp }),
  z.object({ type: z.literal('tasks.write'), ops: z.array(z.lazy(() => taskOp)), at: timestamp }),
  z.object({ type: z.literal('secret.create'), secret: newSecret }),
  z.object({ type: z.literal('config.create'), config: newConfig }),
  z.object({ type: z.literal('network.create'), network: newNetwork }),
  z.object({
    type: z.literal('object.updateLabels'),
    kind: z.enum(['secret', 'config']),
    id,
    version: index,
    labels,
    at: timestamp,
  }),
  z.object({ type: z.literal('object.remove'), kind: z.enum(['secret', 'config', 'network']), id }),
]);

const taskOp: z.ZodType<TaskOp> = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), task: newTask }),
  z.object({ op: z.literal('assign'), id, nodeId: id }),
  z.object({ op: z.literal('unplaced'), id, reason: z.string().max(4096) }),
  z.object({ op: z.literal('desire'), id, state: taskStateSchema }),
  z.object({ op: z.literal('status'), id, nodeId: id, status: taskStatus }),
  z.object({ op: z.literal('remove'), id }),
]);

/** What a snapshot holds; `format` changes whenever the layout does. */
export const SNAPSHOT_FORMAT = 3;

export interface SnapshotContents {
  format: typeof SNAPSHOT_FORMAT;
  cluster: Cluster | null;
  nodes: Node[];
  removed: string[];
  services: Service[];
  tasks: Task[];
  secrets: Secret[];
  configs: Config[];
  networks: Network[];
}

const snapshotSchema: z.ZodType<SnapshotContents> = z
  .object({
    // Format 1 (before services) and 2 (before secrets, configs, networks) read as format 3
    // with none of what they lack.
    format: z
      .union([z.literal(1), z.literal(2), z.literal(SNAPSHOT_FORMAT)])
      .transform((): typeof SNAPSHOT_FORMAT => SNAPSHOT_FORMAT),
    cluster: clusterSchema.nullable(),
    nodes: z.array(nodeSchema),
    removed: z.array(id),
    services: z.array(serviceSchema).default([]),
    tasks: z.array(taskSchema).default([]),
    secrets: z.array(secretSchema).default([]),
    configs: z.array(configSchema).default([]),
    networks: z.array(networkSchema).default([]),
  })
  .superRefine((snapshot, ctx) => {
    // Checks a Map would otherwise hide: one object per id, and no live node that was removed.
    const ids = new Set<string>();
    const removed = new Set(snapshot.removed);
    for (const node of snapshot.nodes) {
      if (ids.has(node.ID)) ctx.addIssue({ code: 'custom', message: `node ${node.ID} twice` });
      if (removed.has(node.ID)) {
        ctx.addIssue({ code: 'custom', message: `node ${node.ID} both present and removed` });
      }
      ids.add(node.ID);
    }
    // One object per id and per name in each table: the store's indexes assume it.
    const tables = {
      secret: snapshot.secrets,
      config: snapshot.configs,
      network: snapshot.networks,
    };
    for (const [kind, objects] of Object.entries(tables)) {
      const seen = new Set<string>();
      for (const object of objects) {
        for (const key of [`id ${object.ID}`, `name ${object.Spec.Name}`]) {
          if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `${kind} ${key} twice` });
          seen.add(key);
        }
      }
    }
  });

/** `expectedBytes`: about how long it will be (the last one's size), if known; see encode. */
export function encodeSnapshot(contents: SnapshotContents, expectedBytes = 0): Uint8Array {
  return encode(contents, expectedBytes);
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotContents {
  return parse(snapshotSchema, unpack(bytes, 'snapshot'), 'snapshot');
}

/** Checks the command first, so a proposer learns of its own mistake before Raft does. */
export function encodeCommand(command: Command): Uint8Array {
  return encode(parse(commandSchema, command, 'command'));
}

export function decodeCommand(bytes: Uint8Array): Command {
  return parse(commandSchema, unpack(bytes, 'command'), 'command');
}

/** msgpack bytes, or InvalidArgumentError (the wire codec's DecodeError, re-labelled). */
function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes);
  } catch (error) {
    if (error instanceof DecodeError) {
      throw new InvalidArgumentError(`${what} is not valid msgpack (${bytes.length} bytes)`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Validates `value`, or throws an InvalidArgumentError on one line naming the first issues. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const listed = issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > listed.length ? ` (and ${issues.length - listed.length} more)` : '';
  throw new InvalidArgumentError(`invalid ${what}: ${listed.join('; ')}${more}`, {
    cause: result.error,
  });
}
