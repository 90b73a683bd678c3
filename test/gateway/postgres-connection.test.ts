/**
 * The gateway's PostgreSQL connection against real PostgreSQL 15 servers with
 * scram-sha-256 and ssl=on (certificates made here with openssl): the
 * password from `passwordEnv`, each of libpq's sslmodes, and no credentials
 * in config URLs.
 */
import * as assert from 'node:assert/strict';
import { GatewayConfig } from '../../src/gateway/config';
import { PostgresPool, type PostgresConfigT } from '../../src/gateway/sources/postgres';
import { makeCerts, type TestCerts } from './certs';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const ENV = 'CD_TEST_PG_PASSWORD';

/** Connects as the config says; whether the session is encrypted (PostgreSQL's own pg_stat_ssl), and the warnings. */
async function connectWith(pg: PostgresConfigT): Promise<{ ssl: boolean; warnings: string[] }> {
  const warnings: string[] = [];
  const pool = new PostgresPool(pg, { max: 1, connectionTimeoutMillis: 5000, warn: (_key, w) => warnings.push(w) });
  try {
    const { rows } = await pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return { ssl: rows[0]!.ssl, warnings };
  } finally {
    await pool.end();
  }
}

describe('PostgreSQL connection: scram, ssl=on, libpq sslmodes', function () {
  this.timeout(120_000);
  let certs: TestCerts;
  /** scram + ssl=on, certificate for 127.0.0.1. */
  let tls: TestPostgres;
  /** scram + ssl=on with a certificate for db.example (host name mismatch), hostssl only. */
  let other: TestPostgres;
  /** trust, ssl=off. */
  let plain: TestPostgres;
  before(async function () {
    if (!postgresAvailable()) throw new Error('PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs it)');
    certs = makeCerts();
    [tls, other, plain] = await Promise.all([
      startPostgres({ password: PASSWORD, ssl: { certFile: certs.serverCert, keyFile: certs.serverKey } }),
      startPostgres({ password: PASSWORD, ssl: { certFile: certs.otherCert, keyFile: certs.otherKey }, sslOnly: true }),
      startPostgres(),
    ]);
    process.env[ENV] = PASSWORD;
  });
  after(async () => {
    delete process.env[ENV];
    await Promise.all([tls?.stop(), other?.stop(), plain?.stop()]);
    certs?.remove();
  });

  it('passwordEnv logs in with scram (the URL has no password), a wrong one is refused in words', async () => {
    assert.deepEqual((await connectWith({ connectionString: `${tls.url}?sslmode=require`, passwordEnv: ENV })).ssl, true);
    process.env.CD_TEST_PG_WRONG = 'not-it';
    try {
      await assert.rejects(connectWith({ connectionString: tls.url, passwordEnv: 'CD_TEST_PG_WRONG' }), /password authentication failed for user "postgres"/);
    } finally {
      delete process.env.CD_TEST_PG_WRONG;
    }
    await assert.rejects(connectWith({ connectionString: tls.url, passwordEnv: 'CD_TEST_PG_UNSET' }), /CD_TEST_PG_UNSET \(postgres passwordEnv\) is not set/);
  });

  it('disable: plaintext, said as a warning', async () => {
    const r = await connectWith({ connectionString: `${tls.url}?sslmode=disable`, passwordEnv: ENV });
    assert.equal(r.ssl, false);
    assert.match(r.warnings.join('\n'), /sslmode=disable, the connection is not encrypted/);
  });

  it('prefer (the default): TLS when offered; plaintext with a warning when the server has ssl=off', async () => {
    const r = await connectWith({ connectionString: tls.url, passwordEnv: ENV });
    assert.equal(r.ssl, true);
    assert.match(r.warnings.join('\n'), /sslmode=prefer without a root CA: the server's certificate is not checked/);
    const p = await connectWith(plain.url);
    assert.equal(p.ssl, false);
    assert.match(p.warnings.join('\n'), /does not offer TLS; connected in plaintext \(sslmode=prefer/);
  });

  it('require: TLS with a private CA it does not know; refused by a server without TLS; with a root CA, the chain is checked', async () => {
    assert.equal((await connectWith({ connectionString: `${tls.url}?sslmode=require`, passwordEnv: ENV })).ssl, true);
    await assert.rejects(connectWith(`${plain.url}?sslmode=require`), /does not support SSL/);
    await assert.rejects(
      connectWith({ connectionString: `${tls.url}?sslmode=require`, passwordEnv: ENV, tls: { caFile: certs.wrongCaFile, verify: true } }),
      /self.signed|unable to verify|unable to get local issuer/i,
    );
  });

  it('verify-ca: the chain is checked, the host name is not', async () => {
    const ca = { caFile: certs.caFile, verify: true };
    assert.equal((await connectWith({ connectionString: `${other.url}?sslmode=verify-ca`, passwordEnv: ENV, tls: ca })).ssl, true);
    await assert.rejects(
      connectWith({ connectionString: `${other.url}?sslmode=verify-ca`, passwordEnv: ENV, tls: { caFile: certs.wrongCaFile, verify: true } }),
      /unable to verify|unable to get local issuer|self.signed/i,
    );
  });

  it('verify-full: the chain and the host name are checked', async () => {
    const ca = { caFile: certs.caFile, verify: true };
    const r = await connectWith({ connectionString: `${tls.url}?sslmode=verify-full`, passwordEnv: ENV, tls: ca });
    assert.equal(r.ssl, true);
    assert.deepEqual(r.warnings, []);
    await assert.rejects(connectWith({ connectionString: other.url, sslmode: 'verify-full', passwordEnv: ENV, tls: ca }), /Hostname\/IP does not match certificate's altnames/);
  });

  it('allow: plaintext first, TLS when the server refuses a plaintext login (hostssl only)', async () => {
    assert.equal((await connectWith({ connectionString: `${tls.url}?sslmode=allow`, passwordEnv: ENV })).ssl, false);
    const r = await connectWith({ connectionString: `${other.url}?sslmode=allow`, passwordEnv: ENV });
    assert.equal(r.ssl, true);
    assert.match(r.warnings.join('\n'), /refuses a plaintext login; connected with TLS/);
  });

  it('the config refuses credentials in URLs, and an sslmode libpq does not know', () => {
    const errors = (input: unknown) =>
      JSON.stringify(GatewayConfig.safeParse(input).error?.issues.map((i) => i.message) ?? []);
    assert.match(errors({ quickwit: { postgres: 'postgres://qw:secret@db/qw', node: 'http://qw:7280' } }), /password in the connection string is refused.*passwordEnv/);
    assert.match(errors({ quickwit: { postgres: 'postgres://qw@db/qw', node: 'http://admin:pw@qw:7280' } }), /quickwit.node: credentials in a URL are refused/);
    assert.match(errors({ greptime: { etcd: { endpoints: ['https://root:pw@etcd:2379'] } } }), /an etcd endpoint: credentials in a URL are refused.*passwordEnv/);
    assert.match(errors({ tikv: { pd: 'http://u@pd:2379', tikvStatus: ['http://t:20180'] } }), /tikv.pd: credentials/);
    assert.match(errors({ quickwit: { postgres: 'postgres://qw@db/qw?sslmode=no-verify', node: 'http://qw:7280' } }), /sslmode must be one of libpq's/);
    assert.equal(GatewayConfig.safeParse({ quickwit: { postgres: { connectionString: 'postgres://qw@db/qw', sslmode: 'verify-ca', passwordEnv: 'X' }, node: 'http://qw:7280' } }).success, true);
  });
});
