// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose templates are what these tests are about.
import { describe, expect, it } from 'vitest';
import { interpolateString, TemplateError } from '../../../src/compose/interpolate.js';
import { composeError, serviceSpec, stack } from './helpers.js';

const env: Record<string, string> = { NAME: 'web', EMPTY: '', TAG: '1.2' };
const lookup = (name: string) => env[name];

function expand(text: string): { value: string; unset: string[] } {
  const unset: string[] = [];
  return { value: interpolateString(text, lookup, (name) => unset.push(name)), unset };
}

describe('interpolateString', () => {
  it.each([
    ['$NAME', 'web'],
    ['${NAME}', 'web'],
    ['img:${TAG}-x', 'img:1.2-x'],
    ['$NAME.$TAG', 'web.1.2'],
    ['${MISSING:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${NAME:-def}', 'web'],
    ['${MISSING-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${NAME:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${MISSING+alt}', ''],
    ['${MISSING:+alt}', ''],
    ['$$NAME', '$NAME'],
    ['a$$b$$$$', 'a$b$$'],
    ['${MISSING:-${NAME}}', 'web'],
    ['${MISSING:-${OTHER:-deep}}', 'deep'],
    ['${NAME:-${MISSING}}', 'web'],
    ['${MISSING:-a b}', 'a b'],
    ['${MISSING:-}', ''],
    ['no variables', 'no variables'],
  ])('%s → %s', (template, expected) => {
    expect(expand(template).value).toBe(expected);
  });

  it('reports a variable without a value or default and leaves it blank', () => {
    expect(expand('x${MISSING}y$OTHER')).toEqual({ value: 'xy', unset: ['MISSING', 'OTHER'] });
    // A default that is used does not warn, nor does an unused nested variable.
    expect(expand('${NAME:-${MISSING}}').unset).toEqual([]);
  });

  it('throws for :? and ? with the message', () => {
    expect(() => expand('${MISSING:?set MISSING please}')).toThrow(
      'required variable MISSING is missing a value: set MISSING please',
    );
    expect(() => expand('${EMPTY:?no}')).toThrow('required variable EMPTY is missing a value: no');
    expect(expand('${EMPTY?no}').value).toBe('');
    expect(() => expand('${MISSING?}')).toThrow(/^required variable MISSING is missing a value$/);
    expect(expand('${NAME:?no}').value).toBe('web');
  });

  it.each(['$', 'a$', '$1', '${', '${NAME', '${}', '${1A}', '${NAME:x}', '${A B}'])(
    'refuses the malformed template %s',
    (template) => {
      let caught: unknown;
      try {
        expand(template);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TemplateError);
      expect((caught as TemplateError).invalid).toBe(true);
    },
  );
});

describe('interpolation in a Compose file', () => {
  it('replaces values, never keys, and makes numbers from strings', () => {
    const plan = stack(
      `services:
  web:
    image: nginx:\${TAG}
    labels:
      $NAME: "\${NAME}"
    deploy:
      replicas: \${REPLICAS}
      resources:
        limits:
          memory: \${MEM:-64M}
`,
      { env: { TAG: '1.25', NAME: 'front', REPLICAS: '3' } },
    );
    const spec = serviceSpec(plan, 'web');
    expect(spec.TaskTemplate.ContainerSpec.Image).toBe('nginx:1.25');
    expect(spec.TaskTemplate.ContainerSpec.Labels).toEqual({
      $NAME: 'front',
      'com.docker.stack.namespace': 'app',
    });
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.TaskTemplate.Resources).toEqual({ Limits: { MemoryBytes: 64 * 2 ** 20 } });
  });

  it('warns once per unset variable, as docker words it', () => {
    const plan = stack('services:\n  a:\n    image: "x${V}"\n  b:\n    image: "y${V}"\n');
    expect(serviceSpec(plan, 'a').TaskTemplate.ContainerSpec.Image).toBe('x');
    expect(plan.warnings).toEqual(['The "V" variable is not set. Defaulting to a blank string.']);
  });

  it('interpolates an anchored value once, so $$ stays a literal $', () => {
    const plan = stack(`x-env: &env
  PRICE: "$$5"
services:
  a:
    image: x
    environment: *env
  b:
    image: x
    environment: *env
`);
    expect(serviceSpec(plan, 'a').TaskTemplate.ContainerSpec.Env).toEqual(['PRICE=$5']);
    expect(serviceSpec(plan, 'b').TaskTemplate.ContainerSpec.Env).toEqual(['PRICE=$5']);
  });

  it('names the file, line and column of a :? value', () => {
    const error = composeError(() =>
      stack(
        'services:\n  web:\n    image: x\n    environment:\n      DB: ${DB_URL:?DB_URL is needed}\n',
      ),
    );
    expect(error.file).toBe('docker-compose.yml');
    expect(error.line).toBe(5);
    expect(error.column).toBe(11);
    expect(error.message).toBe(
      'docker-compose.yml:5:11: services.web.environment.DB: required variable DB_URL is missing a value: DB_URL is needed',
    );
  });

  it('names the path of a malformed template', () => {
    const error = composeError(() => stack('services:\n  web:\n    image: "a$-b"\n'));
    expect(error.line).toBe(3);
    expect(error.detail).toMatch(/^invalid interpolation format for services\.web\.image: "a\$-b"/);
  });

  it('names the line of a :? value inside a list', () => {
    const error = composeError(() =>
      stack('services:\n  web:\n    image: x\n    command:\n      - run\n      - ${ARG:?}\n'),
    );
    expect([error.line, error.column]).toEqual([6, 9]);
    expect(error.detail).toBe('services.web.command[1]: required variable ARG is missing a value');
  });
});
