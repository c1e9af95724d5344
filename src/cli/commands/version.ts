import type { Command } from 'commander';
import { oneLineMessage } from '../../errors.js';
import type { ContainerRuntime, EngineInfo } from '../../runtime/types.js';
import { SWARMTS_VERSION } from '../../version.js';
import { parseFormat, renderTemplate } from '../format.js';
import type { CliIo } from '../io.js';

type Engine = ContainerRuntime & { endpoint: string };

export interface VersionDeps {
  io: CliIo;
  /**
   * The engine at `--docker-host` (or DOCKER_HOST, or the standard socket); may be a promise,
   * so that the engine client is loaded only by this command.
   */
  runtime: (dockerHost: string | undefined) => Engine | Promise<Engine>;
}

interface VersionReport {
  Client: { Version: string; NodeVersion: string; Os: string; Arch: string };
  Engine?: {
    Endpoint: string;
    Version: string;
    ApiVersion: string;
    Os: string;
    Arch: string;
    CPUs: number;
    MemoryBytes: number;
  };
}

export function versionCommand(program: Command, deps: VersionDeps): void {
  program
    .command('version')
    .description('Show the swarmts version and the Docker engine it drives')
    .option('-f, --format <format>', "'json', or a template such as '{{.Client.Version}}'")
    .option(
      '--docker-host <address>',
      'Docker engine address (default: DOCKER_HOST or unix:///var/run/docker.sock)',
    )
    .action(async (options: { format?: string; dockerHost?: string }) => {
      const format = parseFormat(options.format);
      const report: VersionReport = {
        Client: {
          Version: SWARMTS_VERSION,
          NodeVersion: process.version,
          Os: process.platform,
          Arch: process.arch,
        },
      };
      const runtime = await deps.runtime(options.dockerHost ?? deps.io.env.DOCKER_HOST);
      let engineError: unknown;
      try {
        report.Engine = engineSection(runtime.endpoint, await runtime.info());
      } catch (error) {
        engineError = error;
      }
      if (format.kind === 'json') deps.io.stdout(`${JSON.stringify(report)}\n`);
      else if (format.kind === 'template')
        deps.io.stdout(`${renderTemplate(format.template, report)}\n`);
      else deps.io.stdout(renderVersion(report));
      // As `docker version` does: print what is known, then fail on what is not.
      if (engineError) throw new Error(oneLineMessage(engineError));
    });
}

function engineSection(endpoint: string, info: EngineInfo): NonNullable<VersionReport['Engine']> {
  return {
    Endpoint: endpoint,
    Version: info.version,
    ApiVersion: info.apiVersion,
    Os: info.os,
    Arch: info.architecture,
    CPUs: info.cpus,
    MemoryBytes: info.memoryBytes,
  };
}

function renderVersion(report: VersionReport): string {
  const block = (title: string, fields: Array<[string, string]>) =>
    `${title}\n${fields.map(([k, v]) => ` ${`${k}:`.padEnd(14)}${v}`).join('\n')}\n`;
  let out = block('Client:', [
    ['Version', report.Client.Version],
    ['Node.js', report.Client.NodeVersion],
    ['OS/Arch', `${report.Client.Os}/${report.Client.Arch}`],
  ]);
  if (report.Engine) {
    const e = report.Engine;
    out += `\n${block('Docker Engine:', [
      ['Endpoint', e.Endpoint],
      ['Version', e.Version],
      ['API version', e.ApiVersion],
      ['OS/Arch', `${e.Os}/${e.Arch}`],
      ['CPUs', String(e.CPUs)],
      ['Memory', `${(e.MemoryBytes / 2 ** 30).toFixed(1)}GiB`],
    ])}`;
  }
  return out;
}
