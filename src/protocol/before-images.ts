/**
 * The journal's compact batches (#21): a batch's `intent` (its operation's targets and the
 * before-image of each) and its `result`'s applied keys, each as one record per batch: the
 * objects as rows of values under their field names (a table, one header per shape), gzipped
 * with Node's zlib and base64'd into one JSON line (`intent-packed`, `result-packed`). At the
 * incident's scale that is about 30 B per deleted shard instead of about 750.
 *
 * `unpackJournalLine` turns such a line back into the plain `intent` or `result` line it stands
 * for, before the line is validated as any other (`parseJournal`): every reader (the Repair
 * History, undo, `cluster-check undo`) sees plain lines, and a journal of plain lines only (one
 * written before this) reads as before. The writer packs only batches of targets; the rest stay
 * plain (`packIntent`, `packResult`).
 *
 * No file I/O here (the protocol layer is pure): compressing is computation.
 */
import { gunzipSync, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { JournalIntentLine, JournalResultLine } from './journal';

export const PACKED_ENCODING = 'gzip-table-v1';

const gzipAsync = promisify(gzip);
/** zlib's level: the batch waits for its intent before it is sent, so speed counts more than the last few bytes. */
const GZIP_LEVEL = 3;

type Common = { repair: string; at: string; batch: number; requestId: string };

/** An `intent` whose operation's targets and before-images are packed; `targets` says how many (a reader need not unpack to count). */
export interface PackedIntentLine extends Common {
  type: 'intent-packed';
  command: string;
  targets: number;
  encoding: typeof PACKED_ENCODING;
  data: string;
}

/** A `result` whose applied keys are packed; `applied` says how many. */
export interface PackedResultLine extends Omit<JournalResultLine, 'type' | 'applied'> {
  type: 'result-packed';
  applied: number;
  encoding: typeof PACKED_ENCODING;
  data: string;
}

export type PackedJournalLine = PackedIntentLine | PackedResultLine;

/**
 * Objects as rows: each row is its shape's index (in `shapes`, the field names in order) then its
 * values; a null object is a null row. Exact: an absent field and a null one stay apart.
 */
interface Table {
  shapes: string[][];
  rows: Array<unknown[] | null>;
}

function toTable(objects: ReadonlyArray<Record<string, unknown> | null>): Table {
  const shapes: string[][] = [];
  const index = new Map<string, number>();
  const rows = objects.map((o) => {
    if (o === null) return null;
    const fields = Object.keys(o);
    const id = fields.join('\u0000');
    let shape = index.get(id);
    if (shape === undefined) {
      shape = shapes.push(fields) - 1;
      index.set(id, shape);
    }
    const row: unknown[] = [shape];
    for (const f of fields) row.push(o[f]);
    return row;
  });
  return { shapes, rows };
}

function fromTable(table: Table): Array<Record<string, unknown> | null> {
  return table.rows.map((row) => {
    if (row === null) return null;
    const fields = table.shapes[row[0] as number];
    if (!fields) throw new Error(`a row names shape ${String(row[0])}, of ${table.shapes.length}`);
    const o: Record<string, unknown> = {};
    fields.forEach((f, i) => (o[f] = row[i + 1]));
    return o;
  });
}

/** What an `intent-packed` line's data holds. */
interface IntentRecord {
  /** The operation without its targets. */
  operation: Record<string, unknown>;
  targets: Table;
  /** One before-image per target, in the targets' order and of one collection: only the entities. */
  before: { collection: string; entities: Table } | null;
}

/**
 * The intent as written to the journal: packed when its operation has targets and one before-image
 * per target, in their order (what `JournalRecorder` records); else the plain line, unchanged.
 */
export async function packIntent(line: JournalIntentLine): Promise<JournalIntentLine | PackedIntentLine> {
  const { operation, before } = line;
  if (!('targets' in operation)) return line;
  const targets = operation.targets as ReadonlyArray<Record<string, unknown> & { key: string }>;
  const collection = before[0]?.collection;
  const aligned = before.length === targets.length && before.every((b, i) => b.collection === collection && b.key === targets[i].key);
  if (before.length && !aligned) return line;
  const { targets: _targets, ...rest } = operation;
  const record: IntentRecord = {
    operation: rest,
    targets: toTable(targets),
    before: aligned && collection ? { collection, entities: toTable(before.map((b) => b.entity)) } : null,
  };
  return {
    type: 'intent-packed',
    repair: line.repair,
    at: line.at,
    batch: line.batch,
    requestId: line.requestId,
    command: operation.command,
    targets: targets.length,
    encoding: PACKED_ENCODING,
    data: await pack(record),
  };
}

/** The result as written to the journal: its applied keys packed when there are any; else the plain line. */
export async function packResult(line: JournalResultLine): Promise<JournalResultLine | PackedResultLine> {
  if (!line.applied.length) return line;
  const { type: _type, applied, ...rest } = line;
  return { ...rest, type: 'result-packed', applied: applied.length, encoding: PACKED_ENCODING, data: await pack(toTable(applied)) };
}

/**
 * A journal line as parsed from JSON: a packed one becomes the plain line it stands for (still to
 * be validated as any line is); any other is returned as it is. Throws if a packed line is damaged.
 */
export function unpackJournalLine(json: unknown): unknown {
  const line = json as Partial<PackedJournalLine> | null;
  if (line?.type !== 'intent-packed' && line?.type !== 'result-packed') return json;
  if (line.encoding !== PACKED_ENCODING) throw new Error(`a packed ${line.type} line of an unknown encoding (${String(line.encoding)})`);
  if (typeof line.data !== 'string') throw new Error(`a packed ${line.type} line without its data`);
  if (line.type === 'result-packed') {
    const { data: _data, encoding: _encoding, type: _type, applied: count, ...rest } = line;
    const applied = fromTable(unpack(line.data) as Table);
    if (applied.length !== count) throw new Error(`a packed result line says ${count} applied, and holds ${applied.length}`);
    return { ...rest, type: 'result', applied };
  }
  const intent = line as PackedIntentLine;
  const record = unpack(intent.data) as IntentRecord;
  const targets = fromTable(record.targets) as Array<Record<string, unknown> & { key: string }>;
  if (targets.length !== intent.targets)
    throw new Error(`a packed intent line says ${intent.targets} targets, and holds ${targets.length}`);
  const entities = record.before ? fromTable(record.before.entities) : [];
  if (record.before && entities.length !== targets.length)
    throw new Error(`a packed intent line holds ${entities.length} before-images for ${targets.length} targets`);
  return {
    type: 'intent',
    repair: intent.repair,
    at: intent.at,
    batch: intent.batch,
    requestId: intent.requestId,
    operation: { ...record.operation, targets },
    before: record.before ? entities.map((entity, i) => ({ collection: record.before!.collection, key: targets[i].key, entity })) : [],
  };
}

async function pack(value: unknown): Promise<string> {
  return (await gzipAsync(JSON.stringify(value), { level: GZIP_LEVEL })).toString('base64');
}

function unpack(data: string): unknown {
  return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'));
}
