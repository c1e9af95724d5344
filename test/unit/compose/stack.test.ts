import { describe, expect, it } from 'vitest';
import { ComposeError } from '../../../src/compose/index.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { composeError, stack, WORKDIR } from './helpers.js';

const COMPOSE = `version: "3.8"
name: ignored-name

x-defaults: &defaults
  restart: unless-stopped
  logging:
    driver: json-file
  deploy: &deploy
    update_config:
      parallelism: 1
      delay: 10s
      order: start-first
    restart_policy:
      condition: on-failure
      max_attempts: 3

services:
  proxy:
    image: nginx:\${NGINX_VERSION:-1.27}
    <<: *defaults
    ports:
      - "80:80"
      - target: 443
        published: 443
        mode: host
    configs:
      - source: proxy_conf
        target: /etc/nginx/conf.d/default.conf
    networks: [front]
    deploy:
      <<: *deploy
      mode: global
      placement:
        constraints: [node.labels.edge == true]

  api:
    image: "registry.local/shop/api:\${API_TAG:?set API_TAG}"
    command: ["serve", "--port", "8080"]
    environment:
      DATABASE_HOST: db
      LOG_LEVEL: \${LOG_LEVEL:-info}
    env_file: api.env
    secrets: [db_password]
    networks:
      front:
        aliases: [backend]
      back:
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/health"]
      interval: 15s
      timeout: 3s
      retries: 5
    deploy:
      <<: *deploy
      replicas: \${API_REPLICAS:-2}
      resources:
        limits: {cpus: "1.5", memory: 768M}
        reservations: {memory: 256M}

  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
    secrets:
      - source: db_password
        uid: "999"
        mode: 0400
    volumes:
      - pgdata:/var/lib/postgresql/data
    networks: [back]
    stop_grace_period: 1m
    deploy:
      placement:
        constraints: [node.labels.disk == ssd]

  migrate:
    image: "registry.local/shop/api:\${API_TAG}"
    entrypoint: /app/migrate --wait
    networks: [back]
    deploy:
      mode: replicated-job

networks:
  front:
  back:
    driver_opts:
      encrypted: ""

volumes:
  pgdata:

secrets:
  db_password:
    file: ./secrets/db_password.txt

configs:
  proxy_conf:
    file: ./proxy/default.conf
`;

describe('a realistic stack', () => {
  const plan = stack(COMPOSE, {
    namespace: 'shop',
    env: { API_TAG: '2.4.1' },
    files: {
      [`${WORKDIR}/.env`]: '# shop settings\nLOG_LEVEL=warn\nAPI_REPLICAS=3\n',
      [`${WORKDIR}/api.env`]: 'CACHE_TTL=60\nLOG_LEVEL=debug\n',
    },
  });
  const NS = { 'com.docker.stack.namespace': 'shop' };
  const update = { Parallelism: 1, Delay: 10e9, Order: 'start-first' };
  const restart = { Condition: 'on-failure', MaxAttempts: 3 };

  it('converts every service', () => {
    expect(plan.namespace).toBe('shop');
    expect(plan.services.map((s) => s.name)).toEqual(['proxy', 'api', 'db', 'migrate']);
    const [proxy, api, db, migrate] = plan.services.map((s) => s.spec);

    expect(proxy).toEqual({
      Name: 'shop_proxy',
      Labels: { ...NS, 'com.docker.stack.image': 'nginx:1.27' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'nginx:1.27',
          Labels: NS,
          Configs: [
            {
              File: { Name: '/etc/nginx/conf.d/default.conf', UID: '0', GID: '0', Mode: 0o444 },
              ConfigID: '',
              ConfigName: 'shop_proxy_conf',
            },
          ],
        },
        RestartPolicy: restart,
        Placement: { Constraints: ['node.labels.edge == true'] },
        Networks: [{ Target: 'shop_front', Aliases: ['proxy'] }],
      },
      Mode: { Global: {} },
      UpdateConfig: update,
      EndpointSpec: {
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 80, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 443, PublishedPort: 443, PublishMode: 'host' },
        ],
      },
    });

    expect(api).toEqual({
      Name: 'shop_api',
      Labels: { ...NS, 'com.docker.stack.image': 'registry.local/shop/api:2.4.1' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'registry.local/shop/api:2.4.1',
          Labels: NS,
          Args: ['serve', '--port', '8080'],
          // environment: wins over api.env; .env's LOG_LEVEL fed the interpolation.
          Env: ['CACHE_TTL=60', 'DATABASE_HOST=db', 'LOG_LEVEL=warn'],
          Healthcheck: {
            Test: ['CMD', 'wget', '-qO-', 'http://localhost:8080/health'],
            Interval: 15e9,
            Timeout: 3e9,
            Retries: 5,
          },
          Secrets: [
            {
              File: { Name: 'db_password', UID: '0', GID: '0', Mode: 0o444 },
              SecretID: '',
              SecretName: 'shop_db_password',
            },
          ],
        },
        Resources: {
          Limits: { NanoCPUs: 1_500_000_000, MemoryBytes: 768 * 2 ** 20 },
          Reservations: { MemoryBytes: 256 * 2 ** 20 },
        },
        RestartPolicy: restart,
        Networks: [
          { Target: 'shop_back', Aliases: ['api'] },
          { Target: 'shop_front', Aliases: ['backend', 'api'] },
        ],
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: update,
    });

    expect(db?.TaskTemplate.ContainerSpec).toEqual({
      Image: 'postgres:16',
      Labels: NS,
      Env: ['POSTGRES_PASSWORD_FILE=/run/secrets/db_password'],
      Mounts: [{ Type: 'volume', Source: 'shop_pgdata', Target: '/var/lib/postgresql/data' }],
      StopGracePeriod: 60e9,
      Secrets: [
        {
          File: { Name: 'db_password', UID: '999', GID: '0', Mode: 0o400 },
          SecretID: '',
          SecretName: 'shop_db_password',
        },
      ],
    });
    expect(db?.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(db?.TaskTemplate.Placement).toEqual({ Constraints: ['node.labels.disk == ssd'] });
    expect(db?.TaskTemplate.RestartPolicy).toBeUndefined();

    expect(migrate?.Mode).toEqual({ ReplicatedJob: {} });
    expect(migrate?.TaskTemplate.ContainerSpec.Command).toEqual(['/app/migrate', '--wait']);
  });

  it('plans the networks, secrets and configs', () => {
    const base = { Labels: NS, Driver: 'overlay', Attachable: false, Internal: false };
    expect(plan.networks).toEqual([
      {
        name: 'back',
        external: false,
        fullName: 'shop_back',
        spec: { ...base, Name: 'shop_back', Options: { encrypted: '' } },
      },
      {
        name: 'front',
        external: false,
        fullName: 'shop_front',
        spec: { ...base, Name: 'shop_front', Options: {} },
      },
    ]);
    expect(plan.secrets).toEqual([
      {
        name: 'db_password',
        fullName: 'shop_db_password',
        external: false,
        file: '/srv/app/secrets/db_password.txt',
        labels: NS,
      },
    ]);
    expect(plan.configs).toEqual([
      {
        name: 'proxy_conf',
        fullName: 'shop_proxy_conf',
        external: false,
        file: '/srv/app/proxy/default.conf',
        labels: NS,
      },
    ]);
  });

  it('warns about what Swarm ignores', () => {
    expect(plan.warnings).toEqual(['Ignoring unsupported options: logging']);
  });

  it('stops with the :? message when a required variable is missing', () => {
    const error = composeError(() => stack(COMPOSE, { namespace: 'shop' }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.code).toBe('invalid_argument');
    expect(error.name).toBe('ComposeError');
    expect(error.message).toBe(
      'docker-compose.yml:37:12: services.api.image: required variable API_TAG is missing a value: set API_TAG',
    );
  });

  it('refuses an empty list of files', () => {
    expect(() => stack([])).toThrow(ComposeError);
  });
});
