/**
 * The set-up of the server suites that hold a request on its way to the cluster: the real language
 * server (LspHarness), the real simulator, and a BatchGate between them, started before each test and
 * stopped after it. The test connects the server to `gate.url` and lets the held request through with
 * `gate.release()`. No timing involved.
 */
import { BatchGate } from './batchGate';
import { LspHarness } from './lsp';
import { startSim, type RunningSim } from './sim';

/** Which request the gate holds (BatchGate.start's options): the `holdRepair`-th of `method` (default `repair`). */
export type Hold = Parameters<typeof BatchGate.start>[1];

export interface GatedServer {
  readonly lsp: LspHarness;
  readonly sim: RunningSim;
  readonly gate: BatchGate;
  /** Starts the simulator with `simArgs`, and the gate before it (for a suite whose tests each run their own scenario). */
  start(simArgs: string[]): Promise<void>;
}

/** The simulator's arguments for `count` dangling shards of one Quickwit source, and nothing else wrong. */
export function danglingShards(count: number): string[] {
  return ['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--dangling-shards', String(count)];
}

/**
 * Registers the suite's beforeEach/afterEach: a language server for each test and, with `simArgs`, the
 * simulator and the gate too (without, the test calls `start`). Read the fields inside the tests and hooks.
 */
export function useGatedServer(hold: Hold, simArgs?: string[]): GatedServer {
  let lsp: LspHarness | undefined;
  let sim: RunningSim | undefined;
  let gate: BatchGate | undefined;
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`the ${what} is not started (useGatedServer)`);
    return value;
  };
  const rig: GatedServer = {
    get lsp() {
      return started('language server', lsp);
    },
    get sim() {
      return started('simulator', sim);
    },
    get gate() {
      return started('gate', gate);
    },
    async start(args) {
      sim = await startSim(args);
      gate = await BatchGate.start(sim.url, hold);
    },
  };
  beforeEach(async () => {
    lsp = await LspHarness.start();
    if (simArgs) await rig.start(simArgs);
  });
  afterEach(async () => {
    await gate?.close();
    await lsp?.stop();
    await sim?.stop();
    lsp = undefined;
    sim = undefined;
    gate = undefined;
  });
  return rig;
}
