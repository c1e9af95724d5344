/**
 * Where a node keeps its tasks' secrets and configs: the rule (pure), the probe of /dev/shm,
 * and the agent's choice with its one warning when the files would be on disk.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/log.js';
import {
  chooseTaskFilesDir,
  defaultTaskFilesDir,
  memoryNodeDir,
  mountType,
  nodeDirName,
  probeMemoryFs,
} from '../../../src/worker/task-files-dir.js';

const NODE_ID = '12D3KooWQnR8cKx7yVh2pLmN4sT6uZ9aBcDeFgHiJk';
const DATA_DIR = '/var/lib/swarmts';

class RecordingLogger implements Logger {
  readonly warnings: Array<{ obj: object; msg?: string }> = [];
  debug = () => {};
  info = () => {};
  warn = (obj: object, msg?: string) => {
    this.warnings.push({ obj, ...(msg !== undefined ? { msg } : {}) });
  };
  error = () => {};
  child = (): Logger => this;
}

describe('task files directory: the rule', () => {
  it.each([
    [true, true, `/dev/shm/swarmts/${NODE_ID.slice(-16)}/task-files`, true],
    [true, false, `${DATA_DIR}/task-files`, false],
    [false, false, `${DATA_DIR}/task-files`, false],
    [false, true, `${DATA_DIR}/task-files`, false],
  ])('exists=%s tmpfs=%s: %s', (exists, isTmpfs, dir, inMemory) => {
    const choice = chooseTaskFilesDir({
      nodeId: NODE_ID,
      dataDir: DATA_DIR,
      shm: { exists, isTmpfs },
    });
    expect(choice).toEqual({ dir, inMemory });
  });

  it('names the node by the last 16 characters of its id, never anything that leaves the directory', () => {
    expect(nodeDirName(NODE_ID)).toBe(NODE_ID.slice(-16));
    expect(nodeDirName('short')).toBe('short');
    expect(nodeDirName('a/../../etc')).toBe('a....etc');
    expect(nodeDirName('..')).toBe('node');
    expect(nodeDirName('')).toBe('node');
    expect(nodeDirName(`${'x'.repeat(20)}-.abc`)).toBe('xxxxxxxxxxx-.abc');
    expect(nodeDirName('---------------------abc')).toBe('abc');
    // Stable: the same id gives the same directory after a restart.
    expect(memoryNodeDir(NODE_ID)).toBe(memoryNodeDir(NODE_ID));
  });

  it('reads the type of a mount from /proc/mounts, the last mount winning', () => {
    const mounts = [
      'proc /proc proc rw,nosuid 0 0',
      'shm /dev/shm ext4 rw 0 0',
      'tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0',
      'tmpfs /dev/shm/x tmpfs rw 0 0',
    ].join('\n');
    expect(mountType(mounts, '/dev/shm')).toBe('tmpfs');
    expect(mountType('shm /dev/shm ext4 rw 0 0\n', '/dev/shm')).toBe('ext4');
    expect(mountType(mounts, '/nowhere')).toBeUndefined();
  });

  it('probes: a missing directory, and a directory that is not a tmpfs', () => {
    expect(probeMemoryFs('/no/such/dir')).toEqual({ exists: false, isTmpfs: false });
    const dir = mkdtempSync(join(tmpdir(), 'swarmts-probe-'));
    try {
      const probed = probeMemoryFs(dir);
      expect(probed.exists).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const shm = probeMemoryFs();
const made: string[] = [];

afterEach(() => {
  for (const path of made.splice(0)) rmSync(path, { recursive: true, force: true });
});

describe('task files directory: the agent default', () => {
  it('falls back to the data directory with one warning when /dev/shm is not a tmpfs', () => {
    const logger = new RecordingLogger();
    const dir = defaultTaskFilesDir(NODE_ID, DATA_DIR, logger, () => ({
      exists: true,
      isTmpfs: false,
    }));
    expect(dir).toBe(`${DATA_DIR}/task-files`);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]?.msg).toMatch(/written to disk/);
  });

  it.skipIf(!shm.isTmpfs)(
    'uses a private directory of its own on /dev/shm, without a warning',
    () => {
      const nodeId = `test-${randomBytes(8).toString('hex')}`;
      const logger = new RecordingLogger();
      made.push(memoryNodeDir(nodeId));
      const dir = defaultTaskFilesDir(nodeId, DATA_DIR, logger);
      expect(dir).toBe(join(memoryNodeDir(nodeId), 'task-files'));
      expect(logger.warnings).toEqual([]);
      for (const path of ['/dev/shm/swarmts', memoryNodeDir(nodeId)]) {
        const stats = lstatSync(path);
        expect(stats.isDirectory()).toBe(true);
        expect(stats.mode & 0o777).toBe(0o700);
        expect(stats.uid).toBe(process.getuid?.());
      }
    },
  );

  it.skipIf(!shm.isTmpfs)('refuses a node directory that is a symlink, and warns', () => {
    const nodeId = `test-${randomBytes(8).toString('hex')}`;
    const elsewhere = mkdtempSync(join(tmpdir(), 'swarmts-elsewhere-'));
    made.push(elsewhere);
    // The parent is made (and checked) first, as by an earlier agent.
    const other = `test-${randomBytes(8).toString('hex')}`;
    made.push(memoryNodeDir(other));
    defaultTaskFilesDir(other, DATA_DIR, new RecordingLogger());
    symlinkSync(elsewhere, memoryNodeDir(nodeId));
    made.push(memoryNodeDir(nodeId));
    const logger = new RecordingLogger();
    expect(defaultTaskFilesDir(nodeId, DATA_DIR, logger)).toBe(`${DATA_DIR}/task-files`);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]?.msg).toMatch(/cannot use \/dev\/shm/);
  });
});
