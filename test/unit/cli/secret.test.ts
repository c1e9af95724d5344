import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { type SecretObject, secretCommand } from '../../../src/cli/commands/secret.js';
import type { CliIo } from '../../../src/cli/io.js';
import { oneLineMessage } from '../../../src/errors.js';
import { type CliResult, swarmts } from '../../support/cli.js';
import { type Routes, useFakeApi } from '../../support/fake-api.js';

const fake = useFakeApi('swarmts-cli-secret-');
const fakeApi = (routes: Routes) => fake.start(routes);
const calls = () => fake.calls();

/** The wall clock the commands see. */
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

/**
 * `swarmts secret ...` with a fixed clock and, when given, `stdin` as standard input; the same
 * error handling as runCli. (`swarmts()` runs the real program, with no stdin.)
 */
async function run(args: string[], stdin?: Uint8Array | string): Promise<CliResult> {
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
  secretCommand(program, { io, now: () => NOW });
  try {
    await program.parseAsync(['secret', ...args], { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    stderr += `Error: ${oneLineMessage(error)}\n`;
    return { code: 1, stdout, stderr };
  }
}

// ---- fixtures ----------------------------------------------------------------------------

function secret(id: string, name: string, extra: Partial<SecretObject> = {}): SecretObject {
  return {
    ID: id,
    Version: { Index: 11 },
    CreatedAt: ago(5 * 60_000),
    UpdatedAt: ago(5 * 60_000),
    Spec: { Name: name, Labels: {} },
    ...extra,
  };
}

const dbPassword = secret('sk2ol5mqnfvd0yvnyb2c1lwnp', 'db-password', {
  CreatedAt: ago(3 * 3_600_000),
  UpdatedAt: ago(30_000),
  Spec: { Name: 'db-password', Labels: { env: 'prod', team: '' } },
});
const key10 = secret('ab12cd34ef56gh78ij90kl12m', 'key10');
const key2 = secret('zz99yy88xx77ww66vv55uu44t', 'key2', {
  CreatedAt: ago(2 * 86_400_000 + 60_000),
  UpdatedAt: ago(90_000),
});

const listRoutes = (): Routes => ({ 'GET /secrets': { body: [key10, dbPassword, key2] } });

// ---- secret create ----------------------------------------------------------------------

describe('swarmts secret create', () => {
  it('sends the file base64-encoded with its labels and prints the new ID', async () => {
    await fakeApi({ 'POST /secrets/create': { status: 201, body: { ID: dbPassword.ID } } });
    const file = join(fake.dir, 'password.txt');
    await writeFile(file, 's3cr3t\n');
    const result = await run([
      'create',
      '--label',
      'env=prod',
      '-l',
      'team',
      '-l',
      'url=a=b',
      'db-password',
      file,
    ]);
    expect(result).toEqual({ code: 0, stdout: `${dbPassword.ID}\n`, stderr: '' });
    expect(calls()).toEqual(['POST /secrets/create']);
    expect(fake.requests[0]?.body).toEqual({
      Name: 'db-password',
      Labels: { env: 'prod', team: '', url: 'a=b' },
      Data: Buffer.from('s3cr3t\n').toString('base64'),
    });
  });

  it('reads the data from STDIN with -, bytes unchanged', async () => {
    await fakeApi({ 'POST /secrets/create': { status: 201, body: { ID: 'newid' } } });
    const bytes = Uint8Array.from([0, 1, 2, 0xfe, 0xff, 10]);
    const result = await run(['create', 'blob', '-'], bytes);
    expect(result).toEqual({ code: 0, stdout: 'newid\n', stderr: '' });
    expect(fake.requests[0]?.body).toEqual({
      Name: 'blob',
      Labels: {},
      Data: Buffer.from(bytes).toString('base64'),
    });
  });

  it('says which file is missing, in one line, before any request', async () => {
    await fakeApi({});
    const missing = join(fake.dir, 'nope.txt');
    expect(await run(['create', 'db-password', missing])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: open ${missing}: no such file or directory\n`,
    });
    const dir = join(fake.dir, 'adir');
    await mkdir(dir);
    const directory = await run(['create', 'db-password', dir]);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toBe(
      `Error: error reading content from "${dir}": read ${dir}: is a directory\n`,
    );
    expect(fake.requests).toEqual([]);
  });

  it('refuses a label without a key before reading anything', async () => {
    await fakeApi({});
    expect(await run(['create', '--label', '=x', 'name', '-'], 'data')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: invalid argument "=x" for "--label" flag: expected key=value\n',
    });
    expect(fake.requests).toEqual([]);
  });

  it('refuses - when there is no standard input to read', async () => {
    await fakeApi({});
    const result = await swarmts(['secret', 'create', 'name', '-'], fake.hostEnv);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: cannot read STDIN here: give a file\n',
    });
  });

  it("relays the agent's refusal as one Error line", async () => {
    await fakeApi({
      'POST /secrets/create': {
        status: 409,
        body: { message: 'secret db-password already exists' },
      },
    });
    expect(await run(['create', 'db-password', '-'], 'x')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: secret db-password already exists\n',
    });
  });

  it('needs a name and a file, as docker', async () => {
    const result = await swarmts(['secret', 'create', 'db-password'], fake.hostEnv);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: missing required argument 'file'. See 'swarmts --help'.\n",
    });
  });
});

// ---- secret ls ---------------------------------------------------------------------------

describe('swarmts secret ls', () => {
  it("prints docker's table, sorted by name, with relative times", async () => {
    await fakeApi(listRoutes());
    const result = await run(['ls']);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID                          NAME          DRIVER   CREATED         UPDATED',
        'sk2ol5mqnfvd0yvnyb2c1lwnp   db-password            3 hours ago     30 seconds ago',
        'zz99yy88xx77ww66vv55uu44t   key2                   2 days ago      about a minute ago',
        'ab12cd34ef56gh78ij90kl12m   key10                  5 minutes ago   5 minutes ago',
        '',
      ].join('\n'),
    });
    expect(calls()).toEqual(['GET /secrets']);
    expect(fake.requests[0]?.query).toEqual({});
  });

  it('prints only the full IDs with -q, and list is an alias of ls', async () => {
    await fakeApi(listRoutes());
    expect(await run(['list', '-q'])).toEqual({
      code: 0,
      stderr: '',
      stdout: `${dbPassword.ID}\n${key2.ID}\n${key10.ID}\n`,
    });
  });

  it('prints one JSON object per line with --format json, and renders templates', async () => {
    await fakeApi(listRoutes());
    const json = await run(['ls', '--format', 'json']);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      CreatedAt: '3 hours ago',
      Driver: '',
      ID: dbPassword.ID,
      Labels: 'env=prod,team=',
      Name: 'db-password',
      UpdatedAt: '30 seconds ago',
    });
    const template = await run(['ls', '--format', '{{.Name}} {{.Labels}}']);
    expect(template.stdout).toBe('db-password env=prod,team=\nkey2 \nkey10 \n');
  });

  it("sends --filter as the API's filters JSON, and refuses unknown keys first", async () => {
    await fakeApi(listRoutes());
    const result = await run([
      'ls',
      '-q',
      '--filter',
      'name=key',
      '-f',
      'label=env=prod',
      '-f',
      'id=sk2',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(fake.requests[0]?.query.filters ?? '')).toEqual({
      name: ['key'],
      label: ['env=prod'],
      id: ['sk2'],
    });
    const unknown = await run(['ls', '--filter', 'driver=x']);
    expect(unknown).toEqual({
      code: 1,
      stdout: '',
      stderr: "Error: invalid filter 'driver' (allowed: id, label, name)\n",
    });
    expect(calls()).toEqual(['GET /secrets']);
  });

  it('prints the header alone when there is no secret', async () => {
    await fakeApi({ 'GET /secrets': { body: [] } });
    expect((await run(['ls'])).stdout).toBe('ID   NAME   DRIVER   CREATED   UPDATED\n');
  });
});

// ---- secret inspect -------------------------------------------------------------------------

describe('swarmts secret inspect', () => {
  const routes = (): Routes => ({
    'GET /secrets/db-password': { body: dbPassword },
    'GET /secrets/key2': { body: key2 },
    'GET /secrets/nope': { status: 404, body: { message: 'secret nope not found' } },
  });

  it('prints a JSON array indented like docker, one line with --format json', async () => {
    await fakeApi(routes());
    const result = await run(['inspect', 'db-password', 'key2']);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `${JSON.stringify([dbPassword, key2], null, 4)}\n`,
    });
    expect((await run(['inspect', '--format', 'json', 'key2'])).stdout).toBe(
      `${JSON.stringify([key2])}\n`,
    );
    expect((await run(['inspect', '-f', '{{.Spec.Name}} {{.Version.Index}}', 'key2'])).stdout).toBe(
      'key2 11\n',
    );
  });

  it("prints docker's human block with --pretty", async () => {
    await fakeApi(routes());
    const result = await run(['inspect', '--pretty', 'db-password', 'key2']);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID:                sk2ol5mqnfvd0yvnyb2c1lwnp',
        'Name:              db-password',
        'Labels:',
        ' - env=prod',
        ' - team',
        'Driver:',
        'Created at:        2024-05-01 09:00:00 +0000 UTC',
        'Updated at:        2024-05-01 11:59:30 +0000 UTC',
        '',
        'ID:                zz99yy88xx77ww66vv55uu44t',
        'Name:              key2',
        'Driver:',
        'Created at:        2024-04-29 11:59:00 +0000 UTC',
        'Updated at:        2024-05-01 11:58:30 +0000 UTC',
        '',
      ].join('\n'),
    });
  });

  it('prints what it found, then one Error line per missing secret, exit 1', async () => {
    await fakeApi(routes());
    const result = await run(['inspect', '--format', '{{.ID}}', 'nope', 'key2', 'nope']);
    expect(result).toEqual({
      code: 1,
      stdout: `${key2.ID}\n`,
      stderr: 'Error: secret nope not found\nError: secret nope not found\n',
    });
  });

  it('refuses --pretty with --format before any request', async () => {
    await fakeApi(routes());
    expect(await run(['inspect', '--pretty', '--format', 'json', 'key2'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: --format is incompatible with human friendly format\n',
    });
    expect(fake.requests).toEqual([]);
  });
});

// ---- secret rm ---------------------------------------------------------------------------

describe('swarmts secret rm', () => {
  it('removes each secret and prints its name', async () => {
    await fakeApi({
      'DELETE /secrets/db-password': { status: 204 },
      'DELETE /secrets/key2': { status: 204 },
    });
    expect(await run(['rm', 'db-password', 'key2'])).toEqual({
      code: 0,
      stdout: 'db-password\nkey2\n',
      stderr: '',
    });
    expect(calls()).toEqual(['DELETE /secrets/db-password', 'DELETE /secrets/key2']);
  });

  it('goes on past a failure and exits 1 with one Error line per failure', async () => {
    await fakeApi({
      'DELETE /secrets/in-use': {
        status: 400,
        body: { message: "secret 'in-use' is in use by the following service: web" },
      },
      'DELETE /secrets/key2': { status: 204 },
      'DELETE /secrets/nope': { status: 404, body: { message: 'secret nope not found' } },
    });
    const result = await swarmts(['secret', 'remove', 'in-use', 'key2', 'nope'], fake.hostEnv);
    expect(result).toEqual({
      code: 1,
      stdout: 'key2\n',
      stderr:
        "Error: secret 'in-use' is in use by the following service: web\nError: secret nope not found\n",
    });
    expect(calls()).toEqual([
      'DELETE /secrets/in-use',
      'DELETE /secrets/key2',
      'DELETE /secrets/nope',
    ]);
  });
});

// ---- help --------------------------------------------------------------------------------

describe('swarmts secret --help', () => {
  it('lists and documents every secret command', async () => {
    const top = await swarmts(['--help']);
    expect(top.stdout).toMatch(/\n {2}secret +Manage swarm secrets/);
    const group = await swarmts(['secret', '--help']);
    expect(group.code).toBe(0);
    for (const name of ['create', 'ls|list', 'inspect', 'rm|remove']) {
      expect(group.stdout).toMatch(new RegExp(`\\n  ${name.replace('|', '\\|')} .*\\S`));
    }
    expect(group.stdout).not.toContain('help [command]');
    const create = await swarmts(['secret', 'create', '--help']);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('Usage: swarmts secret create [options] <secret> <file>');
    expect(create.stdout).toContain('-l, --label <key=value>');
    expect(create.stdout).toContain('STDIN');
    const inspect = await swarmts(['secret', 'inspect', '--help']);
    expect(inspect.stdout).toContain('Usage: swarmts secret inspect [options] <secret...>');
    expect(inspect.stdout).toContain('--pretty');
  });
});
