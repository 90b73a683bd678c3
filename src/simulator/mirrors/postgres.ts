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
 */
import { Client } from 'pg';
import type { EventsNotification, MetastoreShard } from '../../protocol';
import { encodeIndexRow, encodeShardRow, INSERT_SHARD_ROWS, QUICKWIT_SCHEMA_SQL, SHARD_COLUMNS, shardRowColumns } from '../../codecs/quickwit';
import type { Simulator } from '../simulator';
import type { StoreMirror } from './mirror';

const METASTORE = 'quickwit.metastore.shards';
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

export class PostgresMirror implements StoreMirror {
  readonly target: string;
  private client: Client | undefined;
  private readonly indexes = new Set<string>();
  /** How long the last sync took, and how many shards it wrote (for the measurements). */
  lastSync = { shards: 0, ms: 0 };

  constructor(private readonly connectionString: string) {
    this.target = `postgres ${redact(connectionString)}`;
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.connectionString });
    client.on('error', () => undefined); // a dropped connection fails the next query, which the mirror logs
    await client.connect();
    this.client = client;
    return client;
  }

  async sync(sim: Simulator): Promise<void> {
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

  async apply(sim: Simulator, n: EventsNotification): Promise<void> {
    if (n.reset) return this.sync(sim);
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
        await db.query(UPSERT_SHARDS, columns(upserts.slice(i, i + BATCH).map((s) => encodeShardRow(s)), SHARD_COLUMNS.length));
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
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

/** A connection string without its password, for logs. */
export function redact(connectionString: string): string {
  return connectionString.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export function createPostgresMirror(target: string): StoreMirror {
  return new PostgresMirror(target);
}
