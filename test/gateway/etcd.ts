/**
 * A real etcd for the tests: its own process on 127.0.0.1 with two free
 * ports (client and peer) and a temporary data dir, ready once its /health
 * says so, stopped (by pid) and its data dir removed after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';

export interface RunningEtcd {
  /** `http://127.0.0.1:PORT` */
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

export async function startEtcd(opts: { bin?: string; deadlineMs?: number } = {}): Promise<RunningEtcd> {
  const bin = opts.bin ?? ETCD_BIN;
  const deadlineMs = opts.deadlineMs ?? 30_000;
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: install etcd (scripts/setup-test-deps.sh installs Debian's etcd-server), or set ETCD_BIN`);
  }
  // A port found free may be taken by another process before etcd binds it: then etcd exits at once, and we try other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, deadlineMs);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

async function startOnce(bin: string, deadlineMs: number): Promise<RunningEtcd> {
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cluster-debugger-etcd-'));
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    bin,
    [
      '--name', 'test',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`,
      '--initial-cluster-state', 'new',
      '--log-level', 'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
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
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.ok && /"health":\s*"true"/.test(body)) {
        client = new Etcd3({ hosts: url, dialTimeout: 2000 });
        return { url, client, process: child, stop };
      }
      last = `${res.status} ${body}`;
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
export async function snapshotKeys(client: Etcd3, prefixes: readonly string[]): Promise<Map<string, { value: string; modRevision: string }>> {
  const out = new Map<string, { value: string; modRevision: string }>();
  for (const p of prefixes) {
    const res = await client.getAll().prefix(p).exec();
    for (const kv of res.kvs) out.set(kv.key.toString(), { value: kv.value.toString('base64'), modRevision: String(kv.mod_revision) });
  }
  return out;
}
