/**
 * A real etcd for the tests: its own process on 127.0.0.1 with two free
 * ports (client and peer) and a temporary data dir, ready once its /health
 * says so, stopped (by pid) and its data dir removed after. Optionally with
 * TLS on the client port (and client certificates required), and with auth
 * enabled (a `root` user with a password).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';

export interface EtcdTls {
  certFile: string;
  keyFile: string;
  /** The CA clients' certificates must be signed by (`--trusted-ca-file`, `--client-cert-auth`). */
  clientCaFile?: string;
  /** The CA that signed `certFile`, for the helper's own client. */
  caFile: string;
  /** The helper's own client certificate (required with `clientCaFile`). */
  clientCert?: string;
  clientKey?: string;
}

export interface RunningEtcd {
  /** `http://127.0.0.1:PORT` (`https://` with TLS) */
  url: string;
  client: Etcd3;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface EtcdOptions {
  bin?: string;
  deadlineMs?: number;
  tls?: EtcdTls;
  /** Auth enabled: user `root` (role root) with this password; the helper's client logs in as root. */
  rootPassword?: string;
}

export async function startEtcd(opts: EtcdOptions = {}): Promise<RunningEtcd> {
  const bin = opts.bin ?? ETCD_BIN;
  const deadlineMs = opts.deadlineMs ?? 30_000;
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: install etcd (scripts/setup-test-deps.sh installs Debian's etcd-server), or set ETCD_BIN`);
  }
  // A port found free may be taken by another process before etcd binds it: then etcd exits at once, and we try other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, deadlineMs, opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

/** GET /health over TLS with the helper's CA and client certificate. */
function httpsHealth(url: string, tls: EtcdTls): Promise<{ ok: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/health`,
      {
        ca: readFileSync(tls.caFile),
        ...(tls.clientCert ? { cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey!) } : {}),
        timeout: 2000,
        // The helper only asks whether etcd is up: a certificate for another name (a test's host name mismatch) is fine here.
        checkServerIdentity: () => undefined,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += String(d)));
        res.on('end', () => resolve({ ok: res.statusCode === 200, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function startOnce(bin: string, deadlineMs: number, opts: EtcdOptions): Promise<RunningEtcd> {
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cluster-debugger-etcd-'));
  const tls = opts.tls;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const tlsArgs = tls
    ? [
        '--cert-file',
        tls.certFile,
        '--key-file',
        tls.keyFile,
        ...(tls.clientCaFile ? ['--trusted-ca-file', tls.clientCaFile, '--client-cert-auth'] : []),
      ]
    : [];
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    bin,
    [
      '--name',
      'test',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `test=${peer}`,
      '--initial-cluster-state',
      'new',
      '--log-level',
      'error',
      ...tlsArgs,
    ],
    // Its own process group, so that a test can SIGSTOP it without stopping anything else.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone: string | undefined;
  child.once('exit', (code, signal) => (gone = `etcd exited (${code ?? signal})`));
  let client: Etcd3 | undefined;
  const stop = async () => {
    client?.close();
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGCONT');
      process.kill(child.pid!, 'SIGTERM');
      const killer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + deadlineMs;
  let last: string;
  for (;;) {
    if (gone) {
      await stop();
      throw new Error(`${gone} before answering: ${stderr}`);
    }
    // etcd's own /health (a plain HTTP GET on the client port): true once it has a leader and serves reads.
    // Polled over HTTP, not with the etcd3 client, whose circuit breaker would stay open for seconds after the first refused dial.
    try {
      const res = tls
        ? await httpsHealth(url, tls)
        : await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).then(async (r) => ({ ok: r.ok, body: await r.text() }));
      const body = res.body;
      if (res.ok && /"health":\s*"true"/.test(body)) {
        const credentials = tls
          ? {
              rootCertificate: readFileSync(tls.caFile),
              ...(tls.clientCert ? { certChain: readFileSync(tls.clientCert), privateKey: readFileSync(tls.clientKey!) } : {}),
            }
          : undefined;
        client = new Etcd3({ hosts: url, dialTimeout: 2000, ...(credentials ? { credentials } : {}) });
        if (opts.rootPassword !== undefined) {
          await client.role('root').create();
          await client.user('root').create(opts.rootPassword);
          await client.user('root').addRole('root');
          await client.auth.authEnable();
          client.close();
          client = new Etcd3({
            hosts: url,
            dialTimeout: 2000,
            ...(credentials ? { credentials } : {}),
            auth: { username: 'root', password: opts.rootPassword },
          });
        }
        return { url, client, process: child, stop };
      }
      last = `${res.ok} ${body}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd on ${url} did not answer within ${deadlineMs} ms: ${last}; ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every key under the prefixes with its value and mod_revision (to compare a store before and after). */
export async function snapshotKeys(
  client: Etcd3,
  prefixes: readonly string[],
): Promise<Map<string, { value: string; modRevision: string }>> {
  const out = new Map<string, { value: string; modRevision: string }>();
  for (const p of prefixes) {
    const res = await client.getAll().prefix(p).exec();
    for (const kv of res.kvs) out.set(kv.key.toString(), { value: kv.value.toString('base64'), modRevision: String(kv.mod_revision) });
  }
  return out;
}
