/** A `cluster-gateway` (`out/cluster-gateway.js`) started from a config file of the workspace, as a child process of the extension host. */
import type { ChildProcess } from 'node:child_process';
import { BundledProcess, type ProcessLogger } from './bundledProcess';

export interface GatewayOptions {
  /** Absolute path of `out/cluster-gateway.js`. */
  script: string;
  /** The config file (a local path). */
  config: string;
  /** The name the cluster is connected under. */
  name: string;
  startTimeoutMs?: number;
  log: ProcessLogger;
}

export class BundledGateway extends BundledProcess {
  private constructor(
    child: ChildProcess,
    url: string,
    token: string,
    readonly name: string,
    readonly config: string,
  ) {
    super(child, url, token);
  }

  static async start(opts: GatewayOptions): Promise<BundledGateway> {
    const { child, url, token } = await BundledProcess.spawn({
      script: opts.script,
      args: ['--config', opts.config],
      tokenEnv: 'CLUSTER_GATEWAY_TOKEN',
      label: `gateway ${opts.name}`,
      describe: opts.config,
      startTimeoutMs: opts.startTimeoutMs,
      log: opts.log,
    });
    return new BundledGateway(child, url, token, opts.name, opts.config);
  }
}
