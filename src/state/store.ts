/**
 * The cluster's replicated state machine: Raft hands it committed commands in log order, it
 * applies them to in-memory indexes and tells watchers what changed.
 *
 * Determinism: apply reads nothing but the command and the entry's index (no clock, no
 * randomness), so every manager holds the same objects with the same bytes.
 *
 * Objects handed out are deeply frozen and never mutated afterwards: a write replaces the
 * object (sharing the parts that did not change), so readers may keep what they were given.
 *
 * Events of one command are delivered after the whole command is applied, in order, to sync
 * listeners first-subscribed first. A restore (from a Raft snapshot) emits one `restore`
 * event carrying the complete new view: a watcher replaces what it holds with it.
 */
import { InvalidArgumentError, SwarmtsError } from '../errors.js';
import type { StateMachine } from '../raft/driver.js';
import { checkVersion, compare, deepFreeze, refuse } from './apply-rules.js';
import { decodeCommand, decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from './codec.js';
import type { Command, CommandRefusal, CommandResult, NodeStatusUpdate } from './commands.js';
import {
  type ObjectKind,
  type ObjectOfKind,
  ObjectTables,
  type StoredObject,
  type ObjectEvent as StoredObjectEvent,
} from './object-tables.js';
import type { Config, Network, Secret } from './object-types.js';
import { type ServiceEvent, ServiceTables, type TaskEvent } from './service-tables.js';
import type { Service, ServiceSpec, Task, TaskSpec } from './service-types.js';
import { taskStateRank } from './service-types.js';
import type { Cluster, Node } from './types.js';
import { EventQueue } from './watch.js';

type ObjectEvent<K extends string, T> = { kind: K; index: number } & (
  | { action: 'create'; object: T }
  | { action: 'update'; object: T; previous: T }
  /** `object` is the last state of what was removed. */
  | { action: 'remove'; object: T }
);

export type StoreEvent =
  | ObjectEvent<'cluster', Cluster>
  | ObjectEvent<'node', Node>
  | ServiceEvent
  | TaskEvent
  | StoredObjectEvent
  /** The store was replaced from a snapshot; this is everything it now holds. */
  | {
      kind: 'restore';
      cluster: Cluster | undefined;
      nodes: readonly Node[];
      services: readonly Service[];
      tasks: readonly Task[];
    };

export type StoreListener = (event: StoreEvent) => void;

/** What a successful command returns as `object`. */
export type AppliedObject =
  | Cluster
  | Node
  | readonly Node[]
  | Service
  | readonly Task[]
  | StoredObject;

export interface StoreView {
  cluster: Cluster | undefined;
  /** Sorted by ID. */
  nodes: readonly Node[];
  /** Sorted by ID. */
  services: readonly Service[];
  /** In no particular order. */
  tasks: readonly Task[];
  /** Every change after the view, in order; ends with WatcherOverflowError if it falls behind. */
  events: AsyncIterable<StoreEvent>;
  close(): void;
}

export interface ClusterStoreOptions {
  /** Events an async watcher may have pending before it is closed. Default 10,000. */
  maxQueuedEvents?: number;
  /** Told about a listener that threw (the store carries on); e.g. log it. */
  onListenerError?: (error: unknown) => void;
}

export class NodeNotFoundError extends SwarmtsError {
  constructor(ref: string) {
    super('not_found', `node ${ref} not found`);
  }
}

export class AmbiguousNodeRefError extends SwarmtsError {
  constructor(ref: string, matches: number) {
    super('invalid_argument', `node ref ${ref} is ambiguous (${matches} matches found)`);
  }
}

export class ClusterStore implements StateMachine {
  private cluster: Cluster | undefined;
  private nodes = new Map<string, Node>();
  /** Tombstones: a removed node id can never be created again. */
  private removed = new Set<string>();
  private readonly services = new ServiceTables();
  private readonly objects = new ObjectTables();
  private readonly listeners = new Set<StoreListener>();
  private readonly maxQueuedEvents: number;
  private readonly onListenerError: (error: unknown) => void;
  /** The last snapshot's size: the next one is packed straight into a buffer about as big. */
  private lastSnapshotBytes = 0;

  constructor(options: ClusterStoreOptions = {}) {
    this.maxQueuedEvents = options.maxQueuedEvents ?? 10_000;
    this.onListenerError = options.onListenerError ?? (() => {});
  }

  getCluster(): Cluster | undefined {
    return this.cluster;
  }

  getNode(id: string): Node | undefined {
    return this.nodes.get(id);
  }

  /** Sorted by ID: unique, so the order is total and the same on every manager. */
  listNodes(): Node[] {
    return [...this.nodes.values()].sort((a, b) => compare(a.ID, b.ID));
  }

  isRemoved(id: string): boolean {
    return this.removed.has(id);
  }

  getService(id: string): Service | undefined {
    return this.services.getService(id);
  }

  getServiceByName(name: string): Service | undefined {
    return this.services.getServiceByName(name);
  }

  /** Sorted by ID. */
  listServices(): Service[] {
    return this.services.listServices();
  }

  getTask(id: string): Task | undefined {
    return this.services.getTask(id);
  }

  getSecret(id: string): Secret | undefined {
    return this.objects.secrets.get(id);
  }

  getConfig(id: string): Config | undefined {
    return this.objects.configs.get(id);
  }

  getNetwork(id: string): Network | undefined {
    return this.objects.networks.get(id);
  }

  /** A secret, config or network by name. */
  getObjectByName<K extends ObjectKind>(kind: K, name: string): ObjectOfKind[K] | undefined {
    return this.objects.table(kind).getByName(name);
  }

  /** Sorted by ID. */
  listObjects<K extends ObjectKind>(kind: K): ObjectOfKind[K][] {
    return this.objects.table(kind).list();
  }

  /** Every task, in no particular order. */
  allTasks(): IterableIterator<Task> {
    return this.services.allTasks();
  }

  taskCount(): number {
    return this.services.taskCount();
  }

  tasksOfService(serviceId: string): Task[] {
    return this.services.tasksOfService(serviceId);
  }

  tasksOfNode(nodeId: string): Task[] {
    return this.services.tasksOfNode(nodeId);
  }

  /**
   * Resolves a user's node reference as Docker does: exact ID, then exact hostname or
   * Spec.Name, then a unique ID prefix. Throws NodeNotFoundError or AmbiguousNodeRefError.
   */
  findNode(ref: string): Node {
    if (ref === '') throw new InvalidArgumentError('node ref is empty');
    const byId = this.nodes.get(ref);
    if (byId) return byId;
    const nodes = this.listNodes();
    const byName = nodes.filter((n) => n.Description.Hostname === ref || n.Spec.Name === ref);
    if (byName.length > 1) throw new AmbiguousNodeRefError(ref, byName.length);
    if (byName[0]) return byName[0];
    const byPrefix = nodes.filter((n) => n.ID.startsWith(ref));
    if (byPrefix.length > 1) throw new AmbiguousNodeRefError(ref, byPrefix.length);
    if (byPrefix[0]) return byPrefix[0];
    throw new NodeNotFoundError(ref);
  }

  /** Never throws for bad input: undecodable or refused commands come back as refusals. */
  apply(bytes: Uint8Array, entry: { index: number; term: number }): CommandResult<AppliedObject> {
    let command: Command;
    try {
      command = decodeCommand(bytes);
    } catch (error) {
      return refuse('invalid_argument', error instanceof Error ? error.message : String(error));
    }
    const events: StoreEvent[] = [];
    const result = this.applyCommand(command, entry.index, events);
    for (const event of events) this.emit(event);
    return result;
  }

  snapshot(): Uint8Array {
    const bytes = encodeSnapshot(
      {
        format: SNAPSHOT_FORMAT,
        cluster: this.cluster ?? null,
        nodes: this.listNodes(),
        removed: [...this.removed].sort(compare),
        ...this.services.contents(),
        ...this.objects.contents(),
      },
      this.lastSnapshotBytes,
    );
    this.lastSnapshotBytes = bytes.length;
    return bytes;
  }

  /** Replaces the contents; on garbage throws InvalidArgumentError and keeps the old ones. */
  restore(bytes: Uint8Array): void {
    const contents = decodeSnapshot(bytes);
    this.cluster = contents.cluster ? deepFreeze(contents.cluster) : undefined;
    this.nodes = new Map(contents.nodes.map((node) => [node.ID, deepFreeze(node)]));
    this.removed = new Set(contents.removed);
    this.services.load(contents.services, contents.tasks);
    this.objects.load(contents);
    this.emit({
      kind: 'restore',
      cluster: this.cluster,
      nodes: Object.freeze(this.listNodes()),
      services: Object.freeze(this.listServices()),
      tasks: Object.freeze([...this.allTasks()]),
    });
  }

  /** Calls `listener` synchronously after each command; returns the unsubscribe function. */
  watch(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * The current objects plus every later change, with no gap and no overlap: the view is
   * taken and the watcher subscribed in one synchronous step, and apply is synchronous.
   */
  viewAndWatch(options: { signal?: AbortSignal } = {}): StoreView {
    const { signal } = options;
    const onAbort = () => queue.close();
    const queue = new EventQueue<StoreEvent>(this.maxQueuedEvents, () => {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    });
    // On overflow the queue closes itself and its onEnd unsubscribes it.
    const unsubscribe = this.watch((event) => queue.push(event));
    if (signal?.aborted) queue.close();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return {
      cluster: this.cluster,
      nodes: this.listNodes(),
      services: this.listServices(),
      tasks: [...this.allTasks()],
      events: queue,
      close: () => queue.close(),
    };
  }

  private emit(event: StoreEvent): void {
    // Every listener gets the same event object: none may change it under the others.
    Object.freeze(event);
    for (const listener of [...this.listeners]) {
      // One listener unsubscribing another in this round must not still call it.
      if (!this.listeners.has(listener)) continue;
      try {
        listener(event);
      } catch (error) {
        try {
          this.onListenerError(error);
        } catch {
          // A failing error handler must not break apply either.
        }
      }
    }
  }

  private applyCommand(
    command: Command,
    index: number,
    events: StoreEvent[],
  ): CommandResult<AppliedObject> {
    switch (command.type) {
      case 'cluster.create': {
        if (this.cluster) {
          return refuse('conflict', `a cluster already exists (${this.cluster.ID})`);
        }
        const cluster = deepFreeze({ ...command.cluster, Version: { Index: index } });
        this.cluster = cluster;
        events.push({ kind: 'cluster', action: 'create', object: cluster, index });
        return { ok: true, index, object: cluster };
      }
      case 'cluster.update': {
        const previous = this.cluster;
        if (!previous) return refuse('not_found', 'no cluster to update');
        const stale = checkVersion('cluster', previous, command.version);
        if (stale) return stale;
        const cluster = deepFreeze({
          ...previous,
          Spec: command.spec ?? previous.Spec,
          JoinTokens: command.joinTokens ?? previous.JoinTokens,
          Version: { Index: index },
          UpdatedAt: command.at,
        });
        this.cluster = cluster;
        events.push({ kind: 'cluster', action: 'update', object: cluster, previous, index });
        return { ok: true, index, object: cluster };
      }
      case 'node.create': {
        const { ID } = command.node;
        if (this.removed.has(ID)) {
          return refuse(
            'invalid_argument',
            `node ${ID} was removed from the cluster; it must join again with a new identity`,
          );
        }
        if (this.nodes.has(ID)) return refuse('conflict', `node ${ID} already exists`);
        const node = deepFreeze({ ...command.node, Version: { Index: index } });
        this.nodes.set(ID, node);
        events.push({ kind: 'node', action: 'create', object: node, index });
        return { ok: true, index, object: node };
      }
      case 'node.updateSpec': {
        const previous = this.nodes.get(command.id);
        if (!previous) return refuse('not_found', `node ${command.id} not found`);
        const stale = checkVersion(`node ${command.id}`, previous, command.version);
        if (stale) return stale;
        const node = this.writeNode(previous, { Spec: command.spec }, command.at, index, events);
        return { ok: true, index, object: node };
      }
      case 'node.setStatus':
        return this.setStatus(command.updates, command.at, index, events);
      case 'node.setRole': {
        const previous = this.nodes.get(command.id);
        if (!previous) return refuse('not_found', `node ${command.id} not found`);
        // Nothing to record: no version bump, no event.
        if (previous.Role === command.role) return { ok: true, index, object: previous };
        const node = this.writeNode(previous, { Role: command.role }, command.at, index, events);
        return { ok: true, index, object: node };
      }
      case 'node.describe': {
        const previous = this.nodes.get(command.id);
        if (!previous) return refuse('not_found', `node ${command.id} not found`);
        const changes = {
          Description: command.description,
          Status: { ...previous.Status, Addr: command.addr },
          P2PAddrs: command.p2pAddrs,
        };
        const node = this.writeNode(previous, changes, command.at, index, events);
        return { ok: true, index, object: node };
      }
      case 'node.remove': {
        const node = this.nodes.get(command.id);
        if (!node) return refuse('not_found', `node ${command.id} not found`);
        this.nodes.delete(command.id);
        this.removed.add(command.id);
        events.push({ kind: 'node', action: 'remove', object: node, index });
        return { ok: true, index, object: node };
      }
      default:
        return this.applyServiceCommand(command, index, events);
    }
  }

  private applyServiceCommand(
    command: Command,
    index: number,
    events: StoreEvent[],
  ): CommandResult<AppliedObject> {
    const emit = (event: StoreEvent) => events.push(event);
    const tables = this.services;
    let outcome: { ok: true; object: AppliedObject } | CommandRefusal;
    switch (command.type) {
      case 'service.create':
        outcome =
          this.missingReference(command.service.Spec) ??
          tables.createService(command.service, index, emit);
        break;
      case 'service.update':
        outcome = this.missingReference(command.spec) ?? tables.updateService(command, index, emit);
        break;
      case 'service.setUpdateStatus':
        outcome = tables.setUpdateStatus(command, index, emit);
        break;
      case 'service.remove':
        outcome = tables.removeService(command.id, command.at, index, emit);
        break;
      case 'tasks.write':
        outcome = { ok: true, object: tables.writeTasks(command.ops, command.at, index, emit) };
        break;
      case 'secret.create':
        outcome = this.objects.secrets.create(command.secret, index, emit);
        break;
      case 'config.create':
        outcome = this.objects.configs.create(command.config, index, emit);
        break;
      case 'network.create':
        outcome = this.objects.networks.create(command.network, index, emit);
        break;
      case 'object.updateLabels': {
        const { kind, id, version, labels, at } = command;
        outcome = this.objects.table(kind).updateLabels(id, version, labels, at, index, emit);
        break;
      }
      case 'object.remove':
        outcome =
          this.objectInUse(command.kind, command.id) ??
          this.objects.table(command.kind).remove(command.id, index, emit);
        break;
      default:
        return refuse('invalid_argument', `unknown command ${command.type}`);
    }
    return outcome.ok ? { ok: true, index, object: outcome.object } : outcome;
  }

  /** A refusal when a spec uses a secret or config that does not exist (any more). */
  private missingReference(spec: ServiceSpec): CommandRefusal | undefined {
    const container = spec.TaskTemplate.ContainerSpec;
    for (const ref of container.Secrets ?? []) {
      if (!this.objects.secrets.get(ref.SecretID)) {
        return refuse('invalid_argument', `secret not found: ${ref.SecretName}`);
      }
    }
    for (const ref of container.Configs ?? []) {
      if (!this.objects.configs.get(ref.ConfigID)) {
        return refuse('invalid_argument', `config not found: ${ref.ConfigName}`);
      }
    }
    for (const attachment of spec.TaskTemplate.Networks ?? []) {
      const network =
        this.objects.networks.get(attachment.Target) ??
        this.objects.networks.getByName(attachment.Target);
      if (!network) return refuse('invalid_argument', `network ${attachment.Target} not found`);
    }
    return undefined;
  }

  /** A refusal naming the services that use the object, as Docker words it. */
  private objectInUse(kind: ObjectKind, id: string): CommandRefusal | undefined {
    const object = this.objects.table(kind).get(id);
    if (!object) return undefined;
    // A service uses it through its spec, the spec a rollback would restore, or tasks of an
    // older spec that still run (a rolling update away from it is not over yet).
    const users = new Set<string>();
    for (const service of this.listServices()) {
      const specs = [service.Spec, ...(service.PreviousSpec ? [service.PreviousSpec] : [])];
      if (specs.some((spec) => usesObject(spec.TaskTemplate, kind, object))) {
        users.add(service.Spec.Name);
      }
    }
    for (const task of this.allTasks()) {
      if (taskStateRank(task.DesiredState) > taskStateRank('running')) continue;
      if (!usesObject(task.Spec, kind, object)) continue;
      users.add(this.getService(task.ServiceID)?.Spec.Name ?? task.ServiceAnnotations.Name);
    }
    if (users.size === 0) return undefined;
    const names = [...users].sort(compare).join(', ');
    const noun = users.size === 1 ? 'service' : 'services';
    return refuse(
      'invalid_argument',
      `${kind} '${object.Spec.Name}' is in use by the following ${noun}: ${names}`,
    );
  }

  /**
   * Applies the updates whose node exists and whose state or message changes, in order;
   * `object` lists the nodes written. Unknown ids are skipped: the node may have been
   * removed after the leader judged it.
   */
  private setStatus(
    updates: NodeStatusUpdate[],
    at: string,
    index: number,
    events: StoreEvent[],
  ): CommandResult<AppliedObject> {
    const written = new Map<string, Node>();
    for (const update of updates) {
      const previous = this.nodes.get(update.id);
      if (!previous) continue;
      const { State, Message, Addr } = previous.Status;
      if (State === update.state && Message === update.message) continue;
      // Keys in the schema's order, as a restored object has them, so snapshots of the same
      // state are the same bytes whether a manager applied the log or restored a snapshot.
      const Status =
        update.message === undefined
          ? { State: update.state, Addr }
          : { State: update.state, Message: update.message, Addr };
      written.set(update.id, this.writeNode(previous, { Status }, at, index, events));
    }
    return { ok: true, index, object: [...written.values()] };
  }

  private writeNode(
    previous: Node,
    changes: Partial<Node>,
    at: string,
    index: number,
    events: StoreEvent[],
  ): Node {
    const node = deepFreeze({ ...previous, ...changes, Version: { Index: index }, UpdatedAt: at });
    this.nodes.set(node.ID, node);
    events.push({ kind: 'node', action: 'update', object: node, previous, index });
    return node;
  }
}

function usesObject(template: TaskSpec, kind: ObjectKind, object: StoredObject): boolean {
  switch (kind) {
    case 'secret':
      return (template.ContainerSpec.Secrets ?? []).some((ref) => ref.SecretID === object.ID);
    case 'config':
      return (template.ContainerSpec.Configs ?? []).some((ref) => ref.ConfigID === object.ID);
    case 'network':
      return (template.Networks ?? []).some(
        (net) => net.Target === object.ID || net.Target === object.Spec.Name,
      );
  }
}
