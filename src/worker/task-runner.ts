/**
 * One task on this node, as a state machine in the manner of swarmkit's exec.Do: each step
 * moves the task at most one state forward (accepted → preparing → ready → starting →
 * running) or towards shutdown, and says whether it moved. Steps and the engine's events for
 * the task run one at a time on a promise chain; different tasks' chains run in parallel.
 * Nothing here throws to the caller: an engine error becomes the task's status or a retry.
 */

import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  ContainerConflictError,
  ContainerNotFoundError,
  EngineUnreachableError,
  ImageNotFoundError,
} from '../runtime/errors.js';
import type {
  ContainerInfo,
  ContainerRuntime,
  ContainerSummary,
  HealthState,
  RuntimeEvent,
} from '../runtime/types.js';
import {
  clipTaskText,
  isTerminal,
  type Task,
  type TaskState,
  type TaskStatus,
  taskStateRank,
} from '../state/service-types.js';
import { isLive } from './adopt.js';
import { containerSpecFor, stopGraceMs } from './container-spec.js';
import { NODE_LABEL, TASK_LABEL } from './labels.js';
import { exitOutcome, portStatus } from './status-mapping.js';
import {
  problemWith,
  type TaskFile,
  TaskFilesError,
  taskFilesFor,
  usesFiles,
  withFileMounts,
} from './task-files.js';
import { removeTaskFiles, writeTaskFiles } from './task-files-store.js';
import type { TaskFiles, TaskStatusReport } from './types.js';

export interface RunnerContext {
  runtime: ContainerRuntime;
  nodeId: string;
  now: () => Date;
  log: Logger;
  /** Aborted when the executor stops: in-flight engine calls end and no step starts. */
  signal: AbortSignal;
  report: (report: TaskStatusReport) => void;
  /** Called once a task no longer assigned has had its containers removed. */
  retire: (runner: TaskRunner) => void;
  retryMinMs: number;
  retryMaxMs: number;
  /** Pause before stopping a task the routing mesh sends traffic to (see ExecutorOptions). */
  drainMs: number;
  /** Where tasks' secret and config files go; undefined: tasks that use them are rejected. */
  filesDir: string | undefined;
  /** The secrets' and configs' data of the current assignment set. */
  files: () => TaskFiles;
  /** Give files the owner their reference asks for (the agent runs as root). */
  chownFiles: boolean;
}

/** What the runner knows of its task's container. */
interface ContainerRef {
  id: string;
  /** Start was called, or the engine says it ran: a container is never started twice. */
  started: boolean;
  /** Its process exists, so shutdown must stop it first. */
  live: boolean;
  /** Inspected since it last started (or since this runner took it over). */
  observed: boolean;
}

type StatusFields = Partial<Omit<TaskStatus, 'State' | 'Message' | 'Timestamp'>>;

const READY = taskStateRank('ready');
const STARTING = taskStateRank('starting');
const RUNNING = taskStateRank('running');
/** Each step moves forward, so a pass this long means a bug, not work: stop looping. */
const MAX_STEPS = 32;

export class TaskRunner {
  private task: Task | undefined;
  private status: TaskStatus | undefined;
  private container: ContainerRef | undefined;
  /** Left the assignment set: stop and remove its containers, report nothing more. */
  private gone = false;
  private removed = false;
  private unhealthy = false;
  private oomKilled = false;
  /** The container's secret and config files are on disk (written, or checked after adoption). */
  private filesReady = false;
  /**
   * The task's file directory may exist: true until it is removed (an adopted task's files
   * may be left from before the restart).
   */
  private filesLeft = true;
  private chain: Promise<void> = Promise.resolve();
  private passQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly log: Logger;

  constructor(
    readonly taskId: string,
    private readonly ctx: RunnerContext,
  ) {
    this.log = ctx.log.child({ task: taskId });
  }

  /** Takes over a container found at startup; it is inspected once the task is known. */
  adopt(container: ContainerSummary): void {
    this.container = {
      id: container.id,
      started: container.state !== 'created',
      live: isLive(container.state),
      observed: false,
    };
  }

  assign(task: Task): void {
    this.task = task;
    this.gone = false;
    this.removed = false;
    // The leader may know a later state than this runner does (after a restart): keep the
    // later one, so no report goes backwards.
    if (!this.status || taskStateRank(task.Status.State) > taskStateRank(this.status.State)) {
      this.status = task.Status;
    }
    this.reconcile();
  }

  unassign(): void {
    this.gone = true;
    this.reconcile();
  }

  /** The event stream was cut: what the container did meanwhile is read from the engine. */
  resync(): void {
    if (this.container) this.container.observed = false;
    this.reconcile();
  }

  observe(event: RuntimeEvent): void {
    this.enqueue(() => this.onEvent(event));
  }

  /** Asks for a pass; passes asked for before one starts are one pass. */
  reconcile(): void {
    if (this.passQueued) return;
    this.passQueued = true;
    this.enqueue(() => {
      this.passQueued = false;
    });
  }

  /** The last status, while the task is assigned. */
  current(): TaskStatusReport | undefined {
    if (!this.task || !this.status || this.gone) return undefined;
    return { taskId: this.taskId, status: this.status };
  }

  /** Resolves when what is queued now has run. */
  idle(): Promise<void> {
    return this.chain;
  }

  dispose(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private enqueue(work: () => void): void {
    this.chain = this.chain.then(async () => {
      if (this.ctx.signal.aborted) return;
      try {
        work();
        await this.pass();
      } catch (error) {
        // Only a bug gets here (steps catch their own errors); keep the chain alive.
        this.log.error({ err: oneLineMessage(error) }, 'task runner error');
      }
    });
  }

  private async pass(): Promise<void> {
    for (let i = 0; i < MAX_STEPS && !this.ctx.signal.aborted; i++) {
      let moved: boolean;
      try {
        moved = await this.step();
      } catch (error) {
        this.onError(error);
        break;
      }
      if (!moved) break;
      this.failures = 0;
    }
    if (!this.ctx.signal.aborted) await this.dropFilesOfEndedTask();
    if (this.gone && this.removed) this.ctx.retire(this);
  }

  /**
   * A task that has ended needs its secrets and configs no more: its container has stopped
   * for good (swarmts never restarts one; a new task is made instead). The files go now, not
   * with the container, which is kept as history.
   */
  private async dropFilesOfEndedTask(): Promise<void> {
    const { filesDir } = this.ctx;
    const { task, status } = this;
    if (!this.filesLeft || filesDir === undefined || !task || !status) return;
    if (!isTerminal(status.State) || !usesFiles(task)) return;
    // Failed while its process runs (an engine error): once it is stopped.
    if (this.container?.live) return;
    try {
      await removeTaskFiles(filesDir, this.taskId);
    } catch (error) {
      this.log.warn({ err: oneLineMessage(error) }, 'cannot remove task files; will retry');
      this.retryLater();
      return;
    }
    this.filesLeft = false;
    this.filesReady = false;
    this.log.debug({ state: status.State }, 'removed the files of an ended task');
  }

  /** One move towards the desired state; false when there is nothing to do until news. */
  private async step(): Promise<boolean> {
    const task = this.task;
    if (this.gone || (task && taskStateRank(task.DesiredState) > RUNNING)) {
      return this.shutdownStep();
    }
    const status = this.status;
    // Before the first assignment an adopted container is only watched; a terminal task
    // is left alone.
    if (!task || !status || isTerminal(status.State)) return false;
    if (taskStateRank(task.DesiredState) < READY) return false;
    const c = this.container;
    if (this.unhealthy) {
      if (c?.live) await this.stopContainer(c.id);
      return this.advance('failed', 'failed', { Err: 'container unhealthy', Health: 'unhealthy' });
    }
    if (c && !c.observed) {
      await this.inspect(task, c);
      return true;
    }
    if (c && !this.filesReady && usesFiles(task)) {
      await this.restoreFiles(task, c);
      return true;
    }
    switch (status.State) {
      case 'new':
      case 'pending':
      case 'assigned':
        return this.advance('accepted', 'accepted');
      case 'accepted':
        return this.advance('preparing', 'preparing');
      case 'preparing':
      case 'ready':
        // A 'ready' task without a container: the leader knew it created, the engine lost it.
        if (!c) {
          await this.prepare(task);
          return true;
        }
        if (status.State === 'preparing') {
          return this.advance('ready', 'prepared', { ContainerStatus: { ContainerID: c.id } });
        }
        if (taskStateRank(task.DesiredState) < RUNNING) return false;
        return this.advance('starting', 'starting');
      case 'starting':
        if (!c) return this.containerGone();
        if (!c.started) {
          await this.ctx.runtime.startContainer(c.id, this.ctx.signal);
          Object.assign(c, { started: true, live: true, observed: false });
          return true;
        }
        return false; // waiting for the health check to say healthy
      case 'running':
        return c ? false : this.containerGone();
      default:
        return false;
    }
  }

  /** Desired state past running, or no longer assigned: stop, report shutdown, maybe remove. */
  private async shutdownStep(): Promise<boolean> {
    const c = this.container;
    if (c?.live) {
      await this.stopContainer(c.id);
      this.advance('shutdown', 'shutdown');
      return true;
    }
    if (this.advance('shutdown', 'shutdown')) return true;
    if ((this.gone || this.task?.DesiredState === 'remove') && !this.removed) {
      await this.removeContainers();
      return true;
    }
    return false;
  }

  /**
   * Preparing: the secrets and configs must be here, the image on the engine (there may be
   * no registry); then the files are written and the container created.
   */
  private async prepare(task: Task): Promise<void> {
    const { runtime, signal, nodeId } = this.ctx;
    // The data as it is now: a set that arrives meanwhile does not change what was checked.
    const data = this.ctx.files();
    const problem = problemWith(task, this.ctx.filesDir, data);
    if (problem) throw new TaskFilesError(problem);
    const spec = containerSpecFor(task, nodeId);
    await runtime.ensureImage(spec.image, signal);
    const files = await this.writeFiles(task, data, false);
    let id: string;
    try {
      id = await runtime.createContainer(withFileMounts(spec, files), signal);
    } catch (error) {
      // The name is taken by our own container when an earlier create's answer was lost.
      const own = error instanceof ContainerConflictError ? await this.findOwn() : undefined;
      if (!own) throw error;
      this.adopt(own);
      return;
    }
    this.container = { id, started: false, live: false, observed: true };
    this.advance('ready', 'prepared', { ContainerStatus: { ContainerID: id } });
  }

  /** Writes the task's files (all, or only those missing); [] when it uses none. */
  private async writeFiles(task: Task, data: TaskFiles, onlyMissing: boolean): Promise<TaskFile[]> {
    const { filesDir } = this.ctx;
    if (filesDir === undefined || !usesFiles(task)) return [];
    const files = taskFilesFor(task, filesDir);
    const written = await writeTaskFiles(filesDir, task.ID, files, data, {
      chown: this.ctx.chownFiles,
      onlyMissing,
    });
    this.filesReady = true;
    this.filesLeft = true;
    if (onlyMissing && written > 0) this.log.info({ files: written }, 'restored task files');
    return files;
  }

  /**
   * A container found at startup: its files are gone after a reboot (they are kept in
   * memory), or after a cleanup. A running one has them mounted already: the missing ones
   * are written again, and it keeps running if they cannot be. One not started yet needs
   * them all, as a new one would: they are all written again (none half-written by a crash).
   */
  private async restoreFiles(task: Task, c: ContainerRef): Promise<void> {
    const data = this.ctx.files();
    const problem = problemWith(task, this.ctx.filesDir, data);
    if (!problem) {
      await this.writeFiles(task, data, c.live);
      return;
    }
    if (!c.live) throw new TaskFilesError(problem);
    this.log.warn({ problem }, 'cannot rewrite task files; the running container keeps its own');
    this.filesReady = true;
  }

  private async findOwn(): Promise<ContainerSummary | undefined> {
    const found = await this.ctx.runtime.listContainers({
      labels: { [NODE_LABEL]: this.ctx.nodeId, [TASK_LABEL]: this.taskId },
      all: true,
      signal: this.ctx.signal,
    });
    return found[0];
  }

  private async inspect(task: Task, c: ContainerRef): Promise<void> {
    let info: ContainerInfo;
    try {
      info = await this.ctx.runtime.inspectContainer(c.id, this.ctx.signal);
    } catch (error) {
      if (!(error instanceof ContainerNotFoundError)) throw error;
      this.container = undefined;
      return;
    }
    this.applyInfo(task, c, info);
  }

  /** What the engine says of the container, as the task's status (after start or adoption). */
  private applyInfo(task: Task, c: ContainerRef, info: ContainerInfo): void {
    c.started = info.state !== 'created';
    c.live = isLive(info.state);
    c.observed = true;
    if (!c.started) {
      this.advance('ready', 'prepared', { ContainerStatus: { ContainerID: info.id } });
      return;
    }
    if (!c.live) {
      this.exited(task, info.id, info.exitCode, info.oomKilled);
      return;
    }
    const fields: StatusFields = { ContainerStatus: { ContainerID: info.id, PID: info.pid } };
    if (task.Endpoint?.Ports?.length) fields.PortStatus = { Ports: portStatus(task, info.ports) };
    this.healthChanged(info.health, fields);
  }

  /** A container with a health check is 'starting' until healthy (as in Docker). */
  private healthChanged(health: HealthState, fields: StatusFields = {}): void {
    switch (health) {
      case 'none':
        this.advance('running', 'started', fields);
        return;
      case 'healthy':
        this.advance('running', 'started', { ...fields, Health: 'healthy' });
        return;
      case 'starting':
        this.advance('starting', 'starting', { ...fields, Health: 'starting' });
        return;
      case 'unhealthy':
        // The next step stops the container and fails the task.
        this.unhealthy = true;
        this.advance('starting', 'starting', { ...fields, Health: 'unhealthy' });
        return;
    }
  }

  private exited(task: Task, containerId: string, exitCode: number, oomKilled: boolean): void {
    const stopping = this.gone || taskStateRank(task.DesiredState) > RUNNING;
    const outcome = exitOutcome(exitCode, oomKilled || this.oomKilled, stopping);
    const fields: StatusFields = {
      ContainerStatus: { ContainerID: containerId, ExitCode: exitCode },
    };
    if (outcome.err) fields.Err = outcome.err;
    this.advance(outcome.state, outcome.message, fields);
  }

  private onEvent(event: RuntimeEvent): void {
    const c = this.container;
    if (!c || c.id !== event.containerId) return;
    switch (event.type) {
      case 'oom':
        this.oomKilled = true; // the die that follows says why
        return;
      case 'die':
        c.live = false;
        c.started = true;
        if (this.task) this.exited(this.task, c.id, event.exitCode, false);
        return;
      case 'health_status':
        if (this.task && c.started) this.healthChanged(event.health);
        return;
      case 'destroy':
        this.container = undefined;
        return;
      case 'start':
        return; // this runner started it, and reads the result by inspecting
    }
  }

  private async stopContainer(id: string): Promise<void> {
    const graceMs = this.task ? stopGraceMs(this.task) : undefined;
    if (
      this.ctx.drainMs > 0 &&
      this.task &&
      this.status?.State === 'running' &&
      hasIngressPorts(this.task)
    ) {
      // The mesh drops this task from its pools in the same commit that asked it to stop;
      // the pause lets every node's proxy hear of it before the container stops answering.
      await delay(this.ctx.drainMs, undefined, { signal: this.ctx.signal }).catch(() => {});
    }
    try {
      // Without a task (an orphan) the container's own stop timeout, set at create, applies.
      await this.ctx.runtime.stopContainer(id, {
        ...(graceMs !== undefined ? { graceMs } : {}),
        signal: this.ctx.signal,
      });
    } catch (error) {
      if (!(error instanceof ContainerNotFoundError)) throw error;
      if (this.container?.id === id) this.container = undefined;
      return;
    }
    if (this.container?.id === id) this.container.live = false;
  }

  /** Every container labelled with this task, not only the one known: none may be left. */
  private async removeContainers(): Promise<void> {
    const { runtime, nodeId, signal } = this.ctx;
    const found = await runtime.listContainers({
      labels: { [NODE_LABEL]: nodeId, [TASK_LABEL]: this.taskId },
      all: true,
      signal,
    });
    const ids = new Set(found.map((c) => c.id));
    if (this.container) ids.add(this.container.id);
    for (const container of found) {
      if (isLive(container.state)) await this.stopContainer(container.id);
    }
    for (const id of ids) await runtime.removeContainer(id, { force: true, signal });
    this.container = undefined;
    // The files go with the container that mounted them (if they did not go when it ended).
    if (this.ctx.filesDir !== undefined) await removeTaskFiles(this.ctx.filesDir, this.taskId);
    this.filesReady = false;
    this.filesLeft = false;
    this.removed = true;
  }

  private containerGone(): boolean {
    return this.advance('failed', 'failed', { Err: 'task: container is gone' });
  }

  private onError(error: unknown): void {
    if (this.ctx.signal.aborted) return;
    const stopping =
      this.gone || (this.task !== undefined && taskStateRank(this.task.DesiredState) > RUNNING);
    if (error instanceof EngineUnreachableError || stopping) {
      // Nothing is known to have failed. Try again later, re-reading the container first,
      // since the call may have taken effect before its answer was lost.
      this.log.warn({ err: oneLineMessage(error) }, 'engine call failed; will retry');
      if (this.container) this.container.observed = false;
      this.retryLater();
      return;
    }
    const err =
      error instanceof ImageNotFoundError
        ? `image not found: ${error.image}`
        : oneLineMessage(error);
    // As swarmkit: a task that fails before it starts was rejected by this node.
    const state: TaskState =
      this.status && taskStateRank(this.status.State) < STARTING ? 'rejected' : 'failed';
    this.log.warn({ err, state }, 'task did not run');
    this.advance(state, state, { Err: err });
  }

  private retryLater(): void {
    if (this.retryTimer || this.ctx.signal.aborted) return;
    const delay = Math.min(this.ctx.retryMaxMs, this.ctx.retryMinMs * 2 ** this.failures);
    this.failures += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconcile();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Moves the status to `state` with `fields`, and reports it if anything changed. A state
   * earlier than the current one keeps the current state (fields still merge); a terminal
   * status never changes.
   */
  private advance(state: TaskState, message: string, fields: StatusFields = {}): boolean {
    const current = this.status;
    if (!current || isTerminal(current.State)) return false;
    const forward = taskStateRank(state) >= taskStateRank(current.State);
    const next: TaskStatus = {
      ...current,
      ...fields,
      State: forward ? state : current.State,
      Message: forward ? message : current.Message,
    };
    if (fields.ContainerStatus) {
      next.ContainerStatus = { ...current.ContainerStatus, ...fields.ContainerStatus };
    }
    // An Err from before (the leader's "no suitable node" while pending) ends with the move.
    if (fields.Err === undefined && next.State !== current.State) delete next.Err;
    // The leader refuses longer texts; an engine message can be anything (a long command).
    if (next.Err !== undefined) next.Err = clipTaskText(next.Err);
    next.Message = clipTaskText(next.Message);
    if (isDeepStrictEqual(next, current)) return false;
    next.Timestamp = this.ctx.now().toISOString();
    this.status = next;
    this.log.debug({ state: next.State, err: next.Err }, 'task status');
    if (!this.gone) this.ctx.report({ taskId: this.taskId, status: next });
    return true;
  }
}

function hasIngressPorts(task: Task): boolean {
  return (task.Endpoint?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress');
}
