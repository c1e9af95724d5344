import { describe, expect, it } from 'vitest';
import { SWARMTS_VERSION } from '../../../src/version.js';
import { swarmts } from '../../support/cli.js';

describe('swarmts command line', () => {
  it('prints its version', async () => {
    const result = await swarmts(['--version']);
    expect(result).toEqual({ code: 0, stdout: `${SWARMTS_VERSION}\n`, stderr: '' });
    expect(SWARMTS_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('lists the commands that work in --help', async () => {
    const result = await swarmts(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: swarmts \[options\] \[command\]/);
    expect(result.stdout).toMatch(/\n {2}version /);
  });

  it('has --help on every command', async () => {
    const result = await swarmts(['version', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: swarmts version [options]');
    expect(result.stdout).toContain('--format');
  });

  it('fails an unknown command with one Error line and exit code 1', async () => {
    const result = await swarmts(['bogus']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("Error: unknown command 'bogus'. See 'swarmts --help'.\n");
  });

  it('fails an unknown flag the same way', async () => {
    const result = await swarmts(['version', '--bogus']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: unknown option '--bogus'.*\n$/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a --format it does not know before doing anything', async () => {
    const result = await swarmts(['version', '--format', 'yaml']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: invalid --format "yaml": use json or a template such as '{{.ID}}'\n`,
    });
  });
});
