/**
 * Services and tasks inside the cluster store: the objects, their indexes (service by name,
 * tasks by service and by node) and the apply rules of the service.* and tasks.* commands.
 *
 * Rules that keep the cluster sane whoever proposes:
 * - a service name and an ingress published port belong to one service at a time;
 * - a task's observed state and desired state only move forward (Docker's order), and only
 *   the node a task runs on may report its status;
 * - removing a service asks every task of it to go (DesiredState remove) in the same entry.
 */
import { checkVersion, compare, deepFreeze, refuse } from './apply-rules.js';
import type { Command, CommandRefusal, TaskOp } from './commands.js';
import type { NewService } from './service-schema.js';
import type { PortConfig, Service, Task } from './service-types.js';
import { taskStateRank } from './service-types.js';

export type ServiceEvent =
  | { kind: 'service'; index: number; action: 'create'; object: Service }
  | { kind: 'service'; index: number; action: 'update'; object: Service; previous: Service }
  | { kind: 'service'; index: number; action: 'remove'; object: Service };

export type TaskEvent =
  | { kind: 'task'; index: number; action: 'create'; object: Task }
  | { kind: 'task'; index: number; action: 'update'; object: Task; previous: Task }
  | { kind: 'task'; index: number; action: 'remove'; object: Task };

type Emit = (event: ServiceEvent | TaskEvent) => void;
type Outcome<T> = { ok: true; object: T } | CommandRefusal;

export class ServiceTables {
  private services = new Map<string, Service>();
  private serviceByName = new Map<string, string>();
  private tasks = new Map<string, Task>();
  private tasksByService = new Map<string, Map<string, Task>>();
  private tasksByNode = new Map<string, Map<string, Task>>();

  getService(id: string): Service | undefined {
    return this.services.get(id);
  }

  getServiceByName(name: string): Service | undefined {
    const id = this.serviceByName.get(name);
    return id === undefined ? undefined : this.services.get(id);
  }

  listServices(): Service[] {
    return [...this.services.values()].sort((a, b) => compare(a.ID, b.ID));
  }

  getTask(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  /** Every task, in no particular order (sort at the edge if a caller needs one). */
  allTasks(): IterableIterator<Task> {
    return this.tasks.values();
  }

  taskCount(): number {
    return this.tasks.size;
  }

  tasksOfService(serviceId: string): Task[] {
    return [...(this.tasksByService.get(serviceId)?.values() ?? [])];
  }

  tasksOfNode(nodeId: string): Task[] {
    return [...(this.tasksByNode.get(nodeId)?.values() ?? [])];
  }

  /** Sorted lists, as snapshots hold them. */
  contents(): { services: Service[]; tasks: Task[] } {
    return {
      services: this.listServices(),
      tasks: [...this.tasks.values()].sort((a, b) => compare(a.ID, b.ID)),
    };
  }

  load(services: readonly Service[], tasks: readonly Task[]): void {
    this.services = new Map();
    this.serviceByName = new Map();
    this.tasks = new Map();
    this.tasksByService = new Map();
    this.tasksByNode = new Map();
    for (const service of services) this.putService(deepFreeze(service));
    for (const task of tasks) this.putTask(deepFreeze(task));
  }

  createService(service: NewService, index: number, emit: Emit): Outcome<Service> {
    if (this.services.has(service.ID)) return refuse('conflict', `service ${service.ID} exists`);
    const holder = this.getServiceByName(service.Spec.Name);
    if (holder) {
      return refuse('conflict', `service ${service.Spec.Name} already exists (${holder.ID})`);
    }
    const clash = this.portClash(service.Endpoint.Ports ?? [], service.ID);
    if (clash) return clash;
    const created = deepFreeze({ ...service, Version: { Index: index } });
    this.putService(created);
    emit({ kind: 'service', index, action: 'create', object: created });
    return { ok: true, object: created };
  }

  updateService(
    command: Extract<Command, { type: 'service.update' }>,
    index: number,
    emit: Emit,
  ): Outcome<Service> {
    const previous = this.services.get(command.id);
    if (!previous) return refuse('not_found', `service ${command.id} not found`);
    const stale = checkVersion(`service ${previous.Spec.Name}`, previous, command.version);
    if (stale) return stale;
    if (command.spec.Name !== previous.Spec.Name) {
      return refuse('invalid_argument', 'renaming services is not supported');
    }
    const clash = this.portClash(command.ports, command.id);
    if (clash) return clash;
    const service: Service = {
      ...previous,
      Spec: command.spec,
      PreviousSpec: command.previousSpec,
      Endpoint: { Spec: command.spec.EndpointSpec ?? {}, Ports: command.ports },
      UpdateStatus: command.updateStatus,
    };
    if (command.jobIteration !== undefined) {
      service.JobStatus = {
        JobIteration: { Index: command.jobIteration },
        LastExecution: command.at,
      };
    }
    if (service.PreviousSpec === undefined) delete service.PreviousSpec;
    if (service.UpdateStatus === undefined) delete service.UpdateStatus;
    return { ok: true, object: this.writeService(previous, service, command.at, index, emit) };
  }

  setUpdateStatus(
    command: Extract<Command, { type: 'service.setUpdateStatus' }>,
    index: number,
    emit: Emit,
  ): Outcome<Service> {
    const previous = this.services.get(command.id);
    if (!previous) return refuse('not_found', `service ${command.id} not found`);
    // Decided on an older version: a user's update since then wins.
    const stale = checkVersion(`service ${previous.Spec.Name}`, previous, command.version);
    if (stale) return stale;
    const service = { ...previous, UpdateStatus: command.updateStatus };
    return { ok: true, object: this.writeService(previous, service, command.at, index, emit) };
  }

  removeService(id: string, at: string, index: number, emit: Emit): Outcome<Service> {
    const service = this.services.get(id);
    if (!service) return refuse('not_found', `service ${id} not found`);
    this.services.delete(id);
    this.serviceByName.delete(service.Spec.Name);
    emit({ kind: 'service', index, action: 'remove', object: service });
    for (const task of this.tasksOfService(id)) {
      if (taskStateRank(task.DesiredState) < taskStateRank('remove')) {
        this.writeTask(task, { DesiredState: 'remove' }, at, index, emit);
      }
    }
    return { ok: true, object: service };
  }

  /** Applies what still applies; returns the tasks written (created, changed or removed). */
  writeTasks(ops: readonly TaskOp[], at: string, index: number, emit: Emit): Task[] {
    const written: Task[] = [];
    for (const op of ops) {
      const task = this.applyTaskOp(op, at, index, emit);
      if (task) written.push(task);
    }
    return written;
  }

  private applyTaskOp(op: TaskOp, at: string, index: number, emit: Emit): Task | undefined {
    if (op.op === 'create') {
      if (this.tasks.has(op.task.ID) || !this.services.has(op.task.ServiceID)) return undefined;
      const task = deepFreeze({ ...op.task, CreatedIndex: index, Version: { Index: index } });
      this.putTask(task);
      emit({ kind: 'task', index, action: 'create', object: task });
      return task;
    }
    const task = this.tasks.get(op.id);
    if (!task) return undefined;
    switch (op.op) {
      case 'assign': {
        const waiting = task.NodeID === '' && taskStateRank(task.Status.State) <= rank('pending');
        if (!waiting || taskStateRank(task.DesiredState) > rank('running')) return undefined;
        const Status = {
          Timestamp: at,
          State: 'assigned' as const,
          Message: 'scheduler assigned task to node',
        };
        return this.writeTask(task, { NodeID: op.nodeId, Status }, at, index, emit);
      }
      case 'unplaced': {
        if (task.NodeID !== '' || taskStateRank(task.Status.State) > rank('pending')) {
          return undefined;
        }
        if (task.Status.State === 'pending' && task.Status.Err === op.reason) return undefined;
        const Status = {
          Timestamp: at,
          State: 'pending' as const,
          Message: 'pending task scheduling',
          Err: op.reason,
        };
        return this.writeTask(task, { Status }, at, index, emit);
      }
      case 'desire':
        if (taskStateRank(op.state) <= taskStateRank(task.DesiredState)) return undefined;
        return this.writeTask(task, { DesiredState: op.state }, at, index, emit);
      case 'status': {
        if (task.NodeID !== op.nodeId) return undefined;
        const before = taskStateRank(task.Status.State);
        const after = taskStateRank(op.status.State);
        if (after < before) return undefined;
        if (after === before && sameStatusDetails(task.Status, op.status)) return undefined;
        return this.writeTask(task, { Status: op.status }, at, index, emit);
      }
      case 'remove':
        this.dropTask(task);
        emit({ kind: 'task', index, action: 'remove', object: task });
        return task;
    }
  }

  /** An ingress published port already held by another service, as a refusal. */
  private portClash(ports: readonly PortConfig[], serviceId: string): CommandRefusal | undefined {
    for (const port of ports) {
      if ((port.PublishMode ?? 'ingress') !== 'ingress' || !port.PublishedPort) continue;
      for (const other of this.services.values()) {
        if (other.ID === serviceId) continue;
        const taken = (other.Endpoint.Ports ?? []).some(
          (p) =>
            (p.PublishMode ?? 'ingress') === 'ingress' &&
            p.PublishedPort === port.PublishedPort &&
            (p.Protocol ?? 'tcp') === (port.Protocol ?? 'tcp'),
        );
        if (taken) {
          return refuse(
            'conflict',
            `port ${port.PublishedPort}/${port.Protocol ?? 'tcp'} is already in use by service ${other.Spec.Name} (${other.ID})`,
          );
        }
      }
    }
    return undefined;
  }

  private writeService(
    previous: Service,
    next: Service,
    at: string,
    index: number,
    emit: Emit,
  ): Service {
    const service = deepFreeze({ ...next, Version: { Index: index }, UpdatedAt: at });
    this.putService(service);
    emit({ kind: 'service', index, action: 'update', object: service, previous });
    return service;
  }

  private writeTask(
    previous: Task,
    changes: Partial<Task>,
    at: string,
    index: number,
    emit: Emit,
  ): Task {
    const task = deepFreeze({ ...previous, ...changes, Version: { Index: index }, UpdatedAt: at });
    if (previous.NodeID !== task.NodeID) this.dropTask(previous);
    this.putTask(task);
    emit({ kind: 'task', index, action: 'update', object: task, previous });
    return task;
  }

  private putService(service: Service): void {
    this.services.set(service.ID, service);
    this.serviceByName.set(service.Spec.Name, service.ID);
  }

  private putTask(task: Task): void {
    this.tasks.set(task.ID, task);
    indexUnder(this.tasksByService, task.ServiceID, task);
    if (task.NodeID !== '') indexUnder(this.tasksByNode, task.NodeID, task);
  }

  private dropTask(task: Task): void {
    this.tasks.delete(task.ID);
    unindex(this.tasksByService, task.ServiceID, task.ID);
    if (task.NodeID !== '') unindex(this.tasksByNode, task.NodeID, task.ID);
  }
}

function rank(state: Task['Status']['State']): number {
  return taskStateRank(state);
}

function sameStatusDetails(a: Task['Status'], b: Task['Status']): boolean {
  return (
    a.Message === b.Message &&
    a.Err === b.Err &&
    a.Health === b.Health &&
    JSON.stringify(a.ContainerStatus) === JSON.stringify(b.ContainerStatus) &&
    JSON.stringify(a.PortStatus) === JSON.stringify(b.PortStatus)
  );
}

function indexUnder(index: Map<string, Map<string, Task>>, key: string, task: Task): void {
  let bucket = index.get(key);
  if (!bucket) {
    bucket = new Map();
    index.set(key, bucket);
  }
  bucket.set(task.ID, task);
}

function unindex(index: Map<string, Map<string, Task>>, key: string, id: string): void {
  const bucket = index.get(key);
  if (!bucket) return;
  bucket.delete(id);
  if (bucket.size === 0) index.delete(key);
}
