/**
 * `cluster-gateway`: a cluster over the real systems' own metadata stores,
 * speaking the same protocol as `cluster-sim`.
 *
 *   cluster-gateway --config FILE [--host 127.0.0.1] [--port 0] [--token T] [--metrics-port N]
 *
 * Prints `listening ws://HOST:PORT` (and `token: …` when it made one up).
 * The token comes from `--token`, else `CLUSTER_GATEWAY_TOKEN`, else a random one; with `users` in
 * the config, each user's token is checked against their hash instead.
 *
 *   cluster-gateway hash-token < token-file
 *
 * Prints the salted hash of the token read from stdin (never from the command line, where `ps` and
 * the shell's history would show it), for a user's `tokenHash`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeZodError, errorText } from '../protocol';
import { startMetricsServer, type MetricsServer } from '../cluster/metrics';
import { hostAllowed, startClusterServer } from '../cluster/server';
import { hashToken, usersAuth } from '../cluster/auth';
import { GatewayConfig, GatewayUsersFile } from './config';
import { parseConfigText } from './template';
import { createSourcesIsolated, Gateway } from './gateway';
import { createSources } from './sources';

const USAGE = `usage: cluster-gateway --config FILE [--host H] [--port N] [--token T] [--metrics-port N]
       cluster-gateway hash-token < FILE    (prints the hash of the token read from stdin, for a user's tokenHash)

  --config FILE     the gateway config (JSON): which stores to read each system from
  --host H          address to listen on (default 127.0.0.1)
  --port N          port (default 0: a free one)
  --token T         bearer token clients must send (default: $CLUSTER_GATEWAY_TOKEN, else a random one, printed);
                    not with "users" in the config (each user sends their own token)
  --metrics-port N  serve GET /metrics (Prometheus) on this port of its own (default: on --port; see "metrics" in the config)`;

class UsageError extends Error {}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        token: { type: 'string' },
        'metrics-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(errorText(err));
  }
  if (values.help) return { help: true as const };
  if (!values.config) throw new UsageError('--config FILE is required');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, not ${values.port}`);
  if (values.token !== undefined && values.token.length === 0) throw new UsageError('--token must not be empty');
  const metricsPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535))
    throw new UsageError(`--metrics-port must be 0–65535, not ${values['metrics-port']}`);
  return { help: false as const, config: values.config, host: values.host ?? '127.0.0.1', port, token: values.token, metricsPort };
}

function readConfig(file: string): GatewayConfig {
  let raw: unknown;
  try {
    raw = parseConfigText(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`);
  }
  const parsed = GatewayConfig.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${file} is not a gateway config: ${describeZodError(parsed.error)}`);
  // Paths in the config are relative to its folder.
  const config = { ...parsed.data, ...(parsed.data.journal ? { journal: resolve(dirname(file), parsed.data.journal) } : {}) };
  if (config.usersFile === undefined) return config;
  const usersFile = resolve(dirname(file), config.usersFile);
  let users: unknown;
  try {
    users = JSON.parse(readFileSync(usersFile, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read the users file ${usersFile}: ${(err as NodeJS.ErrnoException).code ?? 'not JSON'}`);
  }
  const parsedUsers = GatewayUsersFile.safeParse(users);
  if (!parsedUsers.success) throw new UsageError(`${usersFile} is not a users file: ${describeZodError(parsedUsers.error)}`);
  const all = [...(config.users ?? []), ...parsedUsers.data.users];
  const twice = all.find((u, i) => all.findIndex((v) => v.name === u.name) !== i);
  if (twice) throw new UsageError(`user ${twice.name} is listed twice (config and ${usersFile})`);
  return { ...config, users: all };
}

/** `cluster-gateway hash-token`: the token from stdin (one trailing newline dropped), its hash on stdout. */
async function hashTokenCommand(): Promise<void> {
  if (process.stdin.isTTY) process.stderr.write('cluster-gateway: type the token, then Enter and Ctrl-D\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const token = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (token.length === 0 || /[\s]/.test(token)) {
    process.stderr.write('cluster-gateway: hash-token reads one token from stdin: it is empty or has white space in it\n');
    process.exit(2);
  }
  process.stdout.write(`${await hashToken(token)}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'hash-token') {
    if (process.argv.length > 3) {
      process.stderr.write('cluster-gateway: hash-token takes no argument: it reads the token from stdin (see --help)\n');
      process.exit(2);
    }
    return hashTokenCommand();
  }
  let args;
  let config;
  try {
    args = parse(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    config = readConfig(args.config);
    if (config.users && args.token !== undefined)
      throw new UsageError('--token is not used with "users" in the config: each user sends their own token');
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cluster-gateway: ${err.message} (see --help)\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = (m: string) => process.stderr.write(`cluster-gateway: ${m}\n`);
  const gateway = new Gateway(config, createSourcesIsolated(config, createSources), log);
  await gateway.start();
  const metricsPort = args.metricsPort ?? config.metrics?.port;
  const metricsOwn = metricsPort !== undefined;
  let server;
  let metricsServer: MetricsServer | undefined;
  let listening = `${args.host}:${args.port}`;
  try {
    server = await startClusterServer(gateway, {
      host: args.host,
      port: args.port,
      token: args.token,
      tokenEnv: 'CLUSTER_GATEWAY_TOKEN',
      allowedOrigins: config.allowedOrigins,
      ...(config.users ? { authenticate: usersAuth(config.users) } : {}),
      metrics: metricsOwn ? false : { requireToken: config.metrics?.requireToken, checkIntervalMs: config.metrics?.checkIntervalMs },
    });
    if (metricsOwn) {
      const s = server;
      const host = config.metrics?.host ?? args.host;
      listening = `${host}:${metricsPort}`;
      metricsServer = await startMetricsServer(gateway, {
        host,
        port: metricsPort,
        hostAllowed,
        checkIntervalMs: config.metrics?.checkIntervalMs,
        ...(config.metrics?.requireToken ? { authorize: (req) => s.authorizes(req) } : {}),
      });
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`cluster-gateway: cannot listen on ${listening}: ${e.code ?? e.message}\n`);
    await Promise.all([server?.close(), gateway.close()]);
    process.exit(1);
  }
  if (server.tokenGenerated) process.stdout.write(`token: ${server.token}\n`);
  process.stdout.write(`${config.repairs ? 'repairs allowed (conditional)' : 'read-only'}\n`);
  if (config.users) {
    const byRole = (role: string) => config.users!.filter((u) => u.role === role).map((u) => u.name);
    process.stdout.write(`users: operators ${byRole('operator').join(', ') || 'none'}; viewers ${byRole('viewer').join(', ') || 'none'}\n`);
  }
  process.stdout.write(`listening ${server.url}\n`);
  process.stdout.write(`metrics ${metricsServer?.url ?? `${server.url.replace(/^ws:/, 'http:')}/metrics`}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}, shutting down`);
    void Promise.all([server.close(), metricsServer?.close(), gateway.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Forked by the extension: if the editor dies, the IPC channel closes and the gateway goes too.
  if (process.send) process.on('disconnect', () => stop('parent gone'));
}

main().catch((err: Error) => {
  process.stderr.write(`cluster-gateway: ${err.message}\n`);
  process.exit(1);
});
