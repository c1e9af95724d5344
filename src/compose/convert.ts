/**
 * A validated Compose project → a stack plan: the services, networks, secrets and configs
 * to create, in Docker's ServiceSpec shapes, named and labelled as `docker stack deploy`
 * names them (`<namespace>_<key>`, `com.docker.stack.namespace=<namespace>`).
 */
import { isAbsolute, resolve } from 'node:path';
import type {
  ConfigReference,
  NetworkAttachmentConfig,
  NetworkSpec,
  SecretReference,
} from '../state/object-types.js';
import { SERVICE_NAME } from '../state/service-schema.js';
import type {
  HealthConfig,
  Mount,
  PortConfig,
  ResourceAmounts,
  RestartPolicy,
  ServiceMode,
  ServiceSpec,
  UpdateConfig,
} from '../state/service-types.js';
import { ComposeError } from './errors.js';
import { IMAGE_LABEL, NAMESPACE_LABEL } from './labels.js';
import type { Path } from './load.js';
import type { ComposeProject, ComposeService } from './schema.js';

export interface StackPlan {
  namespace: string;
  services: Array<{ name: string; spec: ServiceSpec }>;
  networks: Array<{ name: string; external: boolean; fullName: string; spec?: NetworkSpec }>;
  secrets: Array<{
    name: string;
    fullName: string;
    external: boolean;
    file?: string;
    labels: Record<string, string>;
  }>;
  configs: Array<{
    name: string;
    fullName: string;
    external: boolean;
    file?: string;
    labels: Record<string, string>;
  }>;
  warnings: string[];
}

export interface ConvertOptions {
  /** Relative paths (binds, secret and config files) are resolved against it. */
  workingDir: string;
  /** For `environment` entries without a value, and `~` (HOME) in bind paths. */
  env: Record<string, string | undefined>;
  /** Warnings of the earlier stages, put first in the plan's. */
  warnings?: string[];
}

/** Drops keys whose value is undefined, so specs compare and serialise cleanly. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function toStackPlan(
  project: ComposeProject,
  namespace: string,
  options: ConvertOptions,
): StackPlan {
  const { model, locate } = project;
  const warnings = [...(options.warnings ?? [])];
  const warn = (message: string): void => {
    if (!warnings.includes(message)) warnings.push(message);
  };
  const fail = (path: Path, message: string): never => {
    throw new ComposeError(message, locate(path));
  };
  const scoped = (
    key: string,
    def: { external: boolean; name?: string } | null | undefined,
  ): string => def?.name ?? (def?.external ? key : `${namespace}_${key}`);
  const nsLabels = (labels: Record<string, string> = {}) => ({
    ...labels,
    [NAMESPACE_LABEL]: namespace,
  });
  const hostPath = (path: Path, source: string): string => {
    if (source === '~' || source.startsWith('~/')) {
      const home = options.env.HOME;
      if (!home) fail(path, `cannot expand "~" in ${source}: HOME is not set`);
      return resolve(home as string, `.${source.slice(1)}`);
    }
    if (source.startsWith('~')) fail(path, `"${source}": only "~/" is expanded`);
    return isAbsolute(source) ? source : resolve(options.workingDir, source);
  };

  const declaredNetworks = model.networks ?? {};
  const declaredVolumes = model.volumes ?? {};
  const declaredSecrets = model.secrets ?? {};
  const declaredConfigs = model.configs ?? {};
  const usedNetworks = new Set<string>();
  const ingressPorts = new Map<string, string>();

  const services = Object.entries(model.services ?? {}).map(([key, svc]) => {
    const at = (...rest: Path): Path => ['services', key, ...rest];
    const name = `${namespace}_${key}`;
    if (!SERVICE_NAME.test(name)) {
      fail(at(), `service name "${name}" must be at most 63 letters, digits, "_", "." or "-"`);
    }

    // Networks: each with the service's key as an alias; `default` when none is named.
    const networks: NetworkAttachmentConfig[] = [];
    for (const [net, attach] of Object.entries(svc.networks ?? { default: { aliases: [] } })) {
      if (net !== 'default' && !Object.hasOwn(declaredNetworks, net)) {
        fail(at('networks', net), `service "${key}" refers to undefined network "${net}"`);
      }
      usedNetworks.add(net);
      networks.push({
        Target: scoped(net, declaredNetworks[net]),
        Aliases: [...attach.aliases, key],
      });
    }
    networks.sort((a, b) => a.Target.localeCompare(b.Target));

    const mounts: Mount[] = [];
    (svc.volumes ?? []).forEach((volume, index) => {
      const path = at('volumes', index);
      let source = volume.source;
      if (volume.type === 'bind' && source !== undefined) source = hostPath(path, source);
      if (volume.type === 'volume' && source !== undefined) {
        if (!Object.hasOwn(declaredVolumes, source)) {
          fail(path, `service "${key}" refers to undefined volume "${source}"`);
        }
        source = scoped(source, declaredVolumes[source]);
      }
      mounts.push(
        defined({
          Type: volume.type,
          Source: source,
          Target: volume.target,
          ReadOnly: volume.readOnly || undefined,
        }),
      );
    });
    for (const volume of svc.tmpfs ?? []) mounts.push({ Type: 'tmpfs', Target: volume.target });

    const ports: PortConfig[] = [];
    (svc.ports ?? []).forEach((port) => {
      const config = defined<PortConfig>({
        Name: port.name,
        Protocol: port.protocol,
        TargetPort: port.target,
        PublishedPort: port.published,
        PublishMode: port.mode,
      });
      if (ports.some((other) => JSON.stringify(other) === JSON.stringify(config))) return;
      if (port.hostIp) {
        warn(
          `services.${key}.ports: host IP ${port.hostIp} is ignored; Swarm publishes ports on every node`,
        );
      }
      if (port.mode === 'ingress' && port.published !== undefined) {
        const id = `${port.published}/${port.protocol}`;
        const other = ingressPorts.get(id);
        if (other !== undefined && other !== key) {
          fail(at('ports'), `port ${id} is published by both "${other}" and "${key}"`);
        }
        ingressPorts.set(id, key);
      }
      ports.push(config);
    });

    const secrets = (svc.secrets ?? []).map((ref, index): SecretReference => {
      if (!Object.hasOwn(declaredSecrets, ref.source)) {
        fail(at('secrets', index), `service "${key}" refers to undefined secret "${ref.source}"`);
      }
      return {
        File: fileTarget(ref, ref.target ?? ref.source),
        SecretID: '',
        SecretName: scoped(ref.source, declaredSecrets[ref.source]),
      };
    });
    const configs = (svc.configs ?? []).map((ref, index): ConfigReference => {
      if (!Object.hasOwn(declaredConfigs, ref.source)) {
        fail(at('configs', index), `service "${key}" refers to undefined config "${ref.source}"`);
      }
      return {
        File: fileTarget(ref, ref.target ?? `/${ref.source}`),
        ConfigID: '',
        ConfigName: scoped(ref.source, declaredConfigs[ref.source]),
      };
    });

    const deploy = svc.deploy ?? {};
    if (deploy.endpoint_mode === 'dnsrr' && ports.some((p) => p.PublishMode === 'ingress')) {
      fail(
        at('deploy', 'endpoint_mode'),
        'dnsrr cannot be used with ports published in ingress mode (use mode: host)',
      );
    }
    const spec: ServiceSpec = defined({
      Name: name,
      Labels: { ...nsLabels(deploy.labels), [IMAGE_LABEL]: svc.image },
      TaskTemplate: defined({
        ContainerSpec: defined({
          Image: svc.image,
          Labels: nsLabels(svc.labels),
          Command: svc.entrypoint,
          Args: svc.command,
          Hostname: svc.hostname,
          Env: environment(svc, options.env),
          Dir: svc.working_dir,
          User: svc.user,
          Mounts: mounts.length ? mounts : undefined,
          StopGracePeriod: svc.stop_grace_period,
          StopSignal: svc.stop_signal,
          Healthcheck: healthcheck(svc, () =>
            fail(at('healthcheck'), 'test and disable cannot both be set'),
          ),
          Secrets: secrets.length ? secrets : undefined,
          Configs: configs.length ? configs : undefined,
        }),
        Resources: resources(deploy.resources),
        RestartPolicy: restartPolicy(svc),
        Placement: deploy.placement
          ? defined({
              Constraints: deploy.placement.constraints,
              Preferences: deploy.placement.preferences?.map((p) => ({
                Spread: { SpreadDescriptor: p.spread },
              })),
              MaxReplicas: deploy.placement.max_replicas_per_node,
            })
          : undefined,
        Networks: networks,
      }),
      Mode: mode(deploy.mode, deploy.replicas, () =>
        fail(at('deploy', 'replicas'), `cannot be used with mode ${deploy.mode}`),
      ),
      UpdateConfig: updateConfig(deploy.update_config),
      RollbackConfig: updateConfig(deploy.rollback_config),
      EndpointSpec:
        ports.length || deploy.endpoint_mode
          ? defined({ Mode: deploy.endpoint_mode, Ports: ports.length ? ports : undefined })
          : undefined,
    });
    return { name: key, spec };
  });

  // Networks used by a service, as docker creates only those.
  const networks = [...usedNetworks].sort().map((key) => {
    const def = declaredNetworks[key];
    const fullName = scoped(key, def);
    if (def?.external) return { name: key, external: true, fullName };
    const spec: NetworkSpec = {
      Name: fullName,
      Labels: nsLabels(def?.labels),
      Driver: def?.driver ?? 'overlay',
      Options: def?.options ?? {},
      Attachable: def?.attachable ?? false,
      Internal: def?.internal ?? false,
    };
    return { name: key, external: false, fullName, spec };
  });

  const fileObjects = (section: 'secrets' | 'configs') =>
    Object.entries(model[section] ?? {}).map(([key, def]) =>
      defined({
        name: key,
        fullName: scoped(key, def),
        external: def.external,
        file: def.file === undefined ? undefined : hostPath([section, key, 'file'], def.file),
        labels: nsLabels(def.labels),
      }),
    );

  return {
    namespace,
    services,
    networks,
    secrets: fileObjects('secrets'),
    configs: fileObjects('configs'),
    warnings,
  };
}

function fileTarget(ref: { uid?: string; gid?: string; mode?: number }, name: string) {
  return { Name: name, UID: ref.uid ?? '0', GID: ref.gid ?? '0', Mode: ref.mode ?? 0o444 };
}

/** `KEY=value`, sorted as docker sorts them; a bare `KEY` takes the environment's value or is left out. */
function environment(
  svc: ComposeService,
  env: Record<string, string | undefined>,
): string[] | undefined {
  const out: string[] = [];
  for (const [key, value] of Object.entries(svc.environment ?? {})) {
    const resolved = value ?? env[key];
    if (resolved !== undefined) out.push(`${key}=${resolved}`);
  }
  return out.length ? out.sort() : undefined;
}

function healthcheck(svc: ComposeService, conflict: () => never): HealthConfig | undefined {
  const check = svc.healthcheck;
  if (!check) return undefined;
  if (check.disable) {
    if (check.test !== undefined && !(Array.isArray(check.test) && check.test[0] === 'NONE'))
      conflict();
    return { Test: ['NONE'] };
  }
  return defined({
    Test: typeof check.test === 'string' ? ['CMD-SHELL', check.test] : check.test,
    Interval: check.interval,
    Timeout: check.timeout,
    Retries: check.retries,
    StartPeriod: check.start_period,
  });
}

type Deploy = NonNullable<ComposeService['deploy']>;

function resources(source: Deploy['resources']) {
  const amounts = (a?: { cpus?: number; memory?: number }): ResourceAmounts | undefined =>
    a && (a.cpus !== undefined || a.memory !== undefined)
      ? defined({ NanoCPUs: a.cpus, MemoryBytes: a.memory })
      : undefined;
  const limits = amounts(source?.limits);
  const reservations = amounts(source?.reservations);
  return limits || reservations
    ? defined({ Limits: limits, Reservations: reservations })
    : undefined;
}

/** `deploy.restart_policy`, else the service's `restart:` mapped the way docker maps it. */
function restartPolicy(svc: ComposeService): RestartPolicy | undefined {
  const policy = svc.deploy?.restart_policy;
  if (policy) {
    return defined({
      Condition: policy.condition,
      Delay: policy.delay,
      MaxAttempts: policy.max_attempts,
      Window: policy.window,
    });
  }
  const restart = svc.restart;
  if (restart === undefined) return undefined;
  if (restart === 'no') return { Condition: 'none' };
  if (restart === 'always' || restart === 'unless-stopped') return { Condition: 'any' };
  const attempts = restart.split(':')[1];
  return defined<RestartPolicy>({
    Condition: 'on-failure',
    MaxAttempts: attempts === undefined ? undefined : Number(attempts),
  });
}

function mode(
  kind: Deploy['mode'],
  replicas: number | undefined,
  conflict: () => never,
): ServiceMode {
  switch (kind ?? 'replicated') {
    case 'global':
    case 'global-job':
      if (replicas !== undefined) conflict();
      return kind === 'global' ? { Global: {} } : { GlobalJob: {} };
    case 'replicated-job':
      return {
        ReplicatedJob:
          replicas === undefined ? {} : { MaxConcurrent: replicas, TotalCompletions: replicas },
      };
    default:
      return { Replicated: { Replicas: replicas ?? 1 } };
  }
}

function updateConfig(source: Deploy['update_config']): UpdateConfig | undefined {
  if (!source) return undefined;
  return defined({
    // Docker's default when update_config is written without it.
    Parallelism: source.parallelism ?? 1,
    Delay: source.delay,
    FailureAction: source.failure_action,
    Monitor: source.monitor,
    MaxFailureRatio: source.max_failure_ratio,
    Order: source.order,
  });
}
