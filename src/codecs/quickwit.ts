/**
 * Quickwit's shards, as its own stores hold them ⇄ the protocol's entities.
 *
 * Upstream: quickwit-oss/quickwit, read at commit 9fd01432a734d5b0a52d8d9b4251023caa179f5b
 * (Apache-2.0). Files:
 * - The PostgreSQL metastore's tables, from the migrations under
 *   `quickwit/quickwit-metastore/migrations/postgresql/`: `1_create-indexes`,
 *   `9_add-split-incarnation-id` (indexes.index_uid / index_id), `10_…`
 *   (VARCHAR(282) / VARCHAR(255)), `12_create-shards`, `14_update-shard-id`
 *   (shard_id VARCHAR(255), defaults, FK ON DELETE CASCADE),
 *   `20_add-shard-doc-mapping-uid-field`, `21_add-shard-update-timestamp-field`,
 *   `23_change-indexes-unique-index`. `QUICKWIT_SCHEMA_SQL` below is the state
 *   these migrations leave the two tables in (only the tables the shards need).
 * - Positions: `quickwit/quickwit-proto/src/types/position.rs`: `""` is the
 *   beginning, an offset is its decimal zero-padded to 20 digits, `~` (or
 *   `~<offset>`) is the end of the shard (EOF).
 * - `GET /api/developer/debug`: `quickwit/quickwit-serve/src/developer_api/debug.rs`
 *   (a JSON map node id → that node's debug info, ready nodes only) and
 *   `server.rs` (`cluster_membership_info`, `control_plane`, `ingester`);
 *   the control plane's part is `ControlPlane::debug_info` in
 *   `quickwit/quickwit-control-plane/src/control_plane.rs`
 *   (`shard_table: {index_uid: {ingester_id: [shard]}}`, `ingesters:
 *   {node_id: {available, status}}`); an ingester's part is
 *   `Ingester::debug_info` in `quickwit/quickwit-ingest/src/ingest_v2/ingester.rs`
 *   (`status`, `shards: {index_uid: [shard with state,
 *   replication_position_inclusive, ingester_id]}`). State names are
 *   `ShardState::as_json_str_name` / `IngesterStatus::as_json_str_name`
 *   (`quickwit/quickwit-proto/src/ingest/`). Older main (#4867) listed each
 *   index's shards flat with `leader_id`/`follower_id`: that shape decodes too.
 *
 * - Versions: the highest migration in `_sqlx_migrations` names the release (`quickwitVersionOf`);
 *   a schema before migration 20 (0.8) has no `doc_mapping_uid`, before 21 no `update_timestamp`:
 *   `shardSelectList` reads NULL for them and the writes leave them out (`shardColumnsOf`).
 * - What a debug answer does not show in full (the control plane's `{"error": …}`, no control
 *   plane, an initializing ingester, one in the pool that did not answer) is reported as
 *   unavailable (`DebugDecoded.*Unavailable`), never as an empty collection.
 *
 * Entities differ from the store in two documented ways:
 * - positions: the protocol writes an offset as `~` + 20 digits and the end
 *   as `~eof`; upstream writes the 20 digits alone and the end as `~` or
 *   `~<offset>`. Both directions are translated here; an upstream EOF with an
 *   offset decodes to `~eof` (the offset is not kept).
 * - `createdAt`: the metastore keeps no creation time; it is derived from the
 *   shard id, a ULID minted by the control plane (its 48-bit millisecond
 *   timestamp, in seconds since the Unix epoch), or 0 for a non-ULID id.
 */
import {
  keys,
  type ControlPlaneShard,
  type Ingester,
  type IngesterShard,
  type MetastoreShard,
  type ShardState,
  type UnreadableRecord,
} from '../protocol';

export const QUICKWIT_UPSTREAM = 'quickwit-oss/quickwit@9fd01432a734d5b0a52d8d9b4251023caa179f5b';

/**
 * The `indexes` and `shards` tables (and the `SHARD_STATE` enum) as the
 * upstream migrations listed above leave them, each statement idempotent.
 * A real metastore already has them (Quickwit runs its migrations on start);
 * the simulator's mirror creates them in an empty database.
 */
export const QUICKWIT_SCHEMA_SQL = `
-- 1_create-indexes, 9_add-split-incarnation-id, 10_add-split-incarnation-id, 23_change-indexes-unique-index
CREATE TABLE IF NOT EXISTS indexes (
    index_uid VARCHAR(282) PRIMARY KEY,
    index_metadata_json TEXT NOT NULL,
    create_timestamp TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    index_id VARCHAR(255) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS indexes_index_id_unique
  ON indexes USING btree ("index_id" varchar_pattern_ops);
-- 12_create-shards
DO $$ BEGIN
    CREATE TYPE SHARD_STATE AS ENUM ('unspecified', 'open', 'unavailable', 'closed');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- 12_create-shards, 14_update-shard-id, 20_add-shard-doc-mapping-uid-field, 21_add-shard-update-timestamp-field
CREATE TABLE IF NOT EXISTS shards (
    index_uid VARCHAR(282) NOT NULL,
    source_id VARCHAR(255) NOT NULL,
    shard_id VARCHAR(255) NOT NULL,
    leader_id VARCHAR(255) NOT NULL,
    follower_id VARCHAR(255),
    shard_state SHARD_STATE NOT NULL DEFAULT 'open',
    publish_position_inclusive VARCHAR(255) NOT NULL DEFAULT '',
    publish_token VARCHAR(255),
    doc_mapping_uid VARCHAR(26) NOT NULL,
    update_timestamp TIMESTAMP NOT NULL DEFAULT '2024-01-01 00:00:00+00',
    PRIMARY KEY (index_uid, source_id, shard_id),
    CONSTRAINT shards_index_uid_fkey FOREIGN KEY (index_uid) REFERENCES indexes(index_uid) ON DELETE CASCADE
);
`;

/** The `shards` columns the codec reads, in the order the source selects and the mirror writes them. */
export const SHARD_COLUMNS = [
  'index_uid',
  'source_id',
  'shard_id',
  'leader_id',
  'follower_id',
  'shard_state',
  'publish_position_inclusive',
  'publish_token',
  'doc_mapping_uid',
  'update_timestamp',
] as const;
export type ShardColumn = (typeof SHARD_COLUMNS)[number];

/**
 * Columns that older schemas lack, with the migration that added them: Quickwit 0.8 (migrations
 * 1–16) has neither. Every other column exists since `12_create-shards` / `14_update-shard-id`.
 */
export const LATER_SHARD_COLUMNS: Readonly<Partial<Record<ShardColumn, number>>> = { doc_mapping_uid: 20, update_timestamp: 21 };

const SHARD_COLUMN_TYPES: Record<ShardColumn, string> = {
  index_uid: 'text',
  source_id: 'text',
  shard_id: 'text',
  leader_id: 'text',
  follower_id: 'text',
  shard_state: 'shard_state',
  publish_position_inclusive: 'text',
  publish_token: 'text',
  doc_mapping_uid: 'text',
  update_timestamp: 'bigint',
};

/** The columns of `SHARD_COLUMNS` that a `shards` table with `present` columns has. */
export function shardColumnsOf(present: ReadonlySet<string>): ShardColumn[] {
  return SHARD_COLUMNS.filter((c) => present.has(c));
}

/**
 * `INSERT INTO shards (…) SELECT … FROM unnest($1, …)`: rows as column arrays (`shardRowColumns`),
 * over the columns the schema has. `update_timestamp` travels as seconds since the Unix epoch and is
 * stored as the UTC `TIMESTAMP` upstream keeps (`PgShard`: `update_timestamp.assume_utc()`); a row
 * without one gets the time of the write, as `open_shards` does (`queries/shards/open.sql`, bound to
 * `OffsetDateTime::now_utc()`).
 */
export function insertShardRowsSql(columns: readonly ShardColumn[] = SHARD_COLUMNS): string {
  const select = columns.map((c, i) =>
    c === 'update_timestamp' ? `COALESCE(to_timestamp(r.c${i}) AT TIME ZONE 'UTC', CURRENT_TIMESTAMP AT TIME ZONE 'UTC')` : `r.c${i}`,
  );
  return (
    `INSERT INTO shards (${columns.join(', ')}) SELECT ${select.join(', ')} ` +
    `FROM unnest(${columns.map((c, i) => `$${i + 1}::${SHARD_COLUMN_TYPES[c]}[]`).join(', ')}) AS r(${columns.map((_, i) => `c${i}`).join(', ')})`
  );
}
export const INSERT_SHARD_ROWS = insertShardRowsSql();

/**
 * The select list that reads a row for `decodeShardRow` from a `shards` table with `present`
 * columns (plus its row version, `xmin`): a column the schema predates reads as NULL.
 */
export function shardSelectList(present: ReadonlySet<string>, alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return [
    ...SHARD_COLUMNS.map((c) => {
      if (!present.has(c)) return `NULL::text AS ${c}`;
      // Whole seconds, as upstream's `Shard.update_timestamp` (`unix_timestamp()`, which truncates).
      if (c === 'update_timestamp') return `floor(extract(epoch from ${a}update_timestamp))::bigint::text AS update_timestamp`;
      return `${a}${c}`;
    }),
    `${a}xmin::text::bigint AS version`,
  ].join(', ');
}

/**
 * The highest migration each release applies (`_sqlx_migrations`, written by sqlx's migrator when
 * Quickwit starts), read from the tags' `quickwit/quickwit-metastore/migrations/postgresql/`:
 * v0.5.x 8, v0.6.0–0.6.1 10, v0.6.2–0.6.5 11, v0.7.0 13, v0.7.1 14, v0.8.0–0.8.2 16, v0.9.0 28
 * (v0.9.0-rc1 to main at 9fd01432a). Migrations 17–27 were only ever on main between v0.8 and v0.9
 * (#5029, the fix of the dangling shards, landed between 19 and 20).
 */
const RELEASES: readonly [migration: number, first: string, last: string][] = [
  [8, '0.5.0', '0.5.2'],
  [10, '0.6.0', '0.6.1'],
  [11, '0.6.2', '0.6.5'],
  [13, '0.7.0', '0.7.0'],
  [14, '0.7.1', '0.7.1'],
  [16, '0.8.0', '0.8.2'],
  [28, '0.9.0', '0.9.0'],
];

/**
 * The Quickwit version a metastore's highest applied migration says it runs: a release (`0.8.0 to
 * 0.8.2 (migration 16)`), or a main build between two releases (`0.8.0-main: a main build after
 * 0.8.0, before 0.9.0 (migration 20)`). The text starts with a comparable version and always names
 * the migration (`RULE_VERSIONS` reads it).
 */
export function quickwitVersionOf(migration: number): string {
  const exact = RELEASES.find(([m]) => m === migration);
  if (exact) {
    const [, first, last] = exact;
    const range = migration === 28 ? `${first} or a later main build` : first === last ? first : `${first} to ${last}`;
    return `${range} (migration ${migration})`;
  }
  const before = RELEASES.filter(([m]) => m < migration).pop();
  const after = RELEASES.find(([m]) => m > migration);
  if (!before) return `${after![1]} or older (migration ${migration})`;
  return `${before[1]}-main: a main build after ${before[1]}${after ? `, before ${after[1]}` : ''} (migration ${migration})`;
}

/** Column-major arrays of rows, the parameters of an `unnest` statement. */
export function shardRowColumns(rows: readonly (string | null)[][], width: number = SHARD_COLUMNS.length): (string | null)[][] {
  const cols: (string | null)[][] = Array.from({ length: width }, () => new Array<string | null>(rows.length));
  rows.forEach((row, r) => row.forEach((v, c) => (cols[c]![r] = v)));
  return cols;
}

/** A `shards` row as `pg` returns it (text columns, enum as text), plus its row version. */
export interface ShardRow {
  index_uid: unknown;
  source_id: unknown;
  shard_id: unknown;
  leader_id: unknown;
  follower_id: unknown;
  shard_state: unknown;
  publish_position_inclusive: unknown;
  publish_token: unknown;
  doc_mapping_uid: unknown;
  /** Seconds since the Unix epoch as text (`shardSelectList`), or null when the schema predates migration 21. */
  update_timestamp: unknown;
  /** The row version: `xmin::text::bigint` (see the quickwit source). */
  version: unknown;
}

export type Decoded<E> = { ok: true; entity: E } | { ok: false; unreadable: UnreadableRecord };

const SHARD_STATES: readonly ShardState[] = ['unspecified', 'open', 'unavailable', 'closed'];
/** `IngesterStatus::as_json_str_name` (quickwit-proto `src/ingest/ingester.rs`; `ingester.proto`): every value upstream has. */
const INGESTER_STATUSES = [
  'unspecified',
  'initializing',
  'ready',
  'retiring',
  'decommissioning',
  'decommissioned',
  'failed',
] as const satisfies readonly Ingester['status'][];
/**
 * Statuses in which an ingester's debug info does not list the shards of its WAL: `initializing`
 * (what `Ingester::debug_info` answers, with `"shards": {}`, while it cannot lock its state, and the
 * status until its WAL is loaded), `failed` (its WAL did not open), `unspecified` (never set).
 */
const SHARDS_UNKNOWN_STATUSES: ReadonlySet<string> = new Set(['unspecified', 'initializing', 'failed']);
const OFFSET = /^\d{20}$/;
const PROTOCOL_OFFSET = /^~\d{20}$/;

// ------------------------------------------------------------- positions --

/** Upstream position text → the protocol's (`~` + 20 digits, `~eof`), or undefined if it is not a position. */
export function decodePosition(upstream: string): string | undefined {
  if (upstream === '') return '';
  if (OFFSET.test(upstream)) return `~${upstream}`;
  if (upstream === '~' || /^~\d+$/.test(upstream)) return '~eof';
  return undefined;
}

/** The protocol's position → upstream text. */
export function encodePosition(position: string): string {
  if (position === '') return '';
  if (position === '~eof') return '~';
  if (PROTOCOL_OFFSET.test(position)) return position.slice(1);
  throw new Error(`not a position: ${JSON.stringify(position)}`);
}

// ------------------------------------------------------------------ ULIDs --

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Seconds since the Unix epoch of a ULID's timestamp, or 0 when `id` is not a ULID. */
export function ulidSeconds(id: string): number {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/i.test(id)) return 0;
  let ms = 0;
  for (let i = 0; i < 10; i++) ms = ms * 32 + CROCKFORD.indexOf(id[i]!.toUpperCase());
  return Math.floor(ms / 1000);
}

// ---------------------------------------------------------- metastore row --

function shardRowKey(row: Partial<ShardRow>): string {
  return `shards(${[row.index_uid, row.source_id, row.shard_id].map((v) => String(v)).join(', ')})`.slice(0, 1024);
}

function text(row: Record<string, unknown>, column: string, nullable = false): string | null {
  const v = row[column];
  if (v === null && nullable) return null;
  if (typeof v !== 'string') throw new Error(`${column} is ${v === null ? 'null' : typeof v}, not text`);
  return v;
}

function updateTimestampOf(v: unknown): number | null {
  if (v === null) return null;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > 253_402_300_799)
    throw new Error(`update_timestamp ${JSON.stringify(v)} is not seconds since the epoch`);
  return n;
}

/** One `shards` row → a `quickwit.metastore.shards` entity, or the reason it is unreadable. */
export function decodeShardRow(row: ShardRow): Decoded<MetastoreShard> {
  const r = row as unknown as Record<string, unknown>;
  try {
    const indexUid = text(r, 'index_uid')!;
    const sourceId = text(r, 'source_id')!;
    const shardId = text(r, 'shard_id')!;
    for (const [name, v] of [
      ['index_uid', indexUid],
      ['source_id', sourceId],
      ['shard_id', shardId],
    ] as const) {
      if (v === '' || v.includes('/')) throw new Error(`${name} ${JSON.stringify(v)} is empty or holds a "/"`);
    }
    const state = text(r, 'shard_state')!;
    if (!SHARD_STATES.includes(state as ShardState)) throw new Error(`shard_state ${JSON.stringify(state)} is not a SHARD_STATE`);
    const upstreamPosition = text(r, 'publish_position_inclusive')!;
    const position = decodePosition(upstreamPosition);
    if (position === undefined) throw new Error(`publish_position_inclusive ${JSON.stringify(upstreamPosition)} is not a position`);
    const version = typeof row.version === 'string' ? Number(row.version) : row.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)
      throw new Error(`row version ${String(row.version)} is not a count`);
    return {
      ok: true,
      entity: {
        key: keys.shard(indexUid, sourceId, shardId),
        version,
        indexUid,
        sourceId,
        shardId,
        leaderId: text(r, 'leader_id')!,
        followerId: text(r, 'follower_id', true),
        // NULL only where the schema predates migration 20 (the column is NOT NULL since): not stored.
        docMappingUid: text(r, 'doc_mapping_uid', true) ?? '',
        shardState: state as ShardState,
        publishPositionInclusive: position,
        publishToken: text(r, 'publish_token', true),
        createdAt: ulidSeconds(shardId),
        updateTimestamp: updateTimestampOf(r.update_timestamp),
      },
    };
  } catch (err) {
    return {
      ok: false,
      unreadable: { collection: 'quickwit.metastore.shards', key: shardRowKey(row), reason: (err as Error).message.slice(0, 1024) },
    };
  }
}

/** A metastore shard entity → its `shards` row values, in the order of `columns` (default `SHARD_COLUMNS`). */
export function encodeShardRow(s: MetastoreShard, columns: readonly ShardColumn[] = SHARD_COLUMNS): (string | null)[] {
  const values: Record<ShardColumn, string | null> = {
    index_uid: s.indexUid,
    source_id: s.sourceId,
    shard_id: s.shardId,
    leader_id: s.leaderId,
    follower_id: s.followerId,
    shard_state: s.shardState,
    publish_position_inclusive: encodePosition(s.publishPositionInclusive),
    publish_token: s.publishToken,
    doc_mapping_uid: s.docMappingUid,
    update_timestamp: s.updateTimestamp === null ? null : String(s.updateTimestamp),
  };
  return columns.map((c) => values[c]);
}

/** The `index_id` part of an index uid (`<index_id>:<ULID>`). */
export function indexIdOf(indexUid: string): string {
  const at = indexUid.lastIndexOf(':');
  return at > 0 ? indexUid.slice(0, at) : indexUid;
}

/**
 * A minimal `indexes` row for an index the simulator's shards name: the
 * metastore's FK needs it. Its `index_metadata_json` follows the serialized
 * `IndexMetadata` (`version`, `index_uid`, `index_config`, `sources`,
 * `checkpoint`, `create_timestamp`); the gateway does not read it.
 */
export function encodeIndexRow(indexUid: string): [string, string, string] {
  const indexId = indexIdOf(indexUid);
  const metadata = {
    version: '0.9',
    index_uid: indexUid,
    index_config: { version: '0.9', index_id: indexId, index_uri: `s3://quickwit-indexes/${indexId}` },
    checkpoint: {},
    create_timestamp: 0,
    sources: [{ version: '0.9', source_id: '_ingest-source', source_type: 'ingest', num_pipelines: 1, enabled: true, params: {} }],
  };
  return [indexUid, JSON.stringify(metadata), indexId];
}

// ------------------------------------------------------ /api/developer/debug --

/** A stable non-negative version for a record read over HTTP: FNV-1a of its canonical JSON (changes whenever it does). */
export function contentVersion(value: unknown): number {
  const s = JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface DebugDecoded {
  controlPlane: ControlPlaneShard[];
  ingesterShards: IngesterShard[];
  ingesters: Ingester[];
  unreadable: UnreadableRecord[];
  /**
   * Why the control plane's shard table is not known from this answer (its part is
   * `{"error": …}`, as `DeveloperApiServer::get_debug_info` writes when the actor does not answer;
   * or no ready node sent one), or undefined when it was read. Unknown is never empty.
   */
  controlPlaneUnavailable?: string;
  /**
   * Why the ingesters' shards are not all known: an ingester whose status says its debug info does
   * not list its WAL's shards (`SHARDS_UNKNOWN_STATUSES`), or one the control plane has in its pool
   * that did not answer (the route leaves out a node that fails or takes over 5 s).
   */
  ingesterShardsUnavailable?: string;
  /** Why the set of ingesters is not complete: an ingester the control plane has in its pool did not answer. */
  ingestersUnavailable?: string;
  /** The node whose info holds the control plane's part, or undefined when no ready node runs one. */
  controlPlaneNode?: string;
  /**
   * The control plane's generation: its node's chitchat `generation_id`
   * (nanoseconds at start), in milliseconds; it changes when the control plane's process restarts.
   */
  controlPlaneGeneration?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new Error(`${field} is ${v === undefined ? 'missing' : JSON.stringify(v)}`);
}

function shardPart(v: string, field: string): string {
  if (v.includes('/')) throw new Error(`${field} ${JSON.stringify(v)} holds a "/"`);
  return v;
}

/** The generation id (ms) of `nodeId` as its own `cluster_membership_info` lists it. */
function generationOf(info: Record<string, unknown>, nodeId: string): number | undefined {
  const membership = info.cluster_membership_info;
  if (!isObject(membership) || !Array.isArray(membership.ready_nodes)) return undefined;
  for (const n of membership.ready_nodes) {
    if (isObject(n) && n.node_id === nodeId && typeof n.generation_id === 'number') return Math.round(n.generation_id / 1_000_000);
  }
  return undefined;
}

/**
 * The debug route's JSON → the control plane's shard table, the ingesters'
 * shards and the ingesters. Anything that does not decode is listed
 * unreadable (the whole answer when it is not a map of nodes); never throws.
 */
export function decodeDebugInfo(json: unknown): DebugDecoded {
  const out: DebugDecoded = { controlPlane: [], ingesterShards: [], ingesters: [], unreadable: [] };
  const bad = (collection: UnreadableRecord['collection'], key: string, reason: string) =>
    out.unreadable.push({ collection, key: key.slice(0, 1024), reason: reason.slice(0, 1024) });
  if (!isObject(json)) {
    bad('quickwit.controlPlane.shards', '/api/developer/debug', `not a JSON object of nodes: ${typeof json}`);
    return out;
  }
  const ingesterIds = new Set<string>();
  const shardsUnknown: string[] = [];
  let controlPlaneSeen = false;
  let pool: Record<string, unknown> | undefined;
  for (const [nodeId, info] of Object.entries(json)) {
    if (!isObject(info)) {
      bad('quickwit.ingesters', `/api/developer/debug ${nodeId}`, 'the node info is not an object');
      shardsUnknown.push(`node ${nodeId}'s debug info is not an object`);
      continue;
    }
    const cp = info.control_plane;
    if (cp !== undefined && !controlPlaneSeen) {
      controlPlaneSeen = true;
      pool = decodeControlPlane(nodeId, info, cp, out, bad);
    }
    const ing = info.ingester;
    if (ing !== undefined) {
      ingesterIds.add(nodeId);
      if (!isObject(ing)) {
        bad('quickwit.ingesters', `/api/developer/debug ${nodeId}.ingester`, 'not an object');
        shardsUnknown.push(`ingester ${nodeId}'s part is not an object`);
        continue;
      }
      const status = ing.status;
      if (!INGESTER_STATUSES.includes(status as (typeof INGESTER_STATUSES)[number])) {
        bad(
          'quickwit.ingesters',
          `/api/developer/debug ${nodeId}.ingester.status`,
          `ingester status ${JSON.stringify(status)} is not an IngesterStatus (${INGESTER_STATUSES.join(', ')})`,
        );
        shardsUnknown.push(`ingester ${nodeId}'s status ${JSON.stringify(status)} is not an IngesterStatus`);
      } else {
        const generation = generationOf(info, nodeId);
        out.ingesters.push({
          key: nodeId,
          version: contentVersion([status, generation ?? null]),
          nodeId,
          status: status as Ingester['status'],
        });
        if (SHARDS_UNKNOWN_STATUSES.has(status as string))
          shardsUnknown.push(`ingester ${nodeId} is ${status as string}: its debug info does not list the shards of its WAL`);
      }
      decodeIngesterShards(nodeId, ing.shards, out, bad);
    }
  }
  if (!controlPlaneSeen) {
    out.controlPlaneUnavailable =
      "no ready node answered with the control plane's part: the control plane is not ready, or its node did not answer the debug route within 5 s";
  }
  // The control plane's pool (`ingesters`, `available: true`): each of those should have answered.
  const silent = Object.entries(pool ?? {})
    .filter(([id, v]) => isObject(v) && v.available === true && !ingesterIds.has(id))
    .map(([id]) => id)
    .sort();
  if (silent.length > 0) {
    const why = `${silent.length === 1 ? 'ingester' : 'ingesters'} ${silent.slice(0, 5).join(', ')}${silent.length > 5 ? ', …' : ''} in the control plane's pool did not answer the debug route`;
    out.ingestersUnavailable = why;
    shardsUnknown.push(why);
  }
  if (shardsUnknown.length > 0)
    out.ingesterShardsUnavailable =
      shardsUnknown.slice(0, 5).join('; ') + (shardsUnknown.length > 5 ? `; and ${shardsUnknown.length - 5} more` : '');
  return out;
}

type Bad = (collection: UnreadableRecord['collection'], key: string, reason: string) => void;

/** The control plane's part → its shards (into `out`); returns its ingester pool (`ingesters`) when the part was read. */
function decodeControlPlane(
  nodeId: string,
  info: Record<string, unknown>,
  cp: unknown,
  out: DebugDecoded,
  bad: Bad,
): Record<string, unknown> | undefined {
  const where = `/api/developer/debug ${nodeId}.control_plane`;
  if (isObject(cp) && 'error' in cp) {
    // `DeveloperApiServer::get_debug_info`: the actor did not answer `GetDebugInfo` (dead, restarting, busy).
    out.controlPlaneUnavailable = `the control plane on ${nodeId} answered an error: ${String(typeof cp.error === 'string' ? cp.error : JSON.stringify(cp.error)).slice(0, 500)}`;
    return undefined;
  }
  const table = isObject(cp) ? cp.shard_table : undefined;
  if (!isObject(cp) || !isObject(table)) {
    const why = isObject(cp) ? 'shard_table is missing or not an object' : 'not an object';
    bad('quickwit.controlPlane.shards', isObject(cp) ? `${where}.shard_table` : where, why);
    out.controlPlaneUnavailable = `the control plane's part from ${nodeId} does not decode: ${why}`;
    return undefined;
  }
  out.controlPlaneNode = nodeId;
  out.controlPlaneGeneration = generationOf(info, nodeId);
  for (const [indexUid, perIndex] of Object.entries(table)) {
    // Current main: {ingester_id: [shard]}; #4867: [shard] with leader_id.
    const lists: [string, unknown][] = Array.isArray(perIndex) ? [['', perIndex]] : isObject(perIndex) ? Object.entries(perIndex) : [];
    if (lists.length === 0 && !isObject(perIndex))
      bad('quickwit.controlPlane.shards', `${where}.shard_table.${indexUid}`, 'not a list or map of shards');
    for (const [ingesterId, shards] of lists) {
      if (!Array.isArray(shards)) {
        bad('quickwit.controlPlane.shards', `${where}.shard_table.${indexUid}.${ingesterId}`, 'not a list of shards');
        continue;
      }
      shards.forEach((raw, i) => {
        try {
          if (!isObject(raw)) throw new Error('not an object');
          const state = raw.shard_state;
          if (!SHARD_STATES.includes(state as ShardState)) throw new Error(`shard_state ${JSON.stringify(state)} is not a ShardState`);
          const shardIndexUid = shardPart(str(raw, 'index_uid'), 'index_uid');
          const sourceId = shardPart(str(raw, 'source_id'), 'source_id');
          const shardId = shardPart(str(raw, 'shard_id'), 'shard_id');
          const leaderId = 'ingester_id' in raw ? str(raw, 'ingester_id') : 'leader_id' in raw ? str(raw, 'leader_id') : ingesterId;
          if (leaderId === '') throw new Error('no ingester_id or leader_id');
          const fields = { indexUid: shardIndexUid, sourceId, shardId, leaderId, shardState: state as ShardState };
          out.controlPlane.push({ key: keys.shard(shardIndexUid, sourceId, shardId), version: contentVersion(fields), ...fields });
        } catch (err) {
          bad(
            'quickwit.controlPlane.shards',
            `${where}.shard_table.${indexUid}${ingesterId ? `.${ingesterId}` : ''}[${i}]`,
            (err as Error).message,
          );
        }
      });
    }
  }
  return isObject(cp.ingesters) ? cp.ingesters : undefined;
}

function decodeIngesterShards(nodeId: string, shards: unknown, out: DebugDecoded, bad: Bad): void {
  const where = `/api/developer/debug ${nodeId}.ingester.shards`;
  if (!isObject(shards)) {
    bad('quickwit.ingester.shards', where, 'missing or not an object');
    return;
  }
  for (const [indexUid, list] of Object.entries(shards)) {
    if (!Array.isArray(list)) {
      bad('quickwit.ingester.shards', `${where}.${indexUid}`, 'not a list of shards');
      continue;
    }
    list.forEach((raw, i) => {
      try {
        if (!isObject(raw)) throw new Error('not an object');
        const state = raw.state;
        if (!SHARD_STATES.includes(state as ShardState)) throw new Error(`state ${JSON.stringify(state)} is not a ShardState`);
        const ingesterId = shardPart('ingester_id' in raw ? str(raw, 'ingester_id') : nodeId, 'ingester_id');
        const shardIndexUid = shardPart(str(raw, 'index_uid'), 'index_uid');
        const sourceId = shardPart(str(raw, 'source_id'), 'source_id');
        const shardId = shardPart(str(raw, 'shard_id'), 'shard_id');
        const rawPosition = raw.replication_position_inclusive;
        const position = typeof rawPosition === 'string' ? decodePosition(rawPosition) : undefined;
        if (position === undefined) throw new Error(`replication_position_inclusive ${JSON.stringify(rawPosition)} is not a position`);
        const fields = {
          ingesterId,
          indexUid: shardIndexUid,
          sourceId,
          shardId,
          shardState: state as ShardState,
          replicationPositionInclusive: position,
        };
        out.ingesterShards.push({
          key: keys.ingesterShard(ingesterId, shardIndexUid, sourceId, shardId),
          version: contentVersion(fields),
          ...fields,
        });
      } catch (err) {
        bad('quickwit.ingester.shards', `${where}.${indexUid}[${i}]`, (err as Error).message);
      }
    });
  }
}

/** What the simulator serves as one node's `cluster_membership_info` entry (a chitchat id). */
export interface ChitchatId {
  node_id: string;
  generation_id: number;
  gossip_advertise_addr: string;
}

/**
 * The debug route's answer for a cluster: one control-plane node and one
 * node per ingester, in the upstream shape (the encode direction, used by the
 * simulator).
 */
export function encodeDebugInfo(input: {
  controlPlaneNode: string;
  controlPlaneGeneration: number;
  controlPlane: readonly ControlPlaneShard[];
  publishPositions: (key: string) => string;
  ingesters: readonly Ingester[];
  /** An ingester's start time in ms (a new one when it restarts). */
  ingesterGeneration: (i: Ingester) => number;
  ingesterShards: readonly IngesterShard[];
}): Record<string, unknown> {
  const nodes: ChitchatId[] = [
    { node_id: input.controlPlaneNode, generation_id: input.controlPlaneGeneration * 1_000_000, gossip_advertise_addr: '127.0.0.1:7280' },
    ...input.ingesters.map((i, n) => ({
      node_id: i.nodeId,
      generation_id: input.ingesterGeneration(i) * 1_000_000,
      gossip_advertise_addr: `127.0.0.1:${7290 + n}`,
    })),
  ];
  const membership = { ready_nodes: nodes, live_nodes: [], dead_nodes: [], chitchat_state: {} };
  const shardTable: Record<string, Record<string, unknown[]>> = {};
  for (const s of input.controlPlane) {
    const perIndex = (shardTable[s.indexUid] ??= {});
    (perIndex[s.leaderId] ??= []).push({
      index_uid: s.indexUid,
      source_id: s.sourceId,
      shard_id: s.shardId,
      shard_state: s.shardState,
      ingester_id: s.leaderId,
      publish_position_inclusive: encodePosition(input.publishPositions(s.key)),
    });
  }
  const out: Record<string, unknown> = {
    [input.controlPlaneNode]: {
      cluster_membership_info: membership,
      control_plane: {
        ingesters: Object.fromEntries(input.ingesters.map((i) => [i.nodeId, { available: true, status: i.status }])),
        physical_indexing_plan: [],
        shard_table: shardTable,
      },
    },
  };
  for (const i of input.ingesters) {
    const shards: Record<string, unknown[]> = {};
    for (const s of input.ingesterShards) {
      if (s.ingesterId !== i.nodeId) continue;
      (shards[s.indexUid] ??= []).push({
        index_uid: s.indexUid,
        source_id: s.sourceId,
        shard_id: s.shardId,
        state: s.shardState,
        replication_position_inclusive: encodePosition(s.replicationPositionInclusive),
        truncation_position_inclusive: '',
        type: 'solo',
        ingester_id: s.ingesterId,
      });
    }
    out[i.nodeId] = { cluster_membership_info: membership, ingester: { status: i.status, shards, mrecordlog: {} } };
  }
  return out;
}
