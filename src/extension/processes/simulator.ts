/** The bundled cluster simulator (`out/cluster-sim.js`) as a child process of the extension host. */
import type { ChildProcess } from 'node:child_process';
import { BundledProcess, type ProcessLogger } from './bundledProcess';

export type SimLogger = ProcessLogger;

export interface SimulatorOptions {
  /** Absolute path of `out/cluster-sim.js`. */
  script: string;
  scenario: string;
  seed?: number;
  bugs?: 'buggy' | 'fixed';
  /** More `cluster-sim` flags, e.g. `['--scale', 'incident']`. */
  extraArgs?: readonly string[];
  /** How long to wait for the `listening ws://…` line. */
  startTimeoutMs?: number;
  log: SimLogger;
}

export class BundledSimulator extends BundledProcess {
  private constructor(
    child: ChildProcess,
    url: string,
    token: string,
    readonly scenario: string,
  ) {
    super(child, url, token);
  }

  /** Spawns the simulator on a free loopback port with a fresh token; resolves once it listens. */
  static async start(opts: SimulatorOptions): Promise<BundledSimulator> {
    const args = ['--scenario', opts.scenario];
    if (opts.seed !== undefined) args.push('--seed', String(opts.seed));
    if (opts.bugs) args.push('--bugs', opts.bugs);
    if (opts.extraArgs) args.push(...opts.extraArgs);
    const { child, url, token } = await BundledProcess.spawn({
      script: opts.script,
      args,
      tokenEnv: 'CLUSTER_SIM_TOKEN',
      label: 'simulator',
      describe: `scenario ${opts.scenario}`,
      startTimeoutMs: opts.startTimeoutMs,
      log: opts.log,
    });
    return new BundledSimulator(child, url, token, opts.scenario);
  }
}
