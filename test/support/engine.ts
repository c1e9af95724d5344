/**
 * Shared pieces for tests that use the real Docker engine started by scripts/ensure-docker.sh.
 * Every container a test makes carries TEST_LABEL=<run id>, so a run removes what it made,
 * also after a failure, and never touches anything else on the engine.
 */
import { randomUUID } from 'node:crypto';
import { DockerRuntime } from '../../src/runtime/index.js';
import type { ContainerSpec, EventOptions, RuntimeEvent } from '../../src/runtime/types.js';

export const TEST_IMAGE = process.env.SWARMTS_TEST_IMAGE ?? 'swarmts/busybox:latest';
export const TEST_LABEL = 'swarmts.test.run';

export interface EngineFixture {
  runtime: DockerRuntime;
  runId: string;
  labels: Record<string, string>;
  /** A container spec on the test image, labelled for cleanup. */
  spec(overrides: Partial<ContainerSpec> & { args: string[] }): ContainerSpec;
  cleanup(): Promise<void>;
}

export function engineFixture(): EngineFixture {
  const runtime = new DockerRuntime();
  const runId = randomUUID();
  const labels = { [TEST_LABEL]: runId };
  return {
    runtime,
    runId,
    labels,
    spec: (overrides) => ({
      image: TEST_IMAGE,
      ...overrides,
      labels: { ...labels, ...overrides.labels },
    }),
    cleanup: () => removeLabelled(runtime, { [TEST_LABEL]: runId }),
  };
}

export async function removeLabelled(
  runtime: DockerRuntime,
  labels: Record<string, string | true>,
): Promise<void> {
  const containers = await runtime.listContainers({ labels, all: true });
  await Promise.all(containers.map((c) => runtime.removeContainer(c.id, { force: true })));
  // A container whose removal another party (an executor) had already begun reports success
  // while the engine still lists it as "removing": wait until the engine is done with it.
  const deadline = Date.now() + 15_000;
  while ((await runtime.listContainers({ labels, all: true })).length > 0) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The first event matching `predicate`. `since` makes the engine replay what happened after
 * that time, so the event cannot be missed however late the stream opens.
 */
export async function firstEvent(
  runtime: DockerRuntime,
  options: EventOptions & { since: Date },
  predicate: (event: RuntimeEvent) => boolean,
): Promise<RuntimeEvent> {
  const controller = new AbortController();
  try {
    for await (const event of runtime.events({ ...options, signal: controller.signal })) {
      if (predicate(event)) return event;
    }
  } finally {
    controller.abort();
  }
  throw new Error('event stream ended before the expected event');
}

/** A time safely before "now" on the engine's clock, for `since`. */
export function justBefore(): Date {
  return new Date(Date.now() - 1000);
}
