/**
 * Running system commands for the test-host harness. Everything goes through `execFile` with an
 * argument vector (never a shell string), and a failure says which command failed and what it
 * printed on stderr.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Exit code; null when the command was killed by a signal (e.g. on timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command after this long (SIGKILL). Default 30 s. */
  timeoutMs?: number;
  /** Extra environment on top of {@link commandEnv}. */
  env?: Record<string, string | undefined>;
  /** Text written to the command's stdin. */
  input?: string;
}

/** A command that could not run or exited with a non-zero code. */
export class CommandError extends Error {
  readonly command: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    command: readonly string[],
    result: CommandResult,
    reason?: string,
    options?: { cause?: unknown },
  ) {
    const why = reason ?? `exited with code ${result.code}`;
    const stderr = result.stderr.trim();
    super(`\`${command.join(' ')}\` ${why}${stderr ? `: ${stderr}` : ''}`, options);
    this.name = 'CommandError';
    this.command = command;
    this.code = result.code;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

const SBIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** PATH with the sbin directories (ip, iptables, dockerd, docker-proxy live there). */
export function commandPath(path = process.env.PATH ?? ''): string {
  const parts = path.split(':').filter(Boolean);
  for (const dir of SBIN_DIRS) if (!parts.includes(dir)) parts.push(dir);
  return parts.join(':');
}

/** The environment commands run with: ours, with a PATH that finds the sbin tools. */
export function commandEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, PATH: commandPath(extra.PATH ?? process.env.PATH) };
}

/** Runs a command; resolves with its result whatever the exit code, rejects if it cannot start. */
export function tryRun(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const argv = [command, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        env: commandEnv(options.env),
        timeout: options.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number') {
          resolve({ code, stdout, stderr });
          return;
        }
        const result = { code: null, stdout, stderr };
        if ((error as { killed?: boolean }).killed) {
          resolve(result);
          return;
        }
        // Could not start at all: ENOENT and friends.
        reject(
          new CommandError(argv, result, `could not run (${error.message})`, { cause: error }),
        );
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command and rejects with a {@link CommandError} unless it exits with code 0. */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const result = await tryRun(command, args, options);
  if (result.code !== 0) {
    const reason =
      result.code === null ? `was killed after ${options.timeoutMs ?? 30_000} ms` : undefined;
    throw new CommandError([command, ...args], result, reason);
  }
  return result;
}
