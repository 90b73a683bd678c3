/**
 * The simulator's Quickwit metastore mirrored into a real PostgreSQL database,
 * in the upstream schema (`QUICKWIT_SCHEMA_SQL`, from Quickwit's migrations):
 * the `shards` rows, and an `indexes` row for every index they name (the FK).
 *
 * Writes are batched: a sync of the 763,471-shard incident is a few hundred
 * multi-row `INSERT … SELECT FROM unnest($1::text[], …)` statements in one
 * transaction; each batch of change events is one transaction with at most
 * one upsert statement (rows that did not change keep their row version) and
 * one delete statement per `BATCH` rows.
 *
 * A lost connection (PostgreSQL restarted, a backend terminated) is dropped,
 * never reused: the batch that failed is not lost, the mirror is marked stale
 * and synced in full again on a new connection, retried with backoff (0.5 s
 * doubling to 10 s) until it works, and at the next batch at the latest.
 */
import { Client } from 'pg';
import type { EventsNotification, MetastoreShard } from '../../protocol';
import {
  encodeIndexRow,
  encodeShardRow,
  INSERT_SHARD_ROWS,
  QUICKWIT_SCHEMA_SQL,
  SHARD_COLUMNS,
  shardRowColumns,
} from '../../codecs/quickwit';
import { redactUrls } from '../../protocol/redact';
import type { Simulator } from '../simulator';
import type { StoreMirror } from './mirror';
import { METASTORE } from '../../protocol/systems';

/** Rows per statement. */
export const BATCH = 10_000;

const INSERT_SHARDS = INSERT_SHARD_ROWS;
// update_timestamp is the time of the write (as open_shards sets it), not a field the simulator compares.
const NON_KEY = SHARD_COLUMNS.slice(3).filter((c) => c !== 'update_timestamp');
const UPSERT_SHARDS =
  `${INSERT_SHARDS} ON CONFLICT (index_uid, source_id, shard_id) DO UPDATE SET ` +
  `${NON_KEY.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, update_timestamp = (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') ` +
  `WHERE (${NON_KEY.map((c) => `shards.${c}`).join(', ')}) IS DISTINCT FROM (${NON_KEY.map((c) => `EXCLUDED.${c}`).join(', ')})`;
const INSERT_INDEXES =
  'INSERT INTO indexes (index_uid, index_metadata_json, index_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING';
const DELETE_SHARDS =
  'DELETE FROM shards WHERE (index_uid, source_id, shard_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))';

const columns = shardRowColumns;

const MIN_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

export class PostgresMirror implements StoreMirror {
  readonly target: string;
  private client: Client | undefined;
  /** A write failed: the database may lack changes, so the next write is a full sync. */
  private stale = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = MIN_RETRY_MS;
  private closed = false;
  /** One operation at a time (the retry timer's sync and the batches). */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly indexes = new Set<string>();
  /** How long the last sync took, and how many shards it wrote (for the measurements). */
  lastSync = { shards: 0, ms: 0 };

  constructor(private readonly connectionString: string) {
    this.target = `postgres ${redact(connectionString)}`;
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.connectionString });
    // A dropped connection (PostgreSQL restarted): forgotten at once, the next write connects again.
    const drop = () => {
      if (this.client === client) this.client = undefined;
    };
    client.on('error', drop);
    client.on('end', drop);
    await client.connect();
    this.client = client;
    return client;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A write failed: drop the connection, and sync in full again until it works. */
  private failed(sim: Simulator): void {
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
    this.stale = true;
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stale || this.closed) return;
      this.serial(() => this.syncNow(sim)).then(
        () => (this.retryMs = MIN_RETRY_MS),
        () => (this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS)),
      );
    }, this.retryMs);
    this.retryTimer.unref?.();
  }

  sync(sim: Simulator): Promise<void> {
    return this.serial(() => this.syncNow(sim));
  }

  private async syncNow(sim: Simulator): Promise<void> {
    try {
      await this.syncOnce(sim);
      this.stale = false;
    } catch (err) {
      this.failed(sim);
      throw err;
    }
  }

  private async syncOnce(sim: Simulator): Promise<void> {
    const started = performance.now();
    const db = await this.connect();
    const shards = [...sim.entities(METASTORE)];
    await db.query('BEGIN');
    try {
      await db.query(QUICKWIT_SCHEMA_SQL);
      await db.query('TRUNCATE shards, indexes');
      this.indexes.clear();
      await this.ensureIndexes(db, shards);
      for (let i = 0; i < shards.length; i += BATCH) {
        const rows = shards.slice(i, i + BATCH).map((s) => encodeShardRow(s));
        await db.query(INSERT_SHARDS, columns(rows, SHARD_COLUMNS.length));
      }
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    this.lastSync = { shards: shards.length, ms: Math.round(performance.now() - started) };
  }

  apply(sim: Simulator, n: EventsNotification): Promise<void> {
    return this.serial(async () => {
      // After a failed write the database may lack earlier batches: a full sync replaces them all.
      if (n.reset || this.stale) return this.syncNow(sim);
      try {
        await this.applyOnce(n);
      } catch (err) {
        this.failed(sim);
        throw err;
      }
    });
  }

  private async applyOnce(n: EventsNotification): Promise<void> {
    // The last operation on each key wins (a delete then a re-create is an upsert).
    const last = new Map<string, MetastoreShard | null>();
    for (const e of n.events) {
      if (e.collection !== METASTORE) continue;
      last.delete(e.key);
      last.set(e.key, e.op === 'upsert' ? (e.item as MetastoreShard) : null);
    }
    if (last.size === 0) return;
    const upserts: MetastoreShard[] = [];
    const deletes: string[][] = [];
    for (const [key, s] of last) {
      if (s) upserts.push(s);
      else deletes.push(key.split('/'));
    }
    const db = await this.connect();
    await db.query('BEGIN');
    try {
      await this.ensureIndexes(db, upserts);
      for (let i = 0; i < upserts.length; i += BATCH) {
        await db.query(
          UPSERT_SHARDS,
          columns(
            upserts.slice(i, i + BATCH).map((s) => encodeShardRow(s)),
            SHARD_COLUMNS.length,
          ),
        );
      }
      for (let i = 0; i < deletes.length; i += BATCH) await db.query(DELETE_SHARDS, columns(deletes.slice(i, i + BATCH), 3));
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async ensureIndexes(db: Client, shards: Iterable<MetastoreShard>): Promise<void> {
    const fresh = new Set<string>();
    for (const s of shards) if (!this.indexes.has(s.indexUid)) fresh.add(s.indexUid);
    if (fresh.size === 0) return;
    await db.query(INSERT_INDEXES, columns([...fresh].map(encodeIndexRow), 3));
    for (const uid of fresh) this.indexes.add(uid);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.chain;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

/** A connection string without its user info, for logs. */
export function redact(connectionString: string): string {
  return redactUrls(connectionString);
}

export function createPostgresMirror(target: string): StoreMirror {
  return new PostgresMirror(target);
}
