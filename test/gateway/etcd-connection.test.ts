/**
 * The gateway's etcd connection against a real etcd 3.4 with TLS, client
 * certificates and auth (certificates made here with openssl): what an
 * operator reads when the CA is wrong, the client certificate is missing or
 * the host name does not match (the cause, not etcd3's "circuit breaker is
 * open"); `tls.verify: false` doing what it says, with a warning; no
 * password in any output; and a frozen etcd (SIGSTOP) noticed and recovered.
 */
import * as assert from 'node:assert/strict';
import { GatewayConfig, type GatewayConfigInput } from '../../src/gateway/config';
import { Gateway } from '../../src/gateway/gateway';
import { createSources } from '../../src/gateway/sources';
import type { SubsystemHealth } from '../../src/protocol';
import { makeCerts, type TestCerts } from './certs';
import { startEtcd, type RunningEtcd } from './etcd';
import { testSecret } from '../secrets';

const PASSWORD = testSecret('etcd-password');
const ENV = 'CD_TEST_ETCD_PASSWORD';
/** Every line every gateway of this file logged, and every status it gave (checked for the password at the end). */
const everything: string[] = [];

interface Watched {
  gateway: Gateway;
  logs: string[];
  ddl(): SubsystemHealth;
  /** Every distinct ddl health the gateway logged, in order. */
  until(what: string, ok: (h: SubsystemHealth) => boolean, deadlineMs: number): Promise<number>;
  close(): Promise<void>;
}

async function gatewayOn(
  etcd: GatewayConfigInput['greptime'] extends infer G ? (G extends { etcd: infer E } ? E : never) : never,
): Promise<Watched> {
  const config = GatewayConfig.parse({ greptime: { etcd } });
  const logs: string[] = [];
  const gateway = new Gateway(config, createSources(config), (m) => (logs.push(m), everything.push(m)));
  await gateway.start(20_000);
  const ddl = () => {
    const h = gateway.status().subsystems!.ddl!;
    everything.push(JSON.stringify(h));
    return h;
  };
  return {
    gateway,
    logs,
    ddl,
    async until(what, ok, deadlineMs) {
      const started = Date.now();
      for (;;) {
        if (ok(ddl())) return Date.now() - started;
        if (Date.now() - started > deadlineMs) assert.fail(`${what} not within ${deadlineMs} ms; ddl is ${JSON.stringify(ddl())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => gateway.close(),
  };
}

describe('etcd connection: TLS, client certificates, auth, a frozen etcd', function () {
  this.timeout(120_000);
  let certs: TestCerts;
  /** TLS with client certificates required, auth enabled. */
  let secure: RunningEtcd;
  /** TLS with a certificate for db.example only (a host name mismatch). */
  let mismatch: RunningEtcd;
  const all: Watched[] = [];
  before(async () => {
    certs = makeCerts();
    const client = { caFile: certs.caFile, clientCert: certs.clientCert, clientKey: certs.clientKey };
    secure = await startEtcd({
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caFile, ...client },
      rootPassword: PASSWORD,
    });
    mismatch = await startEtcd({ tls: { certFile: certs.otherCert, keyFile: certs.otherKey, caFile: certs.caFile } });
    process.env[ENV] = PASSWORD;
  });
  afterEach(async () => {
    await Promise.all(all.splice(0).map((w) => w.close()));
  });
  after(async () => {
    delete process.env[ENV];
    await Promise.all([secure?.stop(), mismatch?.stop()]);
    certs?.remove();
    assert.ok(everything.length > 0);
    assert.ok(!everything.join('\n').includes(PASSWORD), 'the password appears in a log line or a status');
  });

  const tlsOk = () => ({ caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey, verify: true });

  it('reads etcd over TLS with a client certificate and auth (password from passwordEnv)', async () => {
    await secure.client.put('/__procedure__/procedure/x').value('{}');
    const w = await gatewayOn({ endpoints: [secure.url], username: 'root', passwordEnv: ENV, tls: tlsOk() });
    all.push(w);
    await w.until('ddl ok', (h) => h.state === 'ok', 10_000);
    assert.equal(w.ddl().warnings, undefined);
    assert.ok(!JSON.stringify(w.gateway.status()).includes(PASSWORD));
  });

  /** The reason after etcd3's circuit breaker has opened (3 failures in a row): still the cause. */
  async function causeKept(etcd: Parameters<typeof gatewayOn>[0], cause: RegExp): Promise<void> {
    const w = await gatewayOn(etcd);
    all.push(w);
    await w.until('ddl unavailable', (h) => h.state === 'unavailable' && cause.test(h.reason ?? ''), 15_000);
    // Attempts at 0.5, 1, 2, 4 s: by the 4th the breaker has opened; every reason logged names the cause.
    await w.until('4 failed attempts', () => w.logs.filter((l) => /ddl: unavailable/.test(l)).length >= 4, 20_000);
    const reasons = w.logs.filter((l) => /ddl: unavailable/.test(l));
    for (const r of reasons) {
      assert.doesNotMatch(r, /circuit breaker/i);
      assert.match(r, cause);
    }
    assert.doesNotMatch(w.ddl().reason!, /circuit breaker/i);
  }

  it('a wrong CA: the reason says so, also once the circuit breaker is open', async () => {
    await causeKept(
      { endpoints: [secure.url], username: 'root', passwordEnv: ENV, tls: { ...tlsOk(), caFile: certs.wrongCaFile } },
      /certificate|self.signed|unable to verify/i,
    );
  });

  it('no client certificate: the reason says the handshake failed, also once the circuit breaker is open', async () => {
    await causeKept(
      { endpoints: [secure.url], username: 'root', passwordEnv: ENV, tls: { caFile: certs.caFile, verify: true } },
      /certificate|handshake|alert|ECONNRESET|socket|No connection established/i,
    );
  });

  it('a host name mismatch: the reason names it; tls.verify: false connects, with a warning in the log and the status', async () => {
    await causeKept({ endpoints: [mismatch.url], tls: { caFile: certs.caFile, verify: true } }, /altnames|does not match|Hostname/i);
    const w = await gatewayOn({ endpoints: [mismatch.url], tls: { verify: false } });
    all.push(w);
    await w.until('ddl ok', (h) => h.state === 'ok', 10_000);
    assert.match((w.ddl().warnings ?? []).join('\n'), /TLS certificate is not checked \(tls\.verify: false\)/);
    assert.match(w.logs.join('\n'), /ddl: warning: .*tls\.verify: false/);
  });

  it('a wrong password: refused in words, the password nowhere', async () => {
    process.env.CD_TEST_ETCD_WRONG = 'wrong-password-xyz';
    try {
      const w = await gatewayOn({ endpoints: [secure.url], username: 'root', passwordEnv: 'CD_TEST_ETCD_WRONG', tls: tlsOk() });
      all.push(w);
      await w.until(
        'ddl unavailable',
        (h) => h.state === 'unavailable' && /authentication failed|invalid user ID or password/i.test(h.reason ?? ''),
        15_000,
      );
      assert.ok(!w.logs.join('\n').includes('wrong-password-xyz'));
    } finally {
      delete process.env.CD_TEST_ETCD_WRONG;
    }
  });

  it('a frozen etcd (SIGSTOP) is unavailable within 10 s, and ok again within 10 s of SIGCONT', async () => {
    const plain = await startEtcd();
    try {
      await plain.client.put('/__procedure__/procedure/y').value('{}');
      const w = await gatewayOn({ endpoints: [plain.url] });
      all.push(w);
      await w.until('ddl ok', (h) => h.state === 'ok', 10_000);
      process.kill(plain.process.pid!, 'SIGSTOP');
      let resumed = false;
      try {
        const down = await w.until('ddl unavailable', (h) => h.state === 'unavailable', 10_000);
        console.log(`      frozen etcd noticed after ${down} ms: ${w.ddl().reason}`);
        assert.match(w.ddl().reason!, /no answer in time|DEADLINE_EXCEEDED|circuit/i);
        // Frozen while the follower fails 3 more times (its backoff grows to 4 s and more); it stays unavailable.
        const failed = () => w.logs.filter((l) => /ddl: unavailable/.test(l)).length;
        const before = failed();
        await w.until('3 more failed attempts', (h) => (assert.equal(h.state, 'unavailable'), failed() >= before + 3), 40_000);
        process.kill(plain.process.pid!, 'SIGCONT');
        resumed = true;
        const up = await w.until('ddl ok again', (h) => h.state === 'ok', 10_000);
        console.log(`      ok again ${up} ms after SIGCONT`);
      } finally {
        if (!resumed) process.kill(plain.process.pid!, 'SIGCONT');
      }
    } finally {
      await plain.stop();
    }
  });
});
