/**
 * The demo's cluster part: three test hosts on this machine (each its own network namespace,
 * address and dockerd), a swarmts agent on each, and the CLI a user would type — init, join
 * as a manager and as a worker, node ls — then a host's link cut and restored, so the node
 * goes Down and comes back Ready. Everything is torn
 * down at the end.
 */
import '../src/polyfill.js';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { TestAgent, waitUntil } from '../cluster/agents.js';
import { createTestHosts } from '../cluster/test-hosts.js';

const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');
const NAMES = ['node1', 'node2', 'node3'];

function swarmts(agent: TestAgent, args: string[], quiet = false): Promise<string> {
  const shown = args.map((a) => (/[\s{}]/.test(a) ? `'${a}'` : a)).join(' ');
  if (!quiet) console.log(`\n[${agent.name}]$ swarmts ${shown}`);
  return new Promise((resolvePromise, reject) => {
    execFile(
      CLI,
      args,
      { env: { ...process.env, SWARMTS_HOST: agent.socket } },
      (error, out, err) => {
        if (!quiet) process.stdout.write(out + err);
        if (error) reject(new Error(`swarmts ${args.join(' ')} failed: ${err.trim()}`));
        else resolvePromise(out);
      },
    );
  });
}

async function main(): Promise<void> {
  console.log('Creating three test hosts (network namespaces, each with its own dockerd)...');
  const hosts = await createTestHosts({ count: 3, name: 'demo' });
  const agents = hosts.hosts.map(
    (host, i) =>
      new TestAgent({
        name: NAMES[i]!,
        dir: `${host.dataDir}/swarmts`,
        listen: `${host.address}:4377`,
        dockerHost: host.dockerHost,
        launcher: (command, args) =>
          host.spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] }),
      }),
  );
  const [a1, a2, a3] = agents as [TestAgent, TestAgent, TestAgent];
  try {
    for (const [i, host] of hosts.hosts.entries()) {
      console.log(`  ${NAMES[i]}: ${host.address}, engine ${host.dockerHost}`);
    }
    await Promise.all(agents.map((a) => a.start(30_000)));
    const manager = `${hosts.hosts[0]!.address}:4377`;
    await swarmts(a1, ['init', '--advertise-addr', hosts.hosts[0]!.address]);
    const managerToken = (await swarmts(a1, ['join-token', '-q', 'manager'], true)).trim();
    const workerToken = (await swarmts(a1, ['join-token', '-q', 'worker'], true)).trim();
    await swarmts(a2, ['join', '--token', managerToken, manager]);
    await swarmts(a3, ['join', '--token', workerToken, manager]);
    await waitUntil(
      async () => (await a1.nodes()).every((n) => n.Status.State === 'ready'),
      20_000,
    );
    await swarmts(a2, ['node', 'ls']);
    await swarmts(a1, [
      'node',
      'update',
      '--label-add',
      'zone=edge',
      '--availability',
      'drain',
      'node3',
    ]);
    await swarmts(a1, [
      'node',
      'inspect',
      '--format',
      '{{.Spec.Availability}} {{json .Spec.Labels}}',
      'node3',
    ]);

    console.log('\nCutting node3 off the network...');
    const cutAt = Date.now();
    await hosts.hosts[2]!.cut();
    await waitUntil(async () => (await a1.node('node3')).Status.State === 'down', 20_000);
    console.log(`node3 shown Down after ${((Date.now() - cutAt) / 1000).toFixed(1)} s`);
    await swarmts(a1, ['node', 'ls']);
    await hosts.hosts[2]!.restore();
    await waitUntil(async () => (await a1.node('node3')).Status.State === 'ready', 20_000);
    console.log('\nnode3 restored:');
    await swarmts(a1, ['node', 'ls']);
  } finally {
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    await hosts.destroy();
    console.log('\nTest hosts removed.');
  }
}

main().catch((error: unknown) => {
  console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
