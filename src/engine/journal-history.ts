/**
 * Reading the repair journal (its line format: `src/protocol/journal.ts`; the writer: journal.ts):
 * the repairs it records, with the state of each batch (the Repair History), and the inverse plan
 * of one of them (undo), from its before-images. Pure but for `readJournal`.
 */
import { readFile } from 'node:fs/promises';
import {
  clusterKey,
  errorText,
  JournalLine,
  MAX_REPAIR_TARGETS,
  parseImageEntity,
  parseJournal,
  REPAIR_COMMANDS,
  type BatchState,
  type JournalIntentLine,
  type JournalRead,
  type JournalRepairLine,
  type JournalResultLine,
  type MetastoreShard,
  type PartitionResolution,
  type RepairCommand,
  type RepairHistoryEntry,
  type RepairOption,
} from '../protocol';

/** Reads and validates a journal. A missing file is an empty journal. */
export async function readJournal(path: string): Promise<JournalRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], problems: [] };
    throw new Error(`cannot read the repair journal ${path}: ${errorText(e)}`, { cause: e });
  }
  return parseJournal(text);
}

interface RepairRecord {
  head: JournalRepairLine;
  intents: Map<number, JournalIntentLine>;
  results: Map<number, JournalResultLine>;
  end?: { summary: string };
}

function records(lines: readonly JournalLine[]): Map<string, RepairRecord> {
  const out = new Map<string, RepairRecord>();
  for (const l of lines) {
    if (l.type === 'preview') continue; // audit only
    if (l.type === 'repair') {
      // Written again by a gateway restarted mid-repair: the first head stays, and so do the batches before.
      if (!out.has(l.repair)) out.set(l.repair, { head: l, intents: new Map(), results: new Map() });
      continue;
    }
    const r = out.get(l.repair);
    if (!r) continue;
    if (l.type === 'intent') r.intents.set(l.batch, l);
    else if (l.type === 'result') r.results.set(l.batch, l);
    else r.end = { summary: l.summary };
  }
  return out;
}

/** Whether any batch of the repair was (or may have been) applied. */
function touchedAny(r: RepairRecord): boolean {
  return [...r.intents.keys()].some((b) => TOUCHED.has(batchState(r.results.get(b))));
}
const TOUCHED: ReadonlySet<BatchState> = new Set(['applied', 'partly-applied', 'unknown']);

function batchState(result: JournalResultLine | undefined): BatchState {
  if (!result) return 'unknown';
  if (result.outcome !== 'answered') return result.outcome;
  const refused = result.refused.length;
  if (result.applied.length && refused) return 'partly-applied';
  if (result.applied.length) return 'applied';
  return refused ? 'refused' : 'unchanged';
}

/** A repair of an earlier run of its cluster cannot be undone: undo re-creates from before-images of another incarnation. */
export const RESTARTED_NOTE = 'the cluster restarted since (another incarnation): its state is not the one this repair changed';

/**
 * The repairs of a journal, newest first, with their batches. `incarnations`: the incarnation each
 * connected cluster (by `clusterKey`) is now, so a repair of an earlier run is marked before anyone asks.
 */
export function repairHistory(lines: readonly JournalLine[], incarnations: ReadonlyMap<string, string> = new Map()): RepairHistoryEntry[] {
  const all = records(lines);
  const undone = new Map<string, string>();
  // An undo whose every batch was answered with nothing applied (a viewer's, refused; or all moved on) took nothing back.
  for (const r of all.values())
    if (r.head.undoOf !== undefined && (r.intents.size === 0 || touchedAny(r))) undone.set(r.head.undoOf, r.head.repair);
  const out: RepairHistoryEntry[] = [];
  for (const r of all.values()) {
    const batches = [...r.intents.values()]
      .sort((a, b) => a.batch - b.batch)
      .map((i) => {
        const result = r.results.get(i.batch);
        const state = batchState(result);
        return {
          batch: i.batch,
          command: i.operation.command,
          targets: 'targets' in i.operation ? i.operation.targets.length : 1,
          state,
          summary: result?.summary ?? 'sent, but no result was recorded (interrupted): it may or may not have been applied',
        };
      });
    const touched = touchedAny(r);
    const note = !r.head.option.undoable
      ? (r.head.option.undoNote ?? 'this repair cannot be undone')
      : r.head.undoOf
        ? 'an undo is not itself undone'
        : undone.has(r.head.repair)
          ? 'already undone'
          : !touched
            ? 'nothing was applied'
            : (incarnations.get(clusterKey(r.head.cluster)) ?? r.head.incarnation) !== r.head.incarnation
              ? RESTARTED_NOTE
              : undefined;
    out.push({
      id: r.head.repair,
      at: r.head.at,
      cluster: r.head.cluster,
      findingId: r.head.findingId,
      ...(r.head.rule ? { rule: r.head.rule } : {}),
      title: r.head.option.title,
      safety: r.head.option.safety,
      source: r.head.source,
      ...(r.head.user ? { user: r.head.user } : {}),
      ...(r.head.undoOf ? { undoOf: r.head.undoOf } : {}),
      ...(r.head.run ? { run: r.head.run } : {}),
      undoable: note === undefined,
      ...(note ? { undoNote: note } : {}),
      ...(undone.has(r.head.repair) ? { undoneBy: undone.get(r.head.repair) } : {}),
      summary: r.end?.summary ?? 'interrupted: no end was recorded (see its batches)',
      finished: r.end !== undefined,
      batches,
    });
  }
  return out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

export interface UndoPlan {
  /** The repair being undone. */
  entry: RepairHistoryEntry;
  cluster: string;
  /** The cluster's URL, as the repair recorded it. */
  url: string | undefined;
  incarnation: string;
  option: RepairOption;
  /** Entities undo leaves alone, and why (no before-image, no known version, interrupted). */
  skipped: string[];
}

/**
 * The inverse plan of a journalled repair, from its before-images: re-create what it deleted
 * (expecting the key still absent), restore what it changed (expecting the version it left).
 * `id`: a repair id, or undefined for the newest repair that can be undone.
 */
export function buildUndo(lines: readonly JournalLine[], id: string | undefined, cluster?: string): UndoPlan {
  const history = repairHistory(lines);
  const entry = id
    ? history.find((h) => h.id === id || h.id.startsWith(id))
    : history.find((h) => h.undoable && (!cluster || h.cluster.toLowerCase() === cluster.toLowerCase()));
  if (!entry) throw new Error(id ? `no repair ${id} in the journal` : 'no repair in the journal can be undone');
  if (!entry.undoable) throw new Error(`repair ${entry.id} (${entry.title}) cannot be undone: ${entry.undoNote}`);
  const record = records(lines).get(entry.id)!;
  const recreate = new Map<string, MetastoreShard>();
  const restore = new Map<string, { key: string; version: number; resolution: PartitionResolution }>();
  const skipped: string[] = [];
  for (const intent of [...record.intents.values()].sort((a, b) => a.batch - b.batch)) {
    const result = record.results.get(intent.batch);
    const undo = REPAIR_COMMANDS[intent.operation.command].undo;
    if (undo.kind === 'none' || (result && result.outcome === 'not-sent')) continue;
    // Interrupted: every target may have been applied. A re-create is still safe (it expects absence);
    // a restore needs the version the repair left, which only a result says.
    const applied = result ? result.applied : intent.before.map((b) => ({ key: b.key, version: undefined }));
    const images = new Map(intent.before.map((b) => [b.key, b]));
    for (const a of applied) {
      const image = images.get(a.key);
      const parsed = image ? parseImageEntity(image) : { ok: false as const, reason: `${a.key}: no before-image was recorded` };
      if (!parsed.ok) {
        skipped.push(parsed.reason);
        continue;
      }
      if (undo.kind === 'recreate') {
        recreate.set(a.key, parsed.entity as unknown as MetastoreShard);
      } else if (a.version === undefined) {
        skipped.push(`${a.key}: batch ${intent.batch + 1} was interrupted, so the version the repair left is unknown; check it by hand`);
      } else {
        restore.set(a.key, {
          key: a.key,
          version: a.version,
          resolution: (parsed.entity as unknown as { resolution: PartitionResolution }).resolution,
        });
      }
    }
  }
  const operations: RepairCommand[] = [];
  const shards = [...recreate.values()].map((e) => ({ key: e.key, absent: true as const, entity: e }));
  for (const targets of bySize(shards, MAX_REPAIR_TARGETS, UNDO_BATCH_BYTES))
    operations.push({ command: 'quickwit.restoreShards', targets });
  const partitions = [...restore.values()];
  for (let i = 0; i < partitions.length; i += MAX_REPAIR_TARGETS) {
    operations.push({ command: 'fluvio.restoreResolution', targets: partitions.slice(i, i + MAX_REPAIR_TARGETS) });
  }
  const targetCount = shards.length + partitions.length;
  return {
    entry,
    cluster: record.head.cluster,
    url: record.head.url,
    incarnation: record.head.incarnation,
    skipped,
    option: {
      id: `undo-${entry.id}`,
      title: `Undo: ${entry.title}`,
      safety: 'safe',
      description: `Re-creates what the repair deleted and restores what it changed, each only where nothing moved on since (${targetCount} entities).`,
      targetCount,
      operations,
      undoable: false,
      undoNote: 'an undo is not itself undone; repair again instead',
    },
  };
}

/**
 * The most JSON text the targets of one undo request may take. A cluster closes a connection whose
 * message is over 1 MiB (`DEFAULT_MAX_PAYLOAD`, src/cluster/server.ts), and a re-creating undo sends
 * whole entities: 5,000 shards of a few hundred bytes each are more. The rest of a request (its ids,
 * preconditions and audit) has room under the limit.
 */
export const UNDO_BATCH_BYTES = 768 * 1024;

/** `items` in order, cut into batches of at most `count` items and (but a lone item's) `bytes` of JSON. */
export function bySize<T>(items: readonly T[], count: number, bytes: number): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let size = 0;
  for (const item of items) {
    const n = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (batch.length && (batch.length === count || size + n > bytes)) {
      out.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(item);
    size += n;
  }
  if (batch.length) out.push(batch);
  return out;
}
