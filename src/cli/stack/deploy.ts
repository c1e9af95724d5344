/**
 * `stack deploy` against the control API, as `docker stack deploy` does it (the client turns
 * the Compose files into API calls): networks, then secrets and configs (their ids go into
 * the service specs), then the services. A service whose spec did not change is left alone,
 * so a repeated deploy touches only what the files changed; `prune` removes the stack's
 * services the files no longer name.
 */
import { readFile } from 'node:fs/promises';
import type { ApiClient } from '../../api/client.js';
import type { StackPlan } from '../../compose/index.js';
import { NAMESPACE_LABEL } from '../../compose/labels.js';
import { InvalidArgumentError, SwarmtsError } from '../../errors.js';
import { mapReferences, type Service, type ServiceSpec } from '../../state/index.js';

interface Named {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string> };
}

interface NetworkResource {
  Id: string;
  Name: string;
  Scope: string;
}

export interface DeployOptions {
  prune: boolean;
  /** Progress lines ("Creating service app_web"), as docker prints them. */
  say: (line: string) => void;
  /** Reads a secret's or config's file; default: the file system. */
  readData?: (path: string) => Promise<Uint8Array>;
}

export async function deployStack(
  client: ApiClient,
  plan: StackPlan,
  options: DeployOptions,
): Promise<void> {
  const namespace = plan.namespace;
  const readData = options.readData ?? ((path: string) => readFile(path));
  const nsFilter = JSON.stringify({ label: [`${NAMESPACE_LABEL}=${namespace}`] });

  // Whatever can refuse the deploy (an external network or secret that does not exist, a file
  // that cannot be read) is checked before anything is made: a mistake leaves no half-made
  // stack behind.
  const networkIds = new Map<string, string>();
  for (const network of plan.networks) {
    if (!network.external) continue;
    const found = await client
      .get<NetworkResource>(`/networks/${encodeURIComponent(network.fullName)}`)
      .then((n) => (n.Name === network.fullName || n.Id === network.fullName ? n : undefined))
      .catch(() => undefined);
    if (found?.Scope !== 'swarm') {
      throw new InvalidArgumentError(
        `network "${network.fullName}" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed`,
      );
    }
    networkIds.set(network.fullName, found.Id);
  }
  const secrets = await prepareDataObjects(client, 'secret', plan.secrets, readData);
  const configs = await prepareDataObjects(client, 'config', plan.configs, readData);

  // The stack's own networks are created once.
  const existing = await client.get<NetworkResource[]>('/networks', { filters: nsFilter });
  for (const network of plan.networks) {
    if (network.external) continue;
    const have = existing.find((n) => n.Name === network.fullName);
    if (have) {
      networkIds.set(network.fullName, have.Id);
      continue;
    }
    options.say(`Creating network ${network.fullName}`);
    const { Id } = await client.post<{ Id: string }>('/networks/create', {
      Name: network.fullName,
      ...network.spec,
    });
    networkIds.set(network.fullName, Id);
  }

  const secretIds = await applyDataObjects(client, 'secret', secrets, options);
  const configIds = await applyDataObjects(client, 'config', configs, options);

  const current = await client.get<Service[]>('/services', { filters: nsFilter });
  const byName = new Map(current.map((s) => [s.Spec.Name, s]));
  for (const { spec: planned } of plan.services) {
    const service = byName.get(planned.Name);
    const spec = keepForceUpdate(
      withIds(planned, { networks: networkIds, secrets: secretIds, configs: configIds }),
      service,
    );
    if (!service) {
      options.say(`Creating service ${spec.Name}`);
      await client.post('/services/create', spec);
    } else if (canonical(service.Spec) !== canonical(spec)) {
      options.say(`Updating service ${spec.Name} (id: ${service.ID})`);
      await client.post(`/services/${service.ID}/update`, spec, {
        version: String(service.Version.Index),
      });
    } else {
      options.say(`Service ${spec.Name} is up to date`);
    }
  }
  if (options.prune) {
    const wanted = new Set(plan.services.map((s) => s.spec.Name));
    for (const service of current) {
      if (wanted.has(service.Spec.Name)) continue;
      options.say(`Removing service ${service.Spec.Name}`);
      await client.delete(`/services/${service.ID}`);
    }
  }
}

/**
 * A secret or config of the stack: an external one by its id, used as it is; one of the
 * stack's own with what the agent holds under its name, if anything, and what to send.
 */
type PreparedObject =
  | { fullName: string; id: string }
  | {
      fullName: string;
      found: Named | undefined;
      spec: { Name: string; Labels: Record<string, string>; Data: string };
    };

/**
 * Secrets or configs: each looked up by name, and the files of the stack's own read. External
 * ones must exist. Sends nothing: `applyDataObjects` does, once everything has been checked.
 */
async function prepareDataObjects(
  client: ApiClient,
  kind: 'secret' | 'config',
  objects: StackPlan['secrets'],
  readData: (path: string) => Promise<Uint8Array>,
): Promise<PreparedObject[]> {
  const prepared: PreparedObject[] = [];
  for (const object of objects) {
    const found = await client
      .get<Named>(`/${kind}s/${encodeURIComponent(object.fullName)}`)
      // The agent also resolves an id prefix: only the object of that very name (or id) counts.
      .then((o) => (o.Spec.Name === object.fullName || o.ID === object.fullName ? o : undefined))
      .catch((error: unknown) => {
        if (error instanceof SwarmtsError && error.code === 'not_found') return undefined;
        throw error;
      });
    if (object.external || !object.file) {
      if (!found) throw new InvalidArgumentError(`${kind} not found: ${object.fullName}`);
      prepared.push({ fullName: object.fullName, id: found.ID });
      continue;
    }
    let data: Uint8Array;
    try {
      data = await readData(object.file);
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'unreadable';
      throw new InvalidArgumentError(`${kind} ${object.name}: ${object.file}: ${reason}`);
    }
    prepared.push({
      fullName: object.fullName,
      found,
      spec: {
        Name: object.fullName,
        Labels: object.labels,
        Data: Buffer.from(data).toString('base64'),
      },
    });
  }
  return prepared;
}

/**
 * Creates the missing ones; a present one gets the same data and labels again (the agent
 * refuses a change of data: secrets cannot be changed in place). Returns the id of each by
 * full name.
 */
async function applyDataObjects(
  client: ApiClient,
  kind: 'secret' | 'config',
  objects: PreparedObject[],
  options: DeployOptions,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const object of objects) {
    const { fullName } = object;
    if ('id' in object) {
      ids.set(fullName, object.id);
    } else if (object.found) {
      options.say(`Updating ${kind} ${fullName}`);
      await client.post(`/${kind}s/${object.found.ID}/update`, object.spec, {
        version: String(object.found.Version.Index),
      });
      ids.set(fullName, object.found.ID);
    } else {
      options.say(`Creating ${kind} ${fullName}`);
      const { ID } = await client.post<{ ID: string }>(`/${kind}s/create`, object.spec);
      ids.set(fullName, ID);
    }
  }
  return ids;
}

/**
 * A `service update --force` counter is the service's own, not the file's: kept, as the docker
 * CLI keeps it, so a redeploy neither differs because of it nor restarts every task.
 */
function keepForceUpdate(spec: ServiceSpec, service: Service | undefined): ServiceSpec {
  const force = service?.Spec.TaskTemplate.ForceUpdate;
  if (force === undefined || spec.TaskTemplate.ForceUpdate !== undefined) return spec;
  return { ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: force } };
}

/** The spec with the ids the agent stores in place of names, so it compares like for like. */
function withIds(
  spec: ServiceSpec,
  ids: {
    networks: Map<string, string>;
    secrets: Map<string, string>;
    configs: Map<string, string>;
  },
): ServiceSpec {
  return mapReferences(spec, {
    secret: (ref) => ({ ...ref, SecretID: ids.secrets.get(ref.SecretName) ?? ref.SecretID }),
    config: (ref) => ({ ...ref, ConfigID: ids.configs.get(ref.ConfigName) ?? ref.ConfigID }),
    network: (net) => ({ ...net, Target: ids.networks.get(net.Target) ?? net.Target }),
  });
}

/** JSON with sorted keys, without the empty values the agent may add or leave out. */
export function canonical(value: unknown): string {
  return JSON.stringify(prune(value)) ?? '';
}

function prune(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(prune).filter((v) => v !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const child = prune((value as Record<string, unknown>)[key]);
      if (child !== undefined) out[key] = child;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value === '' || value === null ? undefined : value;
}
