import { Command, CommanderError } from 'commander';
import type { ApiClient } from '../api/client.js';
import { oneLineMessage } from '../errors.js';
import type { DockerRuntime } from '../runtime/index.js';
import { SWARMTS_VERSION } from '../version.js';
import { agentCommand } from './commands/agent.js';
import { configCommand } from './commands/config.js';
import { networkCommand } from './commands/network.js';
import { nodeCommand } from './commands/node.js';
import { secretCommand } from './commands/secret.js';
import { serviceCommand } from './commands/service.js';
import { stackCommand } from './commands/stack.js';
import { swarmCommands } from './commands/swarm.js';
import { versionCommand } from './commands/version.js';
import type { CliIo } from './io.js';

export interface CliDeps {
  io: CliIo;
  runtime?: (dockerHost: string | undefined) => DockerRuntime;
  /** The control API client for a socket path; tests may pass their own. */
  client?: (socketPath: string) => ApiClient;
}

/**
 * Builds the `swarmts` command tree. A command appears here when it works, not before.
 */
export function buildProgram(deps: CliDeps): Command {
  const program = new Command('swarmts')
    .description('A Swarm-style container orchestrator for small clusters and edge sites')
    .version(SWARMTS_VERSION, '-v, --version', 'Print the version and quit')
    .helpOption('-h, --help', 'Show help')
    .addHelpCommand(false)
    .option(
      '-H, --host <socket>',
      'Agent control socket (default: SWARMTS_HOST or /run/swarmts/swarmts.sock)',
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.io.stdout(text),
      writeErr: (text) => deps.io.stderr(text),
      // Commander's own errors ("error: unknown option") are reported by runCli instead.
      outputError: () => {},
    });

  agentCommand(program, { io: deps.io });
  swarmCommands(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  nodeCommand(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  serviceCommand(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  stackCommand(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  secretCommand(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  configCommand(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  networkCommand(program, { io: deps.io, ...(deps.client ? { client: deps.client } : {}) });
  versionCommand(program, {
    io: deps.io,
    // Imported when used: every other command would otherwise load dockerode for nothing.
    runtime:
      deps.runtime ??
      (async (dockerHost) => {
        const { DockerRuntime } = await import('../runtime/index.js');
        return new DockerRuntime(dockerHost ? { dockerHost } : {});
      }),
  });
  for (const command of program.commands)
    command.exitOverride().helpOption('-h, --help', 'Show help');
  return program;
}

/** Runs one command line; resolves to the process exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const program = buildProgram(deps);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, --version and a bare command group end the parse here, successfully.
      if (error.exitCode === 0 || error.code === 'commander.help') return 0;
      deps.io.stderr(`Error: ${error.message.replace(/^error: /, '')}. See 'swarmts --help'.\n`);
      return 1;
    }
    deps.io.stderr(`Error: ${oneLineMessage(error)}\n`);
    return 1;
  }
}
