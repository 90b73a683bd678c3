/**
 * The etcd side of the GreptimeDB and Milvus sources: a client from the
 * config (auth, TLS), a follower that reads prefixes once and then watches
 * them from the read's revision (re-reading everything after a disconnect,
 * with backoff), a liveness probe (a store that stops answering — frozen,
 * partitioned — is unavailable within seconds, and read again as soon as
 * it answers), and conditional transactions on `mod_revision`.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { Etcd3, Range, type IOptions, type Watcher } from 'etcd3';
import { redactUrls } from '../../protocol/redact';
import { unixSeconds } from '../../protocol/format';
import type { EtcdKv } from '../../codecs/etcd-kv';
import type { EtcdConfig } from '../config';
import type { SourceContext, SourceHealth } from '../source';

export type EtcdConfigT = import('zod').infer<typeof EtcdConfig>;

export function etcdOptions(cfg: EtcdConfigT): IOptions {
  const options: IOptions = { hosts: cfg.endpoints, dialTimeout: 3000 };
  const password = cfg.password ?? (cfg.passwordEnv ? process.env[cfg.passwordEnv] : undefined);
  if (cfg.username) options.auth = { username: cfg.username, password: password ?? '' };
  if (cfg.tls) {
    const read = (f?: string) => (f ? readFileSync(f) : undefined);
    options.credentials = {
      rootCertificate: read(cfg.tls.caFile) ?? Buffer.alloc(0),
      ...(cfg.tls.keyFile ? { privateKey: read(cfg.tls.keyFile) } : {}),
      ...(cfg.tls.certFile ? { certChain: read(cfg.tls.certFile) } : {}),
    };
    if (!cfg.tls.caFile) delete (options.credentials as { rootCertificate?: Buffer }).rootCertificate;
  }
  // Unary calls fail fast (the follower retries with backoff); watch streams stay open.
  options.defaultCallOptions = (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 });
  return options;
}

/**
 * `tls.verify: false`: the server's certificate is not checked (neither its chain nor its name).
 * etcd3 (1.1.2) builds its gRPC credentials from `credentials` with `createSsl(ca, key, cert)` and
 * no verify options (lib/connection-pool.js, `buildAuthentication`), so the client's hosts and its
 * authenticator get credentials made here instead, with `rejectUnauthorized: false`.
 */
function trustAnyCertificate(client: Etcd3, cfg: EtcdConfigT): void {
  const read = (f?: string) => (f ? readFileSync(f) : null);
  const creds: ChannelCredentials = grpcCredentials.createSsl(read(cfg.tls?.caFile), read(cfg.tls?.keyFile), read(cfg.tls?.certFile), {
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  const pool = (client as unknown as { pool?: { hosts?: { channelCredentials?: unknown }[]; authenticator?: { credentials?: unknown } } })
    .pool;
  if (
    !pool?.hosts?.length ||
    !pool.authenticator ||
    !pool.hosts.every((h) => 'channelCredentials' in h) ||
    !('credentials' in pool.authenticator)
  ) {
    throw new Error('tls.verify: false is not supported by this etcd3 client version (its connection pool changed)');
  }
  for (const h of pool.hosts) h.channelCredentials = creds;
  pool.authenticator.credentials = creds;
}

export function createEtcdClient(cfg: EtcdConfigT, extra: Partial<IOptions> = {}): Etcd3 {
  const client = new Etcd3({ ...etcdOptions(cfg), ...extra });
  if (cfg.tls && !cfg.tls.verify) trustAnyCertificate(client, cfg);
  return client;
}

/** The warning a config gives about its etcd connection, if any (logged and listed in the subsystem's status). */
export function etcdWarning(cfg: EtcdConfigT): string | undefined {
  if (cfg.tls && !cfg.tls.verify) {
    return `etcd ${cfg.endpoints.join(',')}: the server's TLS certificate is not checked (tls.verify: false); anyone between the gateway and etcd can read and answer in its place`;
  }
  if (cfg.password !== undefined && cfg.endpoints.some((e) => e.startsWith('http://'))) {
    return `etcd ${cfg.endpoints.join(',')}: the password goes over plaintext (http://); use https:// with tls`;
  }
  return undefined;
}

interface RawKv {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
}
export function toKv(kv: RawKv): EtcdKv {
  return { key: kv.key.toString(), value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

/**
 * Why a TLS connection to the first endpoint fails, in Node's words (a wrong CA, a host name that is
 * not in the certificate, a client certificate the server wants): gRPC only says "No connection
 * established" when the handshake fails. Undefined when the handshake works (the cause is elsewhere).
 */
export function diagnoseTls(cfg: EtcdConfigT, timeoutMs = PROBE_DEADLINE_MS): Promise<string | undefined> {
  const endpoint = cfg.endpoints.find((e) => e.startsWith('https://'));
  if (!endpoint || !cfg.tls) return Promise.resolve(undefined);
  const url = new URL(endpoint);
  const read = (f?: string) => (f ? readFileSync(f) : undefined);
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = tlsConnect({
      host,
      port: Number(url.port || 2379),
      ...(isIP(host) ? {} : { servername: host }),
      ca: read(cfg.tls!.caFile),
      cert: read(cfg.tls!.certFile),
      key: read(cfg.tls!.keyFile),
      rejectUnauthorized: cfg.tls!.verify,
      ...(cfg.tls!.verify ? {} : { checkServerIdentity: () => undefined }),
      ALPNProtocols: ['h2'],
    });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why && redactUrls(`etcd ${endpoint}: TLS: ${why}`));
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('error', (err) => done(err.message));
    // TLS 1.3: a client certificate the server refuses is only said after the handshake, with the first read.
    socket.once('secureConnect', () => setTimeout(() => done(undefined), 200));
    socket.once('close', () => done('the server closed the connection during the handshake (does it require a client certificate?)'));
  });
}

/** etcd3's circuit breaker refused the call without trying (after 3 failures in a row, for 5 s): it says nothing about why. */
export function isBrokenCircuit(err: unknown): boolean {
  return (
    (err as { isBrokenCircuitError?: boolean })?.isBrokenCircuitError === true ||
    /circuit breaker is open/i.test(String((err as Error)?.message ?? err))
  );
}

export function describeEtcdError(err: unknown, endpoints: readonly string[]): string {
  const msg = err instanceof Error ? err.message : String(err);
  const said = /DEADLINE_EXCEEDED/.test(msg) ? `no answer in time (${msg})` : msg;
  return redactUrls(`etcd ${endpoints.join(',')}: ${said}`).slice(0, 1000);
}

export interface FollowerHandlers {
  /** The keys under the prefixes changed (after the first read, after a re-read, after watch events). */
  changed(kvs: ReadonlyMap<string, EtcdKv>, revision: number): void;
  health(h: SourceHealth): void;
  log(message: string): void;
  /** A connection error gRPC does not explain ("No connection established"): why, found another way (a TLS handshake). */
  diagnose?(err: unknown): Promise<string | undefined>;
  /** One page read from etcd took `seconds` (`ok`: it answered), for the gateway's read latency metric. */
  read?(seconds: number, ok: boolean): void;
}

/** Bytes one page of a range read aims at (a client receives at most 4 MiB per gRPC message). */
const PAGE_BYTES = 2 * 1024 * 1024;
/** Keys a page holds at most (upstream's `DEFAULT_PAGE_SIZE` is 1536). */
const MAX_PAGE_KEYS = 1024;
/** etcd's largest request (`--max-request-bytes`, 1.5 MiB), so its largest record, with room for the key. */
const MAX_RECORD_BYTES = 1.5 * 1024 * 1024 + 64 * 1024;
const MIN_RECORD_BYTES = 256;

/** A fault-handling policy that runs each call once (etcd3 calls only `execute`; its docs suggest cockatiel's `Policy.noop`). */
const PASS_THROUGH = { execute: <T>(fn: () => Promise<T> | T) => Promise.resolve(fn()) } as unknown as NonNullable<
  NonNullable<IOptions['faultHandling']>['global']
>;

/** etcd said the answer is larger than the client may receive (`RESOURCE_EXHAUSTED … larger than max`). */
function tooLarge(err: unknown): boolean {
  return /RESOURCE_EXHAUSTED|larger than max|ResourceExhausted/i.test(`${(err as Error)?.name ?? ''} ${String(err)}`);
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** How often the follower asks etcd for one key, and how long it waits for the answer (a frozen etcd keeps its watch streams open). */
export const PROBE_EVERY_MS = 2000;
export const PROBE_DEADLINE_MS = 3000;

/**
 * Holds every key under `prefixes`, current as of `revision`: one read, then a
 * watch from `revision + 1` per prefix. A broken watch (etcd gone, compacted,
 * credentials revoked) makes the source unavailable and starts over with a
 * full read after a backoff.
 */
export class EtcdFollower {
  readonly kvs = new Map<string, EtcdKv>();
  revision = 0;
  clusterId: string | undefined;
  private watchers: Watcher[] = [];
  private closed = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private generation = 0;
  private waiters: { revision: number; resolve: () => void }[] = [];
  /** The revision the handlers last saw (`revision` may be ahead while a change waits for its debounce). */
  private published = 0;
  /** The largest record (key, value and overhead, in bytes) a read has seen: it sizes the next page. */
  private largestKv = PAGE_BYTES / 2;
  /** The last failure that said why (not etcd3's "circuit breaker is open", which hides it). */
  private lastCause: string | undefined;
  /** Why the TLS handshake fails, as diagnose() found it (gRPC does not say). */
  private diagnosed: string | undefined;
  private healthy = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;

  /**
   * `pager`: the client for the paged reads (by default `client`); `EtcdSource` gives one without
   * etcd3's retries and circuit breaker, so that a page too large for the client is answered at
   * once and read again smaller, instead of tripping the breaker for every call for 5 s.
   */
  constructor(
    private readonly client: Etcd3,
    private readonly prefixes: readonly string[],
    private readonly endpoints: readonly string[],
    private readonly handlers: FollowerHandlers,
    private readonly pager: Etcd3 = client,
  ) {}

  /** The first read (and watch); resolves whether it worked or not (health says which). */
  async start(): Promise<void> {
    await this.attempt();
    this.probeTimer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.probeTimer.unref?.();
  }

  /**
   * A read of one key with a short deadline: the watch streams of a frozen (SIGSTOP) or cut-off etcd
   * stay open and silent, and no unary call is made meanwhile. No answer in time: unavailable (the
   * watches are dropped and everything is read again later). An answer while unavailable and waiting
   * for the backoff: read again now, so that a store that came back is `ok` within seconds.
   */
  private async probe(): Promise<void> {
    if (this.closed || this.probing) return;
    this.probing = true;
    const generation = this.generation;
    const began = performance.now();
    try {
      await this.client
        .get(this.prefixes[0] ?? '')
        .options({ deadline: Date.now() + PROBE_DEADLINE_MS })
        .exec();
      this.handlers.read?.((performance.now() - began) / 1000, true);
      if (!this.healthy && this.timer && !this.closed) {
        clearTimeout(this.timer);
        this.timer = undefined;
        void this.attempt();
      }
    } catch (err) {
      this.handlers.read?.((performance.now() - began) / 1000, false);
      if (this.healthy) this.fail(err, generation);
      else if (!isBrokenCircuit(err)) this.lastCause = describeEtcdError(err, this.endpoints);
    } finally {
      this.probing = false;
    }
  }

  private async attempt(): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    await this.stopWatchers();
    try {
      const kvs = new Map<string, EtcdKv>();
      let revision = 0;
      for (const prefix of this.prefixes) {
        const rev = await this.readPrefix(prefix, kvs, generation);
        if (rev === undefined) return;
        // Every prefix is read at its own revision; the watch of each starts after it, so nothing is missed.
        revision = Math.max(revision, rev);
        await this.watch(prefix, rev + 1, generation);
      }
      this.kvs.clear();
      for (const [k, v] of kvs) this.kvs.set(k, v);
      this.revision = revision;
      this.backoff = MIN_BACKOFF_MS;
      this.healthy = true;
      this.lastCause = undefined;
      this.diagnosed = undefined;
      this.handlers.health({ state: 'ok' });
      this.handlers.changed(this.kvs, this.revision);
      this.published = this.revision;
      this.wake();
    } catch (err) {
      this.fail(err, generation);
    }
  }

  /**
   * One prefix, in pages all read at the first page's revision (a consistent snapshot, as one range
   * would be): a client receives at most 4 MiB per gRPC message, so one range over an incident's
   * procedures fails with RESOURCE_EXHAUSTED. Pages are sized from the largest record of recent pages
   * (at most `PAGE_BYTES` a page, at most `MAX_PAGE_KEYS` keys); a page that is still too large is
   * read again smaller, as upstream's `PaginationStream` does (greptimedb
   * src/common/meta/src/range_stream.rs, `adaptive_range`). The revision, or undefined when a newer
   * attempt took over.
   */
  private async readPrefix(prefix: string, into: Map<string, EtcdKv>, generation: number): Promise<number | undefined> {
    const end = Range.prefix(prefix).end;
    let start: Buffer = Buffer.from(prefix);
    let revision: number | undefined;
    for (;;) {
      const limit = Math.max(1, Math.min(MAX_PAGE_KEYS, Math.floor(PAGE_BYTES / this.largestKv)));
      let res;
      try {
        let q = this.pager.getAll().inRange({ start, end }).limit(limit);
        if (revision !== undefined) q = q.revision(revision);
        const began = performance.now();
        try {
          res = await q.exec();
        } finally {
          this.handlers.read?.((performance.now() - began) / 1000, res !== undefined);
        }
      } catch (err) {
        if (!tooLarge(err) || limit === 1) throw err;
        // Down to pages of one record (etcd takes values up to 1.5 MiB), growing back as small pages follow.
        this.largestKv = MAX_RECORD_BYTES;
        continue;
      }
      if (generation !== this.generation || this.closed) return undefined;
      revision ??= Number(res.header.revision);
      this.clusterId = String(res.header.cluster_id);
      let pageMax = 0;
      for (const raw of res.kvs) {
        const kv = toKv(raw as unknown as RawKv);
        into.set(kv.key, kv);
        pageMax = Math.max(pageMax, raw.key.length + raw.value.length + 64);
      }
      // A large record seen keeps pages small for a while; pages of small records grow them back.
      this.largestKv = Math.max(pageMax, Math.floor(this.largestKv / 2), MIN_RECORD_BYTES);
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return revision;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  private async watch(prefix: string, from: number, generation: number): Promise<void> {
    const w = await this.client.watch().prefix(prefix).startRevision(String(from)).create();
    this.watchers.push(w);
    w.on('put', (kv) => {
      if (generation !== this.generation) return;
      const e = toKv(kv as unknown as RawKv);
      this.kvs.set(e.key, e);
      this.revision = Math.max(this.revision, e.modRevision);
      this.schedule();
    });
    w.on('delete', (kv) => {
      if (generation !== this.generation) return;
      this.kvs.delete(kv.key.toString());
      this.revision = Math.max(this.revision, Number(kv.mod_revision));
      this.schedule();
    });
    w.on('disconnected', (err) => this.fail(err, generation));
    w.on('error', (err) => this.fail(err, generation));
  }

  private schedule(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (!this.closed) this.handlers.changed(this.kvs, this.revision);
      this.published = this.revision;
      this.wake();
    }, 20);
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.revision <= this.published);
    this.waiters = this.waiters.filter((w) => w.revision > this.published);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the mirror holds the store as of `revision` (a repair's own write), or after `timeoutMs`. */
  caughtUp(revision: number, timeoutMs = 5000): Promise<void> {
    if (revision <= this.published) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push({
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private fail(err: unknown, generation: number): void {
    if (this.closed || generation !== this.generation || this.timer) return;
    this.healthy = false;
    // etcd3 opens its circuit breaker after 3 failures in a row and then fails calls with "circuit breaker
    // is open" for 5 s: the reason keeps the last real cause (a wrong CA, a refused login, no answer).
    const broken = isBrokenCircuit(err);
    let reason = broken && this.lastCause ? this.lastCause : describeEtcdError(err, this.endpoints);
    // gRPC says only "No connection established" when the TLS handshake fails: the cause found by diagnose() is kept.
    const unexplained = !broken && /No connection established/i.test(reason);
    if (unexplained && this.diagnosed) reason = this.diagnosed;
    if (!broken) this.lastCause = reason;
    const retry = `retrying in ${Math.round(this.backoff / 1000)}s`;
    if (unexplained && !this.diagnosed && this.handlers.diagnose) {
      // Said once the handshake has been tried (at most PROBE_DEADLINE_MS later), with its cause if it has one.
      void this.handlers.diagnose(err).then((why) => {
        this.diagnosed = why;
        if (this.closed || this.healthy || this.lastCause !== reason) return;
        if (why) this.lastCause = why;
        this.handlers.health({ state: 'unavailable', reason: `${why ?? reason}; ${retry}` });
      });
    } else this.handlers.health({ state: 'unavailable', reason: `${reason}; ${retry}` });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  private async stopWatchers(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    // A cancel waits for etcd's answer: a frozen or cut-off etcd must not hold the next attempt.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(ws.map((w) => w.cancel().catch(() => undefined))),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, PROBE_DEADLINE_MS))),
    ]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.stopWatchers();
  }
}

/** One compare of a transaction: on `mod_revision` (`Mod`) or `create_revision` (`Create`). */
/**
 * What the GreptimeDB and Milvus sources share: a client for their etcd, a
 * follower over their prefixes that hands every change to `refresh` (and
 * health and log lines to the gateway), the cluster id as identity, and the
 * reader's clock (what etcd does not keep).
 */
export abstract class EtcdSource {
  protected readonly client: Etcd3;
  protected readonly follower: EtcdFollower;
  protected ctx: SourceContext | undefined;
  private readonly warning: string | undefined;

  /** The follower's client for paged reads: no retries, no circuit breaker (the follower retries with backoff). */
  private readonly pager: Etcd3;

  constructor(etcd: EtcdConfigT, prefixes: readonly string[]) {
    this.client = createEtcdClient(etcd);
    this.warning = etcdWarning(etcd);
    this.pager = createEtcdClient(etcd, { faultHandling: { host: () => PASS_THROUGH, global: PASS_THROUGH } });
    this.follower = new EtcdFollower(
      this.client,
      prefixes,
      etcd.endpoints,
      {
        changed: (kvs) => this.refresh(kvs),
        health: (h) => this.ctx?.health(h),
        log: (m) => this.ctx?.log(m),
        diagnose: () => diagnoseTls(etcd),
        read: (seconds, ok) => this.ctx?.readDuration?.(seconds, ok),
      },
      this.pager,
    );
  }

  /** The keys under the prefixes changed: rebuild the source's collections from them. */
  protected abstract refresh(kvs: ReadonlyMap<string, EtcdKv>): void;

  identity(): string | undefined {
    return this.follower.clusterId && `etcd-${this.follower.clusterId}`;
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    ctx.warning?.('etcd-connection', this.warning);
    await this.follower.start();
  }

  async close(): Promise<void> {
    await this.follower.close();
    this.client.close();
    this.pager.close();
  }

  /** Now on the gateway's clock (wall-clock Unix seconds, as `ClusterStatus.time`). */
  protected now(): number {
    return unixSeconds();
  }
}

export interface Compare {
  key: string;
  target: 'Mod' | 'Create';
  op: '==' | '<' | '>';
  value: number;
}
export type TxnOp = { put: string; value: Uint8Array } | { del: string };

/** The compares that hold while an entity built from `keys` is still at `version`: each key exists and none changed since. */
export function stillAtVersion(keys: Iterable<string>, version: number): Compare[] {
  const out: Compare[] = [];
  for (const key of keys) {
    out.push({ key, target: 'Mod', op: '<', value: version + 1 }, { key, target: 'Create', op: '>', value: 0 });
  }
  return out;
}

export const absent = (key: string): Compare => ({ key, target: 'Create', op: '==', value: 0 });

/** One etcd transaction: every compare, then the writes; the revision it wrote at, or false when a compare failed (nothing written). */
export async function conditionalWrite(client: Etcd3, compares: readonly Compare[], ops: readonly TxnOp[]): Promise<number | false> {
  if (compares.length === 0) throw new Error('an unconditional write is never made');
  const [first, ...rest] = compares;
  let txn = client.if(first!.key, first!.target, first!.op, first!.value);
  for (const c of rest) txn = txn.and(c.key, c.target, c.op, c.value);
  const res = await txn
    .then(...ops.map((o) => ('put' in o ? client.put(o.put).value(Buffer.from(o.value)) : client.delete().key(o.del))))
    .commit();
  return res.succeeded ? Number(res.header.revision) : false;
}
