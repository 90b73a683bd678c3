/**
 * GreptimeDB metasrv procedures in etcd, in the upstream layout
 * (GreptimeTeam/greptimedb v0.14.0 = 66e2242e; checked against main 7fd0a7bb):
 *
 * - `src/common/meta/src/state_store.rs`: `KvStateStore` prefixes every
 *   procedure key with `/__procedure__/`; values larger than
 *   `max_metadata_value_size` are split into `<key>`, `<key>/0000000001`, …
 *   (`KeySet::with_segment_suffix`, `src/common/procedure/src/store/state_store.rs`).
 * - `src/common/procedure/src/store.rs`: `PROC_PATH = "procedure/"`, keys
 *   `"{proc_path}{procedure_id}/{step:010}.{step|commit|rollback}"`; the value
 *   of `.step` and `.rollback` is the JSON of `ProcedureMessage`
 *   (`type_name`, `data`, `parent_id`, `step`, `error` when set, `context`
 *   when not empty); `.commit` is empty.
 * - `src/meta-srv/src/bootstrap.rs`: metasrv's `store_key_prefix` is
 *   prepended as raw bytes (`ChrootKvBackend`).
 * - `src/common/meta/src/ddl/create_table.rs`: `CreateTableData` =
 *   `{state, task, …}`, `task` base64 (STANDARD_NO_PAD) of protobuf
 *   `greptime.v1.meta.CreateTableTask` (`src/common/meta/src/rpc/ddl.rs`;
 *   proto/greptime/ddl.proto here); `CreateLogicalTables` holds `tasks`.
 *
 * What the store holds and what it does not (docs/gateway.md, GreptimeDB):
 * a procedure with step keys only is unfinished (`Running`: the store does
 * not say whether metasrv is retrying it); `.commit` = `Done`; `.rollback` =
 * `Failed` (metasrv wrote its rollback; the store does not record the
 * rollback's end, and metasrv redoes it on restart). Retry counts and start
 * and end times are not persisted: `retries` is 0, and the times are the
 * reader's clock when it first saw the procedure unfinished / finished.
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
/** `state_store.rs`. */
export const PROCEDURE_PREFIX = '/__procedure__/';
export const TABLE_INFO_PREFIX = '/__table_info/';
export const TABLE_NAME_PREFIX = '/__table_name/';
/** The prefixes `greptime.etcd` reports (the keys metasrv's DDL grows). */
export const ETCD_PREFIXES = [PROCEDURE_PREFIX, TABLE_INFO_PREFIX, TABLE_NAME_PREFIX] as const;

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

/** The upstream `ProcedureMessage`. */
export interface ProcedureMessage {
  type_name: string;
  data: string;
  parent_id: string | null;
  step: number;
  error?: string;
}

function parseMessage(text: string): ProcedureMessage {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null) throw new Error('ProcedureMessage is not a JSON object');
  const m = v as Record<string, unknown>;
  if (typeof m.type_name !== 'string') throw new Error('ProcedureMessage.type_name is not a string');
  if (typeof m.data !== 'string') throw new Error('ProcedureMessage.data is not a string');
  if (typeof m.step !== 'number' || !Number.isInteger(m.step) || m.step < 0) throw new Error('ProcedureMessage.step is not a u32');
  if (m.parent_id !== undefined && m.parent_id !== null && typeof m.parent_id !== 'string') throw new Error('ProcedureMessage.parent_id is not a string');
  if (m.error !== undefined && typeof m.error !== 'string') throw new Error('ProcedureMessage.error is not a string');
  return { type_name: m.type_name, data: m.data, parent_id: (m.parent_id as string | null | undefined) ?? null, step: m.step, ...(m.error !== undefined ? { error: m.error } : {}) };
}

function base64NoPad(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) throw new Error('task is not base64 (STANDARD_NO_PAD)');
  return Buffer.from(s, 'base64');
}

/** `catalog.schema.table` of a base64 `CreateTableTask`. */
export function decodeCreateTableTask(task: string): { catalog: string; schema: string; table: string } {
  const msg = CreateTableTaskType.decode(base64NoPad(task));
  const o = CreateTableTaskType.toObject(msg, { defaults: true }) as { create_table?: { catalog_name: string; schema_name: string; table_name: string } };
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

/** The table a procedure's `data` is for ('' when its kind carries no CreateTableTask). */
function tableOfData(typeName: string, data: string): string {
  const d = JSON.parse(data) as unknown;
  if (typeof d !== 'object' || d === null) throw new Error('ProcedureMessage.data is not a JSON object');
  const o = d as Record<string, unknown>;
  let task: unknown;
  if (typeName === CREATE_TABLE) task = o.task;
  else if (typeName === CREATE_LOGICAL_TABLES) task = Array.isArray(o.tasks) ? o.tasks[0] : undefined;
  else return '';
  if (typeof task !== 'string') throw new Error(`${typeName} data has no base64 task`);
  const t = decodeCreateTableTask(task);
  return `${t.catalog}.${t.schema}.${t.table}`;
}

/** The lock keys CreateTable takes (`create_table.rs` `lock_key`), from the table name. */
export function lockKeysOf(table: string): string[] {
  const [catalog, schema, name] = table.split('.');
  if (name === undefined) return [];
  return [`__catalog_lock/${catalog}`, `__schema_lock/${catalog}/${schema}`, `__table_name_lock/${catalog}/${schema}/${name}`];
}

/** One procedure's keys, grouped. */
export interface ProcedureKeys {
  procedureId: string;
  /** Every etcd key of the procedure (segments included), with its revisions. */
  keys: EtcdKv[];
}

/** Groups the keys under `procedureRoot` by procedure; keys that are not procedure keys are returned as unreadable. */
export function groupProcedureKeys(rootPath: string, kvs: Iterable<EtcdKv>): { groups: Map<string, ProcedureKeys>; unreadable: UnreadableKey[] } {
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

/** What the decoder found about one procedure, for repairs: its newest step and whether it finished. */
export interface DecodedProcedure {
  procedure: Procedure;
  lastStep: number;
  /** The newest step's message (the one `.rollback` copies). */
  lastMessage: ProcedureMessage;
  finished: 'commit' | 'rollback' | null;
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
 * One procedure from its keys. Throws (the caller reports the procedure as
 * unreadable, never skips it) when a value does not decode.
 */
export function decodeProcedure(rootPath: string, group: ProcedureKeys, times: ProcedureTimes): DecodedProcedure {
  const records = joinSegments(rootPath, group.keys);
  let lastStep: { step: number; msg: ProcedureMessage } | undefined;
  let commit = false;
  let rollback: ProcedureMessage | undefined;
  for (const [base, r] of records) {
    if (r.parsed.kind === 'commit') {
      commit = true;
      continue;
    }
    let msg: ProcedureMessage;
    try {
      msg = parseMessage(utf8(r.value));
    } catch (err) {
      throw new Error(`${base}: ${errorText(err)}`, { cause: err });
    }
    if (r.parsed.kind === 'rollback') rollback = msg;
    else if (!lastStep || r.parsed.step > lastStep.step) lastStep = { step: r.parsed.step, msg };
  }
  const newest = lastStep?.msg ?? rollback;
  if (!newest) throw new Error(`procedure ${group.procedureId} has a .commit but no step`);
  let table: string;
  try {
    table = tableOfData(newest.type_name, newest.data);
  } catch (err) {
    throw new Error(`procedure ${group.procedureId}: ${errorText(err)}`, { cause: err });
  }
  const finished = commit ? 'commit' : rollback ? 'rollback' : null;
  const version = group.keys.reduce((v, kv) => Math.max(v, kv.modRevision), 0);
  return {
    lastStep: lastStep?.step ?? rollback!.step,
    lastMessage: newest,
    finished,
    procedure: {
      key: group.procedureId,
      version,
      procedureId: group.procedureId,
      typeName: newest.type_name,
      status: commit ? 'Done' : rollback ? 'Failed' : 'Running',
      startTime: times.startTime,
      endTime: finished ? (times.endTime ?? times.startTime) : null,
      lockKeys: lockKeysOf(table),
      table,
      retries: 0,
      error: commit ? null : (rollback?.error ?? null),
    },
  };
}

/** The upstream `ProcedureMessage` JSON, field order as serde writes it. */
export function procedureMessageJson(m: ProcedureMessage): string {
  return JSON.stringify({ type_name: m.type_name, data: m.data, parent_id: m.parent_id, step: m.step, ...(m.error !== undefined ? { error: m.error } : {}) });
}

/** `CreateTableData` JSON for a step (`state` Prepare at step 0, then DatanodeCreateRegions). */
export function createTableData(table: string, step: number): string {
  const [catalog = 'greptime', schema = 'public', name = table] = table.split('.');
  return JSON.stringify({
    state: step === 0 ? 'Prepare' : 'DatanodeCreateRegions',
    task: encodeCreateTableTask(catalog, schema, name),
    query_context: {},
    column_metadatas: [],
    table_route: null,
    region_wal_options: null,
  });
}

/**
 * The keys a procedure is stored as, for a writer (the simulator's mirror):
 * step keys 0..`lastStep`, then `.commit` (Done) or `.rollback` (RollingBack,
 * Failed) at the last step. Values longer than `maxValueSize` are segmented.
 */
export function encodeProcedure(rootPath: string, p: Procedure, lastStep: number, maxValueSize = 1500 * 1024): { key: string; value: Uint8Array }[] {
  const out: { key: string; value: Uint8Array }[] = [];
  const put = (key: string, value: Uint8Array) => {
    if (value.length <= maxValueSize) return out.push({ key, value });
    for (let i = 0, seg = 0; i < value.length; i += maxValueSize, seg++) {
      out.push({ key: seg === 0 ? key : `${key}/${String(seg).padStart(10, '0')}`, value: value.subarray(i, i + maxValueSize) });
    }
    return out.length;
  };
  const message = (step: number): ProcedureMessage => ({
    type_name: p.typeName,
    data: p.typeName === CREATE_LOGICAL_TABLES ? JSON.stringify({ tasks: [JSON.parse(createTableData(p.table, step)).task] }) : createTableData(p.table, step),
    parent_id: null,
    step,
  });
  for (let s = 0; s <= lastStep; s++) put(procedureKey(rootPath, p.procedureId, s, 'step'), Buffer.from(procedureMessageJson(message(s))));
  if (p.status === 'Done') put(procedureKey(rootPath, p.procedureId, lastStep, 'commit'), new Uint8Array());
  else if (p.status === 'Failed' || p.status === 'RollingBack') {
    put(procedureKey(rootPath, p.procedureId, lastStep, 'rollback'), Buffer.from(procedureMessageJson({ ...message(lastStep), error: p.error ?? 'rolled back' })));
  }
  return out;
}

/** `greptime.etcd`: one prefix as etcd reports it (the prefix without `store_key_prefix`). */
export function etcdPrefixEntity(prefix: string, keyCount: number, sizeBytes: number, version: number): EtcdPrefix {
  return { key: prefix, version, prefix, keyCount, sizeBytes };
}
