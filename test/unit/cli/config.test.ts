import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { type ConfigObject, configCommand } from '../../../src/cli/commands/config.js';
import type { CliIo } from '../../../src/cli/io.js';
import { oneLineMessage } from '../../../src/errors.js';
import { type CliResult, swarmts } from '../../support/cli.js';
import { type Routes, useFakeApi } from '../../support/fake-api.js';

const fake = useFakeApi('swarmts-cli-config-');
const fakeApi = (routes: Routes) => fake.start(routes);
const calls = () => fake.calls();

/** The wall clock the commands see. */
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

/** `swarmts config ...` with a fixed clock and, when given, `stdin` as standard input. */
async function run(args: string[], stdin?: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: fake.hostEnv,
    ...(stdin !== undefined ? { readStdin: async () => Buffer.from(stdin) } : {}),
  };
  const program = new Command('swarmts')
    .option('-H, --host <socket>')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });
  configCommand(program, { io, now: () => NOW });
  try {
    await program.parseAsync(['config', ...args], { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    stderr += `Error: ${oneLineMessage(error)}\n`;
    return { code: 1, stdout, stderr };
  }
}

// ---- fixtures ----------------------------------------------------------------------------

const NGINX_CONF = 'server {\n  listen 80;\n}';

function config(id: string, name: string, data: string, extra: Partial<ConfigObject> = {}) {
  const object: ConfigObject = {
    ID: id,
    Version: { Index: 21 },
    CreatedAt: ago(10 * 60_000),
    UpdatedAt: ago(10 * 60_000),
    Spec: { Name: name, Labels: {}, Data: Buffer.from(data).toString('base64') },
    ...extra,
  };
  return object;
}

const nginx = config('cfgnginx0123456789abcdefg', 'nginx.conf', NGINX_CONF, {
  CreatedAt: '2024-05-01T10:00:00.250Z',
  UpdatedAt: ago(45_000),
  Spec: {
    Name: 'nginx.conf',
    Labels: { app: 'web' },
    Data: Buffer.from(NGINX_CONF).toString('base64'),
  },
});
const app = config('cfgapp9876543210zyxwvutsr', 'app.env', 'A=1\n');

// ---- config create ----------------------------------------------------------------------

describe('swarmts config create', () => {
  it('sends the file base64-encoded with its labels and prints the new ID', async () => {
    await fakeApi({ 'POST /configs/create': { status: 201, body: { ID: nginx.ID } } });
    const file = join(fake.dir, 'nginx.conf');
    await writeFile(file, NGINX_CONF);
    const result = await run(['create', '-l', 'app=web', 'nginx.conf', file]);
    expect(result).toEqual({ code: 0, stdout: `${nginx.ID}\n`, stderr: '' });
    expect(calls()).toEqual(['POST /configs/create']);
    expect(fake.requests[0]?.body).toEqual({
      Name: 'nginx.conf',
      Labels: { app: 'web' },
      Data: Buffer.from(NGINX_CONF).toString('base64'),
    });
  });

  it('reads STDIN with -', async () => {
    await fakeApi({ 'POST /configs/create': { status: 201, body: { ID: app.ID } } });
    expect(await run(['create', 'app.env', '-'], 'A=1\n')).toEqual({
      code: 0,
      stdout: `${app.ID}\n`,
      stderr: '',
    });
    expect(fake.requests[0]?.body).toMatchObject({ Name: 'app.env', Data: 'QT0xCg==' });
  });

  it('fails with one line for a missing file, and relays the agent', async () => {
    await fakeApi({
      'POST /configs/create': { status: 400, body: { message: 'config data must not be empty' } },
    });
    const missing = join(fake.dir, 'none.conf');
    expect(await run(['create', 'x', missing])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: open ${missing}: no such file or directory\n`,
    });
    expect(fake.requests).toEqual([]);
    expect(await run(['create', 'x', '-'], '')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: config data must not be empty\n',
    });
  });
});

// ---- config ls ---------------------------------------------------------------------------

describe('swarmts config ls', () => {
  it("prints docker's columns, sorted by name; -q the IDs; --format json the rows", async () => {
    await fakeApi({ 'GET /configs': { body: [nginx, app] } });
    expect(await run(['ls'])).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID                          NAME         CREATED          UPDATED',
        'cfgapp9876543210zyxwvutsr   app.env      10 minutes ago   10 minutes ago',
        'cfgnginx0123456789abcdefg   nginx.conf   2 hours ago      45 seconds ago',
        '',
      ].join('\n'),
    });
    expect((await run(['ls', '-q'])).stdout).toBe(`${app.ID}\n${nginx.ID}\n`);
    const json = (await run(['ls', '--format', 'json'])).stdout.trimEnd().split('\n');
    expect(JSON.parse(json[1] ?? '')).toEqual({
      CreatedAt: '2 hours ago',
      ID: nginx.ID,
      Labels: 'app=web',
      Name: 'nginx.conf',
      UpdatedAt: '45 seconds ago',
    });
  });

  it("sends --filter as the API's filters JSON", async () => {
    await fakeApi({ 'GET /configs': { body: [app] } });
    expect((await run(['ls', '--filter', 'name=app', '--filter', 'label=tier'])).code).toBe(0);
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '')).toEqual({
      name: ['app'],
      label: ['tier'],
    });
    expect(await run(['ls', '--filter', 'nameapp'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: bad format of filter (expected name=value)\n',
    });
  });
});

// ---- config inspect ---------------------------------------------------------------------

describe('swarmts config inspect', () => {
  const routes = (): Routes => ({
    'GET /configs/nginx.conf': { body: nginx },
    'GET /configs/cfgapp': { body: app },
  });

  it('prints the JSON array by default, the data base64 as the API has it', async () => {
    await fakeApi(routes());
    const result = await run(['inspect', 'nginx.conf']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify([nginx], null, 4)}\n`);
    expect(JSON.parse(result.stdout)[0].Spec.Data).toBe(Buffer.from(NGINX_CONF).toString('base64'));
  });

  it('prints the data decoded with --pretty, as docker', async () => {
    await fakeApi(routes());
    expect(await run(['inspect', '--pretty', 'nginx.conf', 'cfgapp'])).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID:                cfgnginx0123456789abcdefg',
        'Name:              nginx.conf',
        'Labels:',
        ' - app=web',
        'Created at:        2024-05-01 10:00:00.25 +0000 UTC',
        'Updated at:        2024-05-01 11:59:15 +0000 UTC',
        'Data:',
        'server {',
        '  listen 80;',
        '}',
        '',
        'ID:                cfgapp9876543210zyxwvutsr',
        'Name:              app.env',
        'Created at:        2024-05-01 11:50:00 +0000 UTC',
        'Updated at:        2024-05-01 11:50:00 +0000 UTC',
        'Data:',
        'A=1',
        '',
        '',
      ].join('\n'),
    });
  });

  it('prints one Error line per missing config, exit 1', async () => {
    await fakeApi({
      ...routes(),
      'GET /configs/gone': { status: 404, body: { message: 'config gone not found' } },
    });
    expect(await run(['inspect', '-f', '{{.Spec.Name}}', 'cfgapp', 'gone'])).toEqual({
      code: 1,
      stdout: 'app.env\n',
      stderr: 'Error: config gone not found\n',
    });
  });
});

// ---- config rm ---------------------------------------------------------------------------

describe('swarmts config rm', () => {
  it('removes the others past a failure, exit 1', async () => {
    await fakeApi({
      'DELETE /configs/nginx.conf': {
        status: 400,
        body: { message: "config 'nginx.conf' is in use by the following service: web" },
      },
      'DELETE /configs/app.env': { status: 204 },
    });
    expect(await swarmts(['config', 'rm', 'nginx.conf', 'app.env'], fake.hostEnv)).toEqual({
      code: 1,
      stdout: 'app.env\n',
      stderr: "Error: config 'nginx.conf' is in use by the following service: web\n",
    });
    expect(calls()).toEqual(['DELETE /configs/nginx.conf', 'DELETE /configs/app.env']);
  });
});

// ---- help --------------------------------------------------------------------------------

describe('swarmts config --help', () => {
  it('lists and documents every config command', async () => {
    const group = await swarmts(['config', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('Manage swarm configs');
    for (const name of ['create', 'ls|list', 'inspect', 'rm|remove']) {
      expect(group.stdout).toMatch(new RegExp(`\\n  ${name.replace('|', '\\|')} .*\\S`));
    }
    const create = await swarmts(['config', 'create', '--help']);
    expect(create.stdout).toContain('Usage: swarmts config create [options] <config> <file>');
    const ls = await swarmts(['config', 'ls', '--help']);
    expect(ls.stdout).toContain('-f, --filter <key=value>');
    expect(ls.stdout).toContain('-q, --quiet');
  });
});
