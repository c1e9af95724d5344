import { describe, expect, it } from 'vitest';
import { loadFile, SourceMap, type Tree } from '../../../src/compose/load.js';
import { mergeFiles } from '../../../src/compose/merge.js';
import { serviceSpec, stack } from './helpers.js';

function merge(...texts: string[]): { tree: Tree; sources: SourceMap } {
  const sources = new SourceMap();
  const trees = texts.map((text, i) => loadFile(`f${i + 1}.yml`, text, sources, []));
  return { tree: mergeFiles(trees, sources), sources };
}

describe('mergeFiles', () => {
  it('merges mappings recursively; later scalars win', () => {
    const { tree } = merge(
      'services:\n  web:\n    image: a:1\n    hostname: h\n    deploy:\n      replicas: 2\n      mode: replicated\n',
      'services:\n  web:\n    image: a:2\n    deploy:\n      replicas: 5\n  db:\n    image: pg\n',
    );
    expect(tree).toEqual({
      services: {
        web: { image: 'a:2', hostname: 'h', deploy: { replicas: 5, mode: 'replicated' } },
        db: { image: 'pg' },
      },
    });
  });

  it('replaces command, entrypoint and healthcheck.test', () => {
    const { tree } = merge(
      'services:\n  w:\n    command: [a, b]\n    entrypoint: sh -c\n    healthcheck:\n      test: [CMD, a]\n      retries: 3\n',
      'services:\n  w:\n    command: [c]\n    entrypoint: [bash]\n    healthcheck:\n      test: curl x\n',
    );
    expect(tree).toEqual({
      services: {
        w: { command: ['c'], entrypoint: ['bash'], healthcheck: { test: 'curl x', retries: 3 } },
      },
    });
  });

  it('merges ports without repeating identical entries', () => {
    const { tree } = merge(
      'services:\n  w:\n    ports: ["80:80", "443:443"]\n',
      'services:\n  w:\n    ports: ["443:443", "8080:8080"]\n',
    );
    expect(tree).toEqual({ services: { w: { ports: ['80:80', '443:443', '8080:8080'] } } });
  });

  it('merges volumes by target, secrets and configs by target or source', () => {
    const { tree } = merge(
      `services:
  w:
    volumes: ["data:/data", "/etc/a:/etc/a:ro"]
    secrets: [db, {source: api, target: api_key}]
    configs: [nginx]
`,
      `services:
  w:
    volumes: [{type: volume, source: other, target: /data}, "logs:/logs"]
    secrets: [{source: db, mode: 0400}, {source: api2, target: api_key}]
    configs: [nginx, extra]
`,
    );
    expect(tree).toEqual({
      services: {
        w: {
          volumes: [
            { type: 'volume', source: 'other', target: '/data' },
            '/etc/a:/etc/a:ro',
            'logs:/logs',
          ],
          secrets: [
            { source: 'db', mode: 0o400 },
            { source: 'api2', target: 'api_key' },
          ],
          configs: ['nginx', 'extra'],
        },
      },
    });
  });

  it('merges environment and labels as maps, whichever form each file uses', () => {
    const { tree } = merge(
      'services:\n  w:\n    environment: [A=1, B=2, C]\n    labels: {x: "1"}\n    deploy:\n      labels: [d=1]\n',
      'services:\n  w:\n    environment:\n      B: 3\n      D: "4"\n    labels: [y=2, x=9]\n    deploy:\n      labels: {e: "2"}\n',
    );
    expect(tree).toEqual({
      services: {
        w: {
          environment: { A: '1', B: 3, C: null, D: '4' },
          labels: { x: '9', y: '2' },
          deploy: { labels: { d: '1', e: '2' } },
        },
      },
    });
  });

  it('appends other lists without repeats (env_file, dns, constraints)', () => {
    const { tree } = merge(
      'services:\n  w:\n    env_file: a.env\n    dns: [1.1.1.1]\n    deploy:\n      placement:\n        constraints: [node.role==worker]\n',
      'services:\n  w:\n    env_file: [a.env, b.env]\n    dns: 8.8.8.8\n    deploy:\n      placement:\n        constraints: [node.labels.zone==a]\n',
    );
    expect(tree).toEqual({
      services: {
        w: {
          env_file: ['a.env', 'b.env'],
          dns: ['1.1.1.1', '8.8.8.8'],
          deploy: { placement: { constraints: ['node.role==worker', 'node.labels.zone==a'] } },
        },
      },
    });
  });

  it('merges service networks in list and map form', () => {
    const { tree } = merge(
      'services:\n  w:\n    networks: [front, back]\n',
      'services:\n  w:\n    networks:\n      back:\n        aliases: [db]\n      admin:\n',
    );
    expect(tree).toEqual({
      services: { w: { networks: { front: null, back: { aliases: ['db'] }, admin: null } } },
    });
  });

  it('honours !reset and !override', () => {
    const { tree } = merge(
      'services:\n  w:\n    image: a\n    ports: ["80:80"]\n    environment:\n      A: "1"\n      B: "2"\n    dns: [1.1.1.1]\n',
      'services:\n  w:\n    ports: !reset []\n    environment:\n      A: !reset null\n    dns: !override [9.9.9.9]\n',
    );
    expect(tree).toEqual({
      services: { w: { image: 'a', environment: { B: '2' }, dns: ['9.9.9.9'] } },
    });
  });

  it('keeps each value’s position from the file that set it, list entries included', () => {
    const { tree, sources } = merge(
      'services:\n  w:\n    image: a\n    ports:\n      - "80:80"\n',
      '\nservices:\n  w:\n    ports:\n      - "81:81"\n',
    );
    expect(sources.locate(tree, ['services', 'w', 'image'])).toEqual({
      file: 'f1.yml',
      line: 3,
      column: 12,
    });
    expect(sources.locate(tree, ['services', 'w', 'ports', 0])?.file).toBe('f1.yml');
    expect(sources.locate(tree, ['services', 'w', 'ports', 1])).toEqual({
      file: 'f2.yml',
      line: 5,
      column: 9,
    });
  });
});

describe('merging stack files', () => {
  it('merges three files in order into the converted services', () => {
    const plan = stack([
      {
        path: 'docker-compose.yml',
        text: `services:
  web:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    environment: {MODE: dev, LOG: info}
    ports: ["8080:80"]
    deploy:
      replicas: 1
`,
      },
      {
        path: 'docker-compose.prod.yml',
        text: `services:
  web:
    environment: [MODE=prod]
    ports: ["8443:443"]
    deploy:
      replicas: 3
      resources:
        limits: {cpus: "0.5"}
`,
      },
      {
        path: 'docker-compose.site.yml',
        text: `services:
  web:
    image: nginx:1.27
    command: nginx -T
    deploy:
      resources:
        limits: {memory: 256M}
`,
      },
    ]);
    const spec = serviceSpec(plan, 'web');
    const container = spec.TaskTemplate.ContainerSpec;
    expect(container.Image).toBe('nginx:1.27');
    expect(container.Args).toEqual(['nginx', '-T']);
    expect(container.Env).toEqual(['LOG=info', 'MODE=prod']);
    expect(spec.EndpointSpec?.Ports?.map((p) => [p.PublishedPort, p.TargetPort])).toEqual([
      [8080, 80],
      [8443, 443],
    ]);
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.TaskTemplate.Resources).toEqual({
      Limits: { NanoCPUs: 500_000_000, MemoryBytes: 256 * 2 ** 20 },
    });
  });
});
