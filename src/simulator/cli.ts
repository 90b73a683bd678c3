/**
 * `cluster-sim`: runs the reference cluster simulator on a WebSocket.
 *
 * Output contract (the extension and the tests wait for these lines):
 *   token: <token>              only when the token was generated here
 *   scenario: <name> seed <n> bugs <mode> (<entities> entities, built in <ms> ms)
 *   http: http://HOST:PORT ...   the same port's HTTP routes, as a gateway config names them
 *   metrics http://.../metrics   where Prometheus scrapes it (this port, or --metrics-port's)
 *   listening ws://HOST:PORT    once ready to accept connections
 * Usage errors print one line to stderr and exit 2.
 */
import { parseArgs } from 'node:util';
import { BugMode, ScenarioName, SCENARIOS, type ScenarioSize } from '../protocol';
import { startMetricsServer, type MetricsServer } from '../cluster/metrics';
import { hostAllowed } from '../cluster/server';
import { INCIDENT_SIZES } from './scenarios';
import { createEtcdMirror } from './mirrors/etcd';
import { createFluvioMirror } from './mirrors/fluvio';
import { startMirrors } from './mirrors/mirror';
import { createPostgresMirror } from './mirrors/postgres';
import { startSimulatorServer } from './server';

const USAGE = `usage: cluster-sim [--scenario NAME] [--seed N] [--bugs buggy|fixed] [--host H] [--port N] [--token T]
                   [--scale demo|incident] [--tick-ms N] [--allow-origin ORIGIN]... [--metrics-port N]
                   [--dangling-shards N] [--live-shards N] [--ddl-retries N] [--regions N] [--partitions N]
                   [--etcd URL] [--postgres URL] [--fluvio-metadata DIR]

Runs the reference cluster simulator (JSON-RPC over WebSocket).
  --scenario NAME   ${SCENARIOS.join(' | ')} (default healthy)
  --seed N          PRNG seed (default 1); the same seed gives the same trace
  --bugs MODE       buggy reproduces the incidents, fixed applies the upstream fixes (default buggy)
  --host H          interface to listen on (default 127.0.0.1)
  --port N          port (default 0: a free one)
  --token T         bearer token clients must send (default: $CLUSTER_SIM_TOKEN, else a random one, printed)
  --scale S         demo (default) or incident: 763,471 metastore shards, 3,000 live
  --tick-ms N       run the clock: one tick every N ms (default: the clock stands still)
  --allow-origin O  allow WebSocket upgrades from this browser Origin (repeatable; default none)
  --metrics-port N  serve GET /metrics (Prometheus) on this port of its own, 0: a free one (default: on --port)
  --etcd URL        mirror GreptimeDB's procedures and Milvus's metadata into this etcd, in their upstream layouts
  --postgres URL    mirror the Quickwit metastore into this PostgreSQL database (its upstream schema)
  --fluvio-metadata DIR  mirror Fluvio's SC metadata as YAML files into DIR (Partition/, Topic/, SPU/)
The simulator also serves the upstream HTTP routes a gateway reads (Quickwit's
/api/developer/debug, PD's /pd/api/v1/..., TiKV's /debug/ime/cached_regions).
Prints "listening ws://HOST:PORT" once ready; SIGINT/SIGTERM shut it down.`;

class UsageError extends Error {}

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        seed: { type: 'string' },
        bugs: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        token: { type: 'string' },
        scale: { type: 'string' },
        'tick-ms': { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        'metrics-port': { type: 'string' },
        'dangling-shards': { type: 'string' },
        'live-shards': { type: 'string' },
        'ddl-retries': { type: 'string' },
        regions: { type: 'string' },
        partitions: { type: 'string' },
        etcd: { type: 'string' },
        postgres: { type: 'string' },
        'fluvio-metadata': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  if (values.help) return { help: true as const };
  const scenario = ScenarioName.safeParse(values.scenario ?? 'healthy');
  if (!scenario.success) throw new UsageError(`unknown scenario "${values.scenario}"; one of: ${SCENARIOS.join(', ')}`);
  const bugs = BugMode.safeParse(values.bugs ?? 'buggy');
  if (!bugs.success) throw new UsageError(`--bugs must be buggy or fixed, got "${values.bugs}"`);
  if (values.scale !== undefined && values.scale !== 'demo' && values.scale !== 'incident') {
    throw new UsageError(`--scale must be demo or incident, got "${values.scale}"`);
  }
  if (values.token !== undefined && values.token.length === 0) throw new UsageError('--token must not be empty');
  const size: ScenarioSize = values.scale === 'incident' ? { ...INCIDENT_SIZES } : {};
  const sized: [keyof ScenarioSize, string][] = [
    ['danglingShards', 'dangling-shards'],
    ['liveShards', 'live-shards'],
    ['ddlRetries', 'ddl-retries'],
    ['regions', 'regions'],
    ['partitions', 'partitions'],
  ];
  for (const [field, flag] of sized) {
    const n = int(flag, values[flag as keyof typeof values] as string | undefined, 0, field === 'danglingShards' ? 5_000_000 : 1_000_000);
    if (n !== undefined) size[field] = n;
  }
  return {
    help: false as const,
    scenario: scenario.data,
    bugs: bugs.data,
    seed: int('seed', values.seed, -(2 ** 31), 2 ** 31 - 1) ?? 1,
    host: values.host ?? '127.0.0.1',
    port: int('port', values.port, 0, 65535) ?? 0,
    token: values.token,
    tickMs: int('tick-ms', values['tick-ms'], 1, 3_600_000),
    allowedOrigins: values['allow-origin'] ?? [],
    metricsPort: int('metrics-port', values['metrics-port'], 0, 65535),
    size,
    mirrors: { etcd: values.etcd, postgres: values.postgres, fluvio: values['fluvio-metadata'] },
  };
}

async function main(): Promise<void> {
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cluster-sim: ${err.message} (see --help)\n`);
      process.exit(2);
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const started = performance.now();
  let server;
  let metricsServer: MetricsServer | undefined;
  let listening = `${args.host}:${args.port}`;
  try {
    server = await startSimulatorServer({
      host: args.host,
      port: args.port,
      token: args.token,
      scenario: args.scenario,
      seed: args.seed,
      bugs: args.bugs,
      size: args.size,
      tickMs: args.tickMs,
      allowedOrigins: args.allowedOrigins,
      // As the gateway's --metrics-port: /metrics on a port of its own, and no longer on --port.
      ...(args.metricsPort === undefined ? {} : { metrics: false as const }),
    });
    if (args.metricsPort !== undefined) {
      listening = `${args.host}:${args.metricsPort}`;
      metricsServer = await startMetricsServer(server.simulator, { host: args.host, port: args.metricsPort, hostAllowed });
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`cluster-sim: cannot listen on ${listening}: ${e.code ?? e.message}\n`);
    await server?.close();
    process.exit(1);
  }
  let stopMirrors: () => Promise<void> = async () => undefined;
  try {
    const mirrors = [
      ...(args.mirrors.etcd ? [createEtcdMirror(args.mirrors.etcd)] : []),
      ...(args.mirrors.postgres ? [createPostgresMirror(args.mirrors.postgres)] : []),
      ...(args.mirrors.fluvio ? [createFluvioMirror(args.mirrors.fluvio)] : []),
    ];
    stopMirrors = await startMirrors(server.simulator, mirrors, (m) => process.stderr.write(`cluster-sim: ${m}\n`));
  } catch (err) {
    process.stderr.write(`cluster-sim: cannot mirror: ${(err as Error).message}\n`);
    await Promise.all([server.close(), metricsServer?.close()]);
    process.exit(1);
  }
  const status = server.simulator.status();
  const entities = Object.values(status.counts).reduce((a, b) => a + b, 0);
  if (server.tokenGenerated) process.stdout.write(`token: ${server.token}\n`);
  process.stdout.write(
    `scenario: ${status.scenario} seed ${status.seed} bugs ${args.bugs} (${entities} entities, built in ${Math.round(performance.now() - started)} ms)\n`,
  );
  // The upstream HTTP routes are on the same port: say what to write in a gateway's config.
  const http = server.url.replace(/^ws/, 'http');
  process.stdout.write(`http: ${http} (a gateway's quickwit.node and tikv.pd; tikv.tikvStatus ${http}/tikv/<storeId>)\n`);
  process.stdout.write(`metrics ${metricsServer?.url ?? `${http}/metrics`}\n`);
  process.stdout.write(`listening ${server.url}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`cluster-sim: ${signal}, shutting down\n`);
    void Promise.all([server.close(), metricsServer?.close(), stopMirrors()]).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Forked by the extension (an IPC channel exists): if the editor dies without
  // stopping us, the channel closes, and a simulator nobody can reach must not linger.
  if (process.send) process.on('disconnect', () => stop('parent gone'));
}

main().catch((err: Error) => {
  process.stderr.write(`cluster-sim: ${err.message}\n`);
  process.exit(1);
});
