/**
 * The service and task operations behind the control API (`/services`, `/tasks`). Specs are
 * completed with Swarm's defaults and checked (constraints, placement preferences) before
 * anything is proposed; published ports are allocated here and re-checked by the store, so
 * two creates racing for one port cannot both win.
 */
import { posix } from 'node:path';
import { InvalidArgumentError, SwarmtsError } from '../errors.js';
import type { RandomBytes } from '../p2p/tokens.js';
import {
  type ClusterStore,
  isTerminal,
  mapReferences,
  type Service,
  type ServiceSpec,
  type ServiceSpecInput,
  type Task,
  type UpdateStatus,
} from '../state/index.js';
import type { Consensus } from './consensus.js';
import { meshTable } from './endpoints.js';
import { anyValue, labelMatches } from './filters.js';
import { isLive, stableJson } from './orchestrator/tasks.js';
import { allocatePorts } from './ports.js';
import { parseConstraint } from './scheduler/constraints.js';
import { parseSpreadDescriptor } from './scheduler/preferences.js';

export interface ServiceApiDeps {
  store: ClusterStore;
  consensus: Consensus;
  now: () => Date;
  randomBytes: RandomBytes;
}

export interface ServiceFilters {
  id?: string[];
  name?: string[];
  label?: string[];
  mode?: string[];
}

export interface TaskFilters {
  id?: string[];
  name?: string[];
  service?: string[];
  node?: string[];
  label?: string[];
  'desired-state'?: string[];
  '_up-to-date'?: string[];
}

export class ServiceApi {
  constructor(private readonly deps: ServiceApiDeps) {}

  async create(input: ServiceSpecInput): Promise<{ ID: string; Warnings?: string[] }> {
    const completed = completeSpec({ ...input, Name: input.Name || this.freeName() });
    await this.deps.consensus.readBarrier();
    const store = this.deps.store;
    const spec = resolveReferences(completed, store);
    if (store.getServiceByName(spec.Name)) {
      throw new SwarmtsError('conflict', `service ${spec.Name} already exists`);
    }
    const ports = allocatePorts(spec.EndpointSpec?.Ports ?? [], [], store.listServices());
    const at = this.deps.now().toISOString();
    const id = newObjectId(this.deps.randomBytes);
    await this.deps.consensus.propose({
      type: 'service.create',
      service: {
        ID: id,
        CreatedAt: at,
        UpdatedAt: at,
        Spec: spec,
        Endpoint: { Spec: spec.EndpointSpec ?? {}, Ports: ports },
        // A job's first run, as Swarm records it (the docker CLI's job progress reads it).
        ...(spec.Mode.ReplicatedJob || spec.Mode.GlobalJob
          ? { JobStatus: { JobIteration: { Index: 0 }, LastExecution: at } }
          : {}),
      },
    });
    return { ID: id };
  }

  /** `rollback`: go back to the previous spec (the body's spec is ignored, as Docker does). */
  async update(
    ref: string,
    version: number,
    input: ServiceSpecInput | undefined,
    rollback: boolean,
  ): Promise<{ Warnings?: string[] }> {
    await this.deps.consensus.readBarrier();
    const service = this.find(ref);
    let spec: ServiceSpec;
    if (rollback) {
      if (!service.PreviousSpec) {
        throw new InvalidArgumentError(
          `service ${service.Spec.Name} does not have a previous spec`,
        );
      }
      spec = service.PreviousSpec;
    } else {
      if (!input)
        throw new InvalidArgumentError('invalid request body: a service spec is required');
      spec = resolveReferences(
        completeSpec({ ...input, Name: input.Name ?? service.Spec.Name }),
        this.deps.store,
      );
    }
    if (spec.Name !== service.Spec.Name) {
      throw new InvalidArgumentError('renaming services is not supported');
    }
    const modeKind = (s: ServiceSpec) => Object.keys(s.Mode).find((k) => k in s.Mode);
    if (modeKind(spec) !== modeKind(service.Spec)) {
      throw new InvalidArgumentError('service mode change is not allowed');
    }
    const others = this.deps.store.listServices().filter((s) => s.ID !== service.ID);
    const ports = allocatePorts(
      spec.EndpointSpec?.Ports ?? [],
      service.Endpoint.Ports ?? [],
      others,
    );
    const at = this.deps.now().toISOString();
    const tasksChange =
      stableJson(spec.TaskTemplate) !== stableJson(service.Spec.TaskTemplate) ||
      stableJson(ports) !== stableJson(service.Endpoint.Ports ?? []);
    let updateStatus: UpdateStatus | undefined = service.UpdateStatus;
    const isJob = Boolean(spec.Mode.ReplicatedJob || spec.Mode.GlobalJob);
    // A job whose tasks change runs again, as Docker re-runs it: a new iteration.
    const jobIteration =
      isJob && tasksChange ? (service.JobStatus?.JobIteration.Index ?? 0) + 1 : undefined;
    if (tasksChange && !isJob) {
      updateStatus = rollback
        ? { State: 'rollback_started', StartedAt: at, Message: 'manually requested rollback' }
        : { State: 'updating', StartedAt: at, Message: 'update in progress' };
    }
    await this.deps.consensus.propose({
      type: 'service.update',
      id: service.ID,
      version,
      spec,
      previousSpec: service.Spec,
      ports,
      ...(updateStatus ? { updateStatus } : {}),
      ...(jobIteration !== undefined ? { jobIteration } : {}),
      at,
    });
    return {};
  }

  async remove(ref: string): Promise<void> {
    await this.deps.consensus.readBarrier();
    const service = this.find(ref);
    await this.deps.consensus.propose({
      type: 'service.remove',
      id: service.ID,
      at: this.deps.now().toISOString(),
    });
  }

  list(filters: ServiceFilters, withStatus: boolean): Service[] {
    return this.deps.store
      .listServices()
      .filter((s) => matchesService(s, filters))
      .map((s) => (withStatus ? this.withStatus(s) : s));
  }

  /** With ServiceStatus and, for published ports, the mesh's backends (Endpoint.Backends). */
  inspect(ref: string): Service {
    const service = this.withStatus(this.find(ref));
    const mesh = meshTable(this.deps.store).find((s) => s.serviceId === service.ID);
    if (!mesh) return service;
    const Backends = mesh.ports.map((port) => ({
      PublishedPort: port.published,
      Protocol: port.protocol,
      Tasks: port.backends.map((b) => ({ TaskID: b.taskId, Addr: `${b.addr}:${b.hostPort}` })),
    }));
    return { ...service, Endpoint: { ...service.Endpoint, Backends } };
  }

  listTasks(filters: TaskFilters): Task[] {
    const store = this.deps.store;
    let serviceIds: Set<string> | undefined;
    if (filters.service?.length) {
      serviceIds = new Set(filters.service.flatMap((ref) => this.tryFind(ref)?.ID ?? []));
    }
    let nodeIds: Set<string> | undefined;
    if (filters.node?.length) {
      nodeIds = new Set(
        filters.node.flatMap((ref) => {
          try {
            return [store.findNode(ref).ID];
          } catch {
            return [ref];
          }
        }),
      );
    }
    const source = serviceIds
      ? [...serviceIds].flatMap((id) => store.tasksOfService(id))
      : [...store.allTasks()];
    return source
      .filter((t) => !nodeIds || nodeIds.has(t.NodeID))
      .filter((t) => matchesTask(t, filters, store.getService(t.ServiceID)))
      .sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
  }

  inspectTask(ref: string): Task {
    const store = this.deps.store;
    const exact = store.getTask(ref);
    if (exact) return exact;
    const matches = [...store.allTasks()].filter((t) => t.ID.startsWith(ref));
    if (matches.length === 1 && matches[0]) return matches[0];
    if (matches.length > 1) {
      throw new InvalidArgumentError(`task ${ref} is ambiguous (${matches.length} matches found)`);
    }
    throw new SwarmtsError('not_found', `no such task: ${ref}`);
  }

  /** Docker names a service the user did not name: adjective_noun, free in this cluster. */
  private freeName(): string {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [a = 0, b = 0, c = 0] = this.deps.randomBytes(3);
      const name = `${ADJECTIVES[a % ADJECTIVES.length]}_${NOUNS[b % NOUNS.length]}`;
      if (!this.deps.store.getServiceByName(name)) return name;
      const numbered = `${name}${c % 10}`;
      if (!this.deps.store.getServiceByName(numbered)) return numbered;
    }
    // Crowded: an id-based name is free (ids are unique).
    return `svc-${newObjectId(this.deps.randomBytes).slice(0, 12)}`;
  }

  /** A service by ID, name, or unique ID prefix, as Docker resolves it. */
  find(ref: string): Service {
    const found = this.tryFind(ref);
    if (found) return found;
    throw new SwarmtsError('not_found', `service ${ref} not found`);
  }

  private tryFind(ref: string): Service | undefined {
    if (ref === '') return undefined;
    const store = this.deps.store;
    const direct = store.getService(ref) ?? store.getServiceByName(ref);
    if (direct) return direct;
    const byPrefix = store.listServices().filter((s) => s.ID.startsWith(ref));
    if (byPrefix.length > 1) {
      throw new InvalidArgumentError(
        `service ${ref} is ambiguous (${byPrefix.length} matches found)`,
      );
    }
    return byPrefix[0];
  }

  private withStatus(service: Service): Service {
    const store = this.deps.store;
    const tasks = store.tasksOfService(service.ID);
    const running = tasks.filter((t) => t.Status.State === 'running' && isLive(t)).length;
    const completed = tasks.filter((t) => t.Status.State === 'complete').length;
    const mode = service.Spec.Mode;
    let desired: number;
    if (mode.Replicated) desired = mode.Replicated.Replicas ?? 1;
    else if (mode.ReplicatedJob) desired = mode.ReplicatedJob.MaxConcurrent ?? 1;
    // A global job's desired tasks are those still to complete, as Swarm counts them (the
    // docker CLI shows `running/desired (completed/desired+completed completed)`).
    else if (mode.GlobalJob) desired = tasks.filter(isLive).length;
    else
      desired = tasks.filter(
        (t) => isLive(t) || (t.Status.State === 'complete' && !isTerminal(t.DesiredState)),
      ).length;
    return {
      ...service,
      ServiceStatus: { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed },
    };
  }
}

const ADJECTIVES = [
  'brave',
  'calm',
  'eager',
  'fond',
  'keen',
  'lucid',
  'quiet',
  'sharp',
  'swift',
  'tidy',
  'vivid',
  'wise',
];
const NOUNS = [
  'arch',
  'bay',
  'cove',
  'dune',
  'fjord',
  'grove',
  'harbor',
  'isle',
  'mesa',
  'ridge',
  'shoal',
  'vale',
];

/**
 * Secrets, configs and networks named by a spec, resolved to ids as Docker resolves them (an id
 * that exists wins, else the name); an unknown one or two files at one target is an error.
 */
export function resolveReferences(spec: ServiceSpec, store: ClusterStore): ServiceSpec {
  const find = (kind: 'secret' | 'config', id: string, name: string) => {
    const object =
      store.listObjects(kind).find((o) => o.ID === id) ?? store.getObjectByName(kind, name);
    if (!object) throw new InvalidArgumentError(`${kind} not found: ${name || id}`);
    return object;
  };
  // Where each file appears in the container, as the executor mounts it; two files at one
  // path would fail on every node, and a relative secret name stays inside /run/secrets.
  const targets = new Set<string>();
  const once = (kind: string, name: string) => {
    const absolute = name.startsWith('/');
    const base = kind === 'secret' ? '/run/secrets' : '/';
    const target = posix.normalize(absolute ? name : posix.join(base, name));
    if (!absolute && kind === 'secret' && !target.startsWith('/run/secrets/')) {
      throw new InvalidArgumentError(`secret target ${name} must stay inside /run/secrets`);
    }
    if (targets.has(target)) {
      throw new InvalidArgumentError(`duplicate ${kind} target for ${name} not allowed`);
    }
    targets.add(target);
  };
  return mapReferences(spec, {
    secret: (ref) => {
      once('secret', ref.File.Name);
      const secret = find('secret', ref.SecretID, ref.SecretName);
      return { ...ref, SecretID: secret.ID, SecretName: secret.Spec.Name };
    },
    config: (ref) => {
      once('config', ref.File.Name);
      const config = find('config', ref.ConfigID, ref.ConfigName);
      return { ...ref, ConfigID: config.ID, ConfigName: config.Spec.Name };
    },
    network: (attachment) => {
      const network =
        store.getNetwork(attachment.Target) ?? store.getObjectByName('network', attachment.Target);
      if (!network) throw new InvalidArgumentError(`network ${attachment.Target} not found`);
      return { ...attachment, Target: network.ID };
    },
  });
}

/**
 * Counts a client left out, as Swarm fills them in (the docker CLI sends `{"Replicated": {}}`
 * without --replicas, and its progress display needs the number back).
 */
function withModeDefaults(mode: ServiceSpec['Mode']): ServiceSpec['Mode'] {
  if (mode.Replicated) return { Replicated: { Replicas: mode.Replicated.Replicas ?? 1 } };
  if (mode.ReplicatedJob) {
    const MaxConcurrent = mode.ReplicatedJob.MaxConcurrent ?? 1;
    const TotalCompletions = mode.ReplicatedJob.TotalCompletions ?? MaxConcurrent;
    return { ReplicatedJob: { MaxConcurrent, TotalCompletions } };
  }
  return mode;
}

/** Swarm's defaults filled in, and what the schema cannot check checked. */
export function completeSpec(input: ServiceSpecInput): ServiceSpec {
  const name = input.Name ?? '';
  if (name === '') throw new InvalidArgumentError('invalid service spec: Name: a name is required');
  const mode = withModeDefaults(
    input.Mode && Object.values(input.Mode).some((v) => v !== undefined)
      ? input.Mode
      : { Replicated: { Replicas: 1 } },
  );
  const spec: ServiceSpec = {
    Name: name,
    Labels: input.Labels ?? {},
    TaskTemplate: input.TaskTemplate,
    Mode: mode,
    ...(input.UpdateConfig ? { UpdateConfig: input.UpdateConfig } : {}),
    ...(input.RollbackConfig ? { RollbackConfig: input.RollbackConfig } : {}),
    ...(input.EndpointSpec ? { EndpointSpec: input.EndpointSpec } : {}),
  };
  const placement = spec.TaskTemplate.Placement;
  for (const text of placement?.Constraints ?? []) {
    try {
      parseConstraint(text);
    } catch (error) {
      throw new InvalidArgumentError(
        `invalid constraint ${JSON.stringify(text)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  for (const preference of placement?.Preferences ?? []) {
    parseSpreadDescriptor(preference.Spread.SpreadDescriptor);
  }
  if (mode.Global && placement?.MaxReplicas) {
    throw new InvalidArgumentError('replicas-max-per-node can only be used with replicated mode');
  }
  for (const port of spec.EndpointSpec?.Ports ?? []) {
    if (port.Protocol === 'sctp') {
      throw new InvalidArgumentError(
        `port ${port.TargetPort}/sctp: only tcp and udp are supported`,
      );
    }
  }
  return spec;
}

/** 25 lowercase letters and digits, as Docker's object ids look. */
export function newObjectId(randomBytes: RandomBytes): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(25);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}

function matchesService(service: Service, filters: ServiceFilters): boolean {
  const mode = service.Spec.Mode.Global ? 'global' : 'replicated';
  return (
    anyValue(filters.id, (v) => service.ID.startsWith(v)) &&
    anyValue(filters.name, (v) => service.Spec.Name.startsWith(v)) &&
    anyValue(filters.mode, (v) => v === mode) &&
    anyValue(filters.label, (v) => labelMatches(service.Spec.Labels, v))
  );
}

/**
 * `label` matches the task's labels or its service's, as Docker's does (a stack's tasks are
 * found by the service label com.docker.stack.namespace). `_up-to-date` (the docker CLI's
 * progress display) keeps the tasks made from the service's current task spec.
 */
function matchesTask(task: Task, filters: TaskFilters, service: Service | undefined): boolean {
  const name = `${task.ServiceAnnotations.Name}.${task.Slot === 0 ? task.NodeID : task.Slot}`;
  const upToDate = () =>
    service !== undefined &&
    stableJson(task.Spec) === stableJson(service.Spec.TaskTemplate) &&
    (task.JobIteration?.Index ?? 0) === (service.JobStatus?.JobIteration.Index ?? 0);
  return (
    anyValue(filters.id, (v) => task.ID.startsWith(v)) &&
    anyValue(filters.name, (v) => name.startsWith(v)) &&
    anyValue(
      filters.label,
      (v) => labelMatches(task.Labels, v) || labelMatches(service?.Spec.Labels ?? {}, v),
    ) &&
    anyValue(filters['_up-to-date'], (v) => (v === 'true' || v === '1') === upToDate()) &&
    anyValue(
      filters['desired-state'],
      (v) => v === task.DesiredState || (v === 'accepted' && task.DesiredState === 'running'),
    )
  );
}
