/**
 * The repair journal on disk (its line format: `src/protocol/journal.ts`).
 *
 * Append-only: every line is one `write` to a file opened for appending, then
 * fsynced, before the caller goes on. A batch's `intent` (with the
 * before-images of the entities it may change or delete) is on disk before
 * the batch is sent; if it cannot be written, the batch is not sent.
 *
 * Reading validates every line; a torn last line (the process died while
 * writing it) is reported, not fatal. Undo is built from what was read.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { JournalFile, JournalWriteError } from '../cluster/journal-file';
import {
  clusterKey,
  errorText,
  JOURNAL_VERSION,
  JournalLine,
  MAX_REPAIR_TARGETS,
  parseImageEntity,
  parseJournal,
  REPAIR_COMMANDS,
  type BatchState,
  type BeforeImage,
  type JournalIntentLine,
  type JournalRead,
  type JournalRepairLine,
  type JournalResultLine,
  type MetastoreShard,
  type PartitionResolution,
  type RepairCommand,
  type RepairHistoryEntry,
  type RepairOption,
  type RepairResult,
  type RuleId,
} from '../protocol';
import { packIntent, packResultNow, type PackedIntentLine, type PackedJournalLine } from '../protocol/before-images';
import type { BatchHooks } from './repairs';
import type { ClusterSession } from './session';

/** Refused items recorded per batch result with their message (the rest are counted in the summary). */
const MAX_REFUSALS_PER_LINE = MAX_REPAIR_TARGETS;

export { JournalWriteError } from '../cluster/journal-file';
/** The pure reader lives in the protocol (a gateway validates what it serves with it). */
export { parseJournal, type JournalRead } from '../protocol';

/** The editor's and `cluster-check`'s journal: the shared writer (src/cluster/journal-file.ts), and recorders for repairs. */
export class RepairJournal extends JournalFile {
  /**
   * As the shared writer's (one `write`, then `fsync`, done before it resolves), but on this thread:
   * a batch's result and the next batch's intent are written between the batch's answer and the next
   * request, and an asynchronous write would let the batch's own events (thousands of entities, queued
   * behind the answer) be applied first, on the repair's path instead of beside the next batch. A
   * journal is written by one process, so the writes of two repairs at once never interleave.
   */
  override append(line: JournalLine | PackedJournalLine): Promise<void> {
    const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(this.path, 'a');
      try {
        for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      return Promise.reject(new JournalWriteError(`the repair journal ${this.path} could not be written (${errorText(e)})`));
    }
    return Promise.resolve();
  }

  /**
   * Hooks that journal one repair: its `repair` line before the first batch, each batch's
   * `intent` (with before-images from the session's model) before it is sent, each result after.
   */
  recorder(session: ClusterSession, info: RepairInfo): JournalRecorder {
    return new JournalRecorder(this, session, info);
  }
}

export interface RepairInfo {
  findingId: string;
  rule?: RuleId;
  option: RepairOption;
  incarnation: string;
  source: 'editor' | 'cli';
  undoOf?: string;
  /** The Repair All run it is one of. */
  run?: string;
}

export class JournalRecorder implements BatchHooks {
  readonly id = randomUUID();
  private started = false;
  private applied = 0;
  private refused = 0;

  constructor(
    private readonly journal: RepairJournal,
    private readonly session: ClusterSession,
    private readonly info: RepairInfo,
  ) {}

  async before(batch: number, requestId: string, op: RepairCommand): Promise<void> {
    if (!this.started) {
      const { option } = this.info;
      const line: JournalRepairLine = {
        type: 'repair',
        v: JOURNAL_VERSION,
        repair: this.id,
        at: now(),
        cluster: this.session.name,
        url: this.session.url,
        incarnation: this.info.incarnation,
        source: this.info.source,
        findingId: this.info.findingId,
        ...(this.info.rule ? { rule: this.info.rule } : {}),
        option: {
          id: option.id,
          title: option.title,
          safety: option.safety,
          undoable: option.undoable,
          ...(option.undoNote ? { undoNote: option.undoNote } : {}),
        },
        plan: option.operations.map((o) => ({ command: o.command, targets: 'targets' in o ? o.targets.length : 1 })),
        ...(this.info.undoOf ? { undoOf: this.info.undoOf } : {}),
        ...(this.info.run ? { run: this.info.run } : {}),
      };
      await this.journal.append(line);
      this.started = true;
    }
    // One compact record per batch (before-images.ts); still one append, fsynced, before the batch is sent.
    const prepared = this.next?.op === op ? await this.next.line.catch(() => undefined) : undefined;
    this.next = undefined;
    const line = prepared ?? (await this.packed(op));
    await this.journal.append({ ...line, at: now(), batch, requestId });
    this.prepareNext(batch + 1);
  }

  /**
   * The next batch's intent, packed while this one is out (its round trip leaves the thread idle),
   * from the model as it is then: as it will be once this batch is answered, when the two batches
   * share no target (else `before` takes it afresh). Written (with its own time and request id) only
   * when `before` is called for it, so nothing is on disk for a batch that is never sent.
   */
  private prepareNext(batch: number): void {
    const { operations } = this.info.option;
    const op = operations[batch];
    const current = operations[batch - 1];
    if (!op || !current) return;
    const line = new Promise<JournalIntentLine | PackedIntentLine | undefined>((resolve, reject) =>
      // After the current batch's request has left (the caller sends it once `before` resolves).
      setImmediate(() => (shareTargets(current, op) ? resolve(undefined) : this.packed(op).then(resolve, reject))),
    );
    line.catch(() => undefined); // `before` takes it afresh
    this.next = { op, line };
  }

  private next: { op: RepairCommand; line: Promise<JournalIntentLine | PackedIntentLine | undefined> } | undefined;

  /** The intent of a batch of `op`, packed, with its time, batch and request id still to set. */
  private packed(op: RepairCommand): Promise<JournalIntentLine | PackedIntentLine> {
    return packIntent({ type: 'intent', repair: this.id, at: '', batch: 0, requestId: '', operation: op, before: this.beforeImages(op) });
  }

  async after(
    batch: number,
    requestId: string,
    op: RepairCommand,
    result: RepairResult | { outcome: 'not-sent' | 'unknown'; reason: string },
  ): Promise<void> {
    const line: JournalResultLine =
      'outcome' in result
        ? {
            type: 'result',
            repair: this.id,
            at: now(),
            batch,
            requestId,
            outcome: result.outcome,
            applied: [],
            refused: [],
            unchanged: 0,
            summary: result.reason,
          }
        : {
            type: 'result',
            repair: this.id,
            at: now(),
            batch,
            requestId,
            outcome: 'answered',
            applied: appliedItems(op, result),
            refused: result.items
              .filter((i) => i.status === 'refused')
              .slice(0, MAX_REFUSALS_PER_LINE)
              .map((i) => ({ key: i.key, message: i.message })),
            unchanged: result.items.filter((i) => i.status === 'unchanged').length,
            summary: result.summary,
          };
    if (!('outcome' in result)) {
      this.applied += result.applied;
      this.refused += result.refused;
    }
    await this.journal.append(packResultNow(line));
  }

  /** The repair's last line (only if it wrote any: a repair refused before its first batch left none). */
  async end(summary: string, cancelled: boolean): Promise<void> {
    if (!this.started) return;
    await this.journal.append({
      type: 'end',
      repair: this.id,
      at: now(),
      applied: this.applied,
      refused: this.refused,
      cancelled,
      summary,
    });
  }

  private beforeImages(op: RepairCommand): BeforeImage[] {
    const collection = REPAIR_COMMANDS[op.command].collection;
    if (!collection || !('targets' in op)) return [];
    const map = this.session.model?.collections[collection] as Map<string, unknown> | undefined;
    return op.targets.map((t) => ({ collection, key: t.key, entity: (map?.get(t.key) as Record<string, unknown> | undefined) ?? null }));
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Whether two operations name a target in common. */
function shareTargets(a: RepairCommand, b: RepairCommand): boolean {
  if (!('targets' in a) || !('targets' in b)) return false;
  const keys = new Set<string>();
  for (const t of a.targets) keys.add(t.key);
  return b.targets.some((t) => keys.has(t.key));
}

// ------------------------------------------------------------------ reading --

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

/**
 * The targets a batch applied. A compact answer (`itemResults: 'exceptions'`) lists only the others,
 * so every target it does not list was applied (with no version: only deletions are asked for one).
 */
function appliedItems(op: RepairCommand, result: RepairResult): Array<{ key: string; version?: number }> {
  if (result.itemResults === 'exceptions') {
    // Each key once, in the targets' order (one pass: this runs between a batch's answer and the next request).
    const seen = new Set(result.items.map((i) => i.key));
    const applied: Array<{ key: string }> = [];
    for (const { key } of 'targets' in op ? (op.targets as ReadonlyArray<{ key: string }>) : []) {
      if (seen.has(key)) continue;
      seen.add(key);
      applied.push({ key });
    }
    return applied;
  }
  return result.items
    .filter((i) => i.status === 'applied')
    .map((i) => (i.version === undefined ? { key: i.key } : { key: i.key, version: i.version }));
}
