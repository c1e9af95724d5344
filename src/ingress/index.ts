/**
 * The routing mesh's data plane: a userspace TCP/UDP proxy on every agent that sends each
 * published port's traffic to a task of its service (design: docs DESIGN §4 "Routing mesh").
 * The control side computes the MeshTable; IngressMesh only proxies.
 */
export { IngressMesh } from './mesh.js';
export { proxyV2Header } from './proxy-protocol.js';
export type {
  IngressMeshOptions,
  MeshBackend,
  MeshCounters,
  MeshPort,
  MeshService,
  MeshTable,
} from './types.js';
