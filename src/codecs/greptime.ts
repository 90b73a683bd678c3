/**
 * GreptimeDB metasrv procedures in etcd, in the upstream layout
 * (GreptimeTeam/greptimedb v0.14.0 = 66e2242e; the same formats in v1.1.4 = 16e9abe4; main
 * 7fd0a7bb adds `context` to `ProcedureMessage`):
 *
 * - `src/common/meta/src/state_store.rs`: `KvStateStore` prefixes every procedure key with
 *   `/__procedure__/`; values larger than `max_metadata_value_size` (metasrv: 1500 KiB,
 *   `src/meta-srv/src/metasrv.rs`) are split into `<key>`, `<key>/0000000001`, …
 *   (`KeySet::with_segment_suffix`, `src/common/procedure/src/store/state_store.rs`), joined back on
 *   read (`store/util.rs`, `multiple_value_stream`).
 * - `src/common/procedure/src/store.rs`: `PROC_PATH = "procedure/"`, keys
 *   `"{proc_path}{procedure_id}/{step:010}.{step|commit|rollback}"`; `.step` and `.rollback` hold the
 *   JSON of `ProcedureMessage` (`type_name`, `data`, `parent_id`, `step`, `error` when set, `context`
 *   when not empty); `.commit` is empty. `load_messages` keeps, per procedure, the key of the
 *   highest step (on a tie, the first in key order): `.step` → unfinished, re-run on load;
 *   `.rollback` → rolled back on load (`local.rs`, `InitProcedureState::RollingBack`); `.commit` →
 *   finished, its keys deleted on load. The runner deletes a procedure's keys once it finished
 *   (`local/runner.rs`, `Runner::run`).
 * - `src/meta-srv/src/bootstrap.rs`: metasrv's `store_key_prefix` is prepended as raw bytes
 *   (`ChrootKvBackend`).
 * - `data` per type: `CreateTableData` (`ddl/create_table.rs`: `state`, `task` = base64
 *   STANDARD_NO_PAD of protobuf `greptime.v1.meta.CreateTableTask`, `src/common/meta/src/rpc/ddl.rs`),
 *   `CreateTablesData` (`ddl/create_logical_tables.rs`: `tasks`, `physical_table_id`, …),
 *   `DropTableData` (`ddl/drop_table.rs`: `state`, `task{catalog,schema,table,table_id}`,
 *   `allow_rollback`). Lock keys as their `lock_key()` builds them (`src/common/meta/src/lock_key.rs`).
 *
 * Not persisted: retry counts, start and end times (`retries` is 0; the times are the reader's
 * clock when it first saw the procedure, and first saw it finished).
 */
import type { EtcdPrefix, Procedure } from '../protocol';
import { errorText, utf8, type EtcdKv, type UnreadableKey } from './etcd-kv';
import { protoType } from './protobuf';
import ddlProto from '../../proto/greptime/ddl.proto';

/** proto/greptime/ddl.proto (the upstream excerpt, with its source and license), embedded as text by the build. */
export const GREPTIME_DDL_PROTO: string = ddlProto;

const CreateTableTaskType = protoType(GREPTIME_DDL_PROTO, 'greptime.v1.CreateTableTask');

export const CREATE_TABLE = 'metasrv-procedure::CreateTable';
export const CREATE_LOGICAL_TABLES = 'metasrv-procedure::CreateLogicalTables';
export const DROP_TABLE = 'metasrv-procedure::DropTable';
/** `state_store.rs`. */
export const PROCEDURE_PREFIX = '/__procedure__/';
/** `src/common/meta/src/key.rs` (`TABLE_INFO_KEY_PREFIX`), `key/table_name.rs`: no leading slash. */
export const TABLE_INFO_PREFIX = '__table_info/';
export const TABLE_NAME_PREFIX = '__table_name/';
/** The prefixes `greptime.etcd` reports (the keys metasrv's DDL grows). */
export const ETCD_PREFIXES = [PROCEDURE_PREFIX, TABLE_INFO_PREFIX, TABLE_NAME_PREFIX] as const;
/**
 * Metasrv's etcd election (`src/meta-srv/src/election.rs` at v0.14.0, `src/common/meta/src/key.rs` in
 * v1.x: `ELECTION_KEY`): every metasrv campaigning holds `<store_key_prefix>__metasrv_election/<lease>`
 * on a lease of `META_LEASE_SECS` (5 s), its value the metasrv's address; the leader is the oldest.
 */
export const ELECTION_PREFIX = '__metasrv_election/';
/**
 * `CANDIDATES_ROOT`: `<store_key_prefix>__metasrv_election_candidates/<addr>`, the JSON of
 * `MetasrvNodeInfo` (`addr`, `version`, `git_commit`, `start_time_ms`, …), on a lease of 600 s.
 */
export const CANDIDATES_PREFIX = '__metasrv_election_candidates/';
/** Metasrv's `procedure.max_metadata_value_size` default (`ReadableSize::kb(1500)`). */
export const MAX_METADATA_VALUE_SIZE = 1500 * 1024;

/** `[store_key_prefix]/__procedure__/procedure/`. */
export function procedureRoot(storeKeyPrefix: string): string {
  return `${storeKeyPrefix}${PROCEDURE_PREFIX}procedure/`;
}

export type ProcedureKeyKind = 'step' | 'commit' | 'rollback';

export interface ParsedProcedureKey {
  procedureId: string;
  step: number;
  kind: ProcedureKeyKind;
  /** 0 for the key itself, n for its `/000000000n` segment. */
  segment: number;
  /** The key without its segment suffix. */
  base: string;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `ParsedKey::parse_str` plus the segment suffix; null for a key that is not a procedure key. */
export function parseProcedureKey(rootPath: string, key: string): ParsedProcedureKey | null {
  if (!key.startsWith(rootPath)) return null;
  const parts = key.slice(rootPath.length).split('/');
  if (parts.length !== 2 && parts.length !== 3) return null;
  const [id, name, seg] = parts as [string, string, string | undefined];
  if (!UUID.test(id)) return null;
  const m = /^(\d{10})\.(step|commit|rollback)$/.exec(name);
  if (!m) return null;
  let segment = 0;
  if (seg !== undefined) {
    if (!/^\d{10}$/.test(seg) || Number(seg) === 0) return null;
    segment = Number(seg);
  }
  return { procedureId: id, step: Number(m[1]), kind: m[2] as ProcedureKeyKind, segment, base: `${rootPath}${id}/${name}` };
}

export function procedureKey(rootPath: string, procedureId: string, step: number, kind: ProcedureKeyKind): string {
  return `${rootPath}${procedureId}/${String(step).padStart(10, '0')}.${kind}`;
}

/** `KeySet::with_segment_suffix`: the n-th segment's key (n ≥ 1). */
export function segmentKey(key: string, n: number): string {
  return `${key}/${String(n).padStart(10, '0')}`;
}

/**
 * `KvStateStore::put`: one value as the keys it is stored under, split into `maxValueSize` chunks
 * when larger (`split_value`), the first under the key itself.
 */
export function splitValue(key: string, value: Uint8Array, maxValueSize = MAX_METADATA_VALUE_SIZE): { key: string; value: Uint8Array }[] {
  if (value.length <= maxValueSize) return [{ key, value }];
  const out: { key: string; value: Uint8Array }[] = [];
  for (let i = 0, n = 0; i < value.length; i += maxValueSize, n++)
    out.push({ key: n === 0 ? key : segmentKey(key, n), value: value.subarray(i, i + maxValueSize) });
  return out;
}

/** The upstream `ProcedureMessage` (main adds `context`, kept as it was read). */
export interface ProcedureMessage {
  type_name: string;
  data: string;
  parent_id: string | null;
  step: number;
  error?: string;
  /** `ProcedureContext` (`actor`, `event_context`), absent when empty. */
  context?: Record<string, unknown>;
}

function parseMessage(text: string): ProcedureMessage {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null) throw new Error('ProcedureMessage is not a JSON object');
  const m = v as Record<string, unknown>;
  if (typeof m.type_name !== 'string') throw new Error('ProcedureMessage.type_name is not a string');
  if (typeof m.data !== 'string') throw new Error('ProcedureMessage.data is not a string');
  if (typeof m.step !== 'number' || !Number.isInteger(m.step) || m.step < 0) throw new Error('ProcedureMessage.step is not a u32');
  if (m.parent_id !== undefined && m.parent_id !== null && typeof m.parent_id !== 'string')
    throw new Error('ProcedureMessage.parent_id is not a string');
  if (m.error !== undefined && m.error !== null && typeof m.error !== 'string') throw new Error('ProcedureMessage.error is not a string');
  if (m.context !== undefined && (typeof m.context !== 'object' || m.context === null || Array.isArray(m.context)))
    throw new Error('ProcedureMessage.context is not an object');
  return {
    type_name: m.type_name,
    data: m.data,
    parent_id: (m.parent_id as string | null | undefined) ?? null,
    step: m.step,
    ...(typeof m.error === 'string' ? { error: m.error } : {}),
    ...(m.context && Object.keys(m.context).length ? { context: m.context as Record<string, unknown> } : {}),
  };
}

/** The upstream `ProcedureMessage` JSON, fields in the order serde writes them (`error`, `context` skipped when empty). */
export function procedureMessageJson(m: ProcedureMessage): string {
  return JSON.stringify({
    type_name: m.type_name,
    data: m.data,
    parent_id: m.parent_id,
    step: m.step,
    ...(m.error !== undefined ? { error: m.error } : {}),
    ...(m.context && Object.keys(m.context).length ? { context: m.context } : {}),
  });
}

function base64NoPad(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) throw new Error('task is not base64 (STANDARD_NO_PAD)');
  return Buffer.from(s, 'base64');
}

/** `catalog.schema.table` of a base64 `CreateTableTask`. */
export function decodeCreateTableTask(task: string): { catalog: string; schema: string; table: string } {
  const msg = CreateTableTaskType.decode(base64NoPad(task));
  const o = CreateTableTaskType.toObject(msg, { defaults: true }) as {
    create_table?: { catalog_name: string; schema_name: string; table_name: string };
  };
  const expr = o.create_table;
  if (!expr || !expr.table_name) throw new Error('CreateTableTask has no create_table.table_name');
  return { catalog: expr.catalog_name, schema: expr.schema_name, table: expr.table_name };
}

export function encodeCreateTableTask(catalog: string, schema: string, table: string): string {
  const tableInfo = Buffer.from(JSON.stringify({ name: table, catalog_name: catalog, schema_name: schema }));
  const msg = CreateTableTaskType.fromObject({
    create_table: { catalog_name: catalog, schema_name: schema, table_name: table, engine: 'mito', create_if_not_exists: true },
    table_info: tableInfo,
  });
  return Buffer.from(CreateTableTaskType.encode(msg).finish()).toString('base64').replace(/=+$/, '');
}

/** What a procedure's `data` says of the tables it works on, as its type's `lock_key()` and `rollback_supported()` do. */
export interface ProcedureWork {
  /** `catalog.schema.table` of each table it names (CreateLogicalTables: one per task). */
  tables: string[];
  /** Its lock keys, as `lock_key.rs` formats them (`__table_name_lock/greptime.public.cpu`). */
  lockKeys: string[];
  /** Its `rollback_supported()`; undefined for a type this codec does not know. */
  rollbackSupported: boolean | undefined;
  /** Its `state` (`Prepare`, `DatanodeCreateRegions`, …), when it has one. */
  state: string | undefined;
}

const catalogLock = (c: string) => `__catalog_lock/${c}`;
const schemaLock = (c: string, s: string) => `__schema_lock/${c}.${s}`;
const tableNameLock = (c: string, s: string, t: string) => `__table_name_lock/${c}.${s}.${t}`;
const tableLock = (id: number) => `__table_lock/${id}`;

function dataObject(data: string): Record<string, unknown> {
  const d = JSON.parse(data) as unknown;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new Error('ProcedureMessage.data is not a JSON object');
  return d as Record<string, unknown>;
}

function tableId(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${what} is not a table id`);
  return v;
}

/**
 * The tables and locks of a procedure, from its type and `data`. Throws when a type this codec knows
 * has `data` it cannot read; a type it does not know names no table (`tables` empty).
 */
export function workOf(typeName: string, data: string): ProcedureWork {
  if (typeName === CREATE_TABLE) {
    const d = dataObject(data);
    if (typeof d.task !== 'string') throw new Error(`${typeName} data has no base64 task`);
    const t = decodeCreateTableTask(d.task);
    return {
      tables: [`${t.catalog}.${t.schema}.${t.table}`],
      lockKeys: [catalogLock(t.catalog), schemaLock(t.catalog, t.schema), tableNameLock(t.catalog, t.schema, t.table)],
      // `CreateTableProcedure` has no rollback (the `Procedure` trait's default: false).
      rollbackSupported: false,
      state: typeof d.state === 'string' ? d.state : undefined,
    };
  }
  if (typeName === CREATE_LOGICAL_TABLES) {
    const d = dataObject(data);
    if (!Array.isArray(d.tasks) || d.tasks.length === 0) throw new Error(`${typeName} data has no tasks`);
    const tasks = d.tasks.map((t) => {
      if (typeof t !== 'string') throw new Error(`${typeName} data has a task that is not base64`);
      return decodeCreateTableTask(t);
    });
    const physical = tableId(d.physical_table_id, `${typeName} data.physical_table_id`);
    const first = tasks[0]!;
    return {
      tables: tasks.map((t) => `${t.catalog}.${t.schema}.${t.table}`),
      lockKeys: [
        catalogLock(first.catalog),
        schemaLock(first.catalog, first.schema),
        tableLock(physical),
        ...tasks.map((t) => tableNameLock(t.catalog, t.schema, t.table)),
      ],
      rollbackSupported: false,
      state: typeof d.state === 'string' ? d.state : undefined,
    };
  }
  if (typeName === DROP_TABLE) {
    const d = dataObject(data);
    const task = d.task as Record<string, unknown> | undefined;
    if (!task || typeof task.catalog !== 'string' || typeof task.schema !== 'string' || typeof task.table !== 'string') {
      throw new Error(`${typeName} data.task has no catalog, schema and table`);
    }
    const id = tableId(task.table_id, `${typeName} data.task.table_id`);
    const state = typeof d.state === 'string' ? d.state : undefined;
    return {
      tables: [`${task.catalog}.${task.schema}.${task.table}`],
      lockKeys: [catalogLock(task.catalog), schemaLock(task.catalog, task.schema), tableLock(id)],
      // `DropTableProcedure::rollback_supported`: past Prepare, and only with `allow_rollback` (metric engine).
      rollbackSupported: state !== 'Prepare' && d.allow_rollback === true,
      state,
    };
  }
  return { tables: [], lockKeys: [], rollbackSupported: undefined, state: undefined };
}

/** How a procedure's tables are shown and grouped: one table, or the whole set (sorted) of a CreateLogicalTables. */
export function tablesLabel(tables: readonly string[]): string {
  if (tables.length <= 1) return tables[0] ?? '';
  const sorted = [...tables].sort();
  if (sorted.length <= 8) return sorted.join(', ');
  // A stable label of the whole set: two different sets never share one.
  let h = 0x811c9dc5;
  for (const c of sorted.join('\n')) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `${sorted.slice(0, 3).join(', ')} and ${sorted.length - 3} more (set ${h.toString(16).padStart(8, '0')})`;
}

/** One procedure's keys, grouped. */
export interface ProcedureKeys {
  procedureId: string;
  /** Every etcd key of the procedure (segments included), with its revisions. */
  keys: EtcdKv[];
}

/** Groups the keys under `procedureRoot` by procedure; keys that are not procedure keys are returned as unreadable. */
export function groupProcedureKeys(
  rootPath: string,
  kvs: Iterable<EtcdKv>,
): { groups: Map<string, ProcedureKeys>; unreadable: UnreadableKey[] } {
  const groups = new Map<string, ProcedureKeys>();
  const unreadable: UnreadableKey[] = [];
  for (const kv of kvs) {
    const p = parseProcedureKey(rootPath, kv.key);
    if (!p) {
      unreadable.push({ key: kv.key, reason: 'not a procedure key (<uuid>/<step:010>.step|commit|rollback[/<segment:010>])' });
      continue;
    }
    const g = groups.get(p.procedureId);
    if (g) g.keys.push(kv);
    else groups.set(p.procedureId, { procedureId: p.procedureId, keys: [kv] });
  }
  return { groups, unreadable };
}

/** The reader's clock for what the store does not keep: when a procedure was first seen, and first seen finished. */
export interface ProcedureTimes {
  startTime: number;
  endTime: number | null;
}

/** What the decoder found about one procedure, for repairs. */
export interface DecodedProcedure {
  procedure: Procedure;
  /** The step of the key metasrv loads (the highest). */
  lastStep: number;
  /** Which key that is: `.step` (re-run on load), `.rollback` (rolled back on load), `.commit` (finished). */
  loaded: ProcedureKeyKind;
  /** The message metasrv loads (`.step`/`.rollback`); for a `.commit`, the newest message left, if any. */
  lastMessage: ProcedureMessage | undefined;
  /** `.commit` is what metasrv loads: the procedure finished (upstream's `finished_ids`). */
  finished: boolean;
  work: ProcedureWork;
}

function joinSegments(rootPath: string, keys: EtcdKv[]): Map<string, { value: Uint8Array; parsed: ParsedProcedureKey }> {
  const byBase = new Map<string, { parsed: ParsedProcedureKey; parts: Map<number, Uint8Array> }>();
  for (const kv of keys) {
    const p = parseProcedureKey(rootPath, kv.key)!;
    let e = byBase.get(p.base);
    if (!e) byBase.set(p.base, (e = { parsed: { ...p, segment: 0 }, parts: new Map() }));
    e.parts.set(p.segment, kv.value);
  }
  const out = new Map<string, { value: Uint8Array; parsed: ParsedProcedureKey }>();
  for (const [base, e] of byBase) {
    const n = e.parts.size;
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const c = e.parts.get(i);
      if (!c) throw new Error(`${base}: segment ${i} of ${n} is missing`);
      chunks.push(c);
    }
    out.set(base, { value: Buffer.concat(chunks), parsed: e.parsed });
  }
  return out;
}

/**
 * One procedure from its keys, as metasrv's `load_messages` sees it: the key of the highest step
 * decides (on a tie the first in key order: `.commit` < `.rollback` < `.step`). Throws (the caller
 * lists the procedure as unreadable, never skips it) when that key's value does not decode, as
 * metasrv would skip it too.
 */
export function decodeProcedure(rootPath: string, group: ProcedureKeys, times: ProcedureTimes): DecodedProcedure {
  const records = [...joinSegments(rootPath, group.keys)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let chosen: { base: string; parsed: ParsedProcedureKey; value: Uint8Array } | undefined;
  for (const [base, r] of records) if (!chosen || r.parsed.step > chosen.parsed.step) chosen = { base, ...r };
  if (!chosen) throw new Error(`procedure ${group.procedureId} has no keys`);
  let message: ProcedureMessage | undefined;
  if (chosen.parsed.kind !== 'commit') {
    try {
      message = parseMessage(utf8(chosen.value));
    } catch (err) {
      throw new Error(`${chosen.base}: ${errorText(err)}`, { cause: err });
    }
  } else {
    // Finished: what it was is only for the view; the newest message that still reads, if any.
    for (const [, r] of records.slice().reverse()) {
      if (r.parsed.kind === 'commit') continue;
      try {
        message = parseMessage(utf8(r.value));
        break;
      } catch {
        /* a finished procedure's leftovers: metasrv deletes them unread */
      }
    }
  }
  const finished = chosen.parsed.kind === 'commit';
  let work: ProcedureWork = { tables: [], lockKeys: [], rollbackSupported: undefined, state: undefined };
  if (message) {
    try {
      work = workOf(message.type_name, message.data);
    } catch (err) {
      if (!finished) throw new Error(`procedure ${group.procedureId}: ${errorText(err)}`, { cause: err });
    }
  }
  const version = group.keys.reduce((v, kv) => Math.max(v, kv.modRevision), 0);
  return {
    lastStep: chosen.parsed.step,
    loaded: chosen.parsed.kind,
    lastMessage: message,
    finished,
    work,
    procedure: {
      key: group.procedureId,
      version,
      procedureId: group.procedureId,
      typeName: message?.type_name ?? '',
      // `.rollback`: metasrv rolls it back when it loads it (`ProcedureState::RollingBack`), never a final Failed.
      status: finished ? 'Done' : chosen.parsed.kind === 'rollback' ? 'RollingBack' : 'Running',
      startTime: times.startTime,
      endTime: finished ? (times.endTime ?? times.startTime) : null,
      lockKeys: work.lockKeys,
      table: tablesLabel(work.tables),
      retries: 0,
      error: chosen.parsed.kind === 'rollback' ? (message?.error ?? null) : null,
      rollbackSupported: work.rollbackSupported ?? null,
    },
  };
}

/**
 * What metasrv's runner writes when it gives a procedure up (`Runner::write_rollback_procedure_state`):
 * `<step>.rollback` at the runner's next step (the one after the last persisted `.step`), the
 * procedure's data as last persisted, `error` set, `parent_id` and `context` kept.
 */
export function rollbackRecord(
  rootPath: string,
  procedureId: string,
  last: ProcedureMessage,
  lastStep: number,
  error: string,
): { key: string; message: ProcedureMessage; value: Uint8Array } {
  const step = lastStep + 1;
  const message: ProcedureMessage = {
    type_name: last.type_name,
    data: last.data,
    parent_id: last.parent_id,
    step,
    error,
    ...(last.context ? { context: last.context } : {}),
  };
  return { key: procedureKey(rootPath, procedureId, step, 'rollback'), message, value: Buffer.from(procedureMessageJson(message)) };
}

/** `CreateTableData` JSON for a step (`state` DatanodeCreateRegions: what the first persisted step holds). */
export function createTableData(table: string): string {
  const [catalog = 'greptime', schema = 'public', name = table] = table.split('.');
  return JSON.stringify({
    state: 'DatanodeCreateRegions',
    task: encodeCreateTableTask(catalog, schema, name),
    query_context: {},
    column_metadatas: [],
    table_route: null,
    region_wal_options: null,
  });
}

/**
 * The keys a procedure is stored as, for a writer (the simulator's mirror): step keys 0..`lastStep`
 * (Running, Retrying), then `.rollback` at the next step (PrepareRollback, RollingBack: metasrv
 * rolls it back on load) or `.commit` (Done); a Failed procedure's keys are gone (the runner deleted
 * them). Values longer than `maxValueSize` are segmented.
 */
export function encodeProcedure(
  rootPath: string,
  p: Procedure,
  lastStep: number,
  maxValueSize = MAX_METADATA_VALUE_SIZE,
): { key: string; value: Uint8Array }[] {
  if (p.status === 'Failed') return [];
  const out: { key: string; value: Uint8Array }[] = [];
  const message = (step: number): ProcedureMessage => ({ type_name: p.typeName, data: createTableData(p.table), parent_id: null, step });
  for (let s = 0; s <= lastStep; s++)
    out.push(...splitValue(procedureKey(rootPath, p.procedureId, s, 'step'), Buffer.from(procedureMessageJson(message(s))), maxValueSize));
  if (p.status === 'Done') out.push({ key: procedureKey(rootPath, p.procedureId, lastStep + 1, 'commit'), value: new Uint8Array() });
  else if (p.status === 'RollingBack' || p.status === 'PrepareRollback') {
    const r = rollbackRecord(rootPath, p.procedureId, message(lastStep), lastStep, p.error ?? 'rolled back');
    out.push(...splitValue(r.key, r.value, maxValueSize));
  }
  return out;
}

/** `greptime.etcd`: one prefix as etcd reports it (the prefix without `store_key_prefix`). */
export function etcdPrefixEntity(prefix: string, keyCount: number, sizeBytes: number, version: number): EtcdPrefix {
  return { key: prefix, version, prefix, keyCount, sizeBytes };
}

/** `MetasrvNodeInfo` as a candidate key holds it (only the fields read here). */
export interface MetasrvNodeInfo {
  addr: string;
  version: string;
  git_commit: string;
}

export function parseMetasrvNodeInfo(value: Uint8Array): MetasrvNodeInfo {
  const v = JSON.parse(utf8(value)) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || typeof v.addr !== 'string' || typeof v.version !== 'string')
    throw new Error('MetasrvNodeInfo has no addr and version');
  return { addr: v.addr, version: v.version, git_commit: typeof v.git_commit === 'string' ? v.git_commit : '' };
}
