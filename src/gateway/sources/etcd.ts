/**
 * The etcd side of the GreptimeDB and Milvus sources: a client from the
 * config (auth, TLS), a follower that reads prefixes once and then watches
 * them from the read's revision (re-reading everything after a disconnect,
 * with backoff), and conditional transactions on `mod_revision`.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, Range, type IOptions, type Watcher } from 'etcd3';
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

export function createEtcdClient(cfg: EtcdConfigT): Etcd3 {
  return new Etcd3(etcdOptions(cfg));
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

export function describeEtcdError(err: unknown, endpoints: readonly string[]): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `etcd ${endpoints.join(',')}: ${msg}`.slice(0, 1000);
}

export interface FollowerHandlers {
  /** The keys under the prefixes changed (after the first read, after a re-read, after watch events). */
  changed(kvs: ReadonlyMap<string, EtcdKv>, revision: number): void;
  health(h: SourceHealth): void;
  log(message: string): void;
}

/** Bytes one page of a range read aims at (a client receives at most 4 MiB per gRPC message). */
const PAGE_BYTES = 2 * 1024 * 1024;
/** Keys a page holds at most (upstream's `DEFAULT_PAGE_SIZE` is 1536). */
const MAX_PAGE_KEYS = 1024;
/** etcd's largest request (`--max-request-bytes`, 1.5 MiB), so its largest record, with room for the key. */
const MAX_RECORD_BYTES = 1.5 * 1024 * 1024 + 64 * 1024;
const MIN_RECORD_BYTES = 256;

/** A fault-handling policy that runs each call once (etcd3 calls only `execute`; its docs suggest cockatiel's `Policy.noop`). */
const PASS_THROUGH = { execute: <T>(fn: () => Promise<T> | T) => Promise.resolve(fn()) } as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** etcd said the answer is larger than the client may receive (`RESOURCE_EXHAUSTED … larger than max`). */
function tooLarge(err: unknown): boolean {
  return /RESOURCE_EXHAUSTED|larger than max|ResourceExhausted/i.test(`${(err as Error)?.name ?? ''} ${String(err)}`);
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

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
        res = await q.exec();
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
    const reason = describeEtcdError(err, this.endpoints);
    this.handlers.health({ state: 'unavailable', reason: `${reason}; retrying in ${Math.round(this.backoff / 1000)}s` });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  private async stopWatchers(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    await Promise.all(ws.map((w) => w.cancel().catch(() => undefined)));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
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
  private readonly started = Date.now();

  /** The follower's client for paged reads: no retries, no circuit breaker (the follower retries with backoff). */
  private readonly pager: Etcd3;

  constructor(etcd: EtcdConfigT, prefixes: readonly string[]) {
    this.client = createEtcdClient(etcd);
    this.pager = new Etcd3({ ...etcdOptions(etcd), faultHandling: { host: () => PASS_THROUGH, global: PASS_THROUGH } });
    this.follower = new EtcdFollower(
      this.client,
      prefixes,
      etcd.endpoints,
      {
        changed: (kvs) => this.refresh(kvs),
        health: (h) => this.ctx?.health(h),
        log: (m) => this.ctx?.log(m),
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
    await this.follower.start();
  }

  async close(): Promise<void> {
    await this.follower.close();
    this.client.close();
    this.pager.close();
  }

  /** Seconds since the source started. */
  protected now(): number {
    return Math.floor((Date.now() - this.started) / 1000);
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
