/**
 * Keys of the Compose spec that swarmts does not honour (most of them Swarm ignores too):
 * removed before validation, with docker's one-line warning, so they are neither errors nor
 * silently lost. Keys in no Compose spec are left for the schema to refuse.
 */
import { ComposeError, type SourcePos } from './errors.js';
import { isPlainObject, type Path, pathText, type Tree } from './load.js';

/** Service keys of the Compose spec that Swarm (or swarmts) does not honour. */
const IGNORED_SERVICE_KEYS = new Set(
  `develop annotations attach build blkio_config cap_add cap_drop cgroup cgroup_parent container_name
  cpu_count cpu_percent cpu_shares cpu_quota cpu_period cpu_rt_period cpu_rt_runtime cpus cpuset
  credential_spec depends_on device_cgroup_rules devices dns dns_opt dns_search domainname expose
  extends provider external_links extra_hosts gpus group_add init ipc isolation label_file links
  logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit network_mode models
  oom_kill_disable oom_score_adj pid pids_limit platform post_start pre_stop privileged profiles
  pull_policy pull_refresh_after read_only runtime scale security_opt shm_size sysctls stdin_open
  storage_opt tty ulimits use_api_socket uts userns_mode volumes_from`.split(/\s+/),
);

/** Nested keys (relative to their parent's path) that are in the spec but not honoured. */
const IGNORED_NESTED: Array<[Path, string[]]> = [
  [
    ['deploy', 'resources', 'reservations'],
    ['devices', 'generic_resources'],
  ],
  [['deploy', 'resources', 'limits'], ['pids']],
  [['healthcheck'], ['start_interval']],
];

/**
 * Removes what is in the Compose spec but not honoured, collecting docker's one-line
 * warning. `include` is an error: the files it names would silently be missing.
 */
export function stripUnsupported(
  raw: Tree,
  locate: (path: Path) => SourcePos,
  warnings: string[],
): void {
  const ignored = new Set<string>();
  const drop = (node: unknown, keys: Iterable<string>, prefix: string): void => {
    if (!isPlainObject(node)) return;
    for (const key of keys) {
      if (Object.hasOwn(node, key)) {
        delete node[key];
        ignored.add(prefix + key);
      }
    }
  };
  if (raw.include !== undefined) {
    throw new ComposeError(
      'include is not supported: pass each file with -c instead',
      locate(['include']),
    );
  }
  drop(raw, ['models'], '');

  const services = isPlainObject(raw.services) ? raw.services : {};
  for (const svc of Object.values(services)) {
    if (!isPlainObject(svc)) continue;
    drop(
      svc,
      Object.keys(svc).filter((key) => IGNORED_SERVICE_KEYS.has(key)),
      '',
    );
    for (const [path, keys] of IGNORED_NESTED) {
      let node: unknown = svc;
      for (const key of path) node = isPlainObject(node) ? node[key] : undefined;
      drop(node, keys, `${pathText(path)}.`);
    }
    for (const item of Array.isArray(svc.volumes) ? svc.volumes : []) {
      drop(item, ['consistency', 'bind', 'volume', 'tmpfs', 'image'], 'volumes.');
    }
    for (const item of Array.isArray(svc.ports) ? svc.ports : [])
      drop(item, ['app_protocol'], 'ports.');
    if (isPlainObject(svc.networks)) {
      for (const net of Object.values(svc.networks)) {
        drop(
          net,
          [
            'ipv4_address',
            'ipv6_address',
            'interface_name',
            'link_local_ips',
            'mac_address',
            'driver_opts',
            'priority',
            'gw_priority',
          ],
          'networks.',
        );
      }
    }
  }
  const section = (name: string, keys: string[]): void => {
    const defs = raw[name];
    if (!isPlainObject(defs)) return;
    for (const [key, def] of Object.entries(defs)) drop(def, keys, `${name}.${key}.`);
  };
  section('networks', ['ipam', 'enable_ipv4', 'enable_ipv6']);
  section('volumes', ['driver', 'driver_opts', 'labels']);
  section('secrets', ['driver', 'driver_opts', 'template_driver']);
  section('configs', ['template_driver']);
  if (ignored.size > 0) {
    warnings.push(`Ignoring unsupported options: ${[...ignored].sort().join(', ')}`);
  }
}
