export { DEFAULT_DOCKER_HOST, parseDockerHost } from './docker-host.js';
export { DockerRuntime, type DockerRuntimeOptions } from './docker-runtime.js';
export {
  ContainerConflictError,
  ContainerNotFoundError,
  EngineError,
  EngineUnreachableError,
  ImageNotFoundError,
} from './errors.js';
export type * from './types.js';
