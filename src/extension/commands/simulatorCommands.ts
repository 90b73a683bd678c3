/** `Cluster: Start/Stop Bundled Simulator`. */
import { window, workspace } from 'vscode';
import { BUNDLED_CLUSTER, isScenario } from '../../protocol/config';
import { errorText } from '../../protocol/format';
import { BugMode, SCENARIOS, ScenarioName } from '../../protocol/methods';
import { simulatorSettings } from '../config';
import { connect } from './connect';
import type { Ctx } from '../ctx';
import { BundledSimulator } from '../processes/simulator';

const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  healthy: 'No incident: every component agrees',
  'quickwit-dangling-shards': 'Shards: metastore shards the control plane never learnt about',
  'milvus-wal-close-blocked': 'WAL Nodes: a node stuck Terminating, its WAL recovering with appends in flight',
  'greptime-ddl-backlog': 'DDL Tasks: auto-create-table retries piling up procedures in etcd',
  'tikv-stale-prepared-region': 'Regions: a region left marked prepared after the write batch moved on',
  'fluvio-out-of-space-reverted': 'Partitions: Online again on a full disk after an SC–SPU link flap',
  'incident-all': 'All five incidents at once',
};

export interface StartSimulatorArgs {
  scenario?: ScenarioName;
  seed?: number;
  bugs?: BugMode;
}

/** Returns the simulator's URL once it is connected, or undefined if the user backed out. */
export async function startSimulator(ctx: Ctx, args?: StartSimulatorArgs): Promise<{ url: string } | undefined> {
  if (!workspace.isTrusted) {
    throw new Error(
      'Starting the bundled simulator runs a program, which is off in an untrusted workspace. Trust the workspace, or connect to a running cluster.',
    );
  }
  const settings = simulatorSettings();
  let scenario = args?.scenario;
  if (scenario !== undefined && !isScenario(scenario)) {
    throw new Error(`Unknown scenario "${scenario}". Known: ${SCENARIOS.join(', ')}.`);
  }
  if (args?.bugs !== undefined && !BugMode.safeParse(args.bugs).success)
    throw new Error(`bugs must be "buggy" or "fixed", not "${args.bugs}".`);
  if (!scenario) {
    const picked = await window.showQuickPick(
      // The default first: the pick highlights it, so Enter starts what the setting says.
      [settings.scenario, ...SCENARIOS.filter((s) => s !== settings.scenario)].map((s) => ({
        label: s,
        description: s === settings.scenario ? '(default)' : undefined,
        detail: SCENARIO_DESCRIPTIONS[s],
      })),
      { title: 'Start Bundled Simulator: pick a scenario', ignoreFocusOut: true },
    );
    if (!picked) return undefined;
    scenario = picked.label as ScenarioName;
  }

  // One simulator at a time: a new start replaces the old one (and its BUNDLED_CLUSTER connection).
  if (ctx.simulator?.running) await stopSimulator(ctx);

  const sim = await BundledSimulator.start({
    script: ctx.extension.asAbsolutePath('out/cluster-sim.js'),
    scenario,
    seed: args?.seed ?? settings.seed,
    bugs: args?.bugs,
    log: ctx.log,
  });
  ctx.simulator = sim;
  sim.onExit((code, signal) => {
    const expected = ctx.simulator !== sim;
    if (!expected) {
      ctx.simulator = undefined;
      ctx.log.error(`The bundled simulator exited unexpectedly (${signal ?? `code ${code}`}).`);
      void window.showWarningMessage('Cluster Debugger: the bundled simulator exited unexpectedly. See the log.');
    }
    ctx.simulatorChanged();
  });
  ctx.simulatorChanged();
  try {
    await connect(ctx, { name: BUNDLED_CLUSTER, url: sim.url, token: sim.token });
  } catch (err) {
    ctx.simulator = undefined;
    await sim.stop();
    throw err;
  }
  return { url: sim.url };
}

export async function stopSimulator(ctx: Ctx): Promise<void> {
  const sim = ctx.simulator;
  if (!sim) {
    void window.showInformationMessage('The bundled simulator is not running.');
    return;
  }
  ctx.simulator = undefined; // first, so that its exit is not reported as unexpected
  await ctx.api?.disconnect(BUNDLED_CLUSTER).catch((err) => ctx.log.warn(`Disconnecting ${BUNDLED_CLUSTER}: ${errorText(err)}`));
  await sim.stop();
  ctx.log.info('The bundled simulator stopped.');
  await ctx.refreshClusters();
  ctx.simulatorChanged();
}
