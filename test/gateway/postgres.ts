/**
 * A real PostgreSQL 15 for a test: its own data dir in a temp folder, a free
 * port on 127.0.0.1, trust auth (or scram-sha-256 with a password), plaintext
 * (or ssl=on with the test's certificates, optionally hostssl only), run as
 * the `postgres` user (PostgreSQL refuses to run as root), stopped by
 * `stop()` (by its pid), frozen by `freeze()` (SIGSTOP to all its processes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { writeSecretInput } from '../secrets';

const BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (never with the password) */
  url: string;
  /** The superuser's password (scram servers), to pass as `password`, never in a URL. */
  password?: string;
  /** A client config for the superuser (with the password, if any), for the test's own queries. */
  clientConfig(database?: string): ClientConfig;
  /** A fresh database on this server; returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /** SIGSTOP (true) or SIGCONT (false) to every process of the server. */
  freeze(stopped: boolean): void;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  deadlineMs?: number;
  /** scram-sha-256 for every login, the superuser's password this. */
  password?: string;
  /** ssl=on with this certificate and key (and CA for client certificates). */
  ssl?: { certFile: string; keyFile: string; caFile?: string };
  /** Only `hostssl` lines in pg_hba.conf: a plaintext login is refused. */
  sslOnly?: boolean;
}

export function postgresAvailable(): boolean {
  return existsSync(join(BIN, 'postgres')) && existsSync(join(BIN, 'initdb'));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

export async function startPostgres(opts: number | PostgresOptions = {}): Promise<TestPostgres> {
  const o: PostgresOptions = typeof opts === 'number' ? { deadlineMs: opts } : opts;
  const deadlineMs = o.deadlineMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'cd-pg-'));
  const root = process.getuid?.() === 0;
  const owner = root
    ? {
        uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
        gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
      }
    : undefined;
  /** A file the server reads: in its folder, owned by it, readable by it alone (PostgreSQL refuses a key others can read). */
  const own = (path: string) => {
    if (owner) chownSync(path, owner.uid, owner.gid);
    chmodSync(path, 0o600);
    return path;
  };
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const initArgs0 = ['-D', data, '-U', 'postgres', '--no-sync', '-E', 'UTF8'];
  if (o.password !== undefined) {
    const pwfile = join(dir, 'pwfile');
    writeSecretInput(pwfile, `${o.password}\n`);
    own(pwfile);
    initArgs0.push('-A', 'scram-sha-256', '--pwfile', pwfile);
  } else initArgs0.push('-A', 'trust');
  const [initCmd, initArgs] = asPostgres(join(BIN, 'initdb'), initArgs0);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  rmSync(join(dir, 'pwfile'), { force: true });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  if (o.ssl) {
    const cert = join(dir, 'server.crt');
    copyFileSync(o.ssl.certFile, cert);
    own(cert);
    const key = join(dir, 'server.key');
    copyFileSync(o.ssl.keyFile, key);
    own(key);
    settings.push('-c', 'ssl=on', '-c', `ssl_cert_file=${cert}`, '-c', `ssl_key_file=${key}`);
    if (o.ssl.caFile) {
      const ca = join(dir, 'ca.crt');
      copyFileSync(o.ssl.caFile, ca);
      own(ca);
      settings.push('-c', `ssl_ca_file=${ca}`);
    }
  }
  if (o.sslOnly) {
    const method = o.password !== undefined ? 'scram-sha-256' : 'trust';
    const hba = join(data, 'pg_hba.conf');
    writeFileSync(hba, `local all all trust\nhostssl all all 127.0.0.1/32 ${method}\nhostnossl all all 127.0.0.1/32 reject\n`);
    own(hba);
  }
  const port = await freePort();
  const [cmd, args] = asPostgres(join(BIN, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, ...settings]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d) => (log = (log + String(d)).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const clientConfig = (database = 'postgres'): ClientConfig => ({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database,
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.ssl ? { ssl: { rejectUnauthorized: false } } : {}),
  });
  /** Every process of the server: runuser, the postmaster and its children (each backend is its own process group: InitPostmasterChild calls setsid). */
  const tree = (): number[] => {
    const ps = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    const children = new Map<number, number[]>();
    for (const line of ps.stdout.split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid && ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    }
    const out: number[] = [];
    const walk = (pid: number) => {
      out.push(pid);
      for (const c of children.get(pid) ?? []) walk(c);
    };
    if (child.pid) walk(child.pid);
    return out;
  };
  const freeze = (stopped: boolean) => {
    for (const pid of tree()) {
      try {
        process.kill(pid, stopped ? 'SIGSTOP' : 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      freeze(false);
      // runuser forwards the signal to postgres; SIGINT is a fast shutdown.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + deadlineMs;
  for (;;) {
    const c = new Client(clientConfig());
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > until) {
        await stop();
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    url,
    ...(o.password !== undefined ? { password: o.password } : {}),
    clientConfig,
    freeze,
    async createDatabase(name) {
      const c = new Client(clientConfig());
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop,
  };
}
