/**
 * The control API's routes, in the shape of the Docker Engine API's swarm endpoints. Each
 * handler validates its input and calls the agent or the manager's ControlApi; errors become
 * Docker-style `{"message": ...}` bodies with the status of their code.
 */
import {
  dockerLogStream,
  type LogOptions,
  type ServiceLogEntry,
  textLogLine,
} from '../agent/service-logs.js';
import { InvalidArgumentError } from '../errors.js';
import type { ControlApi } from '../manager/controlapi.js';
import { dockerCluster } from './docker-compat.js';
import { objectRoutes } from './object-routes.js';
import type { Route } from './router.js';
import {
  booleanParam,
  clusterSpec,
  filtersParam,
  nodeSpec,
  parseBody,
  type SwarmInitBody,
  type SwarmJoinBody,
  swarmInitBody,
  swarmJoinBody,
  versionParam,
} from './schemas.js';
import { serviceRoutes } from './service-routes.js';

/** What the routes need of the agent. */
export interface AgentControl {
  version(): unknown;
  /** Docker's swarm status: inactive, active/worker or active/manager. */
  swarmStatus(): string;
  info(): Promise<unknown>;
  /** Resolves with the new node's ID. */
  init(request: SwarmInitBody): Promise<string>;
  join(request: SwarmJoinBody): Promise<void>;
  leave(force: boolean): Promise<void>;
  /** The manager's cluster operations; throws 503 on a worker or outside a swarm. */
  controlApi(): ControlApi;
  /** This agent's metrics in Prometheus' text format (the routing mesh's counters). */
  metrics(): string;
  /** The log lines of a service's tasks, from every node that runs them. */
  serviceLogs(
    ref: string,
    options: LogOptions,
  ): (signal: AbortSignal) => AsyncIterable<ServiceLogEntry>;
}

const NODE_FILTERS = ['id', 'label', 'node.label', 'membership', 'name', 'role'] as const;

export function controlRoutes(agent: AgentControl): Route[] {
  const ok = (body?: unknown) => ({ status: 200, body });
  return [
    {
      method: 'GET',
      pattern: '/_ping',
      handler: () => ({ status: 200, body: 'OK', text: true, headers: pingHeaders(agent) }),
    },
    {
      method: 'HEAD',
      pattern: '/_ping',
      handler: () => ({ status: 200, headers: pingHeaders(agent) }),
    },
    { method: 'GET', pattern: '/version', handler: () => ok(agent.version()) },
    { method: 'GET', pattern: '/info', handler: async () => ok(await agent.info()) },
    {
      method: 'GET',
      pattern: '/metrics',
      handler: () => ({ status: 200, body: agent.metrics(), text: true }),
    },
    {
      method: 'GET',
      pattern: '/swarm',
      handler: () => ok(swarmBody(agent.controlApi())),
    },
    {
      method: 'POST',
      pattern: '/swarm/init',
      handler: async (req) => ok(await agent.init(parseBody(swarmInitBody, req.body))),
    },
    {
      method: 'POST',
      pattern: '/swarm/join',
      handler: async (req) => {
        await agent.join(parseBody(swarmJoinBody, req.body));
        return ok();
      },
    },
    {
      method: 'POST',
      pattern: '/swarm/leave',
      handler: async (req) => {
        await agent.leave(booleanParam(req.query, 'force'));
        return ok();
      },
    },
    {
      method: 'POST',
      pattern: '/swarm/update',
      write: true,
      handler: async (req) => {
        const version = versionParam(req.query);
        const spec = req.body === undefined ? undefined : parseBody(clusterSpec, req.body, 'spec');
        await agent.controlApi().updateCluster(version, spec, {
          worker: booleanParam(req.query, 'rotateWorkerToken'),
          manager: booleanParam(req.query, 'rotateManagerToken'),
        });
        return ok();
      },
    },
    {
      method: 'GET',
      pattern: '/nodes',
      handler: (req) => {
        const filters = filtersParam(req.query, NODE_FILTERS);
        const label = [...(filters.label ?? []), ...(filters['node.label'] ?? [])];
        return ok(
          agent.controlApi().listNodes({
            ...(filters.id ? { id: filters.id } : {}),
            ...(filters.name ? { name: filters.name } : {}),
            ...(filters.role ? { role: filters.role } : {}),
            ...(filters.membership ? { membership: filters.membership } : {}),
            ...(label.length > 0 ? { label } : {}),
          }),
        );
      },
    },
    {
      method: 'GET',
      pattern: '/nodes/:id',
      handler: (_req, params) => ok(agent.controlApi().inspectNode(params.id ?? '')),
    },
    {
      method: 'POST',
      pattern: '/nodes/:id/update',
      write: true,
      handler: async (req, params) => {
        const version = versionParam(req.query);
        const spec = parseBody(nodeSpec, req.body, 'node spec');
        await agent.controlApi().updateNode(params.id ?? '', version, spec);
        return ok();
      },
    },
    {
      method: 'DELETE',
      pattern: '/nodes/:id',
      write: true,
      handler: async (req, params) => {
        await agent.controlApi().removeNode(params.id ?? '', booleanParam(req.query, 'force'));
        return ok();
      },
    },
    ...serviceRoutes(() => agent.controlApi().services),
    ...objectRoutes(() => agent.controlApi().objects),
    {
      method: 'GET',
      pattern: '/services/:id/logs',
      handler: (req, params) => {
        const timestamps = booleanParam(req.query, 'timestamps');
        const entries = agent.serviceLogs(params.id ?? '', {
          follow: booleanParam(req.query, 'follow'),
          timestamps,
          tail: tailParam(req.query.get('tail')),
        });
        // Docker's clients ask for stdout/stderr and read its multiplexed stream.
        if (req.query.has('stdout') || req.query.has('stderr')) {
          const options = {
            details: booleanParam(req.query, 'details'),
            timestamps,
            stdout: booleanParam(req.query, 'stdout'),
            stderr: booleanParam(req.query, 'stderr'),
          };
          return {
            status: 200,
            contentType: 'application/vnd.docker.multiplexed-stream',
            stream: (signal: AbortSignal) => dockerLogStream(entries(signal), options),
          };
        }
        return { status: 200, stream: (signal) => mapStream(entries(signal), textLogLine) };
      },
    },
  ];
}

async function* mapStream<T, U>(source: AsyncIterable<T>, map: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield map(item);
}

/** Docker's clients learn from /_ping whether swarm commands apply here. */
function pingHeaders(agent: AgentControl): Record<string, string> {
  return { swarm: agent.swarmStatus(), 'cache-control': 'no-cache, no-store, must-revalidate' };
}

/** Docker's ?tail=N|all (absent: all). */
function tailParam(text: string | null): number | 'all' {
  if (text === null || text === '' || text === 'all') return 'all';
  if (!/^\d+$/.test(text)) {
    throw new InvalidArgumentError(
      `invalid tail ${JSON.stringify(text)}: expected a number or all`,
    );
  }
  return Number(text);
}

/** GET /swarm: Docker's Swarm object. */
function swarmBody(api: ControlApi) {
  const cluster = api.cluster();
  return { ...dockerCluster(cluster), JoinTokens: cluster.JoinTokens };
}
