import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { statusCodeOf, toRuntimeError } from './docker-errors.js';
import {
  DEFAULT_DOCKER_HOST,
  type DockerEndpoint,
  formatDockerEndpoint,
  parseDockerHost,
} from './docker-host.js';
import {
  type DockerInfo,
  type DockerInspect,
  type DockerSummary,
  FOLLOWED_EVENTS,
  fromEvent,
  fromInfo,
  fromInspect,
  fromSummary,
  labelFilters,
  toCreateBody,
} from './docker-mapping.js';
import { ContainerConflictError, EngineUnreachableError, ImageNotFoundError } from './errors.js';
import { type Chunks, demuxFrames, jsonLines, logLines, rawFrames } from './streams.js';
import type {
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerSummary,
  EngineInfo,
  EventOptions,
  ListOptions,
  LogLine,
  LogOptions,
  RuntimeEvent,
  StopOptions,
} from './types.js';

export interface DockerRuntimeOptions {
  /** unix:///path, /path or tcp://host:port; default DOCKER_HOST, then the standard socket. */
  dockerHost?: string;
  /** Bound on how long ping waits for an answer. */
  pingTimeoutMs?: number;
}

/** Options of a dockerode call; every call honours `abortSignal`. */
interface CallOptions {
  abortSignal?: AbortSignal;
  [key: string]: unknown;
}

interface DockerodeContainer {
  start(options: CallOptions): Promise<unknown>;
  stop(options: CallOptions): Promise<unknown>;
  kill(options: CallOptions): Promise<unknown>;
  remove(options: CallOptions): Promise<unknown>;
  inspect(options: CallOptions): Promise<DockerInspect & { Config: { Tty?: boolean } }>;
  /** A Buffer without follow, a live stream with it. */
  logs(options: CallOptions): Promise<Readable | Buffer>;
}

/**
 * The part of dockerode this runtime uses, typed by us: @types/dockerode lacks `abortSignal`
 * and its overloads resolve to callback forms, so the instance is viewed through this once.
 */
interface DockerodeApi {
  ping(options: CallOptions): Promise<unknown>;
  info(options: CallOptions): Promise<DockerInfo>;
  version(options: CallOptions): Promise<{ ApiVersion: string }>;
  getImage(ref: string): { inspect(options: CallOptions): Promise<unknown> };
  pull(ref: string, options: CallOptions): Promise<Readable>;
  createContainer(options: CallOptions): Promise<{ id: string }>;
  getContainer(id: string): DockerodeContainer;
  listContainers(options: CallOptions): Promise<DockerSummary[]>;
  getEvents(options: CallOptions): Promise<Readable>;
}

/** HTTP 304 from start/stop means "already in that state": not an error for a reconciler. */
const NOT_MODIFIED = 304;

/** ContainerRuntime over the Docker Engine API, through dockerode. */
export class DockerRuntime implements ContainerRuntime {
  readonly endpoint: string;
  private readonly docker: DockerodeApi;
  private readonly pingTimeoutMs: number;

  constructor(options: DockerRuntimeOptions = {}) {
    const parsed = parseDockerHost(
      options.dockerHost ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST,
    );
    this.endpoint = formatDockerEndpoint(parsed);
    this.docker = new Docker(dockerodeOptions(parsed)) as unknown as DockerodeApi;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 3000;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.pingTimeoutMs);
    const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      await this.docker.ping(withSignal({}, abortSignal));
    } catch (error) {
      if (timeout.aborted) {
        throw new EngineUnreachableError(
          this.endpoint,
          `no answer within ${this.pingTimeoutMs} ms`,
        );
      }
      throw toRuntimeError(error, this.endpoint);
    }
  }

  async info(signal?: AbortSignal): Promise<EngineInfo> {
    try {
      const [info, version] = await Promise.all([
        this.docker.info(withSignal({}, signal)),
        this.docker.version(withSignal({}, signal)),
      ]);
      return fromInfo(info, version.ApiVersion);
    } catch (error) {
      throw toRuntimeError(error, this.endpoint);
    }
  }

  async hasImage(ref: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect(withSignal({}, signal));
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 404) return false;
      throw toRuntimeError(error, this.endpoint, { kind: 'image', ref });
    }
  }

  async pullImage(ref: string, signal?: AbortSignal): Promise<void> {
    let progress: Readable;
    try {
      progress = await this.docker.pull(ref, withSignal({}, signal));
    } catch (error) {
      throw this.pullError(ref, error);
    }
    // The engine answers 200 at once and reports failures inside the progress stream.
    for await (const message of jsonLines(progress as Chunks)) {
      const failure = (message as { error?: unknown }).error;
      if (typeof failure === 'string') {
        progress.destroy();
        throw new ImageNotFoundError(ref, `no registry could serve it (${failure.trim()})`);
      }
    }
  }

  private pullError(ref: string, error: unknown): Error {
    const mapped = toRuntimeError(error, this.endpoint, { kind: 'image', ref });
    if (mapped instanceof EngineUnreachableError) return mapped;
    const reason = mapped.message.replace(/^[^:]*: /, '');
    return new ImageNotFoundError(ref, `no registry could serve it (${reason})`);
  }

  async ensureImage(ref: string, signal?: AbortSignal): Promise<void> {
    if (!(await this.hasImage(ref, signal))) await this.pullImage(ref, signal);
  }

  async createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    try {
      const container = await this.docker.createContainer(
        withSignal({ ...toCreateBody(spec) }, signal),
      );
      return container.id;
    } catch (error) {
      // 409 on create is a name already in use; 404 is the image.
      const subject = statusCodeOf(error) === 409 ? containerSubject(spec) : undefined;
      if (subject) throw toRuntimeError(error, this.endpoint, subject);
      throw toRuntimeError(error, this.endpoint, { kind: 'image', ref: spec.image });
    }
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.docker.getContainer(id).start(withSignal({}, signal));
    } catch (error) {
      if (statusCodeOf(error) === NOT_MODIFIED) return;
      throw toRuntimeError(error, this.endpoint, { kind: 'container', id });
    }
  }

  async stopContainer(id: string, options: StopOptions = {}): Promise<void> {
    const query = options.graceMs === undefined ? {} : { t: Math.ceil(options.graceMs / 1000) };
    try {
      await this.docker.getContainer(id).stop(withSignal(query, options.signal));
    } catch (error) {
      if (statusCodeOf(error) === NOT_MODIFIED) return;
      throw toRuntimeError(error, this.endpoint, { kind: 'container', id });
    }
  }

  async killContainer(id: string, signalName = 'SIGKILL', signal?: AbortSignal): Promise<void> {
    try {
      await this.docker.getContainer(id).kill(withSignal({ signal: signalName }, signal));
    } catch (error) {
      throw toRuntimeError(error, this.endpoint, { kind: 'container', id });
    }
  }

  async removeContainer(
    id: string,
    options: { force?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    try {
      await this.docker
        .getContainer(id)
        .remove(withSignal({ force: options.force ?? false, v: true }, options.signal));
    } catch (error) {
      if (statusCodeOf(error) === 404) return;
      const mapped = toRuntimeError(error, this.endpoint, { kind: 'container', id });
      // A removal already under way reaches the state the caller wants.
      if (mapped instanceof ContainerConflictError && /already in progress/i.test(mapped.message)) {
        return;
      }
      throw mapped;
    }
  }

  async inspectContainer(id: string, signal?: AbortSignal): Promise<ContainerInfo> {
    try {
      const raw = await this.docker.getContainer(id).inspect(withSignal({}, signal));
      return fromInspect(raw);
    } catch (error) {
      throw toRuntimeError(error, this.endpoint, { kind: 'container', id });
    }
  }

  async listContainers(options: ListOptions = {}): Promise<ContainerSummary[]> {
    const labels = labelFilters(options.labels);
    try {
      const query = {
        all: options.all ?? true,
        filters: JSON.stringify(labels.length ? { label: labels } : {}),
      };
      const raw = await this.docker.listContainers(withSignal(query, options.signal));
      return raw.map(fromSummary);
    } catch (error) {
      throw toRuntimeError(error, this.endpoint);
    }
  }

  async *events(options: EventOptions = {}): AsyncGenerator<RuntimeEvent> {
    const types = options.types ?? FOLLOWED_EVENTS;
    const filters: Record<string, string[]> = { type: ['container'], event: [...types] };
    const labels = labelFilters(options.labels);
    if (labels.length) filters.label = labels;
    const query: Record<string, unknown> = { filters: JSON.stringify(filters) };
    if (options.since) query.since = (options.since.getTime() / 1000).toFixed(3);
    const stream = await this.openStream(() => this.docker.getEvents(query), options.signal);
    if (!stream || Buffer.isBuffer(stream)) return;
    try {
      for await (const raw of jsonLines(stream as Chunks)) {
        const event = fromEvent(raw);
        if (event && types.includes(event.type)) yield event;
      }
    } catch (error) {
      if (!options.signal?.aborted) throw toRuntimeError(error, this.endpoint);
    } finally {
      stream.destroy();
    }
  }

  async *logs(id: string, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const info = await this.docker
      .getContainer(id)
      .inspect(withSignal({}, options.signal))
      .catch((error: unknown) => {
        throw toRuntimeError(error, this.endpoint, { kind: 'container', id });
      });
    const query: Record<string, unknown> = {
      stdout: true,
      stderr: true,
      follow: options.follow ?? false,
      timestamps: options.timestamps ?? false,
      tail: options.tail === undefined || options.tail === 'all' ? 'all' : String(options.tail),
    };
    if (options.since) query.since = (options.since.getTime() / 1000).toFixed(3);
    const container = this.docker.getContainer(id);
    // Without follow the engine's answer is one buffer; with follow it is a live stream.
    const body = await this.openStream(() => container.logs(query), options.signal, {
      kind: 'container',
      id,
    });
    if (!body) return;
    const source: Chunks = Buffer.isBuffer(body) ? once(body) : (body as Chunks);
    const frames = info.Config.Tty ? rawFrames(source) : demuxFrames(source);
    try {
      yield* logLines(frames, { timestamps: options.timestamps ?? false });
    } catch (error) {
      if (!options.signal?.aborted) throw toRuntimeError(error, this.endpoint);
    } finally {
      if (!Buffer.isBuffer(body)) (body as Readable).destroy();
    }
  }

  /**
   * Opens a long-lived response and ties it to the caller's signal: aborting destroys the
   * socket, which ends the iteration. Returns undefined when the signal is already aborted.
   */
  private async openStream(
    open: () => Promise<Readable | Buffer>,
    signal: AbortSignal | undefined,
    subject?: { kind: 'container'; id: string },
  ): Promise<Readable | Buffer | undefined> {
    if (signal?.aborted) return undefined;
    let stream: Readable | Buffer;
    try {
      stream = await open();
    } catch (error) {
      throw toRuntimeError(error, this.endpoint, subject);
    }
    if (signal && !Buffer.isBuffer(stream)) {
      const readable = stream;
      if (signal.aborted) {
        readable.destroy();
        return undefined;
      }
      signal.addEventListener('abort', () => readable.destroy(), { once: true });
    }
    return stream;
  }
}

function withSignal(options: CallOptions, signal: AbortSignal | undefined): CallOptions {
  return signal ? { ...options, abortSignal: signal } : options;
}

function containerSubject(spec: ContainerSpec): { kind: 'container'; id: string } {
  return { kind: 'container', id: spec.name ?? spec.image };
}

function dockerodeOptions(endpoint: DockerEndpoint): Docker.DockerOptions {
  return endpoint.kind === 'unix'
    ? { socketPath: endpoint.socketPath }
    : { host: endpoint.host, port: endpoint.port, protocol: 'http' };
}

async function* once(buffer: Buffer): AsyncGenerator<Uint8Array> {
  yield buffer;
}
