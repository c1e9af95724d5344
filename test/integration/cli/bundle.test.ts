/**
 * The file users run is the bundle (scripts/bundle.mjs), not the tsc output the other CLI
 * tests import: it must carry the package's version, reach the engine through the bundled
 * dockerode, and load the lazily imported parts (here the Compose loader) from its chunks.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SWARMTS_VERSION } from '../../../src/version.js';

const BUNDLE = resolve(import.meta.dirname, '../../../dist/bundle/swarmts.js');
const run = promisify(execFile);

async function bundled(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BUNDLE, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the bundled swarmts', () => {
  it('reports the package version and the engine', async () => {
    const result = await bundled(['version', '--format', 'json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.Client.Version).toBe(SWARMTS_VERSION);
    expect(report.Engine.ApiVersion).toMatch(/^1\.\d+$/);
  });

  it('loads the Compose loader when a stack is deployed, and reports a bad file in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmts-bundle-'));
    try {
      const file = join(dir, 'stack.yml');
      await writeFile(file, 'services:\n  web:\n    image: [not, a, string]\n');
      const result = await bundled([
        '-H',
        join(dir, 'absent.sock'),
        'stack',
        'deploy',
        '-c',
        file,
        'demo',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Error: .*services\.web\.image.*\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
