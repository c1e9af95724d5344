/**
 * The swarm membership commands, with docker's wording: `swarmts init`, `join`, `join-token`
 * and `leave` (docker's `docker swarm init|join|join-token|leave`).
 */
import type { Command } from 'commander';
import { DEFAULT_PORT } from '../../agent/addresses.js';
import type { ApiClient } from '../../api/client.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Cluster, Node } from '../../state/types.js';
import { type AgentInfo, type ApiCommandDeps, apiClient } from '../api.js';

const ROLES = ['worker', 'manager'] as const;
type Role = (typeof ROLES)[number];

interface AddressFlags {
  advertiseAddr?: string;
  listenAddr?: string;
}

export function swarmCommands(program: Command, deps: ApiCommandDeps): void {
  program
    .command('init')
    .description('Initialize a swarm: this node becomes its first manager')
    .option('--advertise-addr <ip|interface>', 'Address other nodes reach this one at')
    .option('--listen-addr <host:port>', 'Address to listen on for other nodes')
    .option('--force-new-cluster', 'Force a new cluster from the current state (lone survivor)')
    .action(async (flags: AddressFlags & { forceNewCluster?: boolean }, command: Command) => {
      const client = apiClient(command, deps);
      const nodeId = await client.post<string>('/swarm/init', {
        ...addressBody(flags),
        ...(flags.forceNewCluster ? { ForceNewCluster: true } : {}),
      });
      deps.io.stdout(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
      deps.io.stdout(await joinCommandText(client, 'worker'));
      deps.io.stdout(
        "To add a manager to this swarm, run 'swarmts join-token manager' and follow the instructions.\n\n",
      );
    });

  program
    .command('join')
    .description('Join a swarm as a worker or a manager (the token decides)')
    .argument('<host:port>', 'Address of a manager of the swarm')
    .requiredOption('--token <token>', 'Token for entry into the swarm')
    .option('--advertise-addr <ip|interface>', 'Address other nodes reach this one at')
    .option('--listen-addr <host:port>', 'Address to listen on for other nodes')
    .action(async (remote: string, flags: AddressFlags & { token: string }, command: Command) => {
      if (flags.token.trim() === '') throw new InvalidArgumentError('the --token is empty');
      const client = apiClient(command, deps);
      await client.post('/swarm/join', {
        ...addressBody(flags),
        RemoteAddrs: [remote],
        JoinToken: flags.token,
      });
      const info = await client.get<AgentInfo>('/info');
      const role = info.Swarm.ControlAvailable ? 'manager' : 'worker';
      deps.io.stdout(`This node joined a swarm as a ${role}.\n`);
    });

  program
    .command('join-token')
    .description('Manage join tokens: print the command that joins a worker or a manager')
    .argument('<role>', 'worker or manager')
    .option('-q, --quiet', 'Only display the token')
    .option('--rotate', 'Rotate the join token')
    .action(
      async (roleArg: string, flags: { quiet?: boolean; rotate?: boolean }, command: Command) => {
        const role = ROLES.find((r) => r === roleArg);
        if (role === undefined) {
          throw new InvalidArgumentError(`unknown role ${roleArg} (use worker or manager)`);
        }
        const client = apiClient(command, deps);
        if (flags.rotate) {
          const cluster = await client.get<Cluster>('/swarm');
          // Only the tokens change: no spec in the body.
          await client.post('/swarm/update', undefined, {
            version: String(cluster.Version.Index),
            ...(role === 'worker' ? { rotateWorkerToken: 'true' } : { rotateManagerToken: 'true' }),
          });
          if (!flags.quiet) deps.io.stdout(`Successfully rotated ${role} join token.\n\n`);
        }
        if (flags.quiet) {
          const cluster = await client.get<Cluster>('/swarm');
          deps.io.stdout(`${tokenOf(cluster, role)}\n`);
        } else {
          deps.io.stdout(await joinCommandText(client, role));
        }
      },
    );

  program
    .command('leave')
    .description('Leave the swarm')
    .option('-f, --force', "Force this node to leave the swarm, ignoring warnings (a manager's)")
    .action(async (flags: { force?: boolean }, command: Command) => {
      await apiClient(command, deps).post(
        '/swarm/leave',
        undefined,
        flags.force ? { force: 'true' } : {},
      );
      deps.io.stdout('Node left the swarm.\n');
    });
}

function addressBody(flags: AddressFlags): { AdvertiseAddr?: string; ListenAddr?: string } {
  return {
    ...(flags.listenAddr !== undefined ? { ListenAddr: flags.listenAddr } : {}),
    ...(flags.advertiseAddr !== undefined ? { AdvertiseAddr: flags.advertiseAddr } : {}),
  };
}

function tokenOf(cluster: Cluster, role: Role): string {
  return role === 'worker' ? cluster.JoinTokens.Worker : cluster.JoinTokens.Manager;
}

/** Docker's printJoinCommand: the token from GET /swarm, the address of this manager. */
async function joinCommandText(client: ApiClient, role: Role): Promise<string> {
  const cluster = await client.get<Cluster>('/swarm');
  const address = await managerAddress(client);
  return (
    `To add a ${role} to this swarm, run the following command:\n\n` +
    `    swarmts join --token ${tokenOf(cluster, role)} ${address}\n\n`
  );
}

/**
 * host:port of the manager the CLI talks to: its entry in the agent's managers list, else
 * its ManagerStatus (what docker reads), else its advertised address on the default port.
 */
async function managerAddress(client: ApiClient): Promise<string> {
  const info = await client.get<AgentInfo>('/info');
  const self = info.Swarm.NodeID;
  const listed = (info.Swarm.RemoteManagers ?? []).find((m) => m.NodeID === self)?.Addr;
  if (listed) return listed;
  if (self) {
    const node = await client.get<Node>(`/nodes/${encodeURIComponent(self)}`);
    if (node.ManagerStatus?.Addr) return node.ManagerStatus.Addr;
  }
  return `${info.Swarm.NodeAddr}:${DEFAULT_PORT}`;
}
