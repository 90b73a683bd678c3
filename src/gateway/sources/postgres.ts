/**
 * The gateway's PostgreSQL connection (the Quickwit metastore): the pool
 * config from the gateway config, with libpq's meanings of `sslmode` and the
 * password from the environment, and a pool that does what libpq's `prefer`
 * and `allow` do (try one way, then the other).
 *
 * The connection string is parsed here into host, port, user and database,
 * and never handed to `pg` as `connectionString`: `pg` overlays a parsed
 * connection string on the other options, and a URL without a password
 * parses to `''`, which replaced the password from `passwordEnv` (the login
 * then failed with "client password must be a string").
 *
 * `sslmode`, as libpq documents it (PostgreSQL 15, "SSL Support", table
 * "SSL Mode Descriptions"; `fe-connect.c`, `fe-secure-openssl.c`):
 * - `disable`: plaintext only.
 * - `allow`: plaintext first; TLS if the server refuses a plaintext login.
 * - `prefer` (libpq's default): TLS first; plaintext if the server does not
 *   offer TLS. The certificate is not checked unless a root CA is given.
 * - `require`: TLS only, the certificate not checked; with a root CA
 *   (`sslrootcert` or `tls.caFile`) it is checked as in `verify-ca`.
 * - `verify-ca`: TLS, the server's certificate chain checked against the CA;
 *   the host name is NOT compared with the certificate.
 * - `verify-full`: TLS, the chain and the host name checked.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, Pool, type PoolClient, type PoolConfig, type QueryResult, type QueryResultRow } from 'pg';
import type { PostgresConfig } from '../config';
import { redactUrls } from '../../protocol/redact';

export type PostgresConfigT = import('zod').infer<typeof PostgresConfig>;

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** What a connection will do: the pg config of the first try, and the fallback libpq's `allow`/`prefer` make. */
export interface PostgresPlan {
  sslmode: SslMode;
  /** The first try. */
  config: PoolConfig;
  /** `prefer`: plaintext when the server does not offer TLS; `allow`: TLS when the server refuses plaintext. */
  fallback?: PoolConfig;
  /** Said in the log and the subsystem's status (e.g. the certificate is not checked). */
  warnings: string[];
  /** The connection string without its password, for messages. */
  target: string;
}

/** A connection string's parameters libpq reads, as `pg` takes them (user, host, port, database, TLS files). */
function parseUrl(connectionString: string): { config: PoolConfig; params: URLSearchParams } {
  const url = new URL(connectionString);
  const params = url.searchParams;
  const decode = (s: string) => (s ? decodeURIComponent(s) : undefined);
  const config: PoolConfig = {};
  const host = params.get('host') ?? decode(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (host) config.host = host;
  const port = params.get('port') ?? url.port;
  if (port) config.port = Number(port);
  const user = params.get('user') ?? decode(url.username);
  if (user) config.user = user;
  const database = params.get('dbname') ?? decode(url.pathname.slice(1));
  if (database) config.database = database;
  const password = params.get('password') ?? decode(url.password);
  if (password) config.password = password;
  const applicationName = params.get('application_name');
  if (applicationName) config.application_name = applicationName;
  const options = params.get('options');
  if (options) config.options = options;
  return { config, params };
}

/**
 * The plan for one PostgreSQL config: where to connect, as whom, and how (libpq's sslmode).
 * `sslmode` comes from the config object, else the URL, else `PGSSLMODE`, else `prefer`; the
 * TLS files from `tls`, else the URL's `sslrootcert`/`sslcert`/`sslkey`, else `PGSSLROOTCERT` & co.
 */
export function postgresPlan(pg: PostgresConfigT, env: NodeJS.ProcessEnv = process.env): PostgresPlan {
  const cfg = typeof pg === 'string' ? { connectionString: pg } : pg;
  const { config, params } = parseUrl(cfg.connectionString);
  const target = redactUrls(cfg.connectionString);
  if ('passwordEnv' in cfg && cfg.passwordEnv) {
    const password = env[cfg.passwordEnv];
    if (password === undefined) throw new Error(`the environment variable ${cfg.passwordEnv} (postgres passwordEnv) is not set`);
    config.password = password;
  }
  const rawMode = ('sslmode' in cfg ? cfg.sslmode : undefined) ?? params.get('sslmode') ?? env.PGSSLMODE ?? 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(rawMode)) {
    throw new Error(`sslmode "${rawMode}" is not one of libpq's (${SSL_MODES.join(', ')})`);
  }
  const sslmode = rawMode as SslMode;
  const tls = 'tls' in cfg ? cfg.tls : undefined;
  const file = (configured: string | undefined, param: string, envName: string) => configured ?? params.get(param) ?? env[envName];
  const caFile = file(tls?.caFile, 'sslrootcert', 'PGSSLROOTCERT');
  const certFile = file(tls?.certFile, 'sslcert', 'PGSSLCERT');
  const keyFile = file(tls?.keyFile, 'sslkey', 'PGSSLKEY');
  const read = (f: string | undefined) => (f ? readFileSync(f, 'utf8') : undefined);
  const warnings: string[] = [];

  const ssl: ConnectionOptions = {};
  const ca = caFile === 'system' ? undefined : read(caFile);
  if (ca) ssl.ca = ca;
  const cert = read(certFile);
  const key = read(keyFile);
  if (cert) ssl.cert = cert;
  if (key) ssl.key = key;
  // libpq checks the chain whenever it has a root certificate (fe-secure-openssl.c: have_rootcert), in every mode but verify-full also without the host name.
  const verifyChain = tls?.verify !== false && (sslmode === 'verify-ca' || sslmode === 'verify-full' || caFile !== undefined);
  const verifyHost = tls?.verify !== false && sslmode === 'verify-full';
  ssl.rejectUnauthorized = verifyChain;
  if (!verifyHost) ssl.checkServerIdentity = () => undefined;
  if (tls?.verify === false && sslmode !== 'disable') {
    warnings.push(`PostgreSQL ${target}: the server's TLS certificate is not checked (tls.verify: false)`);
  } else if (!verifyChain && (sslmode === 'require' || sslmode === 'prefer' || sslmode === 'allow')) {
    warnings.push(
      `PostgreSQL ${target}: sslmode=${sslmode} without a root CA: the server's certificate is not checked (use verify-full with tls.caFile)`,
    );
  }

  const plain: PoolConfig = { ...config, ssl: false };
  const secure: PoolConfig = { ...config, ssl };
  switch (sslmode) {
    case 'disable':
      return {
        sslmode,
        config: plain,
        warnings: [...warnings, `PostgreSQL ${target}: sslmode=disable, the connection is not encrypted`],
        target,
      };
    case 'allow':
      return { sslmode, config: plain, fallback: secure, warnings, target };
    case 'prefer':
      return { sslmode, config: secure, fallback: plain, warnings, target };
    default:
      return { sslmode, config: secure, warnings, target };
  }
}

/** The PostgreSQL pool config of the first try (see `postgresPlan`). */
export function poolConfig(pg: PostgresConfigT, env: NodeJS.ProcessEnv = process.env): PoolConfig {
  return postgresPlan(pg, env).config;
}

/** The server answered an SSLRequest with 'N' (`ssl = off`). */
function noTls(err: unknown): boolean {
  return /does not support SSL/i.test(String((err as Error)?.message ?? err));
}
/** pg_hba.conf has only `hostssl` lines for this client (libpq's `allow` then retries with TLS). */
function needsTls(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '28000' && /no encryption|SSL off/i.test(e.message ?? '');
}

/** A PoolClient whose query past `queryTimeoutMs` ends the connection (a frozen server must not hold the next query). */
function guard(client: PoolClient): PoolClient {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const r = query(...args);
    if (r instanceof Promise) {
      return r.catch((err: unknown) => {
        if (/Query read timeout/.test(String((err as Error)?.message))) void client.end().catch(() => undefined);
        throw err;
      });
    }
    return r;
  };
  return client;
}

export interface PostgresPoolOptions {
  max?: number;
  connectionTimeoutMillis?: number;
  idleTimeoutMillis?: number;
  /** A query without an answer for this long fails, and its connection is dropped (pg's `query_timeout`). */
  queryTimeoutMillis?: number;
  /** A warning about the connection (`plan`: an unchecked certificate, sslmode=disable; `fallback`: prefer/allow took the other way). */
  warn?(key: 'plan' | 'fallback', message: string): void;
}

/**
 * A pg Pool that connects as libpq would with the config's `sslmode`: the first way, then (for
 * `prefer`/`allow`) the other one when the server says so. The choice holds for this pool;
 * a new pool (after a failure) tries the first way again.
 */
export class PostgresPool {
  readonly plan: PostgresPlan;
  private pool: Pool;
  private fellBack = false;

  constructor(
    pg: PostgresConfigT,
    private readonly options: PostgresPoolOptions = {},
  ) {
    this.plan = postgresPlan(pg);
    if (this.plan.warnings.length) options.warn?.('plan', this.plan.warnings.join('; '));
    this.pool = this.make(this.plan.config);
  }

  /** Whether the connection in use is encrypted (undefined before the first connection). */
  get encrypted(): boolean {
    const config = this.fellBack ? this.plan.fallback! : this.plan.config;
    return config.ssl !== false;
  }

  private make(config: PoolConfig): Pool {
    const pool = new Pool({
      ...config,
      max: this.options.max ?? 2,
      connectionTimeoutMillis: this.options.connectionTimeoutMillis ?? 10_000,
      idleTimeoutMillis: this.options.idleTimeoutMillis ?? 30_000,
      keepAlive: true,
      ...(this.options.queryTimeoutMillis ? { query_timeout: this.options.queryTimeoutMillis } : {}),
    });
    pool.on('error', () => undefined); // an idle client's error: the next query reports it
    return pool;
  }

  async connect(): Promise<PoolClient> {
    try {
      return guard(await this.pool.connect());
    } catch (err) {
      const fallback = this.plan.fallback;
      const switchNow = !this.fellBack && fallback && (this.plan.sslmode === 'prefer' ? noTls(err) : needsTls(err));
      if (!switchNow) throw err;
      this.fellBack = true;
      const old = this.pool;
      this.pool = this.make(fallback);
      void old.end().catch(() => undefined);
      this.options.warn?.(
        'fallback',
        this.plan.sslmode === 'prefer'
          ? `PostgreSQL ${this.plan.target}: the server does not offer TLS; connected in plaintext (sslmode=prefer; require or verify-full refuses that)`
          : `PostgreSQL ${this.plan.target}: the server refuses a plaintext login; connected with TLS (sslmode=allow)`,
      );
      return guard(await this.pool.connect());
    }
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    const client = await this.connect();
    let failed: Error | undefined;
    try {
      return await client.query<R>(text, values);
    } catch (err) {
      failed = err as Error;
      throw err;
    } finally {
      client.release(failed && /Query read timeout|terminated|ECONNRESET/.test(failed.message) ? failed : undefined);
    }
  }

  /**
   * Whether the server answers at all: a new connection and `SELECT 1`, within `timeoutMs`. A read
   * of many rows may rightly take long; a server that does not answer this (frozen, cut off) is
   * down. Undefined: it answered; else why not.
   */
  async probe(timeoutMs: number): Promise<string | undefined> {
    const config = this.fellBack ? this.plan.fallback! : this.plan.config;
    const client = new Client({ ...config, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      return /timeout/i.test(msg) ? `no answer within ${Math.round(timeoutMs / 1000)} s (${msg})` : msg;
    } finally {
      void client.end().catch(() => undefined);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
