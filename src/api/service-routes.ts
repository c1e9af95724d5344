/**
 * The control API's `/services` and `/tasks` routes, shaped as the Docker Engine API's.
 * Bodies are ServiceSpecs checked with the store's own schema; filters are Docker's.
 */
import type { ServiceApi } from '../manager/serviceapi.js';
import { serviceSpecInput } from '../state/index.js';
import type { Route } from './router.js';
import { booleanParam, filtersParam, parseBody, versionParam } from './schemas.js';

const SERVICE_FILTERS = ['id', 'name', 'label', 'mode'] as const;
const TASK_FILTERS = [
  'id',
  'name',
  'service',
  'node',
  'label',
  'desired-state',
  '_up-to-date',
] as const;

export function serviceRoutes(services: () => ServiceApi): Route[] {
  const ok = (body?: unknown) => ({ status: 200, body });
  return [
    {
      method: 'GET',
      pattern: '/services',
      handler: (req) =>
        ok(
          services().list(
            filtersParam(req.query, SERVICE_FILTERS),
            booleanParam(req.query, 'status'),
          ),
        ),
    },
    {
      method: 'POST',
      pattern: '/services/create',
      write: true,
      handler: async (req) => ({
        status: 201,
        body: await services().create(parseBody(serviceSpecInput, req.body, 'service spec')),
      }),
    },
    {
      method: 'GET',
      pattern: '/services/:id',
      handler: (_req, params) => ok(services().inspect(params.id ?? '')),
    },
    {
      method: 'POST',
      pattern: '/services/:id/update',
      write: true,
      handler: async (req, params) => {
        const version = versionParam(req.query);
        const rollback = req.query.get('rollback') === 'previous';
        const spec =
          rollback && (req.body === undefined || req.body === null)
            ? undefined
            : parseBody(serviceSpecInput, req.body, 'service spec');
        return ok(await services().update(params.id ?? '', version, spec, rollback));
      },
    },
    {
      method: 'DELETE',
      pattern: '/services/:id',
      write: true,
      handler: async (_req, params) => {
        await services().remove(params.id ?? '');
        return ok();
      },
    },
    {
      method: 'GET',
      pattern: '/tasks',
      handler: (req) => ok(services().listTasks(filtersParam(req.query, TASK_FILTERS))),
    },
    {
      method: 'GET',
      pattern: '/tasks/:id',
      handler: (_req, params) => ok(services().inspectTask(params.id ?? '')),
    },
  ];
}
