/**
 * The executor: keeps the containers on this node in line with the tasks the leader assigns
 * to it. It only wires parts together: adopt.ts finds what an earlier agent left running,
 * task-runner.ts drives each task, event-watch.ts feeds them the engine's events, and
 * reports.ts batches what changed for the session to send; task-files*.ts put tasks' secrets
 * and configs in files (in memory) for their containers to mount, while the tasks run.
 *
 * Nothing is removed before the first assignment set arrives: a worker cut off from the
 * managers keeps running what it runs, and the absence of a session is never a reason to act.
 */
import { oneLineMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { RuntimeEvent } from '../runtime/types.js';
import type { Task } from '../state/service-types.js';
import { findOwnContainers } from './adopt.js';
import { watchEvents } from './event-watch.js';
import { TASK_LABEL } from './labels.js';
import { ReportBatcher } from './reports.js';
import { listTaskFileDirs, removeTaskFiles, runningAsRoot } from './task-files-store.js';
import { type RunnerContext, TaskRunner } from './task-runner.js';
import type { ExecutorOptions, TaskFiles, TaskStatusReport } from './types.js';

const DEFAULT_RETRY_MIN_MS = 500;
const DEFAULT_RETRY_MAX_MS = 10_000;
const NO_FILES: TaskFiles = new Map();

type Phase = 'new' | 'adopting' | 'running' | 'stopped';

export class Executor {
  private readonly runners = new Map<string, TaskRunner>();
  private readonly reports: ReportBatcher;
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private readonly ctx: RunnerContext;
  private phase: Phase = 'new';
  /** Assignments that arrived before adoption finished; applied right after it. */
  private pending: { tasks: readonly Task[]; files: TaskFiles } | undefined;
  /** The secrets' and configs' data of the last assignment set. */
  private files: TaskFiles = NO_FILES;
  /** Leftover task file directories are swept once, after the first assignment set. */
  private swept = false;
  private sweeping: Promise<void> = Promise.resolve();
  private watching: Promise<void> = Promise.resolve();
  private adoptTimer: NodeJS.Timeout | undefined;
  private adoptFailures = 0;

  constructor(private readonly options: ExecutorOptions) {
    this.log = options.logger.child({ component: 'executor' });
    this.reports = new ReportBatcher(options.report, this.log);
    this.ctx = {
      runtime: options.runtime,
      nodeId: options.nodeId,
      now: options.now,
      log: this.log,
      signal: this.controller.signal,
      report: (report) => this.reports.push(report),
      retire: (runner) => {
        if (this.runners.get(runner.taskId) === runner) this.runners.delete(runner.taskId);
      },
      retryMinMs: options.retryMinMs ?? DEFAULT_RETRY_MIN_MS,
      retryMaxMs: options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
      drainMs: options.drainMs ?? 0,
      filesDir: options.filesDir,
      files: () => this.files,
      chownFiles: runningAsRoot(),
    };
  }

  /**
   * Starts following Docker events and adopts the containers labelled for this node. If the
   * engine does not answer, adoption is retried in the background and no task is started
   * until it succeeds (starting one could run it twice).
   */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('the executor was already started');
    this.phase = 'adopting';
    this.watching = watchEvents({
      runtime: this.options.runtime,
      nodeId: this.options.nodeId,
      since: this.options.now(),
      signal: this.controller.signal,
      log: this.log,
      retryMinMs: this.ctx.retryMinMs,
      retryMaxMs: this.ctx.retryMaxMs,
      onEvent: (event) => this.dispatch(event),
      onResume: () => {
        for (const runner of this.runners.values()) runner.resync();
      },
    });
    await this.adopt();
  }

  /**
   * The complete set of tasks assigned to this node now: it replaces the previous set.
   * `files` holds the data of the secrets and configs these tasks use.
   */
  setAssignments(tasks: readonly Task[], files: TaskFiles = NO_FILES): void {
    if (this.phase === 'stopped') return;
    if (this.phase !== 'running') {
      this.pending = { tasks, files };
      return;
    }
    this.files = files;
    const assigned = new Set<string>();
    for (const task of tasks) {
      assigned.add(task.ID);
      this.runner(task.ID).assign(task);
    }
    // Includes containers adopted for tasks no one assigns any more: orphans.
    for (const [taskId, runner] of this.runners) {
      if (!assigned.has(taskId)) runner.unassign();
    }
    if (!this.swept) {
      this.swept = true;
      this.sweeping = this.sweepFiles();
    }
  }

  /** The last known status of every assigned task (resent to a new leader). */
  statuses(): TaskStatusReport[] {
    const out: TaskStatusReport[] = [];
    for (const runner of this.runners.values()) {
      const report = runner.current();
      if (report) out.push(report);
    }
    return out;
  }

  /** Stops watching and acting; containers keep running. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.controller.abort();
    clearTimeout(this.adoptTimer);
    for (const runner of this.runners.values()) runner.dispose();
    await this.watching;
    await this.sweeping;
    await Promise.all([...this.runners.values()].map((runner) => runner.idle()));
    this.reports.close();
  }

  private async adopt(): Promise<void> {
    const { runtime, nodeId } = this.options;
    try {
      const found = await findOwnContainers(runtime, nodeId, this.log, this.controller.signal);
      for (const [taskId, container] of found) this.runner(taskId).adopt(container);
      if (found.size) this.log.info({ containers: found.size }, 'adopted existing containers');
    } catch (error) {
      if (this.controller.signal.aborted) return;
      const delay = Math.min(this.ctx.retryMaxMs, this.ctx.retryMinMs * 2 ** this.adoptFailures);
      this.adoptFailures += 1;
      this.log.warn({ err: oneLineMessage(error), retryMs: delay }, 'cannot list containers');
      this.adoptTimer = setTimeout(() => void this.adopt(), delay);
      this.adoptTimer.unref();
      return;
    }
    this.phase = 'running';
    const pending = this.pending;
    this.pending = undefined;
    if (pending) this.setAssignments(pending.tasks, pending.files);
  }

  /**
   * Removes the file directories no runner owns: tasks that left while the agent was down.
   * A runner (assigned, or an orphan container being removed) looks after its own.
   */
  private async sweepFiles(): Promise<void> {
    const { filesDir } = this.options;
    if (filesDir === undefined) return;
    try {
      for (const taskId of await listTaskFileDirs(filesDir)) {
        if (this.controller.signal.aborted) return;
        if (this.runners.has(taskId)) continue;
        await removeTaskFiles(filesDir, taskId);
        this.log.info({ task: taskId }, 'removed the files of a task no longer assigned');
      }
    } catch (error) {
      this.log.warn({ err: oneLineMessage(error) }, 'cannot clean up task files');
    }
  }

  private runner(taskId: string): TaskRunner {
    let runner = this.runners.get(taskId);
    if (!runner) {
      runner = new TaskRunner(taskId, this.ctx);
      this.runners.set(taskId, runner);
    }
    return runner;
  }

  private dispatch(event: RuntimeEvent): void {
    const taskId = event.labels[TASK_LABEL];
    if (taskId) this.runners.get(taskId)?.observe(event);
  }
}
