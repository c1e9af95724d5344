import { describe, expect, it } from 'vitest';
import { loadFile, SourceMap } from '../../../src/compose/load.js';
import { composeError, stack } from './helpers.js';

function load(text: string) {
  const sources = new SourceMap();
  const warnings: string[] = [];
  const tree = loadFile('stack.yml', text, sources, warnings);
  return { tree, sources, warnings };
}

describe('loadFile', () => {
  it('turns YAML into plain data and remembers where values were written', () => {
    const { tree, sources } = load(
      'services:\n  web:\n    image: nginx\n    ports:\n      - "80:80"\n',
    );
    expect(tree).toEqual({ services: { web: { image: 'nginx', ports: ['80:80'] } } });
    expect(sources.locate(tree, ['services', 'web', 'image'])).toEqual({
      file: 'stack.yml',
      line: 3,
      column: 12,
    });
    expect(sources.locate(tree, ['services', 'web', 'ports', 0])).toEqual({
      file: 'stack.yml',
      line: 5,
      column: 9,
    });
    // A collection is placed at its key; a missing key at its nearest written ancestor.
    expect(sources.locate(tree, ['services', 'web'])).toEqual({
      file: 'stack.yml',
      line: 2,
      column: 3,
    });
    expect(sources.locate(tree, ['services', 'web', 'deploy', 'replicas'])).toEqual({
      file: 'stack.yml',
      line: 2,
      column: 3,
    });
  });

  it('resolves anchors, aliases and merge keys, and drops x-* extension fields', () => {
    const { tree } = load(`x-common: &common
  image: base:1
  environment: &env
    A: "1"
  x-note: dropped
services:
  web:
    <<: *common
    image: web:2
    x-owner: me
  worker:
    <<: [*common]
    environment: *env
`);
    expect(tree).toEqual({
      services: {
        web: { image: 'web:2', environment: { A: '1' } },
        worker: { image: 'base:1', environment: { A: '1' } },
      },
    });
  });

  it('keeps x-* keys that are the user’s data (labels, environment)', () => {
    const { tree } = load('services:\n  web:\n    image: x\n    labels:\n      x-team: core\n');
    expect(tree).toEqual({ services: { web: { image: 'x', labels: { 'x-team': 'core' } } } });
  });

  it('reads a leading-zero integer as octal, like the Go YAML library docker uses', () => {
    const { tree } = load('a: 0440\nb: 0o755\nc: 440\nd: 089\n');
    expect(tree).toEqual({ a: 0o440, b: 0o755, c: 440, d: 89 });
  });

  it('places the position of a value merged from an anchor at the anchor', () => {
    const { tree, sources } = load(
      'x-a: &a\n  image: base\nservices:\n  web:\n    <<: *a\n    hostname: h\n',
    );
    expect(sources.locate(tree, ['services', 'web', 'image'])?.line).toBe(2);
    expect(sources.locate(tree, ['services', 'web', 'hostname'])?.line).toBe(6);
  });

  it.each([
    ['services:\n  web:\n    image: x\n   bad: indent\n', 4],
    ['services:\n  web: [unclosed\n', 3],
    ['a: 1\na: 2\n', 2],
    // The library reports an unclosed quote where the file ends.
    ['services:\n  web:\n    image: "unterminated\n', 4],
  ])('reports a YAML syntax error with file:line:column (%#)', (text, line) => {
    const error = composeError(() => load(text));
    expect(error.file).toBe('stack.yml');
    expect(error.line).toBe(line);
    expect(error.column).toBeGreaterThan(0);
    expect(error.message.startsWith(`stack.yml:${line}:`)).toBe(true);
  });

  it('refuses an empty file and a top level that is not a mapping', () => {
    expect(composeError(() => load('')).message).toBe('stack.yml: the file is empty');
    expect(composeError(() => load('- a\n- b\n')).message).toBe(
      'stack.yml:1:1: the top level must be a mapping',
    );
  });

  it('refuses a merge key over a scalar', () => {
    expect(composeError(() => load('x: &x 1\ny:\n  <<: *x\n')).file).toBe('stack.yml');
  });
});

describe('errors of a stack file', () => {
  it('names the key and line of a wrong type', () => {
    const error = composeError(() =>
      stack('services:\n  web:\n    image: nginx\n    deploy:\n      replicas: many\n'),
    );
    expect(error.message).toBe(
      'docker-compose.yml:5:17: services.web.deploy.replicas must be a number',
    );
    expect(error.detail).toBe('services.web.deploy.replicas must be a number');
    expect([error.file, error.line, error.column]).toEqual(['docker-compose.yml', 5, 17]);
  });

  it.each([
    ['    deploy:\n      replicas: 1.5\n', 'services.web.deploy.replicas must be an integer', 5],
    ['    deploy:\n      replicas: -1\n', 'services.web.deploy.replicas must be at least 0', 5],
    [
      '    deploy:\n      mode: everywhere\n',
      'services.web.deploy.mode must be one of: replicated, global, replicated-job, global-job',
      5,
    ],
    ['    ports: "80:80"\n', 'services.web.ports must be a list', 4],
    [
      '    ports:\n      - "80:80/icmp"\n',
      'services.web.ports[0] has an unknown protocol "icmp" (tcp, udp or sctp)',
      5,
    ],
    ['    ports:\n      - target: http\n', 'services.web.ports[0].target must be a number', 5],
    ['    environment: 12\n', 'services.web.environment must be a list or a mapping', 4],
    [
      '    stop_grace_period: soon\n',
      'services.web.stop_grace_period must be a duration such as "10s", "1m30s" or "500ms"',
      4,
    ],
    [
      '    deploy:\n      resources:\n        limits:\n          memory: lots\n',
      'services.web.deploy.resources.limits.memory must be a size such as "512M", "1g" or a number of bytes',
      7,
    ],
    [
      '    deploy:\n      update_config:\n        paralelism: 2\n',
      'services.web.deploy.update_config.paralelism is not a known option',
      6,
    ],
    ['    enviroment:\n      A: 1\n', 'services.web.enviroment is not a known option', 4],
    [
      '    healthcheck:\n      retries: yes\n',
      'services.web.healthcheck.retries must be a number',
      5,
    ],
    [
      '    volumes:\n      - data:relative\n',
      'services.web.volumes[0] target "relative" must be an absolute path',
      5,
    ],
    [
      '    command: "echo \'open"\n',
      "services.web.command cannot be split into words: unterminated quoted string in echo 'open",
      4,
    ],
    [
      '    restart: sometimes\n',
      'services.web.restart must be no, always, unless-stopped or on-failure[:N]',
      4,
    ],
  ])('names the path and line of an invalid value (%#)', (body, detail, line) => {
    const error = composeError(() => stack(`services:\n  web:\n    image: nginx\n${body}`));
    expect(error.detail).toBe(detail);
    expect(error.line).toBe(line);
  });

  it('requires an image, naming the service', () => {
    const error = composeError(() => stack('version: "3.8"\nservices:\n  web:\n    hostname: x\n'));
    expect(error.message).toBe('docker-compose.yml:3:3: services.web.image is required');
  });

  it('names the file that set a bad value when several are merged', () => {
    const error = composeError(() =>
      stack([
        { path: 'base.yml', text: 'services:\n  web:\n    image: nginx\n' },
        { path: 'prod.yml', text: 'services:\n  web:\n    deploy:\n      replicas: lots\n' },
      ]),
    );
    expect(error.message).toBe('prod.yml:4:17: services.web.deploy.replicas must be a number');
  });

  it('refuses unknown top-level keys and include', () => {
    expect(composeError(() => stack('services: {}\nvolume: {}\n')).detail).toBe(
      'volume is not a known option',
    );
    expect(composeError(() => stack('include:\n  - other.yml\nservices: {}\n')).line).toBe(1);
  });
});
