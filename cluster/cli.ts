/**
 * Test hosts from a shell, for people and the demo (docs/test-hosts.md):
 *
 *   npx tsx cluster/cli.ts up --count 3      # prints the hosts; they stay until `down`
 *   npx tsx cluster/cli.ts ls
 *   npx tsx cluster/cli.ts exec host0 -- curl -s http://10.x.y.11:8080/
 *   npx tsx cluster/cli.ts cut host1 / restore host1
 *   npx tsx cluster/cli.ts down
 *
 * Runs made here are persistent: their record in /run/swarmts-test/runs/ is the state file, and
 * no process owns them, so the stale cleanup of tests leaves them alone.
 */
import '../src/polyfill.js';
import { spawn } from 'node:child_process';
import { Command, Option } from 'commander';
import type { Logger } from '../src/log.js';
import { commandEnv, tryRun } from './exec.js';
import { loadRuns, type RunRecord } from './registry.js';
import {
  cleanupStaleTestHosts,
  createTestHosts,
  openTestHosts,
  type TestHost,
  type TestHosts,
} from './test-hosts.js';

/** Progress on stderr, one line each: `message key=value ...`. */
function stderrLogger(bindings: Record<string, unknown> = {}): Logger {
  const write = (obj: object, msg?: string) => {
    const fields = Object.entries({ ...bindings, ...obj })
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    process.stderr.write(`${msg ?? ''}${fields ? ` ${fields}` : ''}\n`);
  };
  return {
    debug: () => {},
    info: write,
    warn: write,
    error: write,
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
}

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

async function linkState(veth: string): Promise<string> {
  const result = await tryRun('ip', ['-j', 'link', 'show', 'dev', veth]);
  if (result.code !== 0) return 'gone';
  const [link] = JSON.parse(result.stdout) as { flags?: string[] }[];
  return link?.flags?.includes('UP') ? 'up' : 'cut';
}

async function printRun(record: RunRecord, json: boolean): Promise<void> {
  if (json) {
    for (const host of record.hosts) {
      const line = {
        run: record.id,
        name: host.name,
        index: host.index,
        address: host.address,
        netns: host.netns,
        dockerHost: host.docker ? `unix://${host.docker.socketPath}` : null,
        dataDir: host.dataDir,
        veth: host.veth,
        link: await linkState(host.veth),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    return;
  }
  const owner = record.owner ? `owner pid ${record.owner.pid}` : 'persistent';
  process.stdout.write(
    `run ${record.id}  subnet ${record.subnet}  bridge ${record.bridge} ${record.bridgeAddress}  ${owner}\n`,
  );
  const rows = [['NAME', 'ADDRESS', 'LINK', 'NETNS', 'DOCKER_HOST', 'DATA_DIR']];
  for (const host of record.hosts) {
    rows.push([
      host.name,
      host.address,
      await linkState(host.veth),
      host.netns,
      host.docker ? `unix://${host.docker.socketPath}` : '-',
      host.dataDir,
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
}

/** The run a host command means: --run, else the only (or newest) run that has that host. */
async function findHost(name: string, runId?: string): Promise<{ run: TestHosts; host: TestHost }> {
  if (runId) {
    const run = await openTestHosts(runId);
    return { run, host: run.host(name) };
  }
  const records = (await loadRuns())
    .flatMap(({ record }) => (record ? [record] : []))
    .filter((record) => record.hosts.some((host) => host.name === name))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const newest = records[0];
  if (!newest) throw new Error(`no run has a host named ${name} (see \`ls\`)`);
  const run = await openTestHosts(newest.id);
  return { run, host: run.host(name) };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${value}`);
  return n;
}

function program(): Command {
  const cli = new Command('test-hosts')
    .description('Test hosts on this machine: network namespaces on a bridge, a dockerd each')
    .showHelpAfterError();

  cli
    .command('up')
    .description('create test hosts that stay until `down`')
    .addOption(new Option('-c, --count <n>', 'number of hosts').default(3).argParser(positiveInt))
    .option('--name <prefix>', 'host names are <prefix>0, <prefix>1, ...', 'host')
    .option('--subnet <cidr>', 'IPv4 subnet (default: a free 10.x.y.0/24)')
    .option('--no-docker', 'no dockerd on the hosts')
    .option('--json', 'one JSON line per host')
    .action(
      async (opts: {
        count: number;
        name: string;
        subnet?: string;
        docker: boolean;
        json?: boolean;
      }) => {
        const started = Date.now();
        const run = await createTestHosts({
          count: opts.count,
          name: opts.name,
          docker: opts.docker,
          persistent: true,
          logger: stderrLogger(),
          ...(opts.subnet ? { subnet: opts.subnet } : {}),
        });
        process.stderr.write(`up in ${Date.now() - started} ms\n`);
        await printRun(run.record, opts.json ?? false);
      },
    );

  cli
    .command('ls')
    .description('list runs and their hosts')
    .option('--json', 'one JSON line per host')
    .action(async (opts: { json?: boolean }) => {
      const runs = await loadRuns();
      if (runs.length === 0 && !opts.json) process.stderr.write('no test-host runs\n');
      for (const { id, record } of runs) {
        if (record) await printRun(record, opts.json ?? false);
        else process.stderr.write(`run ${id}: unreadable record\n`);
      }
    });

  cli
    .command('down')
    .description('destroy runs: the given ids, else every run made by `up`')
    .argument('[run...]', 'run ids (swtXXXX)')
    .option('--all', 'also runs owned by live processes (tests)')
    .action(async (ids: string[], opts: { all?: boolean }) => {
      const started = Date.now();
      let targets = ids;
      if (targets.length === 0) {
        targets = (await loadRuns())
          .filter(({ record }) => record && (opts.all || record.owner === null))
          .map(({ id }) => id);
      }
      if (targets.length === 0) process.stderr.write('nothing to destroy\n');
      for (const id of targets) {
        await (await openTestHosts(id, stderrLogger())).destroy();
      }
      await cleanupStaleTestHosts({ logger: stderrLogger() });
      if (targets.length > 0) process.stderr.write(`down in ${Date.now() - started} ms\n`);
    });

  for (const [name, description] of [
    ['cut', 'take a host off the network (its link goes down)'],
    ['restore', 'bring a cut host back'],
  ] as const) {
    cli
      .command(name)
      .description(description)
      .argument('<host>', 'host name, e.g. host1')
      .option('--run <id>', 'the run (default: the newest with that host)')
      .action(async (hostName: string, opts: { run?: string }) => {
        const { host } = await findHost(hostName, opts.run);
        await (name === 'cut' ? host.cut() : host.restore());
        process.stderr.write(
          `${host.name} (${host.address}) ${name === 'cut' ? 'cut' : 'restored'}\n`,
        );
      });
  }

  cli
    .command('exec')
    .description(
      'run a command inside a host (its network namespace), DOCKER_HOST set to its engine',
    )
    .argument('<host>', 'host name')
    .argument('<command...>', 'the command, after --')
    .option('--run <id>', 'the run (default: the newest with that host)')
    .action(async (hostName: string, argv: string[], opts: { run?: string }) => {
      const { host } = await findHost(hostName, opts.run);
      const [command, ...args] = argv;
      if (!command) throw new Error('no command given');
      const child = spawn('nsenter', [`--net=${host.netnsPath}`, '--', command, ...args], {
        stdio: 'inherit',
        env: commandEnv({ DOCKER_HOST: host.dockerHost }),
      });
      process.exitCode = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
      });
    });

  cli
    .command('cleanup')
    .description('remove leftovers of crashed runs (and with --all, every run made by `up`)')
    .option('--all', 'also persistent runs')
    .action(async (opts: { all?: boolean }) => {
      const report = await cleanupStaleTestHosts({
        includePersistent: opts.all ?? false,
        logger: stderrLogger(),
      });
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });

  return cli;
}

program()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`Error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  });
