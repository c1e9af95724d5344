/**
 * FakeRuntime: an in-memory ContainerRuntime for the executor's unit tests. Containers are
 * records, every call is logged, events reach subscribers at once, and a test can hold an
 * operation open, cut the engine off, or make a container exit or change health.
 */
import {
  ContainerConflictError,
  ContainerNotFoundError,
  EngineUnreachableError,
  ImageNotFoundError,
} from '../../../src/runtime/errors.js';
import type {
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  EngineInfo,
  EventOptions,
  HealthState,
  LabelFilter,
  ListOptions,
  LogLine,
  PublishedPort,
  RuntimeEvent,
  StopOptions,
} from '../../../src/runtime/types.js';

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: ContainerState;
  health: HealthState;
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  ports: PublishedPort[];
}

export interface FakeCall {
  op: string;
  id?: string;
  name?: string;
  image?: string;
  graceMs?: number;
}

type Gated = 'create' | 'start' | 'stop';

export class FakeRuntime implements ContainerRuntime {
  readonly images = new Set<string>(['busybox:latest']);
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: FakeCall[] = [];
  /** While true every call fails as if the engine did not answer. */
  unreachable = false;
  /** Makes the next create for this image fail with this engine error. */
  readonly createErrors = new Map<string, Error>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly gates = new Map<Gated, Promise<void>>();
  private nextId = 1;
  private nextHostPort = 30000;

  // --- test controls -------------------------------------------------------------------

  /** A container made outside any executor (what an earlier agent left behind). */
  seed(spec: ContainerSpec, state: ContainerState, exitCode = 0): FakeContainer {
    const container = this.record(spec);
    container.state = state;
    container.exitCode = exitCode;
    if (state === 'running') container.pid = 4000 + this.nextId;
    return container;
  }

  /** The process ends by itself. */
  exit(id: string, exitCode: number, options: { oom?: boolean; silently?: boolean } = {}): void {
    const container = this.get(id);
    container.state = 'exited';
    container.exitCode = exitCode;
    container.oomKilled = options.oom ?? false;
    container.pid = 0;
    if (options.silently) return;
    if (options.oom) this.emit({ type: 'oom', ...this.base(container) });
    this.emit({ type: 'die', ...this.base(container), exitCode });
  }

  setHealth(id: string, health: Exclude<HealthState, 'none'>): void {
    const container = this.get(id);
    container.health = health;
    this.emit({ type: 'health_status', ...this.base(container), health });
  }

  /** Holds every `op` call until the returned function is called. */
  hold(op: Gated): () => void {
    let release!: () => void;
    this.gates.set(op, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.gates.delete(op);
      release();
    };
  }

  /** Ends every open event stream with an error, as when the engine goes away. */
  cutEvents(): void {
    for (const subscriber of this.subscribers) subscriber.fail(new Error('connection reset'));
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  ops(op: string): FakeCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.spec.name === name);
  }

  // --- ContainerRuntime ----------------------------------------------------------------

  async ping(): Promise<void> {
    this.check('ping');
  }

  async info(): Promise<EngineInfo> {
    this.check('info');
    return {
      id: 'fake',
      hostname: 'fake',
      version: '0',
      apiVersion: '1.0',
      os: 'linux',
      architecture: 'x86_64',
      cpus: 2,
      memoryBytes: 2 ** 30,
      labels: {},
    };
  }

  async hasImage(ref: string): Promise<boolean> {
    this.check('hasImage', { image: ref });
    return this.images.has(ref);
  }

  async pullImage(ref: string): Promise<void> {
    this.check('pullImage', { image: ref });
    throw new ImageNotFoundError(ref, 'no registry could serve it (fake)');
  }

  async ensureImage(ref: string): Promise<void> {
    if (!(await this.hasImage(ref))) await this.pullImage(ref);
  }

  async createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    this.check('create', { name: spec.name ?? '', image: spec.image });
    await this.gate('create', signal);
    const failure = this.createErrors.get(spec.image);
    if (failure) {
      this.createErrors.delete(spec.image);
      throw failure;
    }
    if (!this.images.has(spec.image)) throw new ImageNotFoundError(spec.image, 'No such image');
    if (spec.name && this.byName(spec.name)) {
      throw new ContainerConflictError(spec.name, 'name already in use');
    }
    return this.record(spec).id;
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<void> {
    this.check('start', { id });
    await this.gate('start', signal);
    const container = this.get(id);
    if (container.state === 'running') return;
    container.state = 'running';
    container.pid = 1000 + Number(id.slice(1));
    const test = container.spec.healthcheck?.test;
    container.health = test && test[0] !== 'NONE' ? 'starting' : 'none';
    container.ports = (container.spec.ports ?? []).flatMap((p) => {
      const hostPort = p.hostPort || this.nextHostPort++;
      // The engine lists each binding once per address family.
      return [
        { containerPort: p.containerPort, protocol: p.protocol, hostIp: '0.0.0.0', hostPort },
        { containerPort: p.containerPort, protocol: p.protocol, hostIp: '::', hostPort },
      ];
    });
    this.emit({ type: 'start', ...this.base(container) });
  }

  async stopContainer(id: string, options: StopOptions = {}): Promise<void> {
    this.check('stop', {
      id,
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    });
    await this.gate('stop', options.signal);
    const container = this.get(id);
    if (container.state !== 'running') return;
    this.exit(id, 143);
  }

  async killContainer(id: string): Promise<void> {
    this.check('kill', { id });
    this.exit(id, 137);
  }

  async removeContainer(id: string): Promise<void> {
    this.check('remove', { id });
    const container = this.containers.get(id);
    if (!container) return;
    this.containers.delete(id);
    this.emit({ type: 'destroy', ...this.base(container) });
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    this.check('inspect', { id });
    const c = this.get(id);
    return {
      id: c.id,
      name: c.spec.name ?? '',
      image: c.spec.image,
      labels: { ...c.spec.labels },
      state: c.state,
      health: c.health,
      pid: c.pid,
      exitCode: c.exitCode,
      error: '',
      oomKilled: c.oomKilled,
      ports: c.ports.map((p) => ({ ...p })),
    };
  }

  async listContainers(options: ListOptions = {}): Promise<ContainerSummary[]> {
    this.check('list');
    return [...this.containers.values()]
      .filter((c) => matches(options.labels, c.spec.labels ?? {}))
      .map((c) => ({
        id: c.id,
        name: c.spec.name ?? '',
        image: c.spec.image,
        labels: { ...c.spec.labels },
        state: c.state,
        status: c.state,
      }));
  }

  async *events(options: EventOptions = {}): AsyncGenerator<RuntimeEvent> {
    this.check('events');
    const subscriber = new Subscriber(options.labels);
    this.subscribers.add(subscriber);
    const onAbort = () => subscriber.wake();
    options.signal?.addEventListener('abort', onAbort);
    try {
      while (!options.signal?.aborted) {
        if (subscriber.error) throw subscriber.error;
        const event = subscriber.queue.shift();
        if (event) yield event;
        else await subscriber.wait();
      }
    } finally {
      this.subscribers.delete(subscriber);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The fake keeps no logs. */
  async *logs(): AsyncGenerator<LogLine> {}

  // --- internals -----------------------------------------------------------------------

  /** Waits while `op` is held; an aborted caller stops waiting, as with the real engine. */
  private async gate(op: Gated, signal: AbortSignal | undefined): Promise<void> {
    const held = this.gates.get(op);
    if (!held) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new Error('aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      void held.then(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private check(op: string, details: Omit<FakeCall, 'op'> = {}): void {
    this.calls.push({ op, ...details });
    if (this.unreachable) throw new EngineUnreachableError('fake://engine', 'ECONNREFUSED');
  }

  private record(spec: ContainerSpec): FakeContainer {
    const id = `c${this.nextId++}`;
    const container: FakeContainer = {
      id,
      spec,
      state: 'created',
      health: 'none',
      pid: 0,
      exitCode: 0,
      oomKilled: false,
      ports: [],
    };
    this.containers.set(id, container);
    return container;
  }

  private get(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw new ContainerNotFoundError(id, 'No such container');
    return container;
  }

  private base(c: FakeContainer): {
    containerId: string;
    labels: Record<string, string>;
    time: Date;
  } {
    return { containerId: c.id, labels: { ...c.spec.labels }, time: new Date(0) };
  }

  private emit(event: RuntimeEvent): void {
    for (const subscriber of this.subscribers) subscriber.push(event);
  }
}

class Subscriber {
  readonly queue: RuntimeEvent[] = [];
  error: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(private readonly labels: LabelFilter | undefined) {}

  push(event: RuntimeEvent): void {
    if (!matches(this.labels, event.labels)) return;
    this.queue.push(event);
    this.wake();
  }

  fail(error: Error): void {
    this.error = error;
    this.wake();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => (this.waiter = resolve));
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

function matches(filter: LabelFilter | undefined, labels: Record<string, string>): boolean {
  return Object.entries(filter ?? {}).every(([key, value]) =>
    value === true ? key in labels : labels[key] === value,
  );
}
