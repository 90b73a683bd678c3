/**
 * The simulator's WebSocket endpoint: a simulator behind the cluster server
 * that every cluster (the gateway too) is served with.
 */
import type { BugMode, BugSettings, ScenarioName, ScenarioSize } from '../protocol';
import { startClusterServer, type ClusterServer, type ClusterServerOptions } from '../cluster/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveQuickwitRoute } from './http/quickwit';
import { serveTikvRoute } from './http/tikv';
import { Simulator } from './simulator';

export { CLOSE_NOT_READING, CLOSE_TOO_SLOW, DEFAULT_MAX_PAYLOAD } from '../cluster/server';

export interface SimulatorServerOptions extends Omit<ClusterServerOptions, 'tokenEnv'> {
  scenario?: ScenarioName;
  seed?: number;
  bugs?: BugMode | BugSettings;
  size?: ScenarioSize;
  /** Run the clock: one tick every `tickMs` ms. Default: the clock stands still. */
  tickMs?: number;
}

export interface SimulatorServer extends ClusterServer {
  readonly simulator: Simulator;
}

/** Token: `opts.token`, else `CLUSTER_SIM_TOKEN`, else a random one (printed by the CLI). */
export async function startSimulatorServer(opts: SimulatorServerOptions = {}): Promise<SimulatorServer> {
  const simulator = new Simulator();
  simulator.reset({ scenario: opts.scenario ?? 'healthy', seed: opts.seed, bugs: opts.bugs, size: opts.size });
  // The upstream HTTP routes a gateway reads, served in their real shape by the simulator.
  const http = (req: IncomingMessage, res: ServerResponse) =>
    serveQuickwitRoute(simulator, req, res) || serveTikvRoute(simulator, req, res);
  const server = await startClusterServer(simulator, { ...opts, tokenEnv: 'CLUSTER_SIM_TOKEN', http });
  const ticker = opts.tickMs && opts.tickMs > 0 ? setInterval(() => simulator.tick(1), opts.tickMs) : undefined;
  return {
    ...server,
    simulator,
    clientCount: () => server.clientCount(),
    close() {
      if (ticker) clearInterval(ticker);
      return server.close();
    },
  };
}
