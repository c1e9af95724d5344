/**
 * What a node says about itself: hostname, platform, resources and its Docker engine, read
 * when the agent starts. An engine that is down then is reported with no version (restart
 * the agent once the engine runs).
 */
import { arch, cpus, hostname, platform, totalmem } from 'node:os';
import type { Logger } from '../log.js';
import type { ContainerRuntime, EngineInfo } from '../runtime/types.js';
import type { NodeDescription } from '../state/types.js';

export async function describeNode(
  runtime: ContainerRuntime | undefined,
  hostnameOverride: string | undefined,
  logger: Logger,
): Promise<NodeDescription> {
  let engine: EngineInfo | undefined;
  if (runtime) {
    try {
      engine = await runtime.info(AbortSignal.timeout(3000));
    } catch (error) {
      logger.warn({ err: String(error) }, 'the Docker engine does not answer');
    }
  }
  return {
    Hostname: hostnameOverride ?? hostname(),
    Platform: { Architecture: goArch(arch()), OS: platform() },
    Resources: {
      NanoCPUs: (engine?.cpus ?? cpus().length) * 1e9,
      MemoryBytes: engine?.memoryBytes ?? totalmem(),
    },
    Engine: {
      EngineVersion: engine?.version ?? '',
      ...(engine && Object.keys(engine.labels).length > 0 ? { Labels: engine.labels } : {}),
    },
  };
}

/** Docker reports uname's machine names (x86_64, aarch64); Node says x64 and arm64. */
function goArch(nodeArch: string): string {
  return nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'aarch64' : nodeArch;
}
