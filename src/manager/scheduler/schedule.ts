/**
 * schedule(): places pending tasks on nodes. Pure and deterministic: the same input gives the
 * same output on every manager, with no clock and no randomness.
 *
 * Tasks of one service with the same placement needs (constraints, preferences, max replicas,
 * reservations, host ports) form a group and are placed together: the filters that do not
 * change as tasks land (ready, active, constraints) run once per group over all nodes, and the
 * nodes that pass go into a CandidateTree that hands out the best node in O(log n). Only the
 * filters that do change (free CPU and memory, host ports, max replicas) are checked per task,
 * on the best node alone; a node that fails them is dropped for the rest of the group, since
 * within a group they only ever get stricter. Groups are placed in the order their first task
 * appears in `pending`, tasks within a group in their own order; each sees the tasks placed
 * before it in the same call.
 *
 * Once a task of a group finds no node, the rest of the group cannot either (nothing frees up
 * during a call), so they share its reason without another search.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { PortConfig, Task } from '../../state/service-types.js';
import type { Node } from '../../state/types.js';
import { type Constraint, compileConstraint, parseConstraint } from './constraints.js';
import { NodeTable } from './nodes.js';
import { hostPortKeys } from './ports.js';
import { parseSpreadDescriptor, type SpreadKey } from './preferences.js';
import {
  failsConstraint,
  hostPortInUse,
  lacksCpu,
  lacksMemory,
  maxReplicasReached,
  noSuitableNode,
  type Rejection,
  Tally,
} from './reasons.js';
import { reservationOf } from './resources.js';
import { CandidateTree } from './tree.js';
import type { Assignment, SchedulerInput, SchedulerOutput, Unplaced } from './types.js';

export function schedule(input: SchedulerInput): SchedulerOutput {
  const { pending } = input;
  const table = new NodeTable(input.nodes, input.placed);
  // Per pending task: the chosen node's ID, or the reason it stays pending.
  const nodeIds = new Array<string | undefined>(pending.length);
  const reasons = new Array<string | undefined>(pending.length);
  const parsed = new Map<string, ParsedConstraint>();

  for (const group of groupTasks(pending)) {
    const first = pending[group[0]!]!;
    const needs = readNeeds(first, parsed);
    if (typeof needs === 'string') {
      for (const t of group) reasons[t] = needs;
      continue;
    }
    placeGroup(table, first.ServiceID, needs, group, (t, node) => {
      if (node >= 0) nodeIds[t] = table.nodes[node]!.ID;
      else reasons[t] = needs.failure;
    });
  }

  const assignments: Assignment[] = [];
  const unplaced: Unplaced[] = [];
  for (let t = 0; t < pending.length; t++) {
    const taskId = pending[t]!.ID;
    const nodeId = nodeIds[t];
    if (nodeId !== undefined) assignments.push({ taskId, nodeId });
    else unplaced.push({ taskId, reason: reasons[t] ?? 'not scheduled' });
  }
  return { assignments, unplaced };
}

/** A constraint ready to run, with the rejection it counts under. */
interface NodeTest {
  readonly test: (node: Node) => boolean;
  readonly rejection: Rejection;
}

/** What a group asks of a node, read from its first task. */
interface Needs {
  readonly constraints: readonly NodeTest[];
  readonly spread: readonly SpreadKey[];
  readonly nanoCPUs: number;
  readonly memoryBytes: number;
  readonly hostPorts: readonly string[];
  readonly maxReplicas: number;
  /** Set when the group runs out of nodes. */
  failure: string;
}

type ParsedConstraint = Constraint | InvalidArgumentError;

/** The group's needs, or the reason none of its tasks can be placed (a bad expression). */
function readNeeds(task: Task, parsed: Map<string, ParsedConstraint>): Needs | string {
  const placement = task.Spec.Placement;
  const constraints: NodeTest[] = [];
  for (const text of placement?.Constraints ?? []) {
    let constraint = parsed.get(text);
    if (constraint === undefined) {
      try {
        constraint = parseConstraint(text);
      } catch (error) {
        if (!(error instanceof InvalidArgumentError)) throw error;
        constraint = error;
      }
      parsed.set(text, constraint);
    }
    if (constraint instanceof InvalidArgumentError) return constraint.message;
    constraints.push({
      test: compileConstraint(constraint),
      rejection: failsConstraint(constraints.length, constraint),
    });
  }
  const spread: SpreadKey[] = [];
  for (const preference of placement?.Preferences ?? []) {
    try {
      spread.push(parseSpreadDescriptor(preference.Spread.SpreadDescriptor));
    } catch (error) {
      if (error instanceof InvalidArgumentError) return error.message;
      throw error;
    }
  }
  const reserved = reservationOf(task.Spec);
  return {
    constraints,
    spread,
    nanoCPUs: reserved.nanoCPUs,
    memoryBytes: reserved.memoryBytes,
    hostPorts: hostPortKeys(task.Endpoint?.Ports),
    maxReplicas: Math.max(0, placement?.MaxReplicas ?? 0),
    failure: '',
  };
}

/** Places the group's tasks (positions in `pending`), reporting each: a node position or -1. */
function placeGroup(
  table: NodeTable,
  serviceId: string,
  needs: Needs,
  group: readonly number[],
  report: (task: number, node: number) => void,
): void {
  const { nodes, unavailable } = table;
  const serviceCounts = table.serviceCounts(serviceId);
  const tally = new Tally();

  // Filters that stay true for the whole call, once per node.
  const eligible: number[] = [];
  nodeLoop: for (let i = 0; i < nodes.length; i++) {
    const down = unavailable[i];
    if (down !== null && down !== undefined) {
      tally.add(down);
      continue;
    }
    const node = nodes[i]!;
    for (const { test, rejection } of needs.constraints) {
      if (!test(node)) {
        tally.add(rejection);
        continue nodeLoop;
      }
    }
    eligible.push(i);
  }

  // Filters that tighten as tasks land, on the best node only; the rejections are made once.
  const { nanoCPUs, memoryBytes, hostPorts, maxReplicas } = needs;
  const noCpu = lacksCpu(nanoCPUs);
  const noMemory = lacksMemory(memoryBytes);
  const portTaken = hostPorts.map((key, index) => hostPortInUse(index, key));
  const full = maxReplicasReached(maxReplicas);
  const refuse = (i: number): Rejection | null => {
    if (nanoCPUs > 0 && table.freeNanoCPUs[i]! < nanoCPUs) return noCpu;
    if (memoryBytes > 0 && table.freeMemoryBytes[i]! < memoryBytes) return noMemory;
    const used = table.hostPorts[i];
    if (used !== undefined) {
      for (let p = 0; p < hostPorts.length; p++) {
        if (used.has(hostPorts[p]!)) return portTaken[p]!;
      }
    }
    if (maxReplicas > 0 && serviceCounts[i]! >= maxReplicas) return full;
    return null;
  };

  const tree = new CandidateTree(table, serviceCounts, eligible, needs.spread);
  for (const t of group) {
    if (needs.failure !== '') {
      report(t, -1);
      continue;
    }
    let chosen = tree.best();
    while (chosen >= 0) {
      const rejection = refuse(chosen);
      if (rejection === null) break;
      tally.add(rejection);
      tree.dropBest();
      chosen = tree.best();
    }
    if (chosen < 0) {
      needs.failure = noSuitableNode(tally, nodes.length);
      report(t, -1);
      continue;
    }
    table.land(chosen, serviceCounts, nanoCPUs, memoryBytes);
    table.addHostPorts(chosen, hostPorts);
    tree.landed();
    report(t, chosen);
  }
}

/**
 * Splits `pending` into groups of positions: same service and same placement needs. Groups
 * come out in the order of their first task. Tasks of a service nearly always share one spec,
 * so the last group matched is tried first; a service whose tasks differ (say a per-task
 * node.id constraint) still groups correctly, only slower.
 */
function groupTasks(pending: readonly Task[]): number[][] {
  const groups: number[][] = [];
  const byService = new Map<string, number[][]>();
  let last: number[] | undefined;
  for (let t = 0; t < pending.length; t++) {
    const task = pending[t]!;
    if (last !== undefined) {
      const head = pending[last[0]!]!;
      if (head.ServiceID === task.ServiceID && samePlacement(head, task)) {
        last.push(t);
        continue;
      }
    }
    let variants = byService.get(task.ServiceID);
    if (variants === undefined) {
      variants = [];
      byService.set(task.ServiceID, variants);
    }
    let group = variants.find((g) => samePlacement(pending[g[0]!]!, task));
    if (group === undefined) {
      group = [];
      variants.push(group);
      groups.push(group);
    }
    group.push(t);
    last = group;
  }
  return groups;
}

/** True when two tasks of a service ask the same of a node. */
function samePlacement(a: Task, b: Task): boolean {
  if (a.Spec !== b.Spec) {
    const pa = a.Spec.Placement;
    const pb = b.Spec.Placement;
    if (pa !== pb) {
      if ((pa?.MaxReplicas ?? 0) !== (pb?.MaxReplicas ?? 0)) return false;
      const ca = pa?.Constraints ?? [];
      const cb = pb?.Constraints ?? [];
      if (ca.length !== cb.length || ca.some((c, i) => c !== cb[i])) return false;
      const sa = pa?.Preferences ?? [];
      const sb = pb?.Preferences ?? [];
      if (sa.length !== sb.length) return false;
      for (let i = 0; i < sa.length; i++) {
        if (sa[i]!.Spread.SpreadDescriptor !== sb[i]!.Spread.SpreadDescriptor) return false;
      }
    }
    const ra = a.Spec.Resources?.Reservations;
    const rb = b.Spec.Resources?.Reservations;
    if (ra !== rb) {
      if ((ra?.NanoCPUs ?? 0) !== (rb?.NanoCPUs ?? 0)) return false;
      if ((ra?.MemoryBytes ?? 0) !== (rb?.MemoryBytes ?? 0)) return false;
    }
  }
  return samePorts(a.Endpoint?.Ports, b.Endpoint?.Ports);
}

function samePorts(a: readonly PortConfig[] | undefined, b: readonly PortConfig[] | undefined) {
  if (a === b) return true;
  const ka = hostPortKeys(a);
  const kb = hostPortKeys(b);
  return ka.length === kb.length && ka.every((key, i) => key === kb[i]);
}
