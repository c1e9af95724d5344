/**
 * The control API's `/secrets`, `/configs` and `/networks` routes, shaped as the Docker Engine
 * API's. Data travels base64-encoded, as Docker sends it; a secret's data never comes back.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { ObjectApi } from '../manager/objectapi.js';
import type { Network } from '../state/object-types.js';
import type { Route } from './router.js';
import { filtersParam, parseBody, versionParam } from './schemas.js';

const OBJECT_FILTERS = ['id', 'name', 'names', 'label'] as const;
const NETWORK_FILTERS = ['id', 'name', 'label', 'driver', 'scope', 'type'] as const;

const labels = z
  .record(z.string().min(1).max(256), z.string().max(4096))
  .refine((value) => Object.keys(value).length <= 128, { message: 'at most 128 labels' });

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
  .transform((text) => new Uint8Array(Buffer.from(text, 'base64')));

const dataSpec = z.object({
  Name: z.string(),
  Labels: labels.default({}),
  Data: base64,
  Driver: z.object({ Name: z.string() }).optional(),
  Templating: z.object({ Name: z.string() }).optional(),
});

const labelsUpdate = z.object({
  Name: z.string().optional(),
  Labels: labels.default({}),
  Data: base64.optional(),
});

const networkCreate = z.object({
  Name: z.string(),
  Labels: labels.default({}),
  Driver: z.string().default('overlay'),
  Options: z.record(z.string(), z.string()).default({}),
  Attachable: z.boolean().default(false),
  Internal: z.boolean().default(false),
  Scope: z.string().optional(),
  Ingress: z.boolean().optional(),
  ConfigOnly: z.boolean().optional(),
});

export function objectRoutes(objects: () => ObjectApi): Route[] {
  const ok = (body?: unknown) => ({ status: 200, body });
  const created = (body: unknown) => ({ status: 201, body });
  const noContent = () => ({ status: 204 });
  const checkDataSpec = (body: unknown, what: string) => {
    const spec = parseBody(dataSpec, body, `${what} spec`);
    if (spec.Driver) {
      throw new InvalidArgumentError(`${what} drivers are not supported: swarmts stores the data`);
    }
    if (spec.Templating) throw new InvalidArgumentError(`${what} templating is not supported`);
    return spec;
  };
  return [
    {
      method: 'GET',
      pattern: '/secrets',
      handler: (req) => ok(objects().listSecrets(filtersParam(req.query, OBJECT_FILTERS))),
    },
    {
      method: 'POST',
      pattern: '/secrets/create',
      write: true,
      handler: async (req) =>
        created(await objects().createSecret(checkDataSpec(req.body, 'secret'))),
    },
    {
      method: 'GET',
      pattern: '/secrets/:id',
      handler: (_req, params) => ok(objects().inspectSecret(params.id ?? '')),
    },
    {
      method: 'POST',
      pattern: '/secrets/:id/update',
      write: true,
      handler: async (req, params) => {
        const spec = parseBody(labelsUpdate, req.body, 'secret spec');
        await objects().updateLabels('secret', params.id ?? '', versionParam(req.query), spec);
        return ok();
      },
    },
    {
      method: 'DELETE',
      pattern: '/secrets/:id',
      write: true,
      handler: async (_req, params) => {
        await objects().remove('secret', params.id ?? '');
        return noContent();
      },
    },
    {
      method: 'GET',
      pattern: '/configs',
      handler: (req) =>
        ok(objects().listConfigs(filtersParam(req.query, OBJECT_FILTERS)).map(configView)),
    },
    {
      method: 'POST',
      pattern: '/configs/create',
      write: true,
      handler: async (req) =>
        created(await objects().createConfig(checkDataSpec(req.body, 'config'))),
    },
    {
      method: 'GET',
      pattern: '/configs/:id',
      handler: (_req, params) => ok(configView(objects().inspectConfig(params.id ?? ''))),
    },
    {
      method: 'POST',
      pattern: '/configs/:id/update',
      write: true,
      handler: async (req, params) => {
        const spec = parseBody(labelsUpdate, req.body, 'config spec');
        await objects().updateLabels('config', params.id ?? '', versionParam(req.query), spec);
        return ok();
      },
    },
    {
      method: 'DELETE',
      pattern: '/configs/:id',
      write: true,
      handler: async (_req, params) => {
        await objects().remove('config', params.id ?? '');
        return noContent();
      },
    },
    {
      method: 'GET',
      pattern: '/networks',
      handler: (req) =>
        ok(objects().listNetworks(filtersParam(req.query, NETWORK_FILTERS)).map(networkView)),
    },
    {
      method: 'POST',
      pattern: '/networks/create',
      write: true,
      handler: async (req) => {
        const { Name, Labels, Driver, Options, Attachable, Internal } = parseBody(
          networkCreate,
          req.body,
          'network',
        );
        return created(
          await objects().createNetwork({ Name, Labels, Driver, Options, Attachable, Internal }),
        );
      },
    },
    {
      method: 'GET',
      pattern: '/networks/:id',
      handler: (_req, params) => ok(networkView(objects().inspectNetwork(params.id ?? ''))),
    },
    {
      method: 'DELETE',
      pattern: '/networks/:id',
      write: true,
      handler: async (_req, params) => {
        await objects().remove('network', params.id ?? '');
        return noContent();
      },
    },
  ];
}

/** A config as Docker shows it: the data base64 inside the spec. */
function configView(config: {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels: Record<string, string> };
  Data: Uint8Array;
}) {
  const { Data, Spec, ...meta } = config;
  return { ...meta, Spec: { ...Spec, Data: Buffer.from(Data).toString('base64') } };
}

/** Docker's NetworkResource: a swarm-scoped overlay network. */
function networkView(network: Network) {
  return {
    Name: network.Spec.Name,
    Id: network.ID,
    Created: network.CreatedAt,
    Scope: 'swarm',
    Driver: network.Spec.Driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: network.Spec.Internal,
    Attachable: network.Spec.Attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: network.Spec.Options,
    Labels: network.Spec.Labels,
  };
}
