/**
 * The gateway's PostgreSQL connection against real PostgreSQL 15 servers with
 * scram-sha-256 and ssl=on (certificates made here with openssl): the
 * password from `passwordEnv`, each of libpq's sslmodes, and no credentials
 * in config URLs.
 */
import * as assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { QUICKWIT_SCHEMA_SQL } from '../../src/codecs/quickwit';
import { GatewayConfig } from '../../src/gateway/config';
import { Gateway } from '../../src/gateway/gateway';
import { createSources } from '../../src/gateway/sources';
import type { EventsNotification, SubsystemHealth } from '../../src/protocol';
import { PostgresMirror } from '../../src/simulator/mirrors/postgres';
import { Simulator } from '../../src/simulator/simulator';
import { PostgresPool, type PostgresConfigT } from '../../src/gateway/sources/postgres';
import { makeCerts, type TestCerts } from './certs';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';
import { testSecret } from '../secrets';

const PASSWORD = testSecret('pg-password');
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

/** A Quickwit node's debug route with no nodes (`{}`), which can stop answering (as a SIGSTOPped node does) and resume. */
async function fakeNode(): Promise<{ url: string; requests(): number; freeze(on: boolean): void; close(): Promise<void> }> {
  let frozen = false;
  let requests = 0;
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    if (frozen) held.push(res);
    else res.end('{}');
  });
  // Like a node frozen past its keep-alive timeout: on resume, idle kept-alive connections are closed.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests: () => requests,
    freeze(on) {
      frozen = on;
      if (!on) {
        server.closeIdleConnections();
        for (const res of held.splice(0)) res.end('{}');
      }
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function waitFor(what: string, get: () => SubsystemHealth, ok: (h: SubsystemHealth) => boolean, deadlineMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (ok(get())) return Date.now() - started;
    if (Date.now() - started > deadlineMs) assert.fail(`${what} not within ${deadlineMs} ms: ${JSON.stringify(get())}`);
    await new Promise((r) => setTimeout(r, 100));
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
      await assert.rejects(
        connectWith({ connectionString: tls.url, passwordEnv: 'CD_TEST_PG_WRONG' }),
        /password authentication failed for user "postgres"/,
      );
    } finally {
      delete process.env.CD_TEST_PG_WRONG;
    }
    await assert.rejects(
      connectWith({ connectionString: tls.url, passwordEnv: 'CD_TEST_PG_UNSET' }),
      /CD_TEST_PG_UNSET \(postgres passwordEnv\) is not set/,
    );
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
      connectWith({
        connectionString: `${other.url}?sslmode=verify-ca`,
        passwordEnv: ENV,
        tls: { caFile: certs.wrongCaFile, verify: true },
      }),
      /unable to verify|unable to get local issuer|self.signed/i,
    );
  });

  it('verify-full: the chain and the host name are checked', async () => {
    const ca = { caFile: certs.caFile, verify: true };
    const r = await connectWith({ connectionString: `${tls.url}?sslmode=verify-full`, passwordEnv: ENV, tls: ca });
    assert.equal(r.ssl, true);
    assert.deepEqual(r.warnings, []);
    await assert.rejects(
      connectWith({ connectionString: other.url, sslmode: 'verify-full', passwordEnv: ENV, tls: ca }),
      /Hostname\/IP does not match certificate's altnames/,
    );
  });

  it('allow: plaintext first, TLS when the server refuses a plaintext login (hostssl only)', async () => {
    assert.equal((await connectWith({ connectionString: `${tls.url}?sslmode=allow`, passwordEnv: ENV })).ssl, false);
    const r = await connectWith({ connectionString: `${other.url}?sslmode=allow`, passwordEnv: ENV });
    assert.equal(r.ssl, true);
    assert.match(r.warnings.join('\n'), /refuses a plaintext login; connected with TLS/);
  });

  it('a frozen PostgreSQL or Quickwit node (no answer) is unavailable within 10 s, ok again within 10 s of resuming; the password nowhere', async () => {
    const dbUrl = await tls.createDatabase('qwfrozen');
    const c = new Client(tls.clientConfig('qwfrozen'));
    await c.connect();
    await c.query(QUICKWIT_SCHEMA_SQL);
    await c.end();
    const node = await fakeNode();
    const config = GatewayConfig.parse({
      quickwit: { postgres: { connectionString: `${dbUrl}?sslmode=require`, passwordEnv: ENV }, node: node.url },
      pollMs: 1000,
    });
    const logs: string[] = [];
    const gateway = new Gateway(config, createSources(config), (m) => logs.push(m));
    const shards = () => gateway.status().subsystems!.shards!;
    try {
      await gateway.start(20_000);
      await waitFor('shards ok', shards, (h) => h.state === 'ok', 10_000);
      assert.match((shards().warnings ?? []).join('\n'), /sslmode=require without a root CA: the server's certificate is not checked/);
      for (const [what, freeze] of [
        ['PostgreSQL', (on: boolean) => tls.freeze(on)],
        ['the node', (on: boolean) => node.freeze(on)],
      ] as const) {
        let frozen = true;
        freeze(true);
        try {
          const down = await waitFor(`${what} frozen: unavailable`, shards, (h) => h.state === 'unavailable', 10_000);
          console.log(`      ${what} frozen: unavailable after ${down} ms (${shards().reason})`);
          // The node: frozen while 2 more polls fail (the backoff grows to its cap meanwhile). PostgreSQL: the poll waits on it.
          const before = node.requests();
          await waitFor(
            'more failed polls',
            shards,
            (h) => (assert.equal(h.state, 'unavailable'), what === 'PostgreSQL' || node.requests() >= before + 2),
            30_000,
          );
          freeze(false);
          frozen = false;
          const up = await waitFor(`${what} resumed: ok`, shards, (h) => h.state === 'ok', 10_000);
          console.log(`      ${what} resumed: ok after ${up} ms`);
          // ... and stays ok for two more polls: no failure after it resumed (a stale kept-alive connection is not one).
          const after = logs.length;
          const polled = node.requests();
          await waitFor('two more polls', shards, () => node.requests() >= polled + 2, 10_000);
          assert.ok(!logs.slice(after).some((l) => /shards: unavailable/.test(l)), logs.slice(after).join('\n'));
        } finally {
          if (frozen) freeze(false);
        }
      }
      assert.ok(!logs.join('\n').includes(PASSWORD));
      assert.ok(!JSON.stringify(gateway.status()).includes(PASSWORD));
    } finally {
      await gateway.close();
      await node.close();
    }
  });

  it('cluster-sim --postgres: a lost connection (PostgreSQL restarted) is dropped, and the mirror syncs again on a new one', async () => {
    const db = await plain.createDatabase('mirror');
    const sim = new Simulator();
    sim.reset({ scenario: 'quickwit-dangling-shards', seed: 1, size: { danglingShards: 50 } });
    const shards = [...sim.entities('quickwit.metastore.shards')];
    const mirror = new PostgresMirror(db);
    const admin = new Client(plain.clientConfig('mirror'));
    await admin.connect();
    try {
      await mirror.sync(sim);
      const count = async () => Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM shards')).rows[0]!.n);
      assert.equal(await count(), shards.length);
      // What a PostgreSQL restart does to the mirror's session: its backend goes away.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
        'mirror',
      ]);
      const gone = shards[0]!;
      const batch: EventsNotification = {
        fromSeq: 1,
        time: 0,
        events: [{ collection: 'quickwit.metastore.shards', op: 'delete', key: gone.key }],
      } as unknown as EventsNotification;
      // The first write may meet the dead connection (it fails, and the mirror marks itself stale); the next one goes through on a new one.
      const first = await mirror.apply(sim, batch).then(
        () => 'applied',
        (e: Error) => e.message,
      );
      await mirror.apply(sim, batch);
      const deadline = Date.now() + 10_000;
      // Applied (one row fewer), or synced in full again from the simulator (which still has it): either way, written on a new connection.
      while (![shards.length - 1, shards.length].includes(await count()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const live = await admin.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        ['mirror'],
      );
      assert.equal(Number(live.rows[0]!.n), 1, `the mirror holds one new connection (first write: ${first})`);
    } finally {
      await admin.end();
      await mirror.close();
    }
  });

  it('the config refuses credentials in URLs, and an sslmode libpq does not know', () => {
    const errors = (input: unknown) => JSON.stringify(GatewayConfig.safeParse(input).error?.issues.map((i) => i.message) ?? []);
    assert.match(
      errors({ quickwit: { postgres: 'postgres://qw:secret@db/qw', node: 'http://qw:7280' } }),
      /password in the connection string is refused.*passwordEnv/,
    );
    assert.match(
      errors({ quickwit: { postgres: 'postgres://qw@db/qw', node: 'http://admin:pw@qw:7280' } }),
      /quickwit.node: credentials in a URL are refused/,
    );
    assert.match(
      errors({ greptime: { etcd: { endpoints: ['https://root:pw@etcd:2379'] } } }),
      /an etcd endpoint: credentials in a URL are refused.*passwordEnv/,
    );
    assert.match(errors({ tikv: { pd: 'http://u@pd:2379', tikvStatus: ['http://t:20180'] } }), /tikv.pd: credentials/);
    assert.match(
      errors({ quickwit: { postgres: 'postgres://qw@db/qw?sslmode=no-verify', node: 'http://qw:7280' } }),
      /sslmode must be one of libpq's/,
    );
    assert.equal(
      GatewayConfig.safeParse({
        quickwit: { postgres: { connectionString: 'postgres://qw@db/qw', sslmode: 'verify-ca', passwordEnv: 'X' }, node: 'http://qw:7280' },
      }).success,
      true,
    );
  });
});
