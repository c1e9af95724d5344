import { describe, expect, it } from 'vitest';
import { composeError, serviceSpec, stack } from './helpers.js';

const NS = { 'com.docker.stack.namespace': 'app' };

/** One service `web` (image nginx) with `body` (indented four spaces) added. */
function web(body: string, extra = '', env: Record<string, string> = {}) {
  const plan = stack(`services:\n  web:\n    image: nginx\n${body}${extra}`, { env });
  return { plan, spec: serviceSpec(plan, 'web') };
}

describe('service basics', () => {
  it('names, labels and attaches a minimal service like docker stack deploy', () => {
    const { plan, spec } = web('');
    expect(spec).toEqual({
      Name: 'app_web',
      Labels: { ...NS, 'com.docker.stack.image': 'nginx' },
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx', Labels: NS },
        Networks: [{ Target: 'app_default', Aliases: ['web'] }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
    expect(plan.networks).toEqual([
      {
        name: 'default',
        external: false,
        fullName: 'app_default',
        spec: {
          Name: 'app_default',
          Labels: NS,
          Driver: 'overlay',
          Options: {},
          Attachable: false,
          Internal: false,
        },
      },
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it('maps the container keys', () => {
    const { spec } = web(
      `    entrypoint: /docker-entrypoint.sh
    command: nginx -g "daemon off;"
    hostname: front
    user: 101
    working_dir: /usr/share/nginx
    stop_grace_period: 1m30s
    stop_signal: SIGQUIT
    labels: [tier=front, bare]
    environment:
      A: 1
      B: true
      C: "x=y"
      FROM_ENV:
      NOT_SET:
    deploy:
      labels:
        owner: team
`,
      '',
      { FROM_ENV: 'yes' },
    );
    expect(spec.Labels).toEqual({ owner: 'team', ...NS, 'com.docker.stack.image': 'nginx' });
    expect(spec.TaskTemplate.ContainerSpec).toEqual({
      Image: 'nginx',
      Labels: { tier: 'front', bare: '', ...NS },
      Command: ['/docker-entrypoint.sh'],
      Args: ['nginx', '-g', 'daemon off;'],
      Hostname: 'front',
      Env: ['A=1', 'B=true', 'C=x=y', 'FROM_ENV=yes'],
      Dir: '/usr/share/nginx',
      User: '101',
      StopGracePeriod: 90e9,
      StopSignal: 'SIGQUIT',
    });
  });

  it('keeps command and entrypoint lists as given', () => {
    const { spec } = web('    entrypoint: ["sh", "-c"]\n    command: ["echo $$HOME", "x y"]\n');
    expect(spec.TaskTemplate.ContainerSpec.Command).toEqual(['sh', '-c']);
    expect(spec.TaskTemplate.ContainerSpec.Args).toEqual(['echo $HOME', 'x y']);
  });

  it('converts healthchecks', () => {
    const check = (body: string) =>
      web(`    healthcheck:\n${body}`).spec.TaskTemplate.ContainerSpec.Healthcheck;
    expect(
      check(
        '      test: curl -f http://localhost/\n      interval: 30s\n      timeout: 5s\n      retries: 3\n      start_period: 1m\n',
      ),
    ).toEqual({
      Test: ['CMD-SHELL', 'curl -f http://localhost/'],
      Interval: 30e9,
      Timeout: 5e9,
      Retries: 3,
      StartPeriod: 60e9,
    });
    expect(check('      test: ["CMD", "wget", "-q", "localhost"]\n')).toEqual({
      Test: ['CMD', 'wget', '-q', 'localhost'],
    });
    expect(check('      disable: true\n')).toEqual({ Test: ['NONE'] });
    expect(composeError(() => check('      disable: true\n      test: curl x\n')).detail).toBe(
      'test and disable cannot both be set',
    );
  });
});

describe('deploy', () => {
  it('maps every deploy key', () => {
    const { spec } = web(`    deploy:
      mode: replicated
      replicas: 4
      endpoint_mode: dnsrr
      update_config:
        parallelism: 2
        delay: 10s
        failure_action: rollback
        monitor: 1m
        max_failure_ratio: 0.25
        order: start-first
      rollback_config:
        delay: 0s
        failure_action: pause
        order: stop-first
      resources:
        limits:
          cpus: "0.5"
          memory: 512M
        reservations:
          cpus: 0.25
          memory: 1g
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: 3
        window: 2m
      placement:
        constraints: [node.role == worker, node.labels.zone == a]
        preferences:
          - spread: node.labels.zone
        max_replicas_per_node: 2
`);
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 4 } });
    expect(spec.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(spec.UpdateConfig).toEqual({
      Parallelism: 2,
      Delay: 10e9,
      FailureAction: 'rollback',
      Monitor: 60e9,
      MaxFailureRatio: 0.25,
      Order: 'start-first',
    });
    expect(spec.RollbackConfig).toEqual({
      Parallelism: 1,
      Delay: 0,
      FailureAction: 'pause',
      Order: 'stop-first',
    });
    expect(spec.TaskTemplate.Resources).toEqual({
      Limits: { NanoCPUs: 500_000_000, MemoryBytes: 512 * 2 ** 20 },
      Reservations: { NanoCPUs: 250_000_000, MemoryBytes: 2 ** 30 },
    });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({
      Condition: 'on-failure',
      Delay: 5e9,
      MaxAttempts: 3,
      Window: 120e9,
    });
    expect(spec.TaskTemplate.Placement).toEqual({
      Constraints: ['node.role == worker', 'node.labels.zone == a'],
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      MaxReplicas: 2,
    });
  });

  it.each([
    ['global', '', { Global: {} }],
    ['global-job', '', { GlobalJob: {} }],
    ['replicated-job', '', { ReplicatedJob: {} }],
    [
      'replicated-job',
      '\n      replicas: 5',
      { ReplicatedJob: { MaxConcurrent: 5, TotalCompletions: 5 } },
    ],
  ])('mode %s', (mode, more, expected) => {
    expect(web(`    deploy:\n      mode: ${mode}${more}\n`).spec.Mode).toEqual(expected);
  });

  it('refuses replicas with a global mode', () => {
    const error = composeError(() => web('    deploy:\n      mode: global\n      replicas: 2\n'));
    expect(error.detail).toBe('cannot be used with mode global');
    expect(error.line).toBe(6);
  });

  it('maps restart: when deploy.restart_policy is absent', () => {
    const policy = (value: string) =>
      web(`    restart: ${value}\n`).spec.TaskTemplate.RestartPolicy;
    expect(policy('"no"')).toEqual({ Condition: 'none' });
    expect(policy('always')).toEqual({ Condition: 'any' });
    expect(policy('unless-stopped')).toEqual({ Condition: 'any' });
    expect(policy('on-failure')).toEqual({ Condition: 'on-failure' });
    expect(policy('on-failure:4')).toEqual({ Condition: 'on-failure', MaxAttempts: 4 });
  });

  it('refuses dnsrr with ingress ports', () => {
    expect(
      composeError(() => web('    ports: ["80:80"]\n    deploy:\n      endpoint_mode: dnsrr\n'))
        .detail,
    ).toBe('dnsrr cannot be used with ports published in ingress mode (use mode: host)');
  });
});

describe('ports', () => {
  const ports = (list: string, env: Record<string, string> = {}) =>
    web(`    ports:\n${list}`, '', env);

  it('reads the short syntax', () => {
    const { spec, plan } = ports(
      '      - "8080:80"\n      - "53:53/udp"\n      - 9000\n      - "127.0.0.1:5432:5432"\n      - "[::1]:6000:6000/tcp"\n      - "8000-8001:80-81"\n      - "7000-7001"\n',
    );
    const tcp = { Protocol: 'tcp', PublishMode: 'ingress' };
    expect(spec.EndpointSpec).toEqual({
      Ports: [
        { ...tcp, TargetPort: 80, PublishedPort: 8080 },
        { Protocol: 'udp', PublishMode: 'ingress', TargetPort: 53, PublishedPort: 53 },
        { ...tcp, TargetPort: 9000 },
        { ...tcp, TargetPort: 5432, PublishedPort: 5432 },
        { ...tcp, TargetPort: 6000, PublishedPort: 6000 },
        { ...tcp, TargetPort: 80, PublishedPort: 8000 },
        { ...tcp, TargetPort: 81, PublishedPort: 8001 },
        { ...tcp, TargetPort: 7000 },
        { ...tcp, TargetPort: 7001 },
      ],
    });
    expect(plan.warnings).toEqual([
      'services.web.ports: host IP 127.0.0.1 is ignored; Swarm publishes ports on every node',
      'services.web.ports: host IP ::1 is ignored; Swarm publishes ports on every node',
    ]);
  });

  it('reads the long syntax, with numbers given as strings', () => {
    const { spec } = ports(
      '      - target: 80\n        published: "8080"\n        protocol: udp\n        mode: host\n        name: web\n      - target: 443\n',
    );
    expect(spec.EndpointSpec?.Ports).toEqual([
      { Name: 'web', Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
      { Protocol: 'tcp', TargetPort: 443, PublishMode: 'ingress' },
    ]);
  });

  it('drops a port written twice', () => {
    const { spec } = ports('      - "80:80"\n      - target: 80\n        published: 80\n');
    expect(spec.EndpointSpec?.Ports).toHaveLength(1);
  });

  it.each([
    ['"8000-8002:80-81"', 'services.web.ports[0] must map ranges of the same length'],
    ['"0:80"', 'services.web.ports[0] is not a port mapping such as "8080:80" or "80/udp"'],
    ['"70000"', 'services.web.ports[0] is not a port mapping such as "8080:80" or "80/udp"'],
    ['"a:b:c:d"', 'services.web.ports[0] is not a port mapping'],
  ])('refuses %s', (port, detail) => {
    const error = composeError(() => ports(`      - ${port}\n`));
    expect(error.detail).toBe(detail);
    expect(error.line).toBe(5);
  });

  it('refuses one ingress port published by two services', () => {
    const error = composeError(() =>
      stack(
        'services:\n  a:\n    image: x\n    ports: ["80:80"]\n  b:\n    image: y\n    ports: ["80:8080"]\n',
      ),
    );
    expect(error.detail).toBe('port 80/tcp is published by both "a" and "b"');
    expect(error.line).toBe(7);
  });
});

describe('volumes', () => {
  it('maps short and long syntax to mounts', () => {
    const { spec } = web(
      `    volumes:
      - data:/var/lib/data
      - ./html:/usr/share/nginx/html:ro
      - /etc/ssl:/etc/ssl:ro,z
      - ~/cache:/cache
      - /anonymous
      - type: volume
        source: logs
        target: /logs
        read_only: true
      - type: bind
        source: conf
        target: /conf
      - type: tmpfs
        target: /scratch
    tmpfs: [/run, "/tmp:size=64m"]
`,
      'volumes:\n  data:\n  logs:\n    external: true\n    name: shared-logs\n',
      { HOME: '/home/me' },
    );
    expect(spec.TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: 'volume', Source: 'app_data', Target: '/var/lib/data' },
      { Type: 'bind', Source: '/srv/app/html', Target: '/usr/share/nginx/html', ReadOnly: true },
      { Type: 'bind', Source: '/etc/ssl', Target: '/etc/ssl', ReadOnly: true },
      { Type: 'bind', Source: '/home/me/cache', Target: '/cache' },
      { Type: 'volume', Target: '/anonymous' },
      { Type: 'volume', Source: 'shared-logs', Target: '/logs', ReadOnly: true },
      { Type: 'bind', Source: '/srv/app/conf', Target: '/conf' },
      { Type: 'tmpfs', Target: '/scratch' },
      { Type: 'tmpfs', Target: '/run' },
      { Type: 'tmpfs', Target: '/tmp' },
    ]);
  });

  it('uses a volume’s name: and the key of an external one', () => {
    const { spec } = web(
      '    volumes: ["a:/a", "b:/b"]\n',
      'volumes:\n  a:\n    name: fixed\n  b:\n    external: true\n',
    );
    expect(spec.TaskTemplate.ContainerSpec.Mounts?.map((m) => m.Source)).toEqual(['fixed', 'b']);
  });

  it('refuses an undeclared named volume at its line', () => {
    const error = composeError(() => web('    volumes:\n      - data:/data\n'));
    expect(error.detail).toBe('service "web" refers to undefined volume "data"');
    expect(error.line).toBe(5);
  });

  it('refuses unknown modes and a bind without a source', () => {
    expect(composeError(() => web('    volumes: ["/a:/b:rox"]\n')).detail).toBe(
      'services.web.volumes[0] has an unknown mode "rox"',
    );
    expect(
      composeError(() => web('    volumes:\n      - type: bind\n        target: /x\n')).detail,
    ).toBe('services.web.volumes[0] a bind mount needs a source');
  });
});

describe('secrets and configs', () => {
  const top = `secrets:
  db_password:
    file: ./secrets/db.txt
    labels: {kind: db}
  api_key:
    external: true
  legacy:
    external:
      name: old-name
  named:
    file: /abs/n.txt
    name: custom-name
configs:
  nginx_conf:
    file: nginx.conf
  shared:
    external: true
    name: site-shared
`;

  it('maps short and long references and lists the objects to create', () => {
    const { spec, plan } = web(
      `    secrets:
      - db_password
      - source: api_key
        target: /etc/api.key
        uid: "101"
        gid: 101
        mode: 0400
      - source: legacy
        mode: "0440"
      - named
    configs:
      - nginx_conf
      - source: shared
        target: /etc/nginx/conf.d/shared.conf
        mode: 0o644
`,
      top,
    );
    const file = (Name: string, Mode = 0o444, UID = '0', GID = '0') => ({ Name, UID, GID, Mode });
    expect(spec.TaskTemplate.ContainerSpec.Secrets).toEqual([
      { File: file('db_password'), SecretID: '', SecretName: 'app_db_password' },
      { File: file('/etc/api.key', 0o400, '101', '101'), SecretID: '', SecretName: 'api_key' },
      { File: file('legacy', 0o440), SecretID: '', SecretName: 'old-name' },
      { File: file('named'), SecretID: '', SecretName: 'custom-name' },
    ]);
    expect(spec.TaskTemplate.ContainerSpec.Configs).toEqual([
      { File: file('/nginx_conf'), ConfigID: '', ConfigName: 'app_nginx_conf' },
      {
        File: file('/etc/nginx/conf.d/shared.conf', 0o644),
        ConfigID: '',
        ConfigName: 'site-shared',
      },
    ]);
    expect(plan.secrets).toEqual([
      {
        name: 'db_password',
        fullName: 'app_db_password',
        external: false,
        file: '/srv/app/secrets/db.txt',
        labels: { kind: 'db', ...NS },
      },
      { name: 'api_key', fullName: 'api_key', external: true, labels: NS },
      { name: 'legacy', fullName: 'old-name', external: true, labels: NS },
      { name: 'named', fullName: 'custom-name', external: false, file: '/abs/n.txt', labels: NS },
    ]);
    expect(plan.configs).toEqual([
      {
        name: 'nginx_conf',
        fullName: 'app_nginx_conf',
        external: false,
        file: '/srv/app/nginx.conf',
        labels: NS,
      },
      { name: 'shared', fullName: 'site-shared', external: true, labels: NS },
    ]);
  });

  it('refuses undefined references, bad modes and unsupported sources', () => {
    expect(composeError(() => web('    secrets: [nope]\n')).detail).toBe(
      'service "web" refers to undefined secret "nope"',
    );
    expect(composeError(() => web('    configs: [nope]\n')).detail).toBe(
      'service "web" refers to undefined config "nope"',
    );
    expect(
      composeError(() =>
        web(
          '    secrets:\n      - source: s\n        mode: "0999"\n',
          'secrets:\n  s:\n    file: s\n',
        ),
      ).detail,
    ).toBe('services.web.secrets[0].mode must be an octal file mode such as 0440');
    expect(composeError(() => web('', 'secrets:\n  s:\n    environment: TOKEN\n')).detail).toBe(
      'secrets.s.environment is not supported for a secret: use file: or external: true',
    );
    expect(composeError(() => web('', 'configs:\n  c:\n    labels: {a: b}\n')).detail).toBe(
      'configs.c must have file: or external: true',
    );
    expect(
      composeError(() => web('', 'secrets:\n  s:\n    external: true\n    file: x\n')).detail,
    ).toBe('secrets.s.file cannot be set on an external secret');
  });
});

describe('networks', () => {
  it('attaches services to declared networks with aliases, and creates the used ones', () => {
    const plan = stack(`services:
  web:
    image: nginx
    networks:
      front:
        aliases: [www]
      back:
  db:
    image: postgres
    networks: [back, outside]
  cache:
    image: redis
networks:
  front:
    driver_opts:
      encrypted: "true"
      mtu: 1400
    labels: [zone=dmz]
    attachable: true
  back:
    internal: true
    name: shared-back
  outside:
    external: true
    name: corp-net
  unused: {}
`);
    expect(serviceSpec(plan, 'web').TaskTemplate.Networks).toEqual([
      { Target: 'app_front', Aliases: ['www', 'web'] },
      { Target: 'shared-back', Aliases: ['web'] },
    ]);
    expect(serviceSpec(plan, 'db').TaskTemplate.Networks).toEqual([
      { Target: 'corp-net', Aliases: ['db'] },
      { Target: 'shared-back', Aliases: ['db'] },
    ]);
    expect(serviceSpec(plan, 'cache').TaskTemplate.Networks).toEqual([
      { Target: 'app_default', Aliases: ['cache'] },
    ]);
    const base = { Labels: NS, Driver: 'overlay', Options: {}, Attachable: false, Internal: false };
    expect(plan.networks).toEqual([
      {
        name: 'back',
        external: false,
        fullName: 'shared-back',
        spec: { ...base, Name: 'shared-back', Internal: true },
      },
      {
        name: 'default',
        external: false,
        fullName: 'app_default',
        spec: { ...base, Name: 'app_default' },
      },
      {
        name: 'front',
        external: false,
        fullName: 'app_front',
        spec: {
          ...base,
          Name: 'app_front',
          Labels: { zone: 'dmz', ...NS },
          Options: { encrypted: 'true', mtu: '1400' },
          Attachable: true,
        },
      },
      { name: 'outside', external: true, fullName: 'corp-net' },
    ]);
  });

  it('lets the file configure the default network', () => {
    const plan = stack(
      'services:\n  web:\n    image: x\nnetworks:\n  default:\n    driver: bridge\n',
    );
    expect(plan.networks[0]?.spec?.Driver).toBe('bridge');
    expect(plan.networks[0]?.fullName).toBe('app_default');
  });

  it('refuses an undefined network and driver options on an external one', () => {
    const error = composeError(() => web('    networks:\n      - nope\n'));
    expect(error.detail).toBe('service "web" refers to undefined network "nope"');
    expect(error.line).toBe(4);
    expect(
      composeError(() => web('', 'networks:\n  n:\n    external: true\n    driver: overlay\n'))
        .detail,
    ).toBe('networks.n.driver cannot be set on an external network');
  });
});

describe('unsupported options', () => {
  it('warns once, in docker’s words, about every ignored key', () => {
    const { plan, spec } = web(
      `    build: .
    container_name: web1
    depends_on: [db]
    privileged: true
    cap_add: [NET_ADMIN]
    logging:
      driver: json-file
    healthcheck:
      test: "true"
      start_interval: 1s
    ports:
      - target: 80
        app_protocol: http
    deploy:
      resources:
        limits:
          pids: 100
        reservations:
          devices:
            - capabilities: [gpu]
`,
      'networks:\n  default:\n    ipam:\n      driver: default\nvolumes:\n  data:\n    driver: local\n',
    );
    expect(plan.warnings).toEqual([
      'Ignoring unsupported options: build, cap_add, container_name, depends_on, deploy.resources.limits.pids, deploy.resources.reservations.devices, healthcheck.start_interval, logging, networks.default.ipam, ports.app_protocol, privileged, volumes.data.driver',
    ]);
    expect(spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'] });
    expect(spec.TaskTemplate.Resources).toBeUndefined();
  });
});

describe('names', () => {
  it('checks the stack name and the resulting service names', () => {
    expect(composeError(() => stack('services: {}\n', { namespace: '-bad' })).detail).toMatch(
      /^invalid stack name "-bad"/,
    );
    expect(composeError(() => stack('services: {}\n', { namespace: 'a/b' })).detail).toMatch(
      /^invalid stack name/,
    );
    const long = 'x'.repeat(70);
    expect(composeError(() => stack(`services:\n  ${long}:\n    image: x\n`)).line).toBe(2);
  });
});
