import { describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../src/runtime/index.js';
import { SWARMTS_VERSION } from '../../../src/version.js';
import { swarmts } from '../../support/cli.js';

describe('swarmts version', () => {
  it('shows the client and the engine it found', async () => {
    const runtime = new DockerRuntime();
    const engine = await runtime.info();
    const result = await swarmts(['version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Client:\n Version:      ${SWARMTS_VERSION}\n`);
    expect(result.stdout).toContain(`Docker Engine:\n Endpoint:     ${runtime.endpoint}\n`);
    expect(result.stdout).toContain(` Version:      ${engine.version}\n`);
  });

  it('answers --format json and templates', async () => {
    const json = JSON.parse((await swarmts(['version', '--format', 'json'])).stdout);
    expect(json.Client.Version).toBe(SWARMTS_VERSION);
    expect(json.Engine.CPUs).toBeGreaterThan(0);
    const template = await swarmts(['version', '--format', '{{.Engine.ApiVersion}}']);
    expect(template.stdout).toMatch(/^1\.\d+\n$/);
  });

  it('prints the client, then fails with one line when the engine does not answer', async () => {
    const result = await swarmts(['version', '--docker-host', 'unix:///nonexistent.sock']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Version:      ${SWARMTS_VERSION}`);
    expect(result.stderr).toBe(
      'Error: Docker engine at unix:///nonexistent.sock is unreachable: ENOENT\n',
    );
  });
});
