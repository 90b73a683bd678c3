/**
 * The journal's compact batches (#21): a batch's `intent` (its operation's targets and the
 * before-image of each) and its `result`'s applied keys, each as one record per batch: the
 * objects as columns (packed-columns.ts: a value that repeats is written once), gzipped with
 * Node's zlib and base64'd into one JSON line (`intent-packed`, `result-packed`). At the
 * incident's scale that is about 20 B per deleted shard instead of about 750.
 *
 * Two encodings are read: `gzip-columns-v1`, written now, and `gzip-table-v1`, the rows of values
 * under their field names (one header per shape) that the first packed journals hold. Columns take
 * a tenth of the text to build and compress: the batch waits for its intent before it is sent.
 *
 * `unpackJournalLine` turns such a line back into the plain `intent` or `result` line it stands
 * for, before the line is validated as any other (`parseJournal`): every reader (the Repair
 * History, undo, `cluster-check undo`) sees plain lines, and a journal of plain lines only (one
 * written before this) reads as before. The writer packs only batches of targets; the rest stay
 * plain (`packIntent`, `packResult`).
 *
 * No file I/O here (the protocol layer is pure): compressing is computation.
 */
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { JournalIntentLine, JournalResultLine } from './journal';
import { fromColumns, gather, gatheredToColumns, toColumns, type Columns, type Gathered } from './packed-columns';

/** The encoding written. */
export const PACKED_ENCODING = 'gzip-columns-v1';
/** The encoding of the first packed journals: read, no longer written. */
export const TABLE_ENCODING = 'gzip-table-v1';
type PackedEncoding = typeof PACKED_ENCODING | typeof TABLE_ENCODING;

const gzipAsync = promisify(gzip);
/**
 * zlib's level: the batch waits for its intent before it is sent, so speed counts more than the last
 * few bytes (columns leave little for a higher level to find: level 3 saved under 2% at 760k shards).
 */
const GZIP_LEVEL = 1;

type Common = { repair: string; at: string; batch: number; requestId: string };

/** An `intent` whose operation's targets and before-images are packed; `targets` says how many (a reader need not unpack to count). */
export interface PackedIntentLine extends Common {
  type: 'intent-packed';
  command: string;
  targets: number;
  encoding: PackedEncoding;
  data: string;
}

/** A `result` whose applied keys are packed; `applied` says how many. */
export interface PackedResultLine extends Omit<JournalResultLine, 'type' | 'applied'> {
  type: 'result-packed';
  applied: number;
  encoding: PackedEncoding;
  data: string;
}

export type PackedJournalLine = PackedIntentLine | PackedResultLine;

/**
 * (`gzip-table-v1`) Objects as rows: each row is its shape's index (in `shapes`, the field names in
 * order) then its values; a null object is a null row. Exact: an absent field and a null one stay apart.
 */
interface Table {
  shapes: string[][];
  rows: Array<unknown[] | null>;
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

/** What an `intent-packed` line's data holds (`gzip-columns-v1`). */
interface IntentColumns {
  /** The operation without its targets. */
  operation: Record<string, unknown>;
  /** The before-images' one collection, or null when none was recorded. */
  collection: string | null;
  /** The targets, and (with a collection) the before-image's entity of each, in the targets' order. */
  rows: Columns;
}

/** What an `intent-packed` line's data holds (`gzip-table-v1`). */
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
  const withImages = aligned && collection !== undefined;
  const record: IntentColumns = {
    operation: rest,
    collection: withImages ? collection : null,
    rows: toColumns(withImages ? [targets, before.map((b) => b.entity)] : [targets]),
  };
  return packedIntentLine(line, targets.length, record);
}

/** The `intent-packed` line of `line` whose targets and before-images are `record`. */
async function packedIntentLine(
  line: Omit<JournalIntentLine, 'before'>,
  targets: number,
  record: IntentColumns,
): Promise<PackedIntentLine> {
  return {
    type: 'intent-packed',
    repair: line.repair,
    at: line.at,
    batch: line.batch,
    requestId: line.requestId,
    command: line.operation.command,
    targets,
    encoding: PACKED_ENCODING,
    data: await pack(record),
  };
}

/**
 * `packIntent` of an intent whose before-images (one per target, in the targets' order, of
 * `collection`) come as columns (`EntityTable.rowsAsColumns`), not as entities: the same line,
 * without building an object per entity (#21: a batch waits for its intent before it is sent).
 */
export async function packIntentOfColumns(
  line: Omit<JournalIntentLine, 'before'>,
  collection: string,
  entities: Gathered,
): Promise<PackedIntentLine> {
  const { operation } = line;
  if (!('targets' in operation)) throw new Error(`a ${operation.command} has no targets to pack`);
  const targets = operation.targets as ReadonlyArray<Record<string, unknown> & { key: string }>;
  if (entities.shape.length !== targets.length) throw new Error(`${entities.shape.length} before-images for ${targets.length} targets`);
  const { targets: _targets, ...rest } = operation;
  const record: IntentColumns = { operation: rest, collection, rows: gatheredToColumns([gather(targets), entities]) };
  return packedIntentLine(line, targets.length, record);
}

/**
 * The result as written to the journal: its applied keys packed when there are any; else the plain
 * line. On this thread: a result is written between a batch's answer and the next batch's request,
 * where waiting on the thread pool would let whatever else is queued (the batch's own events) run
 * first; its keys, as columns, are a small text to compress.
 */
export function packResult(line: JournalResultLine): JournalResultLine | PackedResultLine {
  if (!line.applied.length) return line;
  const { type: _type, applied, ...rest } = line;
  const data = packNow(toColumns([applied]));
  return { ...rest, type: 'result-packed', applied: applied.length, encoding: PACKED_ENCODING, data };
}

/**
 * `packResult` of a result whose applied items are each only a key (a compact answer's,
 * `itemResults: 'exceptions'`), given the keys: the same line, without an object per key.
 */
export function packResultOfKeys(
  line: Omit<JournalResultLine, 'applied'>,
  keys: string[],
  data: string = packedKeys(keys),
): JournalResultLine | PackedResultLine {
  if (!keys.length) return { ...line, applied: [] };
  const { type: _type, applied: _applied, ...rest } = line as JournalResultLine;
  return { ...rest, type: 'result-packed', applied: keys.length, encoding: PACKED_ENCODING, data };
}

/** The data of a `result-packed` line whose applied items are `keys`, each only a key (`packResultOfKeys`): it depends on nothing else. */
export function packedKeys(keys: string[]): string {
  const gathered: Gathered = { fields: ['key'], shapes: [[0]], shape: new Array<number>(keys.length).fill(0), values: [keys] };
  return packNow(gatheredToColumns([gathered]));
}

/**
 * A journal line as parsed from JSON: a packed one becomes the plain line it stands for (still to
 * be validated as any line is); any other is returned as it is. Throws if a packed line is damaged.
 */
export function unpackJournalLine(json: unknown): unknown {
  const line = json as Partial<PackedJournalLine> | null;
  if (line?.type !== 'intent-packed' && line?.type !== 'result-packed') return json;
  const columns = line.encoding === PACKED_ENCODING;
  if (!columns && line.encoding !== TABLE_ENCODING)
    throw new Error(`a packed ${line.type} line of an unknown encoding (${String(line.encoding)})`);
  if (typeof line.data !== 'string') throw new Error(`a packed ${line.type} line without its data`);
  if (line.type === 'result-packed') {
    const { data: _data, encoding: _encoding, type: _type, applied: count, ...rest } = line;
    const data = unpack(line.data);
    const applied = columns ? fromColumns(data as Columns)[0]! : fromTable(data as Table);
    if (applied.length !== count) throw new Error(`a packed result line says ${count} applied, and holds ${applied.length}`);
    return { ...rest, type: 'result', applied };
  }
  const intent = line as PackedIntentLine;
  const { operation, collection, targets, entities } = columns
    ? intentOfColumns(unpack(intent.data) as IntentColumns)
    : intentOfTable(unpack(intent.data) as IntentRecord);
  if (targets.length !== intent.targets)
    throw new Error(`a packed intent line says ${intent.targets} targets, and holds ${targets.length}`);
  if (collection !== null && entities.length !== targets.length)
    throw new Error(`a packed intent line holds ${entities.length} before-images for ${targets.length} targets`);
  return {
    type: 'intent',
    repair: intent.repair,
    at: intent.at,
    batch: intent.batch,
    requestId: intent.requestId,
    operation: { ...operation, targets },
    before: collection !== null ? entities.map((entity, i) => ({ collection, key: targets[i]!.key, entity })) : [],
  };
}

interface UnpackedIntent {
  operation: Record<string, unknown>;
  collection: string | null;
  targets: Array<Record<string, unknown> & { key: string }>;
  entities: Array<Record<string, unknown> | null>;
}

function intentOfColumns(record: IntentColumns): UnpackedIntent {
  const [targets = [], entities = []] = fromColumns(record.rows);
  return {
    operation: record.operation,
    collection: record.collection,
    targets: targets as UnpackedIntent['targets'],
    entities,
  };
}

function intentOfTable(record: IntentRecord): UnpackedIntent {
  return {
    operation: record.operation,
    collection: record.before ? record.before.collection : null,
    targets: fromTable(record.targets) as UnpackedIntent['targets'],
    entities: record.before ? fromTable(record.before.entities) : [],
  };
}

async function pack(value: unknown): Promise<string> {
  return (await gzipAsync(JSON.stringify(value), { level: GZIP_LEVEL })).toString('base64');
}

/** `pack`, on this thread. */
function packNow(value: unknown): string {
  return gzipSync(JSON.stringify(value), { level: GZIP_LEVEL }).toString('base64');
}

function unpack(data: string): unknown {
  return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'));
}
