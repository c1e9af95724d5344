/**
 * `swarmts agent`: the daemon, in the foreground. Logs go to stderr as JSON lines (pino);
 * SIGTERM/SIGINT stop it cleanly: the control socket stops accepting, Raft flushes, the
 * database closes, libp2p closes.
 */
import type { Command } from 'commander';
import { DEFAULT_SOCKET } from '../../api/client.js';
import { InvalidArgumentError } from '../../errors.js';
import { createLogger, type LogLevel } from '../../log.js';
import type { CliIo } from '../io.js';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

export interface AgentCommandDeps {
  io: CliIo;
}

interface AgentFlags {
  dataDir: string;
  listenAddr: string;
  advertiseAddr?: string;
  socket: string;
  dockerHost?: string;
  hostname?: string;
  logLevel: string;
}

export function agentCommand(program: Command, deps: AgentCommandDeps): void {
  program
    .command('agent')
    .description('Run the swarmts agent (the daemon) on this machine, in the foreground')
    .option('--data-dir <dir>', 'Where the node keeps its identity and state', '/var/lib/swarmts')
    .option('--listen-addr <host:port>', 'Address other nodes connect to', '0.0.0.0:4377')
    .option('--advertise-addr <ip|interface>', 'Address other nodes reach this one at')
    .option('--socket <path>', 'Control socket for the CLI (mode 0600)', DEFAULT_SOCKET)
    .option(
      '--docker-host <address>',
      'Docker engine (default: DOCKER_HOST or the standard socket)',
    )
    .option('--hostname <name>', "The node hostname shown in the swarm (default: the machine's)")
    .option('--log-level <level>', `One of ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (flags: AgentFlags) => {
      if (!LOG_LEVELS.includes(flags.logLevel)) {
        throw new InvalidArgumentError(
          `invalid --log-level ${flags.logLevel}: use ${LOG_LEVELS.join(', ')}`,
        );
      }
      const logger = createLogger({ level: flags.logLevel as LogLevel, stderr: true });
      const dockerHost = flags.dockerHost ?? deps.io.env.DOCKER_HOST;
      // Imported here, not above: the CLI's other commands never load libp2p or dockerode.
      const { Agent } = await import('../../agent/agent.js');
      const agent = await Agent.start({
        dataDir: flags.dataDir,
        listenAddr: flags.listenAddr,
        socketPath: flags.socket,
        logger,
        ...(flags.advertiseAddr ? { advertiseAddr: flags.advertiseAddr } : {}),
        ...(dockerHost ? { dockerHost } : {}),
        ...(flags.hostname ? { hostname: flags.hostname } : {}),
      });
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          agent
            .stop()
            .catch((error: unknown) => logger.error({ err: String(error) }, 'unclean shutdown'))
            .finally(resolve);
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
    });
}
