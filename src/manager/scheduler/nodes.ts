/**
 * What the scheduler knows about the nodes during one call, in flat arrays indexed by the
 * node's position in the input: tasks per node in total and per service, free CPU and memory,
 * host ports in use. Built from the tasks already placed, then updated as each task lands, so
 * later tasks in the same call see the earlier ones.
 */
import { isTerminal, type Task } from '../../state/service-types.js';
import type { Node } from '../../state/types.js';
import { hostPortKeys } from './ports.js';
import { DRAINED, NOT_READY, PAUSED, type Rejection } from './reasons.js';
import { reservationOf } from './resources.js';

export class NodeTable {
  readonly nodes: readonly Node[];
  /** Tasks on the node, all services. */
  readonly total: Int32Array;
  readonly freeNanoCPUs: Float64Array;
  readonly freeMemoryBytes: Float64Array;
  /** The node's position in node-ID order: the last tie-break, so equal nodes pick stably. */
  readonly idRank: Int32Array;
  /** Host ports in use ("80/tcp"); undefined for the many nodes that have none. */
  readonly hostPorts: (Set<string> | undefined)[];
  /**
   * Why the node takes no task at all (not ready, drained, paused), or null. The same for
   * every task, so it is worked out once per call rather than once per service.
   */
  readonly unavailable: (Rejection | null)[];
  private readonly positions = new Map<string, number>();
  private readonly perService = new Map<string, Int32Array>();

  constructor(nodes: readonly Node[], placed: readonly Task[]) {
    const count = nodes.length;
    this.nodes = nodes;
    this.total = new Int32Array(count);
    this.freeNanoCPUs = new Float64Array(count);
    this.freeMemoryBytes = new Float64Array(count);
    this.idRank = new Int32Array(count);
    this.hostPorts = new Array<Set<string> | undefined>(count).fill(undefined);
    this.unavailable = new Array<Rejection | null>(count).fill(null);
    for (let i = 0; i < count; i++) {
      const node = nodes[i]!;
      if (!this.positions.has(node.ID)) this.positions.set(node.ID, i);
      this.freeNanoCPUs[i] = node.Description.Resources.NanoCPUs;
      this.freeMemoryBytes[i] = node.Description.Resources.MemoryBytes;
      this.unavailable[i] = availability(node);
    }
    // Plain code-unit order, not localeCompare: the same on every manager whatever its locale.
    const order = nodes.map((_, i) => i);
    order.sort((a, b) => compareIds(nodes[a]!.ID, nodes[b]!.ID) || a - b);
    for (let rank = 0; rank < count; rank++) this.idRank[order[rank]!] = rank;

    for (const task of placed) {
      const i = this.positions.get(task.NodeID);
      // A task on a node that is gone holds nothing anywhere; the caller's filter is trusted
      // for the rest, but a terminal task slipping through must not hold a port forever.
      if (i === undefined || isTerminal(task.Status.State)) continue;
      const reserved = reservationOf(task.Spec);
      this.land(i, this.serviceCounts(task.ServiceID), reserved.nanoCPUs, reserved.memoryBytes);
      this.addHostPorts(i, hostPortKeys(task.Endpoint?.Ports));
    }
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Tasks of the service per node; shared by every group of the service in this call. */
  serviceCounts(serviceId: string): Int32Array {
    let counts = this.perService.get(serviceId);
    if (counts === undefined) {
      counts = new Int32Array(this.nodes.length);
      this.perService.set(serviceId, counts);
    }
    return counts;
  }

  /** Records a task on node i. */
  land(i: number, serviceCounts: Int32Array, nanoCPUs: number, memoryBytes: number): void {
    this.total[i]!++;
    serviceCounts[i]!++;
    this.freeNanoCPUs[i]! -= nanoCPUs;
    this.freeMemoryBytes[i]! -= memoryBytes;
  }

  addHostPorts(i: number, keys: readonly string[]): void {
    if (keys.length === 0) return;
    let ports = this.hostPorts[i];
    if (ports === undefined) {
      ports = new Set();
      this.hostPorts[i] = ports;
    }
    for (const key of keys) ports.add(key);
  }
}

function availability(node: Node): Rejection | null {
  if (node.Status.State !== 'ready') return NOT_READY;
  if (node.Spec.Availability === 'drain') return DRAINED;
  if (node.Spec.Availability === 'pause') return PAUSED;
  return null;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
