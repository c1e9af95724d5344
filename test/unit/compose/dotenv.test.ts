// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose templates are what these tests are about.
import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../../src/compose/dotenv.js';
import { composeError, serviceSpec, stack, WORKDIR } from './helpers.js';

describe('parseDotenv', () => {
  it('reads KEY=VALUE lines, export, comments, quotes and empty values', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'export EXPORTED=yes',
      '  SPACED  =  padded value  ',
      'EMPTY=',
      "SINGLE='no $expansion \\n here'",
      'DOUBLE="line1\\nline2\\t\\"quoted\\" \\\\ \\$HOME"',
      'INLINE=value # a comment',
      'HASH=a#b',
      'QUOTED_HASH="a # b" # comment',
      'DOTTED.KEY-1=ok',
      'CRLF=win\r',
    ].join('\n');
    expect(parseDotenv(text, { file: '.env' })).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'padded value',
      EMPTY: '',
      SINGLE: 'no $expansion \\n here',
      DOUBLE: 'line1\nline2\t"quoted" \\ $HOME',
      INLINE: 'value',
      HASH: 'a#b',
      QUOTED_HASH: 'a # b',
      'DOTTED.KEY-1': 'ok',
      CRLF: 'win',
    });
  });

  it('reads a quoted value over several lines', () => {
    expect(parseDotenv('KEY="-----BEGIN\nabc\n-----END"\nNEXT=1', { file: '.env' })).toEqual({
      KEY: '-----BEGIN\nabc\n-----END',
      NEXT: '1',
    });
  });

  it('interpolates unquoted and double-quoted values from the environment, then earlier lines', () => {
    const vars = parseDotenv('A=one\nB=${A}-two\nC="${HOME}/x"\nD=\'${A}\'\nE=${A:-zz}', {
      file: '.env',
      lookup: (name) => (name === 'HOME' ? '/home/u' : undefined),
    });
    expect(vars).toEqual({ A: 'one', B: 'one-two', C: '/home/u/x', D: '${A}', E: 'one' });
  });

  it('takes a bare KEY from the environment, or leaves it out', () => {
    const lookup = (name: string) => (name === 'SET' ? 'from-env' : undefined);
    expect(parseDotenv('SET\nUNSET\n', { file: '.env', lookup })).toEqual({ SET: 'from-env' });
  });

  it.each([
    ['not a line', 1],
    ['A=1\n=value', 2],
    ['A=1\n\n9KEY=x', 3],
    ['A="open', 1],
    ["A='x' trailing", 1],
    ['A=1\nB=${C:?needed}', 2],
  ])('reports the line of a malformed entry: %j', (text, line) => {
    const error = composeError(() => parseDotenv(text, { file: '/srv/app/.env' }));
    expect(error.file).toBe('/srv/app/.env');
    expect(error.line).toBe(line);
    expect(error.message.startsWith(`/srv/app/.env:${line}`)).toBe(true);
  });
});

describe('.env and env_file in a stack', () => {
  it('reads .env from the working directory; the process environment wins over it', () => {
    const plan = stack('services:\n  web:\n    image: "nginx:${TAG}"\n    hostname: ${HOST}\n', {
      files: { [`${WORKDIR}/.env`]: 'TAG=1.0\nHOST=from-dotenv\n' },
      env: { HOST: 'from-process' },
    });
    const container = serviceSpec(plan, 'web').TaskTemplate.ContainerSpec;
    expect(container.Image).toBe('nginx:1.0');
    expect(container.Hostname).toBe('from-process');
  });

  it('treats a missing .env as empty', () => {
    const plan = stack('services:\n  web:\n    image: nginx\n');
    expect(serviceSpec(plan, 'web').TaskTemplate.ContainerSpec.Image).toBe('nginx');
  });

  it('merges env_file entries in order; environment wins', () => {
    const plan = stack(
      `services:
  web:
    image: nginx
    env_file:
      - common.env
      - ./web.env
      - path: optional.env
        required: false
    environment:
      LEVEL: debug
      FROM_ENV:
      BARE_UNSET:
`,
      {
        files: {
          [`${WORKDIR}/common.env`]: 'LEVEL=info\nSHARED=common\nONLY_COMMON=1\nBARE_UNSET=file\n',
          [`${WORKDIR}/web.env`]: 'SHARED=web\nURL=http://${HOST}\n',
        },
        env: { HOST: 'db', FROM_ENV: 'process' },
      },
    );
    expect(serviceSpec(plan, 'web').TaskTemplate.ContainerSpec.Env).toEqual([
      'BARE_UNSET=file',
      'FROM_ENV=process',
      'LEVEL=debug',
      'ONLY_COMMON=1',
      'SHARED=web',
      'URL=http://db',
    ]);
  });

  it('accepts env_file as a single string', () => {
    const plan = stack('services:\n  web:\n    image: x\n    env_file: conf/app.env\n', {
      files: { [`${WORKDIR}/conf/app.env`]: 'A=1\n' },
    });
    expect(serviceSpec(plan, 'web').TaskTemplate.ContainerSpec.Env).toEqual(['A=1']);
  });

  it('fails on a missing required env_file at its line', () => {
    const error = composeError(() =>
      stack('services:\n  web:\n    image: x\n    env_file:\n      - missing.env\n'),
    );
    expect(error.line).toBe(5);
    expect(error.detail).toBe(`env file ${WORKDIR}/missing.env not found`);
  });

  it('names the env file and line of a malformed entry', () => {
    const error = composeError(() =>
      stack('services:\n  web:\n    image: x\n    env_file: bad.env\n', {
        files: { [`${WORKDIR}/bad.env`]: 'OK=1\nbad line\n' },
      }),
    );
    expect(error.message).toBe('bad.env:2: expected KEY=VALUE, got "bad line"');
  });
});
