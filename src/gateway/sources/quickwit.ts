/**
 * Quickwit's shards, read where Quickwit keeps them (see docs/gateway.md and
 * src/codecs/quickwit.ts for the upstream files):
 * - `quickwit.metastore.shards`: the PostgreSQL metastore's `shards` table,
 *   polled every `pollMs`.
 * - `quickwit.controlPlane.shards`, `quickwit.ingester.shards`,
 *   `quickwit.ingesters`: a node's `GET /api/developer/debug` (the control
 *   plane's shard table and ingester pool, each ready ingester's own shards).
 *
 * Row version: `xmin::text::bigint`, the id of the transaction that wrote the
 * row version PostgreSQL serves. Every INSERT or UPDATE of a row gives it a
 * new xmin, whoever the writer is and whatever it changed, so no writer can
 * dodge it, and the metastore needs no column or trigger of ours (Quickwit
 * owns its schema and migrations). Two writes in one transaction share an
 * xmin, which is fine for a compare-and-swap: a plan is made from committed
 * rows only.
 *
 * Polling without re-decoding the table: the first read takes every row and
 * the snapshot's `xmin` (the oldest transaction still running). A later poll
 * reads, in one REPEATABLE READ snapshot, only the rows whose xmin is at or
 * above the previous snapshot's (every row inserted or updated since, plus a
 * few already seen, which the mirror ignores) and `count(*)`; only when the
 * count says rows went missing does it read the keys (no payload) to find
 * the deleted ones. A 32-bit xid wraparound falls back to a full read.
 *
 * Repairs:
 * - `quickwit.deleteShards`: the planned rows are deleted by ONE statement,
 *   `DELETE … USING unnest(planned keys, planned xmins) … WHERE xmin = the
 *   planned one AND (publish_position_inclusive = '' OR LIKE '~%') RETURNING`,
 *   in one transaction with the metastore-row preconditions (locked with
 *   `FOR SHARE` and compared by xmin). Just before it, the debug route is read
 *   again: a shard an ingester now holds, or the control plane now knows, is
 *   refused, as are all targets if an `ingesters` precondition moved or the
 *   control plane restarted. Rows the statement did not delete are reported
 *   refused with the reason read back in the same transaction.
 * - `quickwit.restartControlPlane`, `quickwit.adviseResetShards`: refused,
 *   Quickwit offers no API to do either (see `RESTART_REFUSAL`, `ADVISE_REFUSAL`).
 */
import type { PoolClient } from 'pg';
import {
  KEYS,
  keys,
  summaryOf,
  type CollectionName,
  type CollectionSummary,
  type GroupCount,
  type MetastoreShard,
  type Precondition,
  type RepairCommand,
  type RepairItemResult,
  type UnreadableRecord,
} from '../../protocol';
import {
  decodeDebugInfo,
  decodeShardRow,
  encodeShardRow,
  insertShardRowsSql,
  quickwitVersionOf,
  shardColumnsOf,
  shardRowColumns,
  shardSelectList,
  type DebugDecoded,
  type ShardRow,
} from '../../codecs/quickwit';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';
import { PostgresPool } from './postgres';
import { CONTROL_PLANE, INGESTER, INGESTERS, METASTORE, SYSTEMS } from '../../protocol/systems';

export { poolConfig } from './postgres';

type QuickwitConfig = NonNullable<GatewayConfig['quickwit']>;

/** After failures, polls wait longer (doubling from pollMs), but never more than this: a store that is back is ok again within seconds. */
const MAX_BACKOFF_MS = 5_000;
/** A node that does not answer within this is unavailable (a poll notices a frozen node within pollMs + this). */
const HTTP_TIMEOUT_MS = 5_000;
/** While a metastore read runs longer than PROBE_EVERY_MS, PostgreSQL is asked `SELECT 1` on a new connection, with this deadline. */
const PROBE_EVERY_MS = 2_000;
const PROBE_DEADLINE_MS = 3_000;
const XID_SPACE = 2 ** 32;

export const RESTART_REFUSAL =
  'the gateway cannot restart a Quickwit control plane: Quickwit has no API for it. Restart the control-plane pod ' +
  '(e.g. kubectl rollout restart) and it reloads its shard table from the metastore; or delete the uninitialised shards instead';
export const ADVISE_REFUSAL =
  'the gateway cannot make an ingester drop a shard: advise_reset_shards is a gRPC call the ingester makes to the control plane ' +
  "at startup (it only returns advice, computed from the control plane's in-memory model, not from the metastore), and Quickwit " +
  "has no API to reset an ingester's shards from outside. Restart the ingester (it calls advise_reset_shards again and drops " +
  'the shards the control plane does not know)';

/**
 * What the metastore's schema has: the highest migration applied (`_sqlx_migrations`, absent in a
 * database Quickwit never migrated) and the `shards` table's columns.
 */
const SCHEMA_QUERY =
  "SELECT (SELECT array_agg(column_name::text) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'shards') AS columns, " +
  "to_regclass('_sqlx_migrations') IS NOT NULL AS migrated";
const MIGRATION_QUERY = 'SELECT max(version)::bigint AS v FROM _sqlx_migrations WHERE success';

interface MetastoreSchema {
  columns: ReadonlySet<string>;
  migration: number | undefined;
}
/** `cluster.summary` of the metastore: what `groupOf` and `STATE_FIELD` count, counted by PostgreSQL. */
export const SUMMARY_QUERY =
  'SELECT index_uid, source_id, shard_state::text AS shard_state, count(*)::bigint AS n FROM shards GROUP BY 1, 2, 3';
const SNAPSHOT_XMIN = `SELECT (txid_snapshot_xmin(txid_current_snapshot()) % ${XID_SPACE})::bigint AS low`;
const PLANNED = 'unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS p(index_uid, source_id, shard_id, version)';
const DELETE_PLANNED =
  `DELETE FROM shards s USING ${PLANNED} ` +
  'WHERE s.index_uid = p.index_uid AND s.source_id = p.source_id AND s.shard_id = p.shard_id ' +
  'AND s.xmin::text::bigint = p.version ' +
  "AND (s.publish_position_inclusive = '' OR s.publish_position_inclusive LIKE '~%') " +
  'RETURNING s.index_uid, s.source_id, s.shard_id';

function rowId(indexUid: string, sourceId: string, shardId: string): string {
  return `${indexUid}\u0000${sourceId}\u0000${shardId}`;
}

function message(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: { message?: string }[] };
  const inner = e.errors
    ?.map((x) => x.message)
    .filter(Boolean)
    .join('; ');
  return (e.message || inner || e.code || String(err)).slice(0, 500);
}

/** What one poll of the metastore costs (for the docs' measurements and the tests). */
export interface PollStats {
  kind: 'full' | 'incremental';
  rowsRead: number;
  keysSwept: number;
  ms: number;
}

export class QuickwitSource implements SubsystemSource {
  readonly subsystem = 'shards' as const;
  readonly collections = [METASTORE, CONTROL_PLANE, INGESTER, INGESTERS] as const;
  readonly commands = [
    'quickwit.deleteShards',
    'quickwit.restartControlPlane',
    'quickwit.adviseResetShards',
    'quickwit.restoreShards',
  ] as const;

  private pool: PostgresPool | undefined;
  private ctx: SourceContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private systemId: string | undefined;
  private generation: number | undefined;
  /** The metastore rows the mirror holds (readable or not), by primary key. */
  private rows = new Set<string>();
  private unreadableRows = new Map<string, UnreadableRecord>();
  /** The previous snapshot's xmin (32-bit), or undefined before a full read. */
  private low: number | undefined;
  private pgError: string | undefined;
  private nodeError: string | undefined;
  /** The schema the last read saw (columns decide what is selected and written). */
  private schema: MetastoreSchema | undefined;
  lastPoll: PollStats | undefined;

  constructor(
    private readonly config: QuickwitConfig,
    private readonly pollMs: number,
  ) {}

  identity(): string | undefined {
    return this.systemId ? `pg-${this.systemId}` : undefined;
  }

  epoch(component: 'quickwit.controlPlane'): number | undefined {
    return component === 'quickwit.controlPlane' ? this.generation : undefined;
  }

  /**
   * The metastore's shards counted per (index, source) and state by one `GROUP BY`: no row leaves
   * PostgreSQL. Rows that do not decode are counted too (the mirror lists them as unreadable
   * instead). The control plane's and ingesters' shards come from one HTTP route: not counted here.
   */
  async summary(): Promise<Partial<Record<CollectionName, CollectionSummary>>> {
    const { rows } = await this.getPool().query<{ index_uid: string; source_id: string; shard_state: string; n: string }>(SUMMARY_QUERY);
    const groups = new Map<string, GroupCount>();
    const states: Record<string, number> = {};
    let total = 0;
    for (const r of rows) {
      const n = Number(r.n);
      const name = KEYS.shardSource.format(r.index_uid, r.source_id);
      let g = groups.get(name);
      if (!g) groups.set(name, (g = { group: name, count: 0, states: {} }));
      g.count += n;
      g.states![r.shard_state] = (g.states![r.shard_state] ?? 0) + n;
      states[r.shard_state] = (states[r.shard_state] ?? 0) + n;
      total += n;
    }
    return { [METASTORE]: summaryOf(total, states, [...groups.values()]) };
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    // Never possible, whatever runs: said before anything is planned (previews, quick fixes, Repair All Safe).
    ctx.refusing('quickwit.restartControlPlane', RESTART_REFUSAL);
    ctx.refusing('quickwit.adviseResetShards', ADVISE_REFUSAL);
    await this.pollOnce();
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.lock.catch(() => undefined);
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    const delay =
      this.failures === 0 ? this.pollMs : Math.max(this.pollMs, Math.min(MAX_BACKOFF_MS, this.pollMs * 2 ** Math.min(this.failures, 10)));
    this.timer = setTimeout(() => {
      void this.pollOnce().finally(() => this.schedule());
    }, delay);
    this.timer.unref?.();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private getPool(): PostgresPool {
    this.pool ??= new PostgresPool(this.config.postgres, {
      max: 2,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      warn: (key, w) => this.ctx?.warning?.(`postgres-${key}`, w),
    });
    return this.pool;
  }

  /** One poll of both stores; never throws (health says what failed). */
  pollOnce(): Promise<void> {
    return this.exclusive(async () => {
      const ctx = this.ctx!;
      const began = performance.now();
      try {
        await this.watched(ctx, this.pollMetastore(ctx));
        this.pgError = undefined;
        // One read of the metastore: the whole poll's transaction (a page of etcd is one read there).
        ctx.readDuration?.((performance.now() - began) / 1000, true);
      } catch (err) {
        ctx.readDuration?.((performance.now() - began) / 1000, false);
        this.pgError = `PostgreSQL metastore: ${message(err)}`;
        // Unknown, never empty: the mirror keeps what it last read, and no finding compares it.
        ctx.collectionHealth(METASTORE, { state: 'unavailable', reason: this.pgError });
        this.low = undefined;
        // A failed connection is dropped; the next poll connects again.
        const pool = this.pool;
        this.pool = undefined;
        void pool?.end().catch(() => undefined);
      }
      try {
        this.applyDebug(ctx, await this.fetchDebug());
        this.nodeError = undefined;
      } catch (err) {
        this.nodeError = `node ${this.config.node}: ${message(err)}`;
        for (const c of [CONTROL_PLANE, INGESTER, INGESTERS] as const)
          ctx.collectionHealth(c, { state: 'unavailable', reason: this.nodeError });
      }
      const reasons = [this.pgError, this.nodeError].filter((r) => r !== undefined);
      this.failures = reasons.length ? this.failures + 1 : 0;
      ctx.health(reasons.length ? { state: 'unavailable', reason: reasons.join('; ') } : { state: 'ok' });
    });
  }

  /**
   * A metastore read that runs long is watched: PostgreSQL is probed on a new connection, and one
   * that does not answer (frozen, cut off) makes the subsystem unavailable now, not when (or if)
   * the read ends. The read ends when the server answers again, and the poll says ok.
   */
  private async watched(ctx: SourceContext, read: Promise<void>): Promise<void> {
    let settled = false;
    let probing = false;
    const timer = setInterval(() => {
      if (probing || settled) return;
      probing = true;
      void this.getPool()
        .probe(PROBE_DEADLINE_MS)
        .then((why) => {
          if (why && !settled) ctx.health({ state: 'unavailable', reason: `PostgreSQL metastore: ${why}` });
        })
        .finally(() => (probing = false));
    }, PROBE_EVERY_MS);
    try {
      await read;
    } finally {
      settled = true;
      clearInterval(timer);
    }
  }

  // -------------------------------------------------------------- metastore --

  private async pollMetastore(ctx: SourceContext): Promise<void> {
    const started = performance.now();
    const db = await this.getPool().connect();
    try {
      if (this.systemId === undefined) {
        const r = await db.query('SELECT system_identifier::text AS id FROM pg_control_system()').catch(() => undefined);
        this.systemId = (r?.rows[0] as { id?: string } | undefined)?.id;
      }
      await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const schema = await this.readSchema(db);
        const changed = this.schema === undefined || [...schema.columns].sort().join() !== [...this.schema.columns].sort().join();
        this.schema = schema;
        ctx.version(
          schema.migration === undefined
            ? undefined
            : { system: SYSTEMS.quickwit.title, version: quickwitVersionOf(schema.migration), from: '_sqlx_migrations' },
        );
        const low = Number((await db.query(SNAPSHOT_XMIN)).rows[0].low);
        if (this.low === undefined || low < this.low || changed) await this.fullRead(ctx, db, started);
        else await this.incrementalRead(ctx, db, this.low, started);
        this.low = low;
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      db.release();
    }
  }

  /**
   * The schema as it is now. Quickwit migrates its metastore when it starts (sqlx's migrator, which
   * records each applied migration in `_sqlx_migrations`), so an upgrade changes it under a running
   * gateway; older schemas are read with the columns they have (0.8: none of migrations 20 and 21).
   */
  private async readSchema(db: PoolClient): Promise<MetastoreSchema> {
    const r = (await db.query<{ columns: string[] | null; migrated: boolean }>(SCHEMA_QUERY)).rows[0]!;
    const columns = new Set(r.columns ?? []);
    if (columns.size === 0) {
      throw new Error(
        'the database has no shards table: not a Quickwit metastore, or one older than Quickwit 0.7 (migration 12_create-shards)',
      );
    }
    let migration: number | undefined;
    if (r.migrated) {
      const v = (await db.query<{ v: string | null }>(MIGRATION_QUERY)).rows[0]?.v;
      migration = v === null || v === undefined ? undefined : Number(v);
    }
    return { columns, migration };
  }

  private selectRows(): string {
    return `SELECT ${shardSelectList(this.schema!.columns)} FROM shards`;
  }

  private async fullRead(ctx: SourceContext, db: PoolClient, started: number): Promise<void> {
    const { rows } = await db.query<ShardRow>(this.selectRows());
    const entities: MetastoreShard[] = [];
    this.rows = new Set();
    this.unreadableRows = new Map();
    for (const row of rows) {
      const id = rowId(String(row.index_uid), String(row.source_id), String(row.shard_id));
      this.rows.add(id);
      const d = decodeShardRow(row);
      if (d.ok) entities.push(d.entity);
      else this.unreadableRows.set(id, d.unreadable);
    }
    ctx.replace(METASTORE, entities);
    ctx.unreadable(METASTORE, [...this.unreadableRows.values()]);
    this.lastPoll = { kind: 'full', rowsRead: rows.length, keysSwept: 0, ms: Math.round(performance.now() - started) };
  }

  private async incrementalRead(ctx: SourceContext, db: PoolClient, low: number, started: number): Promise<void> {
    const { rows } = await db.query<ShardRow>(`${this.selectRows()} WHERE xmin::text::bigint >= $1`, [low]);
    let unreadableChanged = false;
    for (const row of rows) {
      const id = rowId(String(row.index_uid), String(row.source_id), String(row.shard_id));
      this.rows.add(id);
      const d = decodeShardRow(row);
      if (d.ok) {
        if (this.unreadableRows.delete(id)) unreadableChanged = true;
        ctx.upsert(METASTORE, d.entity);
      } else {
        this.unreadableRows.set(id, d.unreadable);
        unreadableChanged = true;
        const key = keys.shard(String(row.index_uid), String(row.source_id), String(row.shard_id));
        if (ctx.get(METASTORE, key)) ctx.remove(METASTORE, key);
      }
    }
    const count = Number((await db.query('SELECT count(*)::bigint AS n FROM shards')).rows[0].n);
    let swept = 0;
    if (count !== this.rows.size) {
      // Rows were deleted: find which, reading the keys only.
      const present = await db.query<{ i: string; s: string; h: string }>(
        'SELECT index_uid AS i, source_id AS s, shard_id AS h FROM shards',
      );
      swept = present.rows.length;
      const now = new Set(present.rows.map((r) => rowId(r.i, r.s, r.h)));
      for (const id of this.rows) {
        if (now.has(id)) continue;
        this.rows.delete(id);
        if (this.unreadableRows.delete(id)) unreadableChanged = true;
        const [i, s, h] = id.split('\u0000') as [string, string, string];
        ctx.remove(METASTORE, keys.shard(i, s, h));
      }
    }
    if (unreadableChanged) ctx.unreadable(METASTORE, [...this.unreadableRows.values()]);
    this.lastPoll = { kind: 'incremental', rowsRead: rows.length, keysSwept: swept, ms: Math.round(performance.now() - started) };
  }

  // ------------------------------------------------------------ debug route --

  private async fetchDebug(): Promise<DebugDecoded> {
    const url = new URL('api/developer/debug', this.config.node.endsWith('/') ? this.config.node : `${this.config.node}/`);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    } catch (err) {
      // A kept-alive connection the node closed meanwhile (it was frozen past its keep-alive timeout, or restarted):
      // one new connection, at once, before calling the node unavailable. A timeout is not retried.
      if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') throw err;
      res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    }
    if (res.status === 404) {
      // Quickwit 0.8 has no developer API: its `GET /debugging` (quickwit-serve `debugging_api.rs` at v0.8.2)
      // serves the control plane's shard table only, and nothing of the ingesters.
      throw new Error(
        `GET ${url.pathname}: HTTP 404: this Quickwit serves no developer debug route (main since #4867; not in v0.8.x), ` +
          "so the control plane's shards and the ingesters' shards cannot be read",
      );
    }
    if (!res.ok) throw new Error(`GET ${url.pathname}: HTTP ${res.status}`);
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new Error(`GET ${url.pathname}: not JSON (${message(err)})`, { cause: err });
    }
    return decodeDebugInfo(body);
  }

  /**
   * A read of the debug route into the mirror: each collection the answer shows in full is replaced;
   * one it does not (the control plane answered `{"error": …}` or is not ready, an ingester is
   * initializing or did not answer) is marked unavailable with why, and keeps what was last read:
   * unknown, never empty.
   */
  private applyDebug(ctx: SourceContext, d: DebugDecoded): void {
    const unavailable = (c: CollectionName, reason: string) => ctx.collectionHealth(c, { state: 'unavailable', reason });
    if (d.controlPlaneUnavailable !== undefined) unavailable(CONTROL_PLANE, d.controlPlaneUnavailable);
    else ctx.replace(CONTROL_PLANE, d.controlPlane);
    if (d.ingesterShardsUnavailable !== undefined) unavailable(INGESTER, d.ingesterShardsUnavailable);
    else ctx.replace(INGESTER, d.ingesterShards);
    if (d.ingestersUnavailable !== undefined) unavailable(INGESTERS, d.ingestersUnavailable);
    else ctx.replace(INGESTERS, d.ingesters);
    for (const c of [CONTROL_PLANE, INGESTER, INGESTERS] as const)
      ctx.unreadable(
        c,
        d.unreadable.filter((u) => u.collection === c),
      );
    if (d.controlPlaneUnavailable === undefined) this.generation = d.controlPlaneGeneration;
  }

  // ---------------------------------------------------------------- repairs --

  async repair(command: RepairCommand, preconditions: readonly Precondition[]): Promise<RepairItemResult[]> {
    switch (command.command) {
      case 'quickwit.deleteShards':
        return this.exclusive(() => this.deleteShards(command.targets, preconditions));
      case 'quickwit.restartControlPlane':
        return [{ key: command.command, status: 'refused', message: RESTART_REFUSAL }];
      case 'quickwit.adviseResetShards':
        return command.targets.map((t) => ({ key: t.key, status: 'refused', message: ADVISE_REFUSAL }));
      case 'quickwit.restoreShards':
        return this.exclusive(() => this.restoreShards(command.targets, preconditions));
      default:
        throw new Error(`the quickwit source cannot run ${command.command}`);
    }
  }

  private async deleteShards(
    targets: readonly { key: string; version: number }[],
    preconditions: readonly Precondition[],
  ): Promise<RepairItemResult[]> {
    const ctx = this.ctx!;
    const refuseAll = (why: string) => targets.map((t): RepairItemResult => ({ key: t.key, status: 'refused', message: why }));
    // The HTTP facts first, as fresh as they can be: the debug route, read again now.
    const planned = this.generation;
    let fresh: DebugDecoded;
    try {
      fresh = await this.fetchDebug();
    } catch (err) {
      return refuseAll(`not applied: cannot read the control plane and ingesters (${message(err)}); nothing was deleted`);
    }
    this.applyDebug(ctx, fresh);
    const unknown = fresh.controlPlaneUnavailable ?? fresh.ingesterShardsUnavailable;
    if (unknown !== undefined) {
      return refuseAll(`not applied: which shards are live is not known now (${unknown}); nothing was deleted`);
    }
    if (planned !== undefined && fresh.controlPlaneGeneration !== planned) {
      return refuseAll(
        `not applied: the control plane restarted since the plan (generation ${planned}, now ${fresh.controlPlaneGeneration ?? 'none'}); re-check and plan again`,
      );
    }
    const byCollection: Partial<Record<CollectionName, Map<string, { version: number }>>> = {
      [CONTROL_PLANE]: new Map(fresh.controlPlane.map((e) => [e.key, e])),
      [INGESTER]: new Map(fresh.ingesterShards.map((e) => [e.key, e])),
      [INGESTERS]: new Map(fresh.ingesters.map((e) => [e.key, e])),
    };
    const rowPreconditions: Extract<Precondition, { collection: string }>[] = [];
    for (const p of preconditions) {
      if ('epoch' in p) continue;
      if (p.collection === METASTORE) {
        rowPreconditions.push(p);
        continue;
      }
      const now = byCollection[p.collection]?.get(p.key);
      const failed =
        'absent' in p
          ? now && `${p.collection} ${p.key} exists now`
          : !now
            ? `${p.collection} ${p.key} is gone`
            : now.version !== p.version && `${p.collection} ${p.key} moved on (version ${p.version} when planned, now ${now.version})`;
      if (failed) return refuseAll(`not applied: ${failed}; re-check and plan again`);
    }

    const results = new Map<string, RepairItemResult>();
    const heldBy = new Map<string, string[]>();
    for (const s of fresh.ingesterShards) {
      const k = keys.shard(s.indexUid, s.sourceId, s.shardId);
      heldBy.set(k, [
        ...(heldBy.get(k) ?? []),
        `${s.ingesterId} (${s.shardState}, replicated ${s.replicationPositionInclusive || 'nothing'})`,
      ]);
    }
    const knownByControlPlane = byCollection[CONTROL_PLANE]!;
    const planned4: [string[], string[], string[], number[]] = [[], [], [], []];
    for (const t of targets) {
      if (results.has(t.key)) continue;
      const parts = t.key.split('/');
      if (parts.length !== 3 || parts.some((x) => x === '')) {
        results.set(t.key, { key: t.key, status: 'refused', message: 'not a metastore shard key (index/source/shard)' });
        continue;
      }
      const held = heldBy.get(t.key);
      if (held) {
        results.set(t.key, {
          key: t.key,
          status: 'refused',
          message: `an ingester holds it now: ${held.join(', ')}; deleting it could lose records`,
        });
        continue;
      }
      if (knownByControlPlane.has(t.key)) {
        results.set(t.key, { key: t.key, status: 'refused', message: 'the control plane knows it now: it is not dangling' });
        continue;
      }
      planned4[0].push(parts[0]!);
      planned4[1].push(parts[1]!);
      planned4[2].push(parts[2]!);
      planned4[3].push(t.version);
    }
    if (planned4[0].length > 0) {
      let db: PoolClient;
      try {
        db = await this.getPool().connect();
      } catch (err) {
        return refuseAll(`not applied: PostgreSQL metastore unreachable (${message(err)}); nothing was deleted`);
      }
      try {
        await db.query('BEGIN');
        const failed = await this.failedRowPrecondition(db, rowPreconditions);
        if (failed) {
          await db.query('ROLLBACK');
          return refuseAll(`not applied: ${failed}; re-check and plan again`);
        }
        const deleted = await db.query<{ index_uid: string; source_id: string; shard_id: string }>(DELETE_PLANNED, planned4);
        const gone = new Set(deleted.rows.map((r) => keys.shard(r.index_uid, r.source_id, r.shard_id)));
        // Why the others stayed, read in the same transaction.
        const rest = await db.query<{
          index_uid: string;
          source_id: string;
          shard_id: string;
          version: string;
          publish_position_inclusive: string;
        }>(
          `SELECT s.index_uid, s.source_id, s.shard_id, s.xmin::text::bigint AS version, s.publish_position_inclusive FROM shards s JOIN ${PLANNED} ` +
            'ON s.index_uid = p.index_uid AND s.source_id = p.source_id AND s.shard_id = p.shard_id',
          planned4,
        );
        await db.query('COMMIT');
        const still = new Map(rest.rows.map((r) => [keys.shard(r.index_uid, r.source_id, r.shard_id), r]));
        for (let i = 0; i < planned4[0].length; i++) {
          const key = keys.shard(planned4[0][i]!, planned4[1][i]!, planned4[2][i]!);
          const version = planned4[3][i]!;
          if (gone.has(key)) {
            results.set(key, {
              key,
              status: 'applied',
              message: 'deleted from the metastore: uninitialised, nothing published, unchanged since the plan',
            });
            this.rows.delete(rowId(planned4[0][i]!, planned4[1][i]!, planned4[2][i]!));
            if (ctx.get(METASTORE, key)) ctx.remove(METASTORE, key);
            continue;
          }
          const row = still.get(key);
          const why = !row
            ? 'no longer exists in the metastore'
            : Number(row.version) !== version
              ? `changed since the plan (row version ${version} when planned, now ${row.version}; publish position ${JSON.stringify(row.publish_position_inclusive)}): not deleted`
              : `has a publish position (${JSON.stringify(row.publish_position_inclusive)}) that is neither empty nor at EOF: it may hold unpublished records; not deleted`;
          results.set(key, { key, status: 'refused', message: why });
        }
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        return refuseAll(`not applied: ${message(err)}; nothing was deleted`);
      } finally {
        db.release();
      }
    }
    return targets.map((t) => results.get(t.key)!);
  }

  /**
   * Undo of a delete: the rows written back from their before-images in one transaction,
   * `INSERT … ON CONFLICT DO NOTHING`, so a key that exists again is left as it is and refused.
   */
  private async restoreShards(
    targets: readonly { key: string; entity: MetastoreShard }[],
    preconditions: readonly Precondition[],
  ): Promise<RepairItemResult[]> {
    const ctx = this.ctx!;
    const seen = new Set<string>();
    const unique = targets.filter((t) => (seen.has(t.key) ? false : (seen.add(t.key), true)));
    const refuseAll = (why: string) => unique.map((t): RepairItemResult => ({ key: t.key, status: 'refused', message: why }));
    const mismatch = unique.find(
      (t) => t.entity.key !== t.key || keys.shard(t.entity.indexUid, t.entity.sourceId, t.entity.shardId) !== t.key,
    );
    if (mismatch) return refuseAll(`not applied: the entity to re-create for ${mismatch.key} has another key; nothing was written`);
    let db: PoolClient;
    try {
      db = await this.getPool().connect();
    } catch (err) {
      return refuseAll(`not applied: PostgreSQL metastore unreachable (${message(err)}); nothing was written`);
    }
    try {
      await db.query('BEGIN');
      const failed = await this.failedRowPrecondition(
        db,
        preconditions.filter((p): p is Extract<Precondition, { collection: string }> => 'collection' in p && p.collection === METASTORE),
      );
      if (failed) {
        await db.query('ROLLBACK');
        return refuseAll(`not applied: ${failed}; nothing was written`);
      }
      // The columns this schema has; each row as journalled, update_timestamp included (prune_shards
      // deletes by it: `queries/shards/prune_age.sql`, `prune_count.sql`), never migration 21's default.
      const schema = await this.readSchema(db);
      const columns = shardColumnsOf(schema.columns);
      const inserted = await db.query<ShardRow>(
        `${insertShardRowsSql(columns)} ON CONFLICT (index_uid, source_id, shard_id) DO NOTHING RETURNING ${shardSelectList(schema.columns)}`,
        shardRowColumns(
          unique.map((t) => encodeShardRow(t.entity, columns)),
          columns.length,
        ),
      );
      await db.query('COMMIT');
      const written = new Map<string, MetastoreShard>();
      for (const row of inserted.rows) {
        const d = decodeShardRow(row);
        if (!d.ok) continue;
        written.set(d.entity.key, d.entity);
        this.rows.add(rowId(d.entity.indexUid, d.entity.sourceId, d.entity.shardId));
        ctx.upsert(METASTORE, d.entity);
      }
      return unique.map((t): RepairItemResult => {
        const e = written.get(t.key);
        return e
          ? { key: t.key, status: 'applied', message: 'written back to the metastore as it was before the repair', version: e.version }
          : {
              key: t.key,
              status: 'refused',
              message: 'a row with this key exists again in the metastore (someone re-created it since the repair); left as it is',
            };
      });
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      return refuseAll(`not applied: ${message(err)}; nothing was written`);
    } finally {
      db.release();
    }
  }

  /** Metastore-row preconditions, locked and compared by xmin inside the repair's transaction. */
  private async failedRowPrecondition(
    db: PoolClient,
    ps: readonly Extract<Precondition, { collection: string }>[],
  ): Promise<string | undefined> {
    for (const p of ps) {
      const parts = p.key.split('/');
      if (parts.length !== 3) return `${p.collection} ${p.key} is not a shard key`;
      const r = await db.query<{ version: string }>(
        'SELECT xmin::text::bigint AS version FROM shards WHERE index_uid = $1 AND source_id = $2 AND shard_id = $3 FOR SHARE',
        parts,
      );
      const now = r.rows[0] ? Number(r.rows[0].version) : undefined;
      if ('absent' in p) {
        if (now !== undefined) return `${p.collection} ${p.key} exists now`;
      } else if (now === undefined) return `${p.collection} ${p.key} is gone`;
      else if (now !== p.version) return `${p.collection} ${p.key} moved on (version ${p.version} when planned, now ${now})`;
    }
    return undefined;
  }
}

export function createQuickwitSource(config: QuickwitConfig, all: GatewayConfig): SubsystemSource {
  return new QuickwitSource(config, all.pollMs);
}
