import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerSpec } from '../../../src/state/service-types.js';
import {
  fileMounts,
  problemWith,
  taskFilesFor,
  withFileMounts,
} from '../../../src/worker/task-files.js';
import {
  listTaskFileDirs,
  removeTaskFiles,
  runningAsRoot,
  writeTaskFiles,
} from '../../../src/worker/task-files-store.js';
import { configRef, IMAGE, makeTask, secretRef } from './harness.js';

const DIR = '/var/lib/swarmts/task-files';

function taskWith(spec: Partial<ContainerSpec>, id = 't1') {
  return makeTask(id, { Spec: { ContainerSpec: { Image: IMAGE, ...spec } } });
}

describe('task files: paths and mounts', () => {
  it('puts a secret under /run/secrets, or at its absolute name, and a config at its name', () => {
    const task = taskWith({
      Secrets: [
        secretRef('db_password', 's1'),
        secretRef('tls', 's2', { Name: '/etc/tls/key.pem' }),
      ],
      Configs: [configRef('app.conf', 'c1'), configRef('rel', 'c2', { Name: 'etc/rel.conf' })],
    });
    const files = taskFilesFor(task, DIR);
    expect(files.map((f) => [f.key, f.hostPath, f.target])).toEqual([
      ['secret/s1', `${DIR}/t1/secrets/s1`, '/run/secrets/db_password'],
      ['secret/s2', `${DIR}/t1/secrets/s2`, '/etc/tls/key.pem'],
      ['config/c1', `${DIR}/t1/configs/c1`, '/app.conf'],
      ['config/c2', `${DIR}/t1/configs/c2`, '/etc/rel.conf'],
    ]);
    expect(fileMounts(files)).toEqual([
      {
        type: 'bind',
        source: `${DIR}/t1/secrets/s1`,
        target: '/run/secrets/db_password',
        readOnly: true,
      },
      { type: 'bind', source: `${DIR}/t1/secrets/s2`, target: '/etc/tls/key.pem', readOnly: true },
      { type: 'bind', source: `${DIR}/t1/configs/c1`, target: '/app.conf', readOnly: true },
      { type: 'bind', source: `${DIR}/t1/configs/c2`, target: '/etc/rel.conf', readOnly: true },
    ]);
  });

  it('keeps the mode and numeric owners of a reference, and defaults the mode to 0444', () => {
    const task = taskWith({
      Secrets: [
        secretRef('a', 's1', { Mode: 0o400, UID: '1000', GID: '50' }),
        { SecretID: 's2', SecretName: 'b', File: { Name: 'b', UID: 'www', GID: '' } as never },
      ],
    });
    const [a, b] = taskFilesFor(task, DIR);
    expect(a).toMatchObject({ mode: 0o400, uid: 1000, gid: 50 });
    expect(b?.mode).toBe(0o444);
    expect(b?.uid).toBeUndefined();
    expect(b?.gid).toBeUndefined();
  });

  it('gives two references to one secret a file each', () => {
    const task = taskWith({
      Secrets: [secretRef('k', 's1'), secretRef('k', 's1', { Name: 'copy', Mode: 0o400 })],
    });
    const files = taskFilesFor(task, DIR);
    expect(files.map((f) => f.hostPath)).toEqual([
      `${DIR}/t1/secrets/s1`,
      `${DIR}/t1/secrets/s1.1`,
    ]);
    expect(files.map((f) => f.target)).toEqual(['/run/secrets/k', '/run/secrets/copy']);
  });

  it('appends the mounts after the task own mounts, and leaves a spec without files alone', () => {
    const spec = {
      image: IMAGE,
      mounts: [{ type: 'volume' as const, source: 'data', target: '/data' }],
    };
    const task = taskWith({ Secrets: [secretRef('x', 's1')] });
    expect(withFileMounts(spec, taskFilesFor(task, DIR)).mounts?.map((m) => m.target)).toEqual([
      '/data',
      '/run/secrets/x',
    ]);
    expect(withFileMounts(spec, [])).toBe(spec);
  });
});

describe('task files: what stops a task', () => {
  const data = new Map([['secret/s1', new Uint8Array([1])]]);

  it('names a secret or config whose data is missing, never anything else', () => {
    expect(problemWith(taskWith({ Secrets: [secretRef('db_password', 's9')] }), DIR, data)).toBe(
      'secret db_password (id s9) is not available on this node',
    );
    expect(problemWith(taskWith({ Configs: [configRef('app.conf', 'c9')] }), DIR, data)).toBe(
      'config app.conf (id c9) is not available on this node',
    );
    expect(problemWith(taskWith({ Secrets: [secretRef('ok', 's1')] }), DIR, data)).toBeUndefined();
    expect(problemWith(taskWith({}), undefined, new Map())).toBeUndefined();
  });

  it('refuses files without a directory, unusable ids, and two files at one target', () => {
    const task = taskWith({ Secrets: [secretRef('ok', 's1')] });
    expect(problemWith(task, undefined, data)).toMatch(/no directory for task files/);
    const bad = taskWith({ Secrets: [secretRef('x', '../../etc')] });
    expect(problemWith(bad, DIR, new Map([['secret/../../etc', new Uint8Array()]]))).toBe(
      'secret x has an id that is not a usable file name',
    );
    const twice = taskWith({
      Secrets: [secretRef('ok', 's1', { Name: '/app.conf' })],
      Configs: [configRef('app.conf', 'c1')],
    });
    const both = new Map([...data, ['config/c1', new Uint8Array()]]);
    expect(problemWith(twice, DIR, both)).toBe(
      'secret ok and config app.conf both target /app.conf',
    );
  });
});

describe('task files on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmts-task-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bytes = (text: string) => new TextEncoder().encode(text);

  it('writes each file with its mode in private directories, and nothing else', async () => {
    const task = taskWith({
      Secrets: [secretRef('pw', 's1', { Mode: 0o400 })],
      Configs: [configRef('app.conf', 'c1', { Mode: 0o644 })],
    });
    const files = taskFilesFor(task, dir);
    const data = new Map([
      ['secret/s1', bytes('hunter2')],
      ['config/c1', bytes('port=80\n')],
    ]);
    expect(await writeTaskFiles(dir, 't1', files, data, { chown: false })).toBe(2);
    expect(await readFile(join(dir, 't1/secrets/s1'), 'utf8')).toBe('hunter2');
    expect(await readFile(join(dir, 't1/configs/c1'), 'utf8')).toBe('port=80\n');
    expect((await stat(join(dir, 't1/secrets/s1'))).mode & 0o7777).toBe(0o400);
    expect((await stat(join(dir, 't1/configs/c1'))).mode & 0o7777).toBe(0o644);
    for (const d of ['', 't1', 't1/secrets', 't1/configs']) {
      expect((await stat(join(dir, d))).mode & 0o777).toBe(0o700);
    }
    // No temporary file is left beside them.
    expect(await readdir(join(dir, 't1/secrets'))).toEqual(['s1']);
    expect(await listTaskFileDirs(dir)).toEqual(['t1']);
  });

  it.runIf(runningAsRoot())('gives the file the owner its reference asks for', async () => {
    const task = taskWith({ Secrets: [secretRef('pw', 's1', { UID: '1234', GID: '4321' })] });
    const data = new Map([['secret/s1', bytes('x')]]);
    await writeTaskFiles(dir, 't1', taskFilesFor(task, dir), data, { chown: true });
    const info = await stat(join(dir, 't1/secrets/s1'));
    expect([info.uid, info.gid]).toEqual([1234, 4321]);
  });

  it('rewrites only missing files when asked, and replaces a file whole otherwise', async () => {
    const task = taskWith({ Secrets: [secretRef('a', 's1'), secretRef('b', 's2')] });
    const files = taskFilesFor(task, dir);
    const data = new Map([
      ['secret/s1', bytes('one')],
      ['secret/s2', bytes('two')],
    ]);
    await writeTaskFiles(dir, 't1', files, data, { chown: false });
    await rm(join(dir, 't1/secrets/s2'));
    const changed = new Map([
      ['secret/s1', bytes('ONE')],
      ['secret/s2', bytes('TWO')],
    ]);
    const opts = { chown: false, onlyMissing: true };
    expect(await writeTaskFiles(dir, 't1', files, changed, opts)).toBe(1);
    expect(await readFile(join(dir, 't1/secrets/s1'), 'utf8')).toBe('one');
    expect(await readFile(join(dir, 't1/secrets/s2'), 'utf8')).toBe('TWO');
    // A read-only file (0444) is still replaced: rename does not need write permission on it.
    expect(await writeTaskFiles(dir, 't1', files, changed, { chown: false })).toBe(2);
    expect(await readFile(join(dir, 't1/secrets/s1'), 'utf8')).toBe('ONE');
  });

  it('removes a task directory, and an absent one is no error', async () => {
    const task = taskWith({ Secrets: [secretRef('a', 's1')] });
    const data = new Map([['secret/s1', bytes('one')]]);
    await writeTaskFiles(dir, 't1', taskFilesFor(task, dir), data, { chown: false });
    await writeFile(join(dir, 'stray-file'), 'not a task');
    await removeTaskFiles(dir, 't1');
    await removeTaskFiles(dir, 't1');
    await removeTaskFiles(dir, '..');
    expect(await listTaskFileDirs(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual(['stray-file']);
    expect(await listTaskFileDirs(join(dir, 'absent'))).toEqual([]);
  });
});
